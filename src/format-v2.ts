import { base32Codec } from "./base32.js";
import { constantTimeEqual, type Engine, type KeyMaterial, randomBytes } from "./crypto.js";
import { TempIDFormatError } from "./errors.js";

/**
 * The Python package's format, `TEMP-V2.` (see ../docs/FORMAT.md, "TEMP-V2"), written and read exactly as
 * tempid 2.0.x does:
 *
 *   TEMP-V2.<header>[.<payload>].<sig>   each part RFC 4648 base32, upper case, unpadded, dashed in fives
 *   header  = 0x02 | expires_at (5, unix seconds) | nonce (4) | max_uses (1)   (older tokens: no max_uses)
 *   payload = gcm nonce (12) | AES-256-GCM(zlib(compact JSON object)), no associated data
 *   sig     = first 12 bytes of HMAC-SHA256(secret bytes, "TEMP-V2.<header>[.<payload>]"), compared as text
 *
 * The counter key the Python package uses for max_uses is the sig text, dashes included.
 */

export const V2_PREFIX = "TEMP-V2.";

/** One secret's V2 keys, as the Python package derives them. */
export interface V2Key {
  /** V2 signs with the secret's bytes themselves (the Python package's choice). */
  readonly mac: KeyMaterial;
  readonly enc: KeyMaterial;
}
/** The Python package refuses expiries outside 2020-01-01 .. 2100-01-01, and payloads over 512 bytes of JSON. */
export const V2_MAX_PAYLOAD_BYTES = 512;
export const V2_MIN_EXPIRY = 1577836800;
export const V2_MAX_EXPIRY = 4102444800;
export const V2_MAX_USES = 255;
const SIG_BYTES = 12;
const PART = /^[A-Z2-7]{1,5}(?:-[A-Z2-7]{1,5})*$/;

const encoder = new TextEncoder();

/** RFC 4648 base32, upper case: what the Python package's V2 tokens use (defined here, with the only format that needs it). */
export const base32Rfc4648 = /* @__PURE__ */ base32Codec("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", false);

function dashed(text: string): string {
  return text.replace(/(.{5})(?=.)/g, "$1-");
}

function undashed(part: string): Uint8Array<ArrayBuffer> | undefined {
  return PART.test(part) ? base32Rfc4648.decode(part.replaceAll("-", "")) : undefined;
}

export interface V2Parts {
  /** the trimmed token text */
  text: string;
  header: Uint8Array<ArrayBuffer>;
  payload: Uint8Array<ArrayBuffer> | undefined;
  sig: string;
}

/** Checks the shape without crypto: prefix, three or four dot-separated base32 parts. */
export function splitV2(input: string): { text: string; signed: string; sig: string; parts: string[] } {
  const text = input.trim();
  if (!text.startsWith(V2_PREFIX)) throw new TempIDFormatError("not a TEMP-V2 token");
  const parts = text.split(".");
  if (parts.length !== 3 && parts.length !== 4) throw new TempIDFormatError("Invalid V2 token format: wrong number of parts");
  for (let i = 1; i < parts.length; i++) {
    if (!PART.test(parts[i]!)) throw new TempIDFormatError("Invalid V2 token format: a part is not dashed base32");
  }
  const sig = parts[parts.length - 1]!;
  return { text, signed: text.slice(0, text.length - sig.length - 1), sig, parts };
}

async function sigText(engine: Engine, key: V2Key, signed: string): Promise<string> {
  const mac = await engine.hmac(key.mac, encoder.encode(signed));
  return dashed(base32Rfc4648.encode(mac.subarray(0, SIG_BYTES)));
}

/** Reads a header part: version 2, then expiry and (in 11-byte headers) max uses. Not authenticated by itself. */
export function decodeV2Header(part: string): { expiresAt: number; maxUses: number } {
  const header = undashed(part);
  if (header === undefined || (header.length !== 10 && header.length !== 11) || header[0] !== 0x02) {
    throw new TempIDFormatError("Invalid V2 token format: bad header");
  }
  let expiresAt = 0;
  for (let i = 1; i <= 5; i++) expiresAt = expiresAt * 256 + header[i]!;
  return { expiresAt, maxUses: header.length === 11 ? header[10]! : 0 };
}

export interface V2Opened {
  text: string;
  sig: string;
  expiresAt: number;
  maxUses: number;
  /** the payload key that authenticated, and the sealed payload (gcm nonce ‖ ciphertext ‖ tag), if any */
  sealed: { key: V2Key; bytes: Uint8Array<ArrayBuffer> } | undefined;
}

/**
 * Authenticates the signature (trying each secret: V2 has no key id), then decodes the header. The
 * signature is checked before anything is decoded, as the Python package does. Undefined when no secret
 * signed it (the caller reports it as tampered).
 */
export async function openV2(engine: Engine, input: string, keys: readonly V2Key[]): Promise<V2Opened | undefined> {
  const { text, signed, sig, parts } = splitV2(input);
  const given = encoder.encode(sig);
  let matched: V2Key | undefined;
  for (const key of keys) {
    if (constantTimeEqual(encoder.encode(await sigText(engine, key, signed)), given)) {
      matched = key;
      break;
    }
  }
  if (matched === undefined) return undefined;
  const { expiresAt, maxUses } = decodeV2Header(parts[1]!);
  if (expiresAt < V2_MIN_EXPIRY || expiresAt > V2_MAX_EXPIRY) {
    throw new TempIDFormatError("Invalid V2 token format: expiry outside 2020..2100");
  }
  let sealed: V2Opened["sealed"];
  if (parts.length === 4) {
    const bytes = undashed(parts[2]!);
    if (bytes === undefined || bytes.length < 12 + 16) throw new TempIDFormatError("Invalid V2 token format: bad payload");
    sealed = { key: matched, bytes };
  }
  return { text, sig, expiresAt, maxUses, sealed };
}

/** Opens a V2 payload: the zlib-compressed JSON, or undefined when it does not decrypt. */
export async function openV2Payload(engine: Engine, sealed: { key: V2Key; bytes: Uint8Array<ArrayBuffer> }): Promise<Uint8Array<ArrayBuffer> | undefined> {
  return engine.open(sealed.key.enc, sealed.bytes.subarray(0, 12), sealed.bytes.subarray(12), new Uint8Array(0));
}

export async function mintV2(
  engine: Engine,
  key: V2Key,
  expiresAt: number,
  maxUses: number,
  compressedJson: Uint8Array<ArrayBuffer> | undefined,
): Promise<{ text: string; sig: string }> {
  const header = new Uint8Array(11);
  header[0] = 0x02;
  let e = expiresAt;
  for (let i = 5; i >= 1; i--) {
    header[i] = e % 256;
    e = Math.floor(e / 256);
  }
  header.set(randomBytes(4), 6);
  header[10] = maxUses;
  let signed = V2_PREFIX + dashed(base32Rfc4648.encode(header));
  if (compressedJson !== undefined) {
    const nonce = randomBytes(12);
    const ct = await engine.seal(key.enc, nonce, compressedJson, new Uint8Array(0));
    const bytes = new Uint8Array(12 + ct.length);
    bytes.set(nonce, 0);
    bytes.set(ct, 12);
    signed += "." + dashed(base32Rfc4648.encode(bytes));
  }
  const sig = await sigText(engine, key, signed);
  return { text: `${signed}.${sig}`, sig };
}
