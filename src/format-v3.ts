import { base32Crockford } from "./base32.js";
import { constantTimeEqual, type Engine, randomBytes } from "./crypto.js";
import { TempIDFormatError } from "./errors.js";
import type { V3Key } from "./keys.js";

/**
 * The native format, `TEMP-V3.`: see docs/FORMAT.md for the full specification.
 *
 *   flags (1) | kid (2) | id (16) | expires_at (5, unix seconds) | max_uses (LEB128, 1..5) | [ciphertext] | tag (16)
 *
 * Text form: "TEMP-V3." + Crockford base32 of those bytes; case-insensitive, dashes ignored, surrounding
 * whitespace trimmed. Without a payload the tag is HMAC-SHA256 (truncated to 128 bits) over the bytes before
 * it and the context (purpose, bind); with a payload it is the AES-256-GCM tag over the same, the header and
 * context being the associated data.
 */

export const V3_PREFIX = "TEMP-V3.";
export const FLAG_PAYLOAD = 0x01;
export const FLAG_COMPRESSED = 0x02;
const KNOWN_FLAGS = FLAG_PAYLOAD | FLAG_COMPRESSED;
const ID_OFFSET = 3;
const ID_BYTES = 16;
const EXPIRY_OFFSET = ID_OFFSET + ID_BYTES;
const EXPIRY_BYTES = 5;
const USES_OFFSET = EXPIRY_OFFSET + EXPIRY_BYTES;
export const TAG_BYTES = 16;
/** flags + kid + id + expiry + 1-byte max_uses + tag */
export const V3_MIN_BYTES = USES_OFFSET + 1 + TAG_BYTES;
export const MAX_USES_LIMIT = 0xffffffff;
/** Largest expiry the 5-byte field holds; far beyond any duration new() accepts. */
const MAX_EXPIRY = 2 ** 40 - 1;
/** The 96 fully random bits of the id (skipping the UUID version and variant bits) form the GCM nonce. */
const NONCE_POSITIONS = [0, 1, 2, 3, 4, 5, 7, 9, 10, 11, 12, 13];

export interface V3Header {
  flags: number;
  kid: number;
  id: Uint8Array<ArrayBuffer>;
  expiresAt: number;
  maxUses: number;
  /** where the ciphertext (or the tag) starts */
  headerEnd: number;
}

const encoder = new TextEncoder();

/** A new random id: 122 random bits laid out as a version-4 UUID. */
export function newId(): Uint8Array<ArrayBuffer> {
  const id = randomBytes(ID_BYTES);
  id[6] = (id[6]! & 0x0f) | 0x40;
  id[8] = (id[8]! & 0x3f) | 0x80;
  return id;
}

const HEX_DIGITS = [..."0123456789abcdef"].map((c) => c.charCodeAt(0));
const uuidChars: number[] = new Array<number>(36).fill(0);

/**
 * The id as UUID text, built from character codes in one step: a string grown with `+=` is a tree of
 * fragments that costs about 480 bytes of heap, and a MemoryStore keeps one per live counter.
 */
export function uuidText(id: Uint8Array<ArrayBuffer>): string {
  let j = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) uuidChars[j++] = 0x2d;
    const byte = id[i]!;
    uuidChars[j++] = HEX_DIGITS[byte >> 4]!;
    uuidChars[j++] = HEX_DIGITS[byte & 15]!;
  }
  return String.fromCharCode.apply(null, uuidChars);
}

export function gcmNonce(id: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const nonce = new Uint8Array(12);
  for (let i = 0; i < 12; i++) nonce[i] = id[NONCE_POSITIONS[i]!]!;
  return nonce;
}

/**
 * The context the tag covers but the token does not carry: purpose and bind value, each with a presence
 * byte and a length, so no two different contexts encode alike.
 */
export function encodeContext(purpose: string | undefined, bind: Uint8Array<ArrayBuffer> | undefined): Uint8Array<ArrayBuffer> {
  const p = purpose === undefined ? undefined : encoder.encode(purpose);
  const size = 1 + (p ? 4 + p.length : 0) + 1 + (bind ? 4 + bind.length : 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let o = 0;
  if (p) {
    out[o++] = 1;
    view.setUint32(o, p.length);
    o += 4;
    out.set(p, o);
    o += p.length;
  } else out[o++] = 0;
  if (bind) {
    out[o++] = 1;
    view.setUint32(o, bind.length);
    o += 4;
    out.set(bind, o);
  } else out[o++] = 0;
  return out;
}

export function encodeHeader(flags: number, kid: number, id: Uint8Array<ArrayBuffer>, expiresAt: number, maxUses: number): Uint8Array<ArrayBuffer> {
  const uses: number[] = [];
  let m = maxUses;
  do {
    let byte = m & 0x7f;
    m = Math.floor(m / 128);
    if (m > 0) byte |= 0x80;
    uses.push(byte);
  } while (m > 0);
  const out = new Uint8Array(USES_OFFSET + uses.length);
  out[0] = flags;
  out[1] = kid >>> 8;
  out[2] = kid & 0xff;
  out.set(id, ID_OFFSET);
  let e = expiresAt;
  for (let i = EXPIRY_BYTES - 1; i >= 0; i--) {
    out[EXPIRY_OFFSET + i] = e % 256;
    e = Math.floor(e / 256);
  }
  out.set(uses, USES_OFFSET);
  return out;
}

/** Reads the header fields; undefined when the layout is impossible (reserved flags, bad varint, too short). */
export function decodeHeader(bytes: Uint8Array<ArrayBuffer>): V3Header | undefined {
  if (bytes.length < V3_MIN_BYTES) return undefined;
  const flags = bytes[0]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) return undefined;
  if ((flags & FLAG_COMPRESSED) !== 0 && (flags & FLAG_PAYLOAD) === 0) return undefined;
  let expiresAt = 0;
  for (let i = 0; i < EXPIRY_BYTES; i++) expiresAt = expiresAt * 256 + bytes[EXPIRY_OFFSET + i]!;
  let maxUses = 0;
  let o = USES_OFFSET;
  for (let shift = 1; ; shift *= 128) {
    if (o >= bytes.length - TAG_BYTES || shift > 128 ** 4) return undefined;
    const byte = bytes[o++]!;
    maxUses += (byte & 0x7f) * shift;
    if ((byte & 0x80) === 0) {
      // Minimal encoding only (no trailing zero groups), so each value has one spelling.
      if (byte === 0 && shift > 1) return undefined;
      break;
    }
  }
  if (maxUses > MAX_USES_LIMIT) return undefined;
  const hasPayload = (flags & FLAG_PAYLOAD) !== 0;
  // A payload token has at least one byte of ciphertext; a token without one has none.
  if (hasPayload ? bytes.length - TAG_BYTES <= o : bytes.length - TAG_BYTES !== o) return undefined;
  return { flags, kid: (bytes[1]! << 8) | bytes[2]!, id: bytes.subarray(ID_OFFSET, EXPIRY_OFFSET), expiresAt, maxUses, headerEnd: o };
}

