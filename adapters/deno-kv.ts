/**
 * Deno KV use-count store: `denoKvStore(await Deno.openKv())`, on Deno (a local SQLite-backed file or
 * `:memory:`) and on Deno Deploy (the managed, FoundationDB-backed KV). Needs no Node API and no `Deno`
 * global: it takes the handle you opened, typed structurally (`DenoKvLike`).
 *
 * Layout: the counter of key K is the entry `[prefix, K]` (prefix default "tempid") holding
 * `{ count, expiresAt }`, `expiresAt` in unix seconds. Not the Python layout: Deno KV is reachable only
 * from Deno, so nothing else shares these counters.
 *
 * Atomicity: optimistic concurrency, the way Deno KV offers it. A consume reads the entry, decides, and
 * writes the new count with `atomic().check(entry).set(...).commit()`: the commit applies only if the
 * entry's versionstamp is still the one read (Deno KV serialises atomic operations and checks them
 * against the committed state), else it writes nothing and reports `ok: false`, and the store reads again.
 * Retrying after a failed check is safe (nothing was written); a commit that throws may have been applied,
 * so it is never retried, with one exception: on a local file, a commit that meets another handle's or
 * process's SQLite write lock fails with "database is locked" after its transaction was rolled back, and
 * counts as a failed check.
 *
 * Concurrent consumes of one key inside one store do not race each other: they queue per key, and each
 * round settles every call waiting for that key with one read and one commit (as if they had run one
 * after the other, in arrival order). Only other handles, processes or isolates writing the same counter
 * make a check fail. Each failed round waits a short random backoff and reads again; after `maxAttempts`
 * failed rounds in a row (heavy contention on one counter: many isolates or processes each sending uses of
 * the same token) the calls of that round reject with `TempIDStoreError`, having counted nothing, so they
 * may be retried by the user. `timeoutMs` bounds the whole call, waiting and retries included.
 *
 * Expiry: each write passes `expireIn` so Deno KV deletes the counter by itself (no cleanup job). Deno KV
 * expires keys lazily: `expireIn` is the earliest moment an entry may be deleted, and it may stay visible
 * for a while after it. So the expiry is also kept in the value, and an entry at or past it (by the
 * caller's `nowMs`) counts as absent: `used()` reads 0 and a consume starts the counter afresh.
 */
import { type UseStore, REVOKED_COUNT, TempIDConfigError, TempIDStoreError, toStoreError } from "@tempid/core";
import { type BoundedCall, DEFAULT_TIMEOUT_MS, type OptionKeys, bounded, checkBoolean, checkOptionKeys, checkPositiveInt, closedError, corruptCount, tokenExpired } from "./store-kit.js";

/** A Deno KV key as this store writes it: `[prefix, counterKey]`. */
export type DenoKvKey = readonly [string, string];

/** What `Deno.Kv.get()` resolves to (an entry, or a missing one with `value` and `versionstamp` null). */
export interface DenoKvEntryLike {
  readonly value: unknown;
  readonly versionstamp: string | null;
}

/** All the store needs from `Deno.AtomicOperation`. */
export interface DenoKvAtomicLike {
  check(...checks: { key: DenoKvKey; versionstamp: string | null }[]): DenoKvAtomicLike;
  set(key: DenoKvKey, value: unknown, options?: { expireIn?: number }): DenoKvAtomicLike;
  commit(): Promise<{ ok: boolean }>;
}

/** All the store needs from a `Deno.Kv` handle (`await Deno.openKv(...)`). */
export interface DenoKvLike {
  get(key: DenoKvKey): Promise<DenoKvEntryLike>;
  atomic(): DenoKvAtomicLike;
  close(): void;
}

/** The value of a counter entry. `expiresAt` is unix seconds. */
export interface DenoKvCounter {
  count: number;
  expiresAt: number;
}

export interface DenoKvStoreOptions {
  /** First part of every key (`[prefix, counterKey]`). Default "tempid". */
  prefix?: string;
  /** Bound on each call in ms (default 5,000), time waiting behind other calls of the same key included. */
  timeoutMs?: number;
  /**
   * How many commits a round of consumes tries before giving up when each one's check fails because another
   * writer changed the counter in between (default 10). Giving up rejects with `TempIDStoreError`, nothing
   * counted. Also bounded by `timeoutMs`.
   */
  maxAttempts?: number;
  /** Close the handle when the store closes. Default false: the handle is yours. */
  closeClient?: boolean;
}

/** The keys of `DenoKvStoreOptions`: anything else is refused as a misspelling. */
const DENO_KV_STORE_OPTION_KEYS: OptionKeys<DenoKvStoreOptions> = { prefix: true, timeoutMs: true, maxAttempts: true, closeClient: true };

export const DEFAULT_DENO_KV_PREFIX = "tempid";
const DEFAULT_MAX_ATTEMPTS = 10;

