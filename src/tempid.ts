import { Codec, type Decoded, TokenFault } from "./codec.js";
import type { Bind } from "./context.js";
import { flag, type Format, resolveConfig, type TempIDOptions } from "./config.js";
import { type Duration, formatRemaining, parseDuration } from "./duration.js";
import { readClock } from "./clock.js";
import { onDemand } from "./on-demand.js";
import { TempIDArgumentError, TempIDError, TempIDSchemaError, TempIDUnsupportedError } from "./errors.js";
import type { JsonCompatible, JsonValue } from "./payload.js";
import { type InferInput, type InferOutput, isStandardSchema, type StandardSchemaV1, validateWith } from "./schema.js";
import type { UseStore } from "./store.js";
import type { DefaultStore } from "./default-store.js";
import type { TokenContext } from "./uses.js";

/** The token's store calls (uses.ts), loaded the first time a token with maxUses needs one. */
const usesModule = onDemand("a token's store calls (uses.js)", () => import("./uses.js"));

/** The store calls, once the first of the calls that waited for their load has run (see withUses). */
let uses: typeof import("./uses.js") | undefined;

/**
 * Runs `f` with the store calls: at once when they are loaded, else after the one load. Either way calls
 * reach the store in the order they were made (`revoke(); use()` revokes first), as a store of its own
 * would see them. `uses` is set by the first waiting call as it runs, not when the load ends (as
 * `usesModule.now` is, a step earlier): the calls that waited run together, so no later call goes first.
 */
function withUses<T>(f: (uses: typeof import("./uses.js")) => Promise<T>): Promise<T> {
  return uses ? f(uses) : usesModule().then((m) => f((uses ??= m)));
}

export interface NewOptions<P = JsonValue> {
  /** JSON data carried encrypted inside the token. */
  payload?: P | null;
  /** How many times `use()` may succeed; 0 (default) = unlimited, no store involved. */
  maxUses?: number;
  /** V3 only: the token only verifies for this purpose. Overrides the instance's purpose. */
  purpose?: string;
  /** V3 only: a value the token is bound to (e.g. the user's password hash); it verifies only with the same value. */
  bind?: Bind;
  /** A Standard Schema (zod 4, valibot, …) the payload must match, here and when verifying. */
  schema?: StandardSchemaV1;
}

export interface VerifyOptions {
  /** Also refuse (null) when the token's uses are spent or revoked. Read-only: consumes nothing. */
  checkUses?: boolean;
  purpose?: string;
  bind?: Bind;
  /** A Standard Schema the payload must match; the token's payload becomes the schema's output. */
  schema?: StandardSchemaV1;
}

/** Adds nothing for a JSON payload type; makes `payload` impossible for one holding Dates, functions, Maps… */
export type JsonOnly<P> = [NonNullable<P>] extends [JsonValue]
  ? unknown // already JSON (and the default): no deep check of the recursive JsonValue type
  : [P] extends [JsonCompatible<P>]
    ? unknown
    : { payload: JsonCompatible<P> };

/** A token whose payload a schema checked: the payload is the schema's output (never an unchecked null). */
export type Validated<S extends StandardSchemaV1> = TempID<InferOutput<S>> & { readonly payload: InferOutput<S> };

export type FromStringOptions = Omit<VerifyOptions, "checkUses">;

/** `usesInfo()`: `total`, `used`, `left` are all null for a token without a use limit. */
export interface UsesInfo {
  total: number | null;
  used: number | null;
  left: number | null;
}

/**
 * An instance: its own secret(s), store, clock and options. `createTempID()` makes one. `S` is its store's
 * type: the store you gave, or the default store (a `MemoryStore`'s `size` and `purgeExpired()` included).
 */
export interface TempIDInstance<S extends UseStore = UseStore> {
  "new"<S extends StandardSchemaV1>(expiresIn: Duration | undefined, options: NewOptions<InferInput<S>> & { schema: S }): Promise<Validated<S>>;
  "new"<P = JsonValue>(expiresIn?: Duration, options?: NewOptions<P> & JsonOnly<P> & { schema?: undefined }): Promise<TempID<P>>;
  verify<S extends StandardSchemaV1>(token: string, options: VerifyOptions & { schema: S }): Promise<Validated<S> | null>;
  verify<P = unknown>(token: string, options?: VerifyOptions): Promise<TempID<P> | null>;
  fromString<S extends StandardSchemaV1>(token: string, options: FromStringOptions & { schema: S }): Promise<Validated<S>>;
  fromString<P = unknown>(token: string, options?: FromStringOptions): Promise<TempID<P>>;
  /** The store `use()` counts in. */
  readonly store: S;
  /** The format new tokens are minted in. */
  readonly format: Format;
  /** "node" when Node's native crypto is used, "webcrypto" otherwise. */
  readonly cryptoEngine: string;
}

