import { readClock } from "../src/clock.js";
import { type ContextOptions, contextBytes } from "../src/context.js";
import { type Engine, loadEngine, nativeAvailable } from "../src/crypto.js";
import { type Duration, parseDuration, parseTolerance } from "../src/duration.js";
import { TempIDArgumentError, TempIDConfigError } from "../src/errors.js";
import { encodeText, FLAG_COMPRESSED, MAX_USES_LIMIT, mintV3, openV3, parseText, uuidText } from "../src/format-v3.js";
import { Keyring, type Secret } from "../src/keys.js";
import { onDemand } from "../src/on-demand.js";
import { DEFAULT_MAX_PAYLOAD_BYTES, decodePayload, encodePayload, type JsonValue } from "../src/payload.js";

/**
 * The least API that keeps tempid's checks: a measuring device for the bundle goal of issue 6, not a product
 * (nothing in the package exports it). It mints and verifies the same TEMP-V3 tokens as `createTempID`
 * (test/core/least-api.test.ts checks each verifies the other's), by calling the same format, key, payload,
 * duration and context code, and drops everything only some applications need: use counting and stores,
 * the Python V2 format, schemas, secrets from the environment, the token object's methods, `fromString`'s
 * errors. bench/bundle.ts weighs `new` + `verify` through it: what the 4 kB budget would leave room for.
 */

/** Options of this `createTempID()`: a subset of the full one's, with the same meaning. */
export interface LeastOptions {
  /** The secret (at least 32 bytes), or a list for rotation: the first mints, all verify. Required. */
  secret: Secret | readonly Secret[];
  /** Default purpose for new and verify: a token made for one purpose fails for another. */
  purpose?: string;
  /** How long past its expiry a token is still accepted: seconds or "30s". */
  clockTolerance?: Duration;
  /** Milliseconds since the epoch, like `Date.now` (the default). */
  clock?: () => number;
  /** "auto" (default) uses Node's native crypto where the runtime offers it; "webcrypto" forces crypto.subtle. */
  crypto?: "auto" | "webcrypto";
}

/** A minted or verified token: plain data. */
export interface LeastToken<P = unknown> {
  /** The token text (also what `String(token)` gives). */
  readonly token: string;
  /** The UUID inside the token: unique per token, the key the full API counts uses under. */
  readonly id: string;
  readonly expiresAt: Date;
  /** The use limit written in the token (0: none). Nothing here counts uses; `use()` in the full API does. */
  readonly maxUses: number;
  /** The decrypted JSON payload, or null. */
  readonly payload: P | null;
}

export interface LeastNewOptions<P = JsonValue> extends ContextOptions {
  /** JSON data, encrypted into the token (at most 512 bytes of JSON). */
  payload?: P;
  /** Written into the token for the full API's `use()` to enforce; whole number, 0 (default) for none. */
  maxUses?: number;
}

export interface LeastTempID {
  /** A new token valid for `expiresIn` ("15m", "2h", "7d" or seconds). Throws on bad arguments. */
  "new"<P = JsonValue>(expiresIn: Duration, options?: LeastNewOptions<P>): Promise<LeastToken<P>>;
  /** The token if it is genuine, unexpired and made for this purpose and bind; otherwise null. Never throws for a bad token. */
  verify<P = unknown>(token: string, options?: ContextOptions): Promise<LeastToken<P> | null>;
}

const OPTION_KEYS = ["secret", "purpose", "clockTolerance", "clock", "crypto"];
/** The largest token the full API makes is about 4,000 characters: anything longer is refused unread. */
const MAX_TOKEN_CHARS = 4400;
/** Payloads the full API compressed (48 bytes of JSON or more) are inflated by a module loaded on first need. */
const deflate = onDemand("deflate (compress.js)", () => import("../src/compress.js"));
/** The full API's verify reads payloads up to its own limit: so does this one (2,048 bytes, the largest). */
const MAX_READ_PAYLOAD = 2048;

function token<P>(text: string, id: Uint8Array<ArrayBuffer>, expiresAt: number, maxUses: number, payload: P | null): LeastToken<P> {
  return { token: text, id: uuidText(id), expiresAt: new Date(expiresAt * 1000), maxUses, payload, toString: () => text } as LeastToken<P>;
}

