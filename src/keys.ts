import { hkdf, KeyMaterial } from "./crypto.js";
import { TempIDConfigError } from "./errors.js";

/** A secret: text (taken as its UTF-8 bytes) or raw bytes. */
export type Secret = string | Uint8Array;

/** The native format refuses secrets shorter than this (256 bits). */
export const MIN_V3_SECRET_BYTES = 32;

const encoder = new TextEncoder();

/** Long enough to derive V3 keys from. */
const isV3Secret = (secret: Secret): boolean => secretBytes(secret).length >= MIN_V3_SECRET_BYTES;

/** Equal for two secrets exactly when they derive the same keys (the same bytes, as text or as bytes). */
export function secretId(secret: Secret): string {
  return Array.from(secretBytes(secret)).join(",");
}

export function secretBytes(secret: Secret): Uint8Array<ArrayBuffer> {
  return typeof secret === "string" ? encoder.encode(secret) : new Uint8Array(secret);
}

/** One secret's V3 keys: nothing uses the secret directly; each use has its own HKDF label. */
export interface V3Key {
  /** 16-bit key id written in every token, so a verify picks its key without trying each one. */
  readonly kid: number;
  readonly mac: KeyMaterial;
  readonly enc: KeyMaterial;
}

const V3_SALT = encoder.encode("tempid/v3");

/**
 * Derived keys, shared by every instance in this realm that uses the same secret, so creating an instance
 * per request (as Workers code often does) does not derive and import keys each time. Bounded.
 */
const derived = new Map<string, Promise<unknown>>();
const DERIVED_CACHE_SIZE = 32;

export function cached<K>(kind: string, secret: Secret, derive: () => Promise<K>): Promise<K> {
  const id = kind + secretId(secret);
  let hit = derived.get(id) as Promise<K> | undefined;
  if (hit === undefined) {
    if (derived.size >= DERIVED_CACHE_SIZE) derived.delete(derived.keys().next().value!);
    hit = derive();
    derived.set(id, hit);
  }
  return hit;
}

export function deriveV3Key(secret: Secret): Promise<V3Key> {
  return cached("3", secret, () => deriveV3KeyUncached(secret));
}

async function deriveV3KeyUncached(secret: Secret): Promise<V3Key> {
  const ikm = secretBytes(secret);
  const [mac, enc, kid] = await Promise.all([
    hkdf(ikm, V3_SALT, "tempid/v3/mac", 32),
    hkdf(ikm, V3_SALT, "tempid/v3/enc", 32),
    hkdf(ikm, V3_SALT, "tempid/v3/kid", 2),
  ]);
  return { kid: (kid[0]! << 8) | kid[1]!, mac: new KeyMaterial(mac), enc: new KeyMaterial(enc) };
}

/**
 * The secrets of one instance, derived once and cached. The first secret mints; all of them verify.
 */
export class Keyring {
  /** The first mints; all verify. */
  readonly secrets: readonly Secret[];
  #v3: Promise<{ current: V3Key; byKid: Map<number, V3Key[]> }> | undefined;

  constructor(secrets: readonly Secret[]) {
    this.secrets = secrets;
  }

  /**
   * Checks what can be checked without deriving anything: V3 secrets are at least 32 bytes. A shorter one
   * (a Python service's) may stand in the list of an instance that also accepts V2 tokens, where it serves
   * V2 only, as long as it does not mint V3 tokens (first place with format "v3").
   */
  static assertV3Secrets(secrets: readonly Secret[], mintsV3 = true, acceptsV2 = false): void {
    secrets.forEach((secret, i) => {
      const n = secretBytes(secret).length;
      if (n < MIN_V3_SECRET_BYTES && !(acceptsV2 && (i > 0 || !mintsV3))) {
        throw new TempIDConfigError(
          `secret${secrets.length > 1 ? ` #${i + 1}` : ""} is ${n} bytes; the native format needs at least ${MIN_V3_SECRET_BYTES} ` +
            `(\`npx tempid secret\` makes one); a shorter one serves only Python V2 tokens: { format: "v2", accept: ["v2"] }, ` +
            `or after the first secret with accept: ["v3", "v2"]`,
        );
      }
    });
    if (!secrets.some(isV3Secret)) {
      throw new TempIDConfigError(`no secret is ${MIN_V3_SECRET_BYTES} bytes or more, so no V3 token can be verified: add one, or accept v2 only`);
    }
  }

  /** The V3 keys of the secrets long enough for V3 (all of them, unless some serve V2 only); the first mints. */
  v3(): Promise<{ current: V3Key; byKid: Map<number, V3Key[]> }> {
    return (this.#v3 ??= (async () => {
      const keys = await Promise.all(this.secrets.map((s) => (isV3Secret(s) ? deriveV3Key(s) : undefined)));
      // Two distinct secrets share a key id once in 65,536 pairs (the same secret twice is refused earlier):
      // then a token with that id is tried against each of them, in list order.
      const byKid = new Map<number, V3Key[]>();
      for (const key of keys) {
        if (key === undefined) continue;
        const same = byKid.get(key.kid);
        if (same) same.push(key);
        else byKid.set(key.kid, [key]);
      }
      return { current: keys.find((key) => key !== undefined)!, byKid };
    })());
  }

}
