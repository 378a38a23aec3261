/**
 * Base32 codecs without padding. Decoding is strict and canonical: every character must be in the alphabet,
 * the length must be one an encoder can produce, and the unused low bits of the last character must be zero,
 * so exactly one text decodes to given bytes (a changed character always changes the bytes).
 */
export interface Base32 {
  encode(bytes: Uint8Array<ArrayBuffer>): string;
  /** Returns undefined for any text that is not the canonical encoding of some bytes. */
  decode(text: string): Uint8Array<ArrayBuffer> | undefined;
}

/** A codec for a 32-character alphabet, upper case; `caseInsensitive` also decodes its lower-case letters. */
export function base32Codec(alphabet: string, caseInsensitive: boolean): Base32 {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < 32; i++) {
    table[alphabet.charCodeAt(i)] = i;
    if (caseInsensitive) table[alphabet.toLowerCase().charCodeAt(i)] = i;
  }
  return {
    encode(bytes) {
      let out = "";
      let buffer = 0;
      let bits = 0;
      for (let i = 0; i < bytes.length; i++) {
        buffer = ((buffer & 0xff) << 8) | bytes[i]!;
        bits += 8;
        while (bits >= 5) {
          bits -= 5;
          out += alphabet[(buffer >>> bits) & 31];
        }
      }
      if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
      return out;
    },
    decode(text) {
      const n = text.length;
      const rem = n % 8;
      // Lengths 1, 3 and 6 (mod 8) cannot come out of an encoder.
      if (rem === 1 || rem === 3 || rem === 6) return undefined;
      const out = new Uint8Array(Math.floor((n * 5) / 8));
      let buffer = 0;
      let bits = 0;
      let j = 0;
      for (let i = 0; i < n; i++) {
        const c = text.charCodeAt(i);
        const v = c < 128 ? table[c]! : -1;
        if (v < 0) return undefined;
        buffer = ((buffer & 0xff) << 5) | v;
        bits += 5;
        if (bits >= 8) {
          bits -= 8;
          out[j++] = (buffer >>> bits) & 0xff;
        }
      }
      // Leftover bits must be zero, or two texts would decode to the same bytes.
      if (bits > 0 && (buffer & ((1 << bits) - 1)) !== 0) return undefined;
      return out;
    },
  };
}

/**
 * Crockford's base32 alphabet (no I, L, O, U: nothing to misread when a code is typed or read aloud),
 * decoded case-insensitively. The letters Crockford lets decoders alias (O→0, I/L→1) are refused here, so a
 * token has exactly one spelling up to case.
 */
export const base32Crockford: Base32 = /* @__PURE__ */ base32Codec("0123456789ABCDEFGHJKMNPQRSTVWXYZ", true);