interface Waiter {
  readonly limit: number;
  readonly expiresAtSec: number;
  readonly nowMs: number;
  readonly call: BoundedCall;
  readonly resolve: (granted: boolean) => void;
  readonly reject: (err: unknown) => void;
}

/** A use-count store on Deno KV. */
export class DenoKvUseStore implements UseStore {
  readonly prefix: string;
  readonly #kv: DenoKvLike;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #closeClient: boolean;
  /** Consumes waiting for their key's next round; a key is present while a round for it is scheduled or running. */
  readonly #queues = new Map<string, Waiter[]>();
  readonly #rounds = new Set<Promise<void>>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(kv: DenoKvLike, options: DenoKvStoreOptions = {}) {
    const k = kv as Partial<DenoKvLike> | null;
    if (typeof k !== "object" || k === null || typeof k.get !== "function" || typeof k.atomic !== "function") {
      throw new TempIDConfigError("denoKvStore takes a Deno KV handle (await Deno.openKv())");
    }
    this.#kv = kv;
    const prefix = options.prefix ?? DEFAULT_DENO_KV_PREFIX;
    if (typeof prefix !== "string" || prefix.length === 0 || prefix.length > 200) {
      throw new TempIDConfigError("prefix must be a non-empty string of at most 200 characters");
    }
    this.prefix = prefix;
    this.#timeoutMs = checkPositiveInt(options.timeoutMs, "timeoutMs", DEFAULT_TIMEOUT_MS);
    this.#maxAttempts = checkPositiveInt(options.maxAttempts, "maxAttempts", DEFAULT_MAX_ATTEMPTS);
    this.#closeClient = checkBoolean(options.closeClient, "closeClient", false);
  }

  consume(key: string, limit: number, expiresAtSec: number, nowMs: number): Promise<boolean> {
    if (this.#closed) return Promise.reject(closedError());
    if (tokenExpired(expiresAtSec, nowMs) || limit < 1) return Promise.resolve(false);
    return bounded("consume", this.#timeoutMs, (call) => new Promise<boolean>((resolve, reject) => this.#enqueue(key, { limit, expiresAtSec, nowMs, call, resolve, reject })));
  }

  used(key: string, nowMs: number): Promise<number> {
    if (this.#closed) return Promise.reject(closedError());
    return bounded("used", this.#timeoutMs, async () => {
      const entry = await this.#kv.get(this.#key(key));
      const counter = this.#parse(entry.value);
      if (counter === null || counter.expiresAt * 1000 <= nowMs) return 0;
      if (counter.count < 0) throw this.#corrupt(counter.count);
      return counter.count;
    });
  }

  revoke(key: string, expiresAtSec: number, nowMs: number): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (tokenExpired(expiresAtSec, nowMs)) return Promise.resolve();
    return bounded("revoke", this.#timeoutMs, async () => {
      const value: DenoKvCounter = { count: REVOKED_COUNT, expiresAt: expiresAtSec };
      const result = await this.#kv
        .atomic()
        .set(this.#key(key), value, { expireIn: expireIn(expiresAtSec, nowMs) })
        .commit();
      if (result?.ok !== true) throw new TempIDStoreError("revoke: Deno KV did not commit the write");
    });
  }

  /**
   * Refuses every later call at once. Rounds already running get up to `timeoutMs` to finish; then, with
   * `closeClient: true`, the handle is closed (anything still in flight on it then fails). Without it the
   * handle is left open: it is yours.
   */
  close(): Promise<void> {
    // A second close() is the first one's promise: it must not report closed while the first still waits.
    return (this.#closing ??= (async () => {
      this.#closed = true;
      if (this.#rounds.size > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          Promise.allSettled([...this.#rounds]),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, this.#timeoutMs);
          }),
        ]);
        clearTimeout(timer);
      }
      if (this.#closeClient) {
        try {
          this.#kv.close();
        } catch (err) {
          throw toStoreError(err, "close");
        }
      }
    })());
  }

  #key(key: string): DenoKvKey {
    return [this.prefix, key];
  }

  #corrupt(count: number): TempIDStoreError {
    return corruptCount(count, `Deno KV (keys ["${this.prefix}", …])`);
  }

  /** A stored counter, or null for none. Anything but `{ count, expiresAt }` of safe integers is an error. */
  #parse(value: unknown): DenoKvCounter | null {
    if (value === null || value === undefined) return null;
    const v = value as Partial<DenoKvCounter>;
    if (typeof v === "object" && Number.isSafeInteger(v.count) && Number.isSafeInteger(v.expiresAt)) {
      return { count: v.count!, expiresAt: v.expiresAt! };
    }
    let shown: string;
    try {
      shown = JSON.stringify(value) ?? String(value);
    } catch {
      shown = String(value);
    }
    throw new TempIDStoreError(`a counter in Deno KV (keys ["${this.prefix}", …]) holds an unexpected value ${shown.slice(0, 100)}: refused, no use granted`);
  }

  /** Queues a consume; the first one for a key schedules a round after the current burst of calls. */
  #enqueue(key: string, waiter: Waiter): void {
    const queue = this.#queues.get(key);
    if (queue !== undefined) {
      queue.push(waiter);
      return;
    }
    const fresh = [waiter];
    this.#queues.set(key, fresh);
    const round = Promise.resolve()
      .then(() => this.#drain(key, fresh))
      .finally(() => this.#rounds.delete(round));
    this.#rounds.add(round);
  }

  async #drain(key: string, queue: Waiter[]): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, queue.length);
        try {
          await this.#settle(key, batch);
        } catch (err) {
          // A failed read, or a commit that threw (it may have been applied: never retried).
          const error = toStoreError(err, "consume");
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      // In the same step as the last emptiness check: a call arriving later starts a new round.
      this.#queues.delete(key);
    }
  }

  /**
   * One round: read the counter, apply the waiting consumes to it in order (each against its own limit and
   * clock), and commit the result only if the counter is unchanged since the read. A failed check wrote
   * nothing, so the round starts again from a fresh read; calls that timed out meanwhile are dropped first.
   */
  async #settle(key: string, batch: Waiter[]): Promise<void> {
    const k = this.#key(key);
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) {
        for (const w of batch) w.reject(closedError());
        return;
      }
      if (!batch.some((w) => !w.call.timedOut)) return;
      let entry: DenoKvEntryLike;
      try {
        entry = await this.#kv.get(k);
      } catch (err) {
        if (!isLocked(err) || attempt >= this.#maxAttempts) throw err;
        await backoff(attempt);
        continue;
      }
      // A call past its deadline has been rejected already: it must not count later. Those that timed out
      // during the read are dropped here; only one timing out during the commit itself may still count.
      const live = batch.filter((w) => !w.call.timedOut);
      if (live.length === 0) return;
      let counter = this.#parse(entry.value);
      const outcomes: (boolean | TempIDStoreError)[] = [];
      let writes = false;
      let earliestNowMs = Infinity;
      for (const w of live) {
        // Absent or expired (by this call's clock, whatever Deno KV has deleted yet): starts afresh.
        if (counter === null || counter.expiresAt * 1000 <= w.nowMs) counter = { count: 0, expiresAt: w.expiresAtSec };
        if (counter.count < 0) {
          outcomes.push(this.#corrupt(counter.count));
        } else if (counter.count < w.limit) {
          counter = { count: counter.count + 1, expiresAt: counter.expiresAt };
          outcomes.push(true);
          writes = true;
          earliestNowMs = Math.min(earliestNowMs, w.nowMs);
        } else {
          outcomes.push(false);
        }
      }
      if (writes && counter !== null) {
        let committed: boolean;
        try {
          const result = await this.#kv
            .atomic()
            .check({ key: k, versionstamp: entry.versionstamp })
            .set(k, counter, { expireIn: expireIn(counter.expiresAt, earliestNowMs) })
            .commit();
          committed = result?.ok === true;
        } catch (err) {
          // Only a local file's write lock held by another handle counts as a lost check (rolled back,
          // nothing written); any other failure may have been applied, so it is never retried.
          if (!isLocked(err)) throw err;
          committed = false;
        }
        if (!committed) {
          if (attempt >= this.#maxAttempts) {
            const error = new TempIDStoreError(
              `consume: the counter kept changing under this store (${attempt} commits refused by Deno KV's check ` +
                "or its file lock: other handles, processes or isolates writing it at the same time); nothing counted, no use granted",
            );
            for (const w of live) w.reject(error);
            return;
          }
          await backoff(attempt);
          continue;
        }
      }
      live.forEach((w, i) => {
        const outcome = outcomes[i];
        if (outcome instanceof TempIDStoreError) w.reject(outcome);
        else w.resolve(outcome === true);
      });
      return;
    }
  }
}

/**
 * The local (SQLite) backend's answer when another handle or process on the same file holds the write lock
 * past its own short retries: "database is locked" (SQLITE_BUSY). The failed transaction was rolled back,
 * so, like a failed check, it wrote nothing and the round may run again. Deno Deploy's KV never says this.
 */
function isLocked(err: unknown): boolean {
  return err instanceof Error && /database is locked/i.test(err.message);
}

/**
 * Milliseconds from the caller's clock to the counter's expiry: when Deno KV may delete it, by its own
 * clock (at least 1; the caller has checked the token is not expired).
 */
function expireIn(expiresAtSec: number, nowMs: number): number {
  return Math.max(1, Math.ceil(expiresAtSec * 1000 - nowMs));
}

/** A short random pause before trying a refused commit again, growing with each attempt (at most ~64 ms). */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(64, 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A use-count store on a Deno KV handle (`await Deno.openKv()`). */
export function denoKvStore(kv: DenoKvLike, options: DenoKvStoreOptions = {}): DenoKvUseStore {
  checkOptionKeys(options, DENO_KV_STORE_OPTION_KEYS, "denoKvStore");
  return new DenoKvUseStore(kv, options);
}