const INSPECT = Symbol.for("nodejs.util.inspect.custom");
const DENO_INSPECT = Symbol.for("Deno.customInspect");

/**
 * An expiring token. Get one from `new`, `verify` or `fromString` (on `TempID` for the default instance
 * configured with `configure()`, or on an instance from `createTempID()`).
 */
export class TempID<P = unknown> {
  /** V3: the token's random UUID. V2: its signature text. */
  readonly id: string;
  /** The key its uses are counted under in a store. */
  readonly counterKey: string;
  readonly expiresAt: Date;
  /** The decrypted payload, or null when the token has none. */
  readonly payload: P | null;
  /** 0 = unlimited. */
  readonly maxUses: number;
  readonly format: Format;
  readonly #text: string;
  readonly #expiresAtSec: number;
  readonly #config: TokenContext;
  #callbacks: Array<() => void> = [];

  /** Tokens come from `new`, `verify` and `fromString`, never from `new TempID()`. */
  protected constructor(decoded: Decoded, payload: P | null, config: TokenContext) {
    this.id = decoded.id;
    this.counterKey = decoded.counterKey;
    this.expiresAt = new Date(decoded.expiresAt * 1000);
    this.payload = payload;
    this.maxUses = decoded.maxUses;
    this.format = decoded.format;
    this.#text = decoded.text;
    this.#expiresAtSec = decoded.expiresAt;
    this.#config = config;
  }

  /** Creates a token on the default instance. */
  static new<S extends StandardSchemaV1>(expiresIn: Duration | undefined, options: NewOptions<InferInput<S>> & { schema: S }): Promise<Validated<S>>;
  static new<P = JsonValue>(expiresIn?: Duration, options?: NewOptions<P> & JsonOnly<P> & { schema?: undefined }): Promise<TempID<P>>;
  static async new(expiresIn?: Duration, options?: NewOptions<never>): Promise<TempID<unknown>> {
    return (defaultInstance() as unknown as { "new"(d?: Duration, o?: unknown): Promise<TempID<unknown>> }).new(expiresIn, options);
  }

  /** Checks a token on the default instance: the token, or null for anything wrong with it. Never throws for a bad token. */
  static verify<S extends StandardSchemaV1>(token: string, options: VerifyOptions & { schema: S }): Promise<Validated<S> | null>;
  static verify<P = unknown>(token: string, options?: VerifyOptions): Promise<TempID<P> | null>;
  static async verify(token: string, options?: VerifyOptions): Promise<TempID<unknown> | null> {
    return defaultInstance().verify(token, options);
  }

  /** Parses a token on the default instance, throwing a typed error when it is not genuine. Returns expired tokens too. */
  static fromString<S extends StandardSchemaV1>(token: string, options: FromStringOptions & { schema: S }): Promise<Validated<S>>;
  static fromString<P = unknown>(token: string, options?: FromStringOptions): Promise<TempID<P>>;
  static async fromString(token: string, options?: FromStringOptions): Promise<TempID<unknown>> {
    return defaultInstance().fromString(token, options);
  }

  /** The token text, for a URL, an email or a QR code. */
  toString(): string {
    return this.#text;
  }

  toJSON(): string {
    return this.#text;
  }

  /** True until the token expires (plus the instance's clock tolerance). Runs `onExpire` callbacks once it has. */
  valid(): boolean {
    const ok = this.#isLive();
    if (!ok) this.#fire();
    return ok;
  }

  /** The opposite of `valid()`. */
  expired(): boolean {
    return !this.valid();
  }

