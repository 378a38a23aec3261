/**
 * Cloudflare Durable Objects use-count store, for Workers. Two parts:
 *
 * - `TempIDCounter`, a Durable Object class you export from your Worker
 *   (`export { TempIDCounter } from "@tempid/core/durable-object"`) and bind as a namespace;
 * - `durableObjectStore(env.TEMPID_COUNTERS)`, the `UseStore` that calls it.
 *
 * Sharding: one object per counter, named `idFromName(prefix + key)`. The platform runs one object's events
 * one at a time on a single thread, holds further events while the object awaits its storage (the input
 * gate), and holds its replies until its writes are durable (the output gate). The object keeps its counter
 * in memory (loaded under `blockConcurrencyWhile`) and checks and changes it with no `await` in between, so
 * a consume is atomic; a reply granting a use leaves only after the write that counted it has been stored.
 * Tokens never contend with each other, and each object stores one small record.
 *
 * Expiry: the object sets an alarm at the counter's expiry; the alarm deletes all its storage (or moves
 * itself to a later expiry). Nothing lingers and no cleanup job is needed. Liveness within a call is judged
 * by the caller's `nowMs`, as in every other store; the alarm follows the platform's clock, and the core's
 * `COUNTER_GRACE_SECONDS` covers the difference.
 *
 * Protocol: the store POSTs `{ v: 1, op, limit?, exp?, now }` as JSON to the object's `fetch()`, which
 * answers `{ granted }`, `{ count }` or `{ ok: true }` (status 200), or `{ error }` (status 400 or 500).
 * The store checks each reply's shape. No "cloudflare:workers" import is needed: the class is a plain
 * Durable Object class (fetch + alarm), and the platform types are declared structurally below.
 */
import { REVOKED_COUNT, TempIDConfigError, TempIDStoreError, type UseStore } from "@tempid/core";
import { DEFAULT_TIMEOUT_MS, type OptionKeys, bounded, checkOptionKeys, checkPositiveInt, isRpcStub, closedError, corruptCount, toNowSec, tokenExpired } from "./store-kit.js";

/** The protocol version the store sends and the object accepts. */
const PROTOCOL = 1;
/** The one storage key of a counter object. */
const COUNTER_KEY = "counter";
/** What a reply TempIDCounter never sends suggests. */
const BINDING_HINT = "is the namespace bound to the TempIDCounter class exported from your Worker?";
/** A URL for the object's fetch(): only the body matters. */
const ENDPOINT = "https://tempid-counter.internal/v1";

// ---------------------------------------------------------------------------------------------------------
// The Durable Object

/** The part of `DurableObjectStorage` the counter uses. */
export interface DurableObjectStorageLike {
  get(key: string): Promise<unknown>;
  put(key: string, value: any): Promise<void>;
  deleteAll(): Promise<void>;
  setAlarm(scheduledTime: number): Promise<void>;
}

/** The part of `DurableObjectState` (the `ctx` a Durable Object is constructed with) the counter uses. */
export interface DurableObjectStateLike {
  readonly storage: DurableObjectStorageLike;
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
}

/** One counter as the object stores it: `expiresAt` in unix seconds, `count` REVOKED_COUNT once revoked. */
interface Counter {
  count: number;
  expiresAt: number;
}

interface CounterRequest {
  op: "consume" | "used" | "revoke";
  limit: number;
  exp: number;
  now: number;
}

const JSON_HEADERS = { "content-type": "application/json" };