export function encodeText(bytes: Uint8Array<ArrayBuffer>): string {
  return V3_PREFIX + base32Crockford.encode(bytes);
}

/**
 * Turns text into token bytes without any crypto: trims, checks the prefix (any case), drops dashes and
 * decodes canonically. Returns the reason, as text, for anything that cannot be a V3 token.
 */
export function parseText(text: string): Uint8Array<ArrayBuffer> | string {
  const trimmed = text.trim();
  if (trimmed.length < V3_PREFIX.length || trimmed.slice(0, V3_PREFIX.length).toUpperCase() !== V3_PREFIX) {
    return "not a TEMP-V3 token";
  }
  const body = trimmed.slice(V3_PREFIX.length).replaceAll("-", "");
  const bytes = base32Crockford.decode(body);
  if (bytes === undefined) return "TEMP-V3 token has characters or a length that no token has";
  if (bytes.length < V3_MIN_BYTES) return "TEMP-V3 token is too short";
  return bytes;
}

/** parseText, throwing TempIDFormatError for anything that cannot be a V3 token. */
export function decodeText(text: string): Uint8Array<ArrayBuffer> {
  const bytes = parseText(text);
  if (typeof bytes === "string") throw new TempIDFormatError(bytes);
  return bytes;
}

export interface V3Mint {
  key: V3Key;
  expiresAt: number;
  maxUses: number;
  /** already serialized (and maybe compressed) payload bytes, or undefined */
  plaintext: Uint8Array<ArrayBuffer> | undefined;
  compressed: boolean;
  context: Uint8Array<ArrayBuffer>;
}

export async function mintV3(engine: Engine, m: V3Mint): Promise<{ bytes: Uint8Array<ArrayBuffer>; id: Uint8Array<ArrayBuffer> }> {
  if (!(Number.isInteger(m.expiresAt) && m.expiresAt >= 0 && m.expiresAt <= MAX_EXPIRY)) {
    throw new RangeError("expiry out of range");
  }
  const id = newId();
  const flags = m.plaintext ? FLAG_PAYLOAD | (m.compressed ? FLAG_COMPRESSED : 0) : 0;
  const header = encodeHeader(flags, m.key.kid, id, m.expiresAt, m.maxUses);
  if (m.plaintext === undefined) {
    const tag = (await engine.hmac(m.key.mac, concat(header, m.context))).subarray(0, TAG_BYTES);
    return { bytes: concat(header, tag), id };
  }
  const sealed = await engine.seal(m.key.enc, gcmNonce(id), m.plaintext, concat(header, m.context));
  return { bytes: concat(header, sealed), id };
}

/**
 * Authenticates token bytes. Returns the header and, for payload tokens, the plaintext; undefined when the
 * token is not genuine (the caller reports it as tampered), or the key id when the layout is sound but no
 * key has that id (rotated out, or another secret: only to word the error). Once the text is well formed,
 * every failure costs the same one MAC as a success (a dummy one when the flags, key id or layout are
 * wrong), so the time to reject does not depend on where a token was changed.
 */
export async function openV3(
  engine: Engine,
  bytes: Uint8Array<ArrayBuffer>,
  keys: { current: V3Key; byKid: Map<number, V3Key[]> },
  context: Uint8Array<ArrayBuffer>,
): Promise<{ header: V3Header; plaintext: Uint8Array<ArrayBuffer> | undefined } | number | undefined> {
  const header = decodeHeader(bytes);
  const candidates = header ? keys.byKid.get(header.kid) : undefined;
  const body = bytes.subarray(0, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  if (header === undefined || candidates === undefined) {
    await engine.hmac(keys.current.mac, concat(body, context));
    return header?.kid;
  }
  // One key almost always; more only when secrets share a key id (1 in 65,536 pairs).
  for (const key of candidates) {
    if ((header.flags & FLAG_PAYLOAD) === 0) {
      const expected = (await engine.hmac(key.mac, concat(body, context))).subarray(0, TAG_BYTES);
      if (constantTimeEqual(expected, tag)) return { header, plaintext: undefined };
    } else {
      const aad = concat(bytes.subarray(0, header.headerEnd), context);
      const plaintext = await engine.open(key.enc, gcmNonce(header.id), bytes.subarray(header.headerEnd), aad);
      if (plaintext !== undefined) return { header, plaintext };
    }
  }
  return undefined;
}

export function concat(a: Uint8Array<ArrayBuffer>, b: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
