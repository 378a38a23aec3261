import { nodeZlib } from "./native.js";

/** "deflate" is zlib-wrapped (V2, as Python's zlib.compress); "deflate-raw" has no wrapper (V3, 6 bytes shorter). */
export type Deflate = "deflate" | "deflate-raw";

async function readAll(stream: ReadableStream<Uint8Array<ArrayBuffer>>, maxBytes: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const reader = stream.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      // Stop a decompression bomb as soon as it passes the limit.
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } catch {
    return undefined;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function pipe(data: Uint8Array<ArrayBuffer>, transform: CompressionStream | DecompressionStream): ReadableStream<Uint8Array<ArrayBuffer>> {
  const writer = transform.writable.getWriter();
  writer.write(data).catch(() => {});
  writer.close().catch(() => {});
  return transform.readable as ReadableStream<Uint8Array<ArrayBuffer>>;
}

export async function compress(data: Uint8Array<ArrayBuffer>, format: Deflate, native: boolean): Promise<Uint8Array<ArrayBuffer>> {
  const zlib = native ? nodeZlib() : undefined;
  if (zlib) return format === "deflate" ? zlib.deflateSync(data) : zlib.deflateRawSync(data);
  return (await readAll(pipe(data, new CompressionStream(format)), Number.MAX_SAFE_INTEGER))!;
}

/** Inflates at most `maxBytes`; undefined for corrupt input or output over the limit. */
export async function decompress(data: Uint8Array<ArrayBuffer>, format: Deflate, maxBytes: number, native: boolean): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const zlib = native ? nodeZlib() : undefined;
  if (zlib) {
    try {
      const out = format === "deflate" ? zlib.inflateSync(data, { maxOutputLength: maxBytes }) : zlib.inflateRawSync(data, { maxOutputLength: maxBytes });
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch {
      return undefined;
    }
  }
  return readAll(pipe(data, new DecompressionStream(format)), maxBytes);
}
