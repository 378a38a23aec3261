import { type Duration, parseTolerance } from "./duration.js";
import { readEnv } from "./env.js";
import { assertPurpose, assertWellFormed } from "./context.js";
import { TempIDConfigError } from "./errors.js";
import { Keyring, type Secret, secretId } from "./keys.js";
import { defaultStore } from "./default-store.js";
import { DEFAULT_MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES_LIMIT } from "./payload.js";
import type { UseStore } from "./store.js";

export type Format = "v3" | "v2";

/** Options of `createTempID()` and `configure()`. */
export interface TempIDOptions {
  /**
   * The secret, or a list of them for rotation: the first mints, all verify. Text (UTF-8) or bytes; V3
   * needs at least 32 bytes. Left out: the `TEMPID_SECRET` environment variable where the runtime has one.
   * Given but `undefined` (a missing binding or variable): a `TempIDConfigError`, never the fallback.
   */
  secret?: Secret | readonly Secret[] | undefined;
  /**
   * Where `maxUses` counts live. Default: the one `MemoryStore` (single process only) shared by the instances
   * given no store and the same `clock`, made on first use; its `close()` closes this instance's handle only.
   */
  store?: UseStore;
  /** The format new tokens are minted in: "v3" (native, default) or "v2" (Python tempid 2.x). */
  format?: Format;
  /** The formats accepted when verifying. Default: the minting format alone. */
  accept?: readonly Format[];
  /** Milliseconds since the epoch, like `Date.now` (the default). Every time-based decision uses it. */
  clock?: () => number;
  /** How long past its expiry a token is still accepted (clock skew between servers): seconds or "30s". */
  clockTolerance?: Duration;
  /** Default purpose for new and verify (V3 only): a token made for one purpose fails for another. */
  purpose?: string;
  /** Largest payload, in bytes of JSON, for new and verify. Default 512 (as Python), at most 2048. */
  maxPayloadBytes?: number;
  /** Refuse the insecure fallback secret even outside production. */
  strict?: boolean;
  /** "auto" (default) uses Node's native crypto where the runtime offers it; "webcrypto" forces crypto.subtle. */
  crypto?: "auto" | "webcrypto";
}

export interface ResolvedConfig {
  keyring: Keyring;
  /** true when no secret was given and the insecure fallback is in use */
  insecure: boolean;
  store: UseStore;
  format: Format;
  accept: ReadonlySet<Format>;
  clock: () => number;
  toleranceMs: number;
  purpose: string | undefined;
  maxPayloadBytes: number;
  portableCrypto: boolean;
}

/** Public on purpose: everyone can read it, which is the point. Only for trying tempid out locally. */
export const INSECURE_FALLBACK_SECRET = "tempid-insecure-fallback-secret--never-use-in-production";

let warned = false;

function isSecret(value: unknown): value is Secret {
  return (typeof value === "string" && value.length > 0) || (value instanceof Uint8Array && value.length > 0);
}

/**
 * An on/off option: true, false or absent. Anything else is refused: read as `=== true`, the text "true"
 * (from a query string or an environment variable) would silently mean off.
 */
export function flag(value: unknown, name: string, E: new (message: string) => Error): boolean {
  if (value !== undefined && typeof value !== "boolean") throw new E(`${name} must be true or false, got ${typeof value}`);
  return value === true;
}

/** NODE_ENV says production ("production", "prod", any case). */
function isProduction(): boolean {
  const env = readEnv("NODE_ENV")?.trim().toLowerCase();
  return env === "production" || env === "prod";
}

/**
 * Only a runtime with a process environment (Node, Bun, Deno) can have been given TEMPID_SECRET there. Edge
 * platforms count as without one even where they emulate it (Workers with nodejs_compat have a
 * `process.env`): code there is deployed, never a local try-out, and NODE_ENV is rarely set.
 */
function hasProcessEnv(): boolean {
  const g = globalThis as { process?: { env?: unknown }; navigator?: { userAgent?: unknown }; EdgeRuntime?: unknown };
  const edge = g.navigator?.userAgent === "Cloudflare-Workers" || typeof g.EdgeRuntime === "string" || readEnv("DENO_DEPLOYMENT_ID") !== undefined;
  return !edge && typeof g.process?.env === "object";
}

