import { FLAG_PAYLOAD, decodeHeader, decodeText, uuidText, V3_PREFIX } from "./format-v3.js";
import { decodeV2Header, splitV2, V2_PREFIX } from "./format-v2.js";
import { TempIDFormatError } from "./errors.js";
import type { Format } from "./config.js";

/** What anyone can read from a token without the secret. Nothing here is authenticated. */
export interface TokenInfo {
  format: Format;
  /** unix seconds as written in the token */
  expiresAt: Date;
  maxUses: number;
  /** V3: the UUID; V2: the signature text (its counter key) */
  id: string;
  hasPayload: boolean;
  /** V3: the 16-bit id of the key that minted it */
  keyId: number | null;
}

/**
 * Reads a token's public fields without the secret (for debugging and the CLI's `inspect`). The result is
 * NOT verified: never base a decision on it. Throws TempIDFormatError when the text is not a token.
 */
export function inspectToken(text: string): TokenInfo {
  if (typeof text !== "string" || text.length > 4400) throw new TempIDFormatError("not a tempid token");
  const head = text.trimStart().slice(0, 8);
  if (head.toUpperCase() === V3_PREFIX) {
    const header = decodeHeader(decodeText(text));
    if (header === undefined) throw new TempIDFormatError("TEMP-V3 token has an impossible layout");
    return {
      format: "v3",
      expiresAt: new Date(header.expiresAt * 1000),
      maxUses: header.maxUses,
      id: uuidText(header.id),
      hasPayload: (header.flags & FLAG_PAYLOAD) !== 0,
      keyId: header.kid,
    };
  }
  if (head === V2_PREFIX) {
    const { sig, parts } = splitV2(text);
    const { expiresAt, maxUses } = decodeV2Header(parts[1]!);
    return {
      format: "v2",
      expiresAt: new Date(expiresAt * 1000),
      maxUses,
      id: sig,
      hasPayload: parts.length === 4,
      keyId: null,
    };
  }
  throw new TempIDFormatError("not a tempid token");
}
