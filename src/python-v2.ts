import { type Decoded, TAMPERED, type TokenFault } from "./codec.js";
import type { ContextOptions } from "./context.js";
import { compress, decompress } from "./compress.js";
import type { ResolvedConfig } from "./config.js";
import { type Engine, hkdf, KeyMaterial } from "./crypto.js";
import { TempIDArgumentError, TempIDFormatError, TempIDUnsupportedError } from "./errors.js";
import { mintV2, openV2, openV2Payload, V2_MAX_EXPIRY, V2_MAX_PAYLOAD_BYTES, V2_MIN_EXPIRY, V2_MAX_USES, type V2Key } from "./format-v2.js";
import { cached, type Keyring, type Secret, secretBytes } from "./keys.js";
import { decodePayload, encodePayload } from "./payload.js";

/**
 * The Python package's tokens (TEMP-V2, see format-v2.ts): minting and opening them for an instance whose
 * `format` or `accept` names "v2". Loaded on demand by the codec, so code that only speaks V3 never
 * carries it.
 */

function deriveV2Key(secret: Secret): Promise<V2Key> {
  return cached("2", secret, async () => {
    const ikm = secretBytes(secret);
    const enc = await hkdf(ikm, new Uint8Array(0), "tempid-payload-enc-v2", 32);
    return { mac: new KeyMaterial(ikm), enc: new KeyMaterial(enc) };
  });
}

const keyrings = new WeakMap<Keyring, Promise<V2Key[]>>();

/** An instance's V2 keys, derived once: V2 signs with the secret's bytes themselves (the Python package's choice). */
function v2Keys(keyring: Keyring): Promise<V2Key[]> {
  let keys = keyrings.get(keyring);
  if (keys === undefined) {
    keys = Promise.all(keyring.secrets.map(deriveV2Key));
    keyrings.set(keyring, keys);
  }
  return keys;
}

function assertNoContext(ctx: ContextOptions): void {
  if (ctx.purpose !== undefined || ctx.bind !== undefined) {
    throw new TempIDUnsupportedError();
  }
}

/** Escapes every character outside space..tilde that JSON leaves raw (DEL and non-ASCII) as \uXXXX, as Python's json.dumps does by default. */
function asciiOnly(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export async function mintV2Token(
  engine: Engine,
  config: ResolvedConfig,
  expiresAt: number,
  payload: unknown,
  maxUses: number,
  ctx: ContextOptions,
): Promise<Decoded> {
  assertNoContext(ctx);
  if (maxUses > V2_MAX_USES) throw new TempIDArgumentError(`maxUses must be at most ${V2_MAX_USES} in the V2 format, got ${maxUses}`);
  // Python refuses to read an expiry outside 2020-01-01 .. 2100-01-01, and so does openV2Token: never mint one.
  if (expiresAt > V2_MAX_EXPIRY || expiresAt < V2_MIN_EXPIRY) {
    throw new TempIDArgumentError(`the V2 format cannot express an expiry outside 2020-01-01..2100-01-01 (UTC), got ${new Date(expiresAt * 1000).toISOString()}`);
  }
  let compressed: Uint8Array<ArrayBuffer> | undefined;
  let copy: unknown = null;
  if (payload !== undefined && payload !== null) {
    if (typeof payload !== "object" || Array.isArray(payload)) {
      throw new TempIDArgumentError("a V2 payload must be a JSON object (as Python reads)");
    }
    // Python's limit, whatever this instance allows its V3 tokens: a bigger V2 payload no Python service reads.
    const json = encodePayload(payload, Math.min(config.maxPayloadBytes, V2_MAX_PAYLOAD_BYTES), asciiOnly);
    copy = decodePayload(json);
    compressed = await compress(json, "deflate", !config.portableCrypto);
  }
  const [key] = await v2Keys(config.keyring);
  const { text, sig } = await mintV2(engine, key!, expiresAt, maxUses, compressed);
  return { format: "v2", text, id: sig, counterKey: sig, expiresAt, maxUses, payload: copy };
}

export async function openV2Token(engine: Engine, config: ResolvedConfig, input: string, ctx: ContextOptions): Promise<Decoded | TokenFault> {
  assertNoContext(ctx);
  const opened = await openV2(engine, input, await v2Keys(config.keyring));
  if (opened === undefined) return TAMPERED;
  let payload: unknown = null;
  if (opened.sealed !== undefined) {
    const deflated = await openV2Payload(engine, opened.sealed);
    if (deflated === undefined) return TAMPERED;
    const json = await decompress(deflated, "deflate", config.maxPayloadBytes, !config.portableCrypto);
    if (json === undefined) throw new TempIDFormatError("Invalid V2 token format: payload is not zlib data within the size limit");
    payload = decodePayload(json);
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      throw new TempIDFormatError("Invalid V2 token format: payload is not a JSON object");
    }
  }
  return { format: "v2", text: opened.text, id: opened.sig, counterKey: opened.sig, expiresAt: opened.expiresAt, maxUses: opened.maxUses, payload };
}