/** An instance with its own secret(s) and options. Throws TempIDConfigError for bad options. */
export function createTempID(options: LeastOptions): LeastTempID {
  if (typeof options !== "object" || options === null) throw new TempIDConfigError("options must be an object with a secret");
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new TempIDConfigError(`unknown option "${key}" (options: ${OPTION_KEYS.join(", ")})`);
  }
  const list = (Array.isArray(options.secret) ? [...options.secret] : [options.secret]) as unknown[];
  if (list.length === 0 || !list.every((s) => (typeof s === "string" || s instanceof Uint8Array) && s.length > 0)) {
    throw new TempIDConfigError("secret must be a non-empty string or Uint8Array, or a non-empty list of them");
  }
  const secrets = list.map((s) => (typeof s === "string" ? s : new Uint8Array(s as Uint8Array))) as Secret[];
  Keyring.assertV3Secrets(secrets);
  const keyring = new Keyring(secrets);
  const clock = options.clock ?? Date.now;
  if (typeof clock !== "function") throw new TempIDConfigError("clock must be a function returning milliseconds since the epoch");
  let toleranceMs: number;
  try {
    toleranceMs = parseTolerance(options.clockTolerance) * 1000;
  } catch (err) {
    throw new TempIDConfigError(`clockTolerance: ${(err as Error).message}`);
  }
  const purpose = options.purpose;
  if (purpose !== undefined) contextBytes({ purpose }, undefined);
  if (options.crypto !== undefined && options.crypto !== "auto" && options.crypto !== "webcrypto") {
    throw new TempIDConfigError(`crypto must be "auto" or "webcrypto", got ${JSON.stringify(options.crypto)}`);
  }
  const native = nativeAvailable(options.crypto === "webcrypto");
  let engine: Engine | undefined;

  return {
    async new(expiresIn, opts = {}) {
      if (typeof opts !== "object" || opts === null) throw new TempIDArgumentError("options must be an object");
      const seconds = parseDuration(expiresIn);
      const maxUses = opts.maxUses ?? 0;
      if (!Number.isInteger(maxUses) || maxUses < 0 || maxUses > MAX_USES_LIMIT) {
        throw new TempIDArgumentError(`maxUses must be a whole number from 0 to ${MAX_USES_LIMIT}, got ${String(maxUses)}`);
      }
      const context = contextBytes(opts, purpose);
      const payload = opts.payload ?? null;
      const plaintext = payload === null ? undefined : encodePayload(payload, DEFAULT_MAX_PAYLOAD_BYTES);
      const expiresAt = Math.floor(readClock(clock) / 1000) + seconds;
      const { current } = await keyring.v3();
      engine ??= await loadEngine(native);
      const { bytes, id } = await mintV3(engine, { key: current, expiresAt, maxUses, plaintext, compressed: false, context });
      // The caller's object is not the token's: a copy, as a verifier will read it back.
      return token(encodeText(bytes), id, expiresAt, maxUses, (plaintext ? decodePayload(plaintext) : null) as never);
    },

    async verify(text, opts = {}) {
      if (typeof opts !== "object" || opts === null) throw new TempIDArgumentError("options must be an object");
      const context = contextBytes(opts, purpose);
      if (typeof text !== "string" || text.length > MAX_TOKEN_CHARS || text.trimStart().slice(0, 8).toUpperCase() !== "TEMP-V3.") return null;
      const bytes = parseText(text);
      if (typeof bytes === "string") return null;
      engine ??= await loadEngine(native);
      const opened = await openV3(engine, bytes, await keyring.v3(), context);
      if (opened === undefined || typeof opened === "number") return null;
      const { header, plaintext } = opened;
      if (readClock(clock) >= header.expiresAt * 1000 + toleranceMs) return null;
      let payload: unknown = null;
      if (plaintext !== undefined) {
        const json = header.flags & FLAG_COMPRESSED ? await (await deflate()).decompress(plaintext, "deflate-raw", MAX_READ_PAYLOAD, !native) : plaintext;
        payload = json && json.length <= MAX_READ_PAYLOAD ? decodePayload(json) : undefined;
        if (payload === undefined || payload === null) return null;
      }
      return token(encodeText(bytes), header.id, header.expiresAt, header.maxUses, payload as never);
    },
  };
}
