/**
 * Node's built-in crypto and zlib, where the runtime offers them without an import: Node >= 20.16 and Bun
 * expose `process.getBuiltinModule`. On Node, one `crypto.subtle` call on a token-sized input costs about ten
 * times a synchronous `createHmac`, so the core takes this path when it exists; everywhere else (Deno without
 * it, Workers, browsers) it uses WebCrypto. Both paths are checked against each other on the same vectors.
 * Nothing here is imported: a bundler for the browser sees no `node:` module.
 */

export interface NodeCryptoLike {
  createHmac(algorithm: "sha256", key: Uint8Array<ArrayBuffer>): { update(data: Uint8Array<ArrayBuffer>): { digest(): Uint8Array<ArrayBuffer> } };
  createCipheriv(algorithm: "aes-256-gcm", key: Uint8Array<ArrayBuffer>, iv: Uint8Array<ArrayBuffer>, options?: { authTagLength: number }): {
    setAAD(aad: Uint8Array<ArrayBuffer>): unknown;
    update(data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
    final(): Uint8Array<ArrayBuffer>;
    getAuthTag(): Uint8Array<ArrayBuffer>;
  };
  createDecipheriv(algorithm: "aes-256-gcm", key: Uint8Array<ArrayBuffer>, iv: Uint8Array<ArrayBuffer>, options?: { authTagLength: number }): {
    setAAD(aad: Uint8Array<ArrayBuffer>): unknown;
    setAuthTag(tag: Uint8Array<ArrayBuffer>): unknown;
    update(data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
    final(): Uint8Array<ArrayBuffer>;
  };
  timingSafeEqual(a: Uint8Array<ArrayBuffer>, b: Uint8Array<ArrayBuffer>): boolean;
}

export interface NodeZlibLike {
  deflateRawSync(data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
  inflateRawSync(data: Uint8Array<ArrayBuffer>, options: { maxOutputLength: number }): Uint8Array<ArrayBuffer>;
  deflateSync(data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
  inflateSync(data: Uint8Array<ArrayBuffer>, options: { maxOutputLength: number }): Uint8Array<ArrayBuffer>;
}

function builtin<T>(name: string): T | undefined {
  try {
    const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
    return typeof get === "function" ? (get(name) as T | undefined) : undefined;
  } catch {
    return undefined;
  }
}

let cryptoModule: NodeCryptoLike | undefined | null = null;
let zlibModule: NodeZlibLike | undefined | null = null;

/** node:crypto where the runtime offers it without an import, else undefined. Looked up once. */
export function nodeCrypto(): NodeCryptoLike | undefined {
  if (cryptoModule === null) {
    const mod = builtin<NodeCryptoLike>("node:crypto");
    cryptoModule = mod && typeof mod.createHmac === "function" && typeof mod.createDecipheriv === "function" ? mod : undefined;
  }
  return cryptoModule;
}

/** node:zlib where the runtime offers it without an import, else undefined. Looked up once. */
export function nodeZlib(): NodeZlibLike | undefined {
  if (zlibModule === null) {
    const mod = builtin<NodeZlibLike>("node:zlib");
    zlibModule = mod && typeof mod.inflateRawSync === "function" ? mod : undefined;
  }
  return zlibModule;
}