function reply(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

function isInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

/** Reads a request body; returns an error text for anything but a well-formed request of this protocol. */
function parseRequest(body: unknown): CounterRequest | string {
  if (body === null || typeof body !== "object") return "the body must be a JSON object";
  const b = body as Record<string, unknown>;
  if (b["v"] !== PROTOCOL) return `unsupported protocol version ${JSON.stringify(b["v"])} (this object speaks ${PROTOCOL})`;
  const op = b["op"];
  if (op !== "consume" && op !== "used" && op !== "revoke") return `unknown op ${JSON.stringify(op)}`;
  // A clock reading may be fractional (performance.timeOrigin + performance.now()): the core accepts any
  // finite one, and liveness is judged in whole seconds (toNowSec), as in every other store.
  const now = b["now"];
  if (typeof now !== "number" || !Number.isFinite(now) || now < 0) return "now must be a non-negative number (unix ms)";
  const exp = op === "used" ? 0 : b["exp"];
  if (!isInt(exp) || exp < 0) return "exp must be a non-negative integer (unix seconds)";
  const limit = op === "consume" ? b["limit"] : 1;
  if (!isInt(limit) || limit < 1 || limit >= REVOKED_COUNT) return `limit must be an integer from 1 to ${REVOKED_COUNT - 1}`;
  return { op, limit, exp, now };
}

/** A stored counter, undefined for none, or an error text for a record no writer of this class produces. */
function parseCounter(value: unknown): Counter | undefined | string {
  if (value === undefined) return undefined;
  const v = value as Partial<Counter> | null;
  if (v === null || typeof v !== "object" || !isInt(v.count) || !isInt(v.expiresAt)) {
    let shown: string;
    try {
      shown = JSON.stringify(value).slice(0, 100);
    } catch {
      shown = typeof value;
    }
    return `unreadable counter record in storage (${shown}): refused, no use granted; revoke the token or delete the object's storage`;
  }
  return { count: v.count, expiresAt: v.expiresAt };
}

/**
 * The Durable Object holding one use counter. Export it from your Worker and bind it:
 *
 * ```toml
 * [[durable_objects.bindings]]
 * name = "TEMPID_COUNTERS"
 * class_name = "TempIDCounter"
 *
 * [[migrations]]
 * tag = "tempid-v1"
 * new_sqlite_classes = ["TempIDCounter"]
 * ```
 */
export class TempIDCounter {
  readonly #state: DurableObjectStateLike;
  /** The stored counter (undefined: none), once loaded. */
  #counter: Counter | undefined;
  /** Set when the stored record cannot be read: used() and consume() fail with it, revoke() overwrites it. */
  #unreadable: string | undefined;
  #loaded = false;
  /** The alarm this instance last set, in ms (0: none known). */
  #alarmAt = 0;

  constructor(state: DurableObjectStateLike, _env?: unknown) {
    this.#state = state;
  }

  async fetch(request: Request): Promise<Response> {
    if (request.method !== "POST") return reply({ error: "POST a JSON request" }, 405);
    let parsed: CounterRequest | string;
    try {
      parsed = parseRequest(await request.json());
    } catch {
      parsed = "the body is not JSON";
    }
    if (typeof parsed === "string") return reply({ error: parsed }, 400);
    try {
      await this.#load();
      return reply(await this.#apply(parsed));
    } catch (err) {
      const corrupt = (err as { corruptCount?: unknown } | null)?.corruptCount;
      const message = err instanceof Error ? err.message : String(err);
      return reply(isInt(corrupt) ? { error: message, corruptCount: corrupt } : { error: message }, 500);
    }
  }

  /** Runs at the counter's expiry: deletes everything this object stored, or waits for a later expiry. */
  async alarm(): Promise<void> {
    await this.#load();
    const counter = this.#counter;
    if (counter !== undefined && counter.expiresAt * 1000 > Date.now()) {
      // Restarted or revoked with a later expiry since this alarm was set.
      await this.#setAlarm(counter.expiresAt * 1000);
      return;
    }
    // Forgotten in memory first, synchronously: a request after this point starts a new counter, whose
    // put and alarm are ordered after the deleteAll.
    this.#counter = undefined;
    this.#unreadable = undefined;
    this.#alarmAt = 0;
    await this.#state.storage.deleteAll();
  }

  /** Loads the counter once, holding every other event of this object until it is in memory. */
  async #load(): Promise<void> {
    if (this.#loaded) return;
    await this.#state.blockConcurrencyWhile(async () => {
      if (this.#loaded) return;
      const stored = parseCounter(await this.#state.storage.get(COUNTER_KEY));
      // Never thrown here: a callback of blockConcurrencyWhile that throws resets the object.
      this.#unreadable = typeof stored === "string" ? stored : undefined;
      this.#counter = typeof stored === "string" ? undefined : stored;
      this.#loaded = true;
    });
  }

  /**
   * Decides synchronously on the in-memory counter (no `await` between the check and the change: nothing
   * else of this object runs in between), then stores the change before replying.
   */
  #apply(req: CounterRequest): Promise<unknown> | unknown {
    if (req.op === "revoke") {
      if (tokenExpired(req.exp, req.now)) return { ok: true };
      return this.#write({ count: REVOKED_COUNT, expiresAt: req.exp }).then(() => ({ ok: true }));
    }
    if (this.#unreadable !== undefined) throw new Error(this.#unreadable);
    const nowSec = toNowSec(req.now);
    const current = this.#counter;
    const live = current !== undefined && current.expiresAt > nowSec ? current : undefined;
    // A negative count (written by hand or by a faulty writer) is never read as uses left.
    if (live !== undefined && live.count < 0) {
      throw Object.assign(new Error(`negative count ${live.count}`), { corruptCount: live.count });
    }
    switch (req.op) {
      case "used":
        return { count: live?.count ?? 0 };
      case "consume": {
        if (tokenExpired(req.exp, req.now)) return { granted: false };
        if (live === undefined) return this.#write({ count: 1, expiresAt: req.exp }).then(() => ({ granted: true }));
        if (live.count >= req.limit) return { granted: false };
        return this.#write({ count: live.count + 1, expiresAt: live.expiresAt }).then(() => ({ granted: true }));
      }
    }
  }

  /** Sets the counter in memory now, then stores it (and its alarm). A failed write forgets the memory. */
  async #write(counter: Counter): Promise<void> {
    this.#counter = counter;
    this.#unreadable = undefined;
    const alarmAt = counter.expiresAt * 1000;
    try {
      await Promise.all([
        this.#state.storage.put(COUNTER_KEY, counter),
        alarmAt !== this.#alarmAt ? this.#setAlarm(alarmAt) : undefined,
      ]);
    } catch (err) {
      // Memory may now be ahead of storage: reload from storage on the next event. The caller gets an error.
      this.#loaded = false;
      this.#counter = undefined;
      this.#unreadable = undefined;
      this.#alarmAt = 0;
      throw err;
    }
  }

  async #setAlarm(at: number): Promise<void> {
    this.#alarmAt = at;
    await this.#state.storage.setAlarm(at);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The store

/** The part of a `Response` the store reads. */
export interface CounterResponseLike {
  readonly status: number;
  text(): Promise<string>;
}

/** The part of a `DurableObjectStub` the store uses. */
export interface DurableObjectStubLike {
  fetch(url: string, init: { method: string; headers: Record<string, string>; body: string }): Promise<CounterResponseLike>;
}

/** The part of a `DurableObjectNamespace` (the binding, `env.TEMPID_COUNTERS`) the store uses. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: any): DurableObjectStubLike;
}

export interface DurableObjectStoreOptions {
  /** Prepended to each key to name its object (`idFromName(prefix + key)`). Default `tempid:`. */
  prefix?: string;
  /** Bound on each call in ms (default 5,000). A consume past it is abandoned, never re-sent. */
  timeoutMs?: number;
}

/** The keys of `DurableObjectStoreOptions`: anything else is refused as a misspelling. */
const DURABLE_OBJECT_STORE_OPTION_KEYS: OptionKeys<DurableObjectStoreOptions> = { prefix: true, timeoutMs: true };

/** A use-count store on a namespace bound to the `TempIDCounter` class. */
export function durableObjectStore(namespace: DurableObjectNamespaceLike, options: DurableObjectStoreOptions = {}): DurableObjectUseStore {
  checkOptionKeys(options, DURABLE_OBJECT_STORE_OPTION_KEYS, "durableObjectStore");
  return new DurableObjectUseStore(namespace, options);
}

export class DurableObjectUseStore implements UseStore {
  readonly prefix: string;
  readonly #namespace: DurableObjectNamespaceLike;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(namespace: DurableObjectNamespaceLike, options: DurableObjectStoreOptions = {}) {
    if (
      typeof namespace !== "object" ||
      namespace === null ||
      typeof namespace.idFromName !== "function" ||
      typeof namespace.get !== "function"
    ) {
      throw new TempIDConfigError("durableObjectStore takes a Durable Object namespace binding (env.TEMPID_COUNTERS) bound to TempIDCounter");
    }
    if (isRpcStub(namespace)) {
      throw new TempIDConfigError(
        "durableObjectStore takes the Durable Object namespace binding itself (env.TEMPID_COUNTERS, bound to TempIDCounter), " +
          "not a stub from env.TEMPID_COUNTERS.get(id) nor a service binding (an RPC stub: every call would fail)",
      );
    }
    if (options === null || typeof options !== "object") throw new TempIDConfigError("store options must be an object");
    if (options.prefix !== undefined && typeof options.prefix !== "string") throw new TempIDConfigError("prefix must be a string");
    this.prefix = options.prefix ?? "tempid:";
    this.#namespace = namespace;
    this.#timeoutMs = checkPositiveInt(options.timeoutMs, "timeoutMs", DEFAULT_TIMEOUT_MS);
  }

  async consume(key: string, limit: number, expiresAtSec: number, nowMs: number): Promise<boolean> {
    if (tokenExpired(expiresAtSec, nowMs) || limit < 1) return false;
    const body = await this.#call("consume", key, { limit, exp: expiresAtSec, now: nowMs });
    const granted = body["granted"];
    if (typeof granted !== "boolean") throw unexpected("consume", body);
    return granted;
  }

  async used(key: string, nowMs: number): Promise<number> {
    const body = await this.#call("used", key, { now: nowMs });
    const count = body["count"];
    // A count above REVOKED_COUNT (a hand edit, a faulty writer) is passed on as it is: no use is granted
    // on it, and the core reads it as used up (as revoked), as every other store does.
    if (!isInt(count) || count < 0) throw unexpected("used", body);
    return count;
  }

  async revoke(key: string, expiresAtSec: number, nowMs: number): Promise<void> {
    if (tokenExpired(expiresAtSec, nowMs)) return;
    const body = await this.#call("revoke", key, { exp: expiresAtSec, now: nowMs });
    if (body["ok"] !== true) throw unexpected("revoke", body);
  }

  /** Refuses every later call. The namespace binding is the platform's: nothing to release. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /** One request to the key's object, bounded by `timeoutMs`; any failure or malformed reply rejects. */
  #call(op: CounterRequest["op"], key: string, fields: Partial<CounterRequest>): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(closedError());
    return bounded(op, this.#timeoutMs, async () => {
      const stub = this.#namespace.get(this.#namespace.idFromName(this.prefix + key));
      const response = await stub.fetch(ENDPOINT, {
        method: "POST",
        headers: JSON_HEADERS,
        body: JSON.stringify({ v: PROTOCOL, op, ...fields }),
      });
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        // TempIDCounter always answers JSON: anything else is another class's object (or no object at all).
        throw new Error(
          `the counter object answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}; ${BINDING_HINT}`,
        );
      }
      if (body === null || typeof body !== "object" || Array.isArray(body)) throw unexpected(op, body);
      const b = body as Record<string, unknown>;
      if (response.status !== 200) {
        if (isInt(b["corruptCount"])) throw corruptCount(b["corruptCount"], "a TempIDCounter Durable Object");
        const error = typeof b["error"] === "string" ? b["error"] : text.slice(0, 200);
        throw new Error(`the counter object answered ${response.status}: ${error}`);
      }
      return b;
    });
  }
}

function unexpected(op: string, body: unknown): TempIDStoreError {
  let shown: string;
  try {
    shown = JSON.stringify(body).slice(0, 200);
  } catch {
    shown = String(body);
  }
  return new TempIDStoreError(`${op} failed: unexpected reply from the counter object: ${shown}; ${BINDING_HINT}`);
}