function resolveSecrets(options: TempIDOptions, strict: boolean): { secrets: Secret[]; insecure: boolean } {
  if ("secret" in options) {
    const option = options.secret;
    // An explicit secret that is undefined is a missing binding or variable (env.TEMPID_SECRET on Workers,
    // say): an error, never a reason to fall back.
    if (option === undefined || option === null) {
      throw new TempIDConfigError("secret is undefined: the variable or binding that should hold it is missing");
    }
    const list = (Array.isArray(option) ? [...option] : [option]) as unknown[];
    if (list.length === 0) throw new TempIDConfigError("secret is an empty list: give at least one secret");
    const copies = list.map((s, i) => {
      if (!isSecret(s)) {
        throw new TempIDConfigError(`secret${list.length > 1 ? ` #${i + 1}` : ""} must be a non-empty string or Uint8Array`);
      }
      if (typeof s !== "string") return new Uint8Array(s); // a copy: wiping or reusing the caller's buffer must not change the key
      // Lone surrogates all encode as U+FFFD: different strings would be one key.
      assertWellFormed(s, `secret${list.length > 1 ? ` #${i + 1}` : ""}`, TempIDConfigError);
      return s;
    });
    const seen = new Map<string, number>();
    copies.forEach((s, i) => {
      const id = secretId(s);
      const first = seen.get(id);
      if (first !== undefined) throw new TempIDConfigError(`secrets #${first + 1} and #${i + 1} are the same secret`);
      seen.set(id, i);
    });
    return { secrets: copies, insecure: false };
  }
  const fromEnv = readEnv("TEMPID_SECRET");
  if (fromEnv !== undefined && fromEnv !== "") return { secrets: [fromEnv], insecure: false };
  // Deno reads nothing without the permission: a set TEMPID_SECRET looks unset, so say so.
  const deno = "Deno" in globalThis ? "; Deno reads TEMPID_SECRET only with --allow-env=TEMPID_SECRET" : "";
  if (strict || isProduction() || !hasProcessEnv()) {
    throw new TempIDConfigError(
      `no secret: set TEMPID_SECRET or pass { secret } (no insecure fallback in production, with strict: true, or without a process environment: Workers, edge runtimes, browsers)${deno}`,
    );
  }
  if (!warned) {
    warned = true;
    console.warn(
      `tempid: no secret (TEMPID_SECRET or { secret }): using a public fallback secret that anyone can read. For local testing only, never production${deno}.`,
    );
  }
  return { secrets: [INSECURE_FALLBACK_SECRET], insecure: true };
}

const FORMATS: readonly Format[] = ["v3", "v2"];

function assertFormat(value: unknown, what: string): asserts value is Format {
  if (!FORMATS.includes(value as Format)) throw new TempIDConfigError(`${what} must be "v3" or "v2", got ${JSON.stringify(value)}`);
}

/** Every option of TempIDOptions: any other key is a typo (`secrt`), refused rather than ignored. */
const OPTION_KEYS = ["secret", "store", "format", "accept", "clock", "clockTolerance", "purpose", "maxPayloadBytes", "strict", "crypto"];

export function resolveConfig(given: TempIDOptions = {}): ResolvedConfig {
  if (typeof given !== "object" || given === null) throw new TempIDConfigError("options must be an object");
  for (const key of Object.keys(given)) {
    if (!OPTION_KEYS.includes(key)) throw new TempIDConfigError(`unknown option "${key}" (options: ${OPTION_KEYS.join(", ")})`);
  }
  // A copy, each option read once (own or inherited, as a class's getters are): what is checked is what is
  // used, where a getter answering null on a second read, or a `store: null` on the prototype, passed unseen.
  const options: TempIDOptions = {};
  for (const key of OPTION_KEYS) {
    if (!(key in given)) continue;
    const value = ((options as Record<string, unknown>)[key] = (given as Record<string, unknown>)[key]);
    // null is not "the default": `store: null` from a missing binding would silently count in memory.
    if (key !== "secret" && value === null) throw new TempIDConfigError(`${key} is null: leave it out (undefined) for the default`);
    // Nor is a store given as undefined (a missing binding, like a secret's): left out, it is the default.
    if (key === "store" && value === undefined) throw new TempIDConfigError("store is undefined: the variable or binding that should hold it is missing (leave the option out for the default store)");
  }
  const format = options.format ?? "v3";
  assertFormat(format, "format");
  const acceptList = options.accept ?? [format];
  if (!Array.isArray(acceptList) || acceptList.length === 0) throw new TempIDConfigError("accept must be a non-empty list of formats");
  acceptList.forEach((f) => assertFormat(f, "accept"));
  const accept = new Set<Format>(acceptList);
  if (!accept.has(format)) throw new TempIDConfigError(`accept must include "${format}", the format new tokens are minted in: an instance verifies its own tokens`);

  const clock = options.clock ?? Date.now;
  if (typeof clock !== "function") throw new TempIDConfigError("clock must be a function returning milliseconds since the epoch");

  let toleranceMs: number;
  try {
    toleranceMs = parseTolerance(options.clockTolerance) * 1000;
  } catch (err) {
    throw new TempIDConfigError(`clockTolerance: ${(err as Error).message}`);
  }

  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1 || maxPayloadBytes > MAX_PAYLOAD_BYTES_LIMIT) {
    throw new TempIDConfigError(`maxPayloadBytes must be a whole number from 1 to ${MAX_PAYLOAD_BYTES_LIMIT}, got ${String(maxPayloadBytes)}`);
  }

  const purpose = options.purpose;
  if (purpose !== undefined) {
    // A bad option is a TempIDConfigError, as for every other option (a call's own purpose is an argument).
    assertPurpose(purpose, TempIDConfigError);
    if (format === "v2" || accept.has("v2")) {
      throw new TempIDConfigError("purpose does not exist in the V2 format: drop it, or do not accept v2");
    }
  }

  const store = options.store ?? defaultStore(clock);
  for (const method of ["consume", "used", "revoke", "close"] as const) {
    if (typeof (store as unknown as Record<string, unknown>)[method] !== "function") {
      throw new TempIDConfigError(`store must implement the UseStore contract (missing ${method}())`);
    }
  }

  if (options.crypto !== undefined && options.crypto !== "auto" && options.crypto !== "webcrypto") {
    throw new TempIDConfigError(`crypto must be "auto" or "webcrypto", got ${JSON.stringify(options.crypto)}`);
  }

  const { secrets, insecure } = resolveSecrets(options, flag(options.strict, "strict", TempIDConfigError));
  if (accept.has("v3")) Keyring.assertV3Secrets(secrets, format === "v3", accept.has("v2"));

  return {
    keyring: new Keyring(secrets),
    insecure,
    store,
    format,
    accept,
    clock,
    toleranceMs,
    purpose,
    maxPayloadBytes,
    portableCrypto: options.crypto === "webcrypto",
  };
}
