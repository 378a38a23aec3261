import { nodeCrypto } from "./native.js";
import { onDemand } from "./on-demand.js";

/**
 * The three primitives the formats need (HMAC-SHA256, AES-256-GCM seal/open, HKDF-SHA256), each with two
 * interchangeable paths: WebCrypto (`crypto.subtle`, everywhere, the reference) and Node's synchronous
 * crypto (where `process.getBuiltinModule` offers it; about ten times faster for token-sized inputs).
 * Keys keep their raw bytes for the native path and import a `CryptoKey` once, lazily, for WebCrypto.
 */

export class KeyMaterial {
  readonly raw: Uint8Array<ArrayBuffer>;
  #hmac: Promise<CryptoKey> | undefined;
  #aes: Promise<CryptoKey> | undefined;
  constructor(raw: Uint8Array<ArrayBuffer>) {
    this.raw = raw;
  }
  hmacKey(): Promise<CryptoKey> {
    return (this.#hmac ??= crypto.subtle.importKey("raw", this.raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]));
  }
  aesKey(): Promise<CryptoKey> {
    return (this.#aes ??= crypto.subtle.importKey("raw", this.raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]));
  }
}

export interface Engine {
  readonly name: "node" | "webcrypto";
  /** The full 32-byte HMAC-SHA256. */
  hmac(key: KeyMaterial, data: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>>;
  /** ciphertext ‖ 16-byte tag. */
  seal(key: KeyMaterial, iv: Uint8Array<ArrayBuffer>, plaintext: Uint8Array<ArrayBuffer>, aad: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>>;
  /** The plaintext, or undefined when the tag does not match. */
  open(key: KeyMaterial, iv: Uint8Array<ArrayBuffer>, sealed: Uint8Array<ArrayBuffer>, aad: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> | undefined | Promise<Uint8Array<ArrayBuffer> | undefined>;
}

export const webCryptoEngine: Engine = {
  name: "webcrypto",
  async hmac(key, data) {
    return new Uint8Array(await crypto.subtle.sign("HMAC", await key.hmacKey(), data));
  },
  async seal(key, iv, plaintext, aad) {
    return new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad, tagLength: 128 }, await key.aesKey(), plaintext));
  },
  async open(key, iv, sealed, aad) {
    try {
      return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad, tagLength: 128 }, await key.aesKey(), sealed));
    } catch {
      return undefined;
    }
  },
};

/** Node's native engine: only where the runtime offers node:crypto without an import, and only asked for. */
export function nativeAvailable(portable: boolean): boolean {
  return !portable && nodeCrypto() !== undefined;
}

const nodeEngineModule = onDemand("Node's native engine (node-engine.js)", () => import("./node-engine.js"));
let nativeEngine: Engine | undefined;

/**
 * The engine an instance runs on. The native one lives in its own module (./node-engine.js), loaded the
 * first time it is needed: a browser or Worker bundle never loads it, and a code-splitting bundler keeps it
 * out of the code that mints and verifies.
 */
export function loadEngine(native: boolean): Engine | Promise<Engine> {
  if (!native) return webCryptoEngine;
  return nativeEngine ?? nodeEngineModule().then((m) => (nativeEngine ??= m.makeNodeEngine()));
}

/** HKDF-SHA256 (RFC 5869). An empty salt is the RFC's default salt (32 zero bytes). */
export async function hkdf(ikm: Uint8Array<ArrayBuffer>, salt: Uint8Array<ArrayBuffer>, info: string, length: number): Promise<Uint8Array<ArrayBuffer>> {
  const base = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt, info: new TextEncoder().encode(info) },
    base,
    length * 8,
  );
  return new Uint8Array(bits);
}

/** Compares two byte strings in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array<ArrayBuffer>, b: Uint8Array<ArrayBuffer>): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Random bytes are drawn from the CSPRNG 4 kB at a time and handed out once each (as Node's randomUUID
 * does): one getRandomValues call per token costs more than the token's HMAC on Node.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let poolOffset = 0;

/** `length` cryptographically random bytes, never shared with another caller. */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  if (length > 256) return crypto.getRandomValues(new Uint8Array(length));
  if (poolOffset + length > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    poolOffset = 0;
  }
  const out = pool.slice(poolOffset, poolOffset + length);
  poolOffset += length;
  return out;
}