  /** Time left: "45s", "14m 59s", "1h 30m", "3d 0h", or "expired". */
  remaining(): string {
    return formatRemaining(this.#expiresAtSec * 1000 - this.#now());
  }

  /** Registers a callback run once, the first time `valid()`, `expired()` or `use()` sees the token expired after it was registered. Chainable. */
  onExpire(callback: () => void): this {
    if (typeof callback !== "function") throw new TypeError("onExpire takes a function");
    this.#callbacks.push(callback);
    return this;
  }

  /**
   * Spends one use. False once the token has expired, with or without `maxUses` (no store is touched);
   * otherwise true for a token without `maxUses` (no store is touched), and for one with it true when
   * granted, false at the limit or revoked. Rejects with TempIDStoreError when the store fails: a failure
   * is never a grant.
   */
  async use(): Promise<boolean> {
    if (!this.valid()) return false;
    if (this.maxUses === 0) return true;
    return withUses((uses) => uses.spend(this.counterKey, this.maxUses, this.#expiresAtSec, this.#config));
  }

  /** `{ total, used, left }` from the store (all null for a token without `maxUses`). A revoked token has none left. */
  async usesInfo(): Promise<UsesInfo> {
    if (this.maxUses === 0) return { total: null, used: null, left: null };
    return withUses((uses) => uses.usesInfo(this.counterKey, this.maxUses, this.#config));
  }

  /**
   * Revokes the token: every later `use()` is false and `verify(…, { checkUses: true })` null, on every
   * server sharing the store. Only tokens with `maxUses` are tracked in a store; for stateless
   * invalidation of any token, use `bind`.
   */
  async revoke(): Promise<void> {
    if (this.maxUses === 0) {
      throw new TempIDUnsupportedError(
        "only tokens with maxUses can be revoked (others never touch a store): mint with maxUses, or use bind",
      );
    }
    if (this.#isLive()) await withUses((uses) => uses.revoke(this.counterKey, this.#expiresAtSec, this.#config));
  }

  /** @internal true when uses are left (read-only). */
  async hasUsesLeft(): Promise<boolean> {
    return this.maxUses === 0 || withUses((uses) => uses.hasUsesLeft(this.counterKey, this.maxUses, this.#config));
  }

  #now(): number {
    return readClock(this.#config.clock);
  }

  #isLive(): boolean {
    return this.#now() < this.#expiresAtSec * 1000 + this.#config.toleranceMs;
  }

  #fire(): void {
    // Each callback runs once, at the first check that sees the token expired after it was registered
    // (one registered after the expiry was first noticed runs at the next check, not never).
    const callbacks = this.#callbacks;
    this.#callbacks = [];
    // A failing callback must not break the valid()/expired() call that noticed the expiry, nor (an async
    // one's rejection, unhandled) end the process.
    const report = (err: unknown) => console.error("tempid: an onExpire callback threw", err);
    for (const callback of callbacks) {
      try {
        const result: unknown = callback();
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") (result as PromiseLike<unknown>).then(undefined, report);
      } catch (err) {
        report(err);
      }
    }
  }

  #describe(): string {
    const live = this.#isLive();
    return `TempID('${this.#text}', ${live ? "valid" : "expired"}, remaining=${this.remaining()})`;
  }

  /** Node's console.log / util.inspect: shows status without running onExpire callbacks. */
  [INSPECT](): string {
    return this.#describe();
  }

  [DENO_INSPECT](): string {
    return this.#describe();
  }
}

/** The one way tokens are built: TempID's constructor is protected, so `new TempID()` is not public API. */
class Token<P> extends TempID<P> {
  constructor(decoded: Decoded, payload: P | null, config: TokenContext) {
    super(decoded, payload, config);
  }
}

/** Creates an instance with its own secret(s), store, clock and options. Throws TempIDConfigError for bad options. */
export function createTempID<S extends UseStore>(options: TempIDOptions & { store: S }): TempIDInstance<S>;
export function createTempID(options?: TempIDOptions & { store?: undefined }): TempIDInstance<DefaultStore>;
export function createTempID(options?: TempIDOptions): TempIDInstance;
export function createTempID(options: TempIDOptions = {}): TempIDInstance {
  const config = resolveConfig(options);
  const codec = new Codec(config);

  async function finish(decoded: Decoded, schema: StandardSchemaV1 | undefined): Promise<TempID<unknown>> {
    let payload = decoded.payload;
    if (schema !== undefined) {
      const result = await validateWith(schema, payload);
      if (!result.ok) throw new TempIDSchemaError(result.issues);
      payload = result.value;
    }
    return new Token(decoded, payload, config);
  }

  async function fromString(token: string, options: FromStringOptions | null = {}): Promise<TempID<unknown>> {
    const opts = checkOptions(options, FROM_STRING_KEYS, "fromString()");
    return finish(await codec.open(tokenText(token), opts), opts.schema);
  }

  const instance = {
    async new(expiresIn: Duration = "10m", opts: NewOptions<unknown> | null = {}): Promise<TempID<unknown>> {
      const options = checkOptions(opts, NEW_KEYS, "new()");
      const seconds = parseDuration(expiresIn);
      const now = readClock(config.clock);
      if (options.schema !== undefined) {
        const checked = await validateWith(options.schema, options.payload ?? null);
        if (!checked.ok) throw new TempIDSchemaError(checked.issues);
      }
      const decoded = await codec.mint(Math.floor(now / 1000) + seconds, options.payload, options.maxUses ?? 0, options);
      return finish(decoded, options.schema);
    },
    async verify(token: string, opts: VerifyOptions | null = {}): Promise<TempID<unknown> | null> {
      const options = checkOptions(opts, VERIFY_KEYS, "verify()");
      // Where only V2 is accepted, a purpose or bind could never match: a mistake, said at once. (Where V3 is
      // accepted too, a V2 token asked for one is simply not the token asked for: null.)
      if (!config.accept.has("v3") && (options.purpose !== undefined || options.bind !== undefined)) throw new TempIDUnsupportedError();
      let tid: TempID<unknown>;
      try {
        const decoded = await codec.check(tokenText(token), options);
        // The common bad tokens come back without an Error: rejecting them costs no stack trace.
        if (decoded instanceof TokenFault) return null;
        tid = await finish(decoded, options.schema);
      } catch (err) {
        // Bad tokens are null; misconfiguration and bad arguments still throw, loudly.
        if (err instanceof TempIDError && TOKEN_FAULTS.has(err.code)) return null;
        throw err;
      }
      if (!tid.valid()) return null;
      if (options.checkUses === true && !(await tid.hasUsesLeft())) return null;
      return tid;
    },
    fromString,
    store: config.store,
    format: config.format,
    cryptoEngine: codec.engineName,
  };
  return instance as unknown as TempIDInstance;
}

/** Each call's options: any other key is a typo (`maxUse`), refused rather than ignored. */
const FROM_STRING_KEYS = ["purpose", "bind", "schema"];
const VERIFY_KEYS = [...FROM_STRING_KEYS, "checkUses"];
const NEW_KEYS = [...FROM_STRING_KEYS, "payload", "maxUses"];

/** Options objects: null reads as none; only known keys, none null but the payload; a schema must be a Standard Schema. */
function checkOptions<O extends { schema?: StandardSchemaV1 | undefined }>(options: O | null | undefined, keys: readonly string[], call: string): O {
  if (options === null || options === undefined) return {} as O;
  if (typeof options !== "object") throw new TempIDArgumentError("options must be an object");
  // A copy, each option read once: a getter or Proxy answering differently on a second read changes nothing.
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) throw new TempIDArgumentError(`unknown option "${key}" for ${call} (options: ${keys.join(", ")})`);
    const value = (copy[key] = (options as Record<string, unknown>)[key]);
    // Only a payload may be null (none); `maxUses: null` from a missing setting must not mean unlimited.
    if (key !== "payload" && value === null) throw new TempIDArgumentError(`${key} is null: leave it out (undefined) for none`);
  }
  options = copy as O;
  if (options.schema !== undefined && !isStandardSchema(options.schema)) {
    throw new TempIDArgumentError("schema must be a Standard Schema (zod 4, valibot, arktype…)");
  }
  flag((options as VerifyOptions).checkUses, "checkUses", TempIDArgumentError);
  return options;
}

/**
 * The text of a token. A TempID object is a mistake (pass `String(tid)`), said loudly: read as a bad token
 * it would make every verify() answer null. Recognised by its fields, not `instanceof`: a token from the
 * package's other copy (require() and import in one process) is a TempID of another class.
 */
function tokenText(token: unknown): unknown {
  if (typeof token === "object" && token !== null && "counterKey" in token) throw new TempIDArgumentError("pass the token's text, String(tid), not the TempID object");
  return token;
}

/** Errors that say something about the token, which `verify` turns into null. */
const TOKEN_FAULTS = new Set<string>(["ERR_TEMPID_FORMAT", "ERR_TEMPID_TAMPERED", "ERR_TEMPID_SCHEMA", "ERR_TEMPID_UNSUPPORTED", "ERR_TEMPID_PAYLOAD_TOO_LARGE"]);

let defaultOptions: TempIDOptions = {};
let current: TempIDInstance | undefined;

function defaultInstance(): TempIDInstance {
  return (current ??= createTempID(defaultOptions));
}

/**
 * Configures the default instance behind `TempID.new`, `TempID.verify` and `TempID.fromString`. Options
 * merge with earlier `configure()` calls; call it once at startup. Tokens made before keep their settings.
 * Checks the options now, throwing TempIDConfigError for bad ones.
 */
export function configure(options: TempIDOptions): void {
  // A store given earlier stays in the merged options. Without one, the default store is the realm's store
  // for the clock: the same counts while the clock stays, and never another clock's counters.
  const merged = { ...defaultOptions, ...options };
  const next = createTempID(merged);
  defaultOptions = merged;
  current = next;
}
