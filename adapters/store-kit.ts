/**
 * Internals shared by the server-backed store adapters: option checks, the time bound on every store call,
 * one-time schema creation and the amortised purge of expired counters. Not a public entry point.
 */
import { TempIDConfigError, TempIDStoreError, toStoreError } from "@tempid/core";

/** Default bound on one store call, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * The option keys a store factory knows, one per key of its options interface: typed as
 * `Record<keyof Options, true>`, so the compiler flags a key missing from the list or not in the interface.
 */
export type OptionKeys<Options> = Readonly<Record<keyof Options, true>>;

/**
 * Checked first by every store factory: `options` is undefined or an object whose every own key is one the
 * factory knows. A misspelled key (`tabel`) would otherwise be ignored and its default silently used, so
 * it is refused with a TempIDConfigError naming the factory and the key, and the closest known key when one
 * is within edit distance 2 (`sqliteStore: unknown option "tabel" (did you mean "table"?)`).
 */
export function checkOptionKeys(options: unknown, known: Readonly<Record<string, true>>, factory: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TempIDConfigError(`${factory}: options must be an object, not ${options === null ? "null" : Array.isArray(options) ? "an array" : typeof options}`);
  }
  const names = Object.keys(known);
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(known, key)) continue;
    const suggestion = closestKey(key, names);
    throw new TempIDConfigError(
      `${factory}: unknown option ${JSON.stringify(key)} ` +
        (suggestion !== undefined ? `(did you mean ${JSON.stringify(suggestion)}?)` : `(known options: ${names.join(", ")})`),
    );
  }
}

/** The known name closest to `key` (ignoring case), if within edit distance 2; the first listed wins a tie. */
function closestKey(key: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of names) {
    const d = editDistance(key.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** Edits (insert, delete, substitute, swap two neighbours) turning `a` into `b`: optimal string alignment. */
export function editDistance(a: string, b: string): number {
  // Names are short; a key far longer than any name is no typo of one.
  if (Math.abs(a.length - b.length) > 2) return Math.abs(a.length - b.length);
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/** A SQL table or index name: letters, digits and `_`, not starting with a digit (it is spliced into SQL). */
export function checkIdentifier(value: unknown, option: string, fallback: string, maxLength = 48): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value) || value.length > maxLength) {
    throw new TempIDConfigError(
      `${option} must be a name of letters, digits and "_" (not starting with a digit), at most ${maxLength} characters`,
    );
  }
  return value;
}

/**
 * A boolean option: undefined for the default, otherwise exactly true or false. Anything else (the string
 * "false" from an environment variable, 0, null) is refused with a TempIDConfigError naming the option and
 * what it was given: read as truthy or compared with `=== true`, it would silently do the opposite.
 */
export function checkBoolean(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TempIDConfigError(`${option} must be true or false, not ${describeValue(value)}`);
  return value;
}

/** A short description of a value's type for an option error: `a string ("false")`, `a number (1)`, `null`. */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return `a string (${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value)})`;
    case "number":
    case "bigint":
      return `a ${typeof value} (${String(value)})`;
    case "object":
      return "an object";
    case "function":
      return "a function";
    default:
      return `a ${typeof value}`;
  }
}

export function checkPositiveInt(value: unknown, option: string, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  // At most 2^31-1: a timer of more fires at once (timeoutMs: 2 ** 31 timed out every call after 1 ms,
  // each use spent), and no count or batch here needs more.
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < (allowZero ? 0 : 1) || value > 2_147_483_647) {
    throw new TempIDConfigError(`${option} must be ${allowZero ? "a non-negative" : "a positive"} integer of at most 2147483647`);
  }
  return value;
}

/**
 * Lets a call that sends a follow-up command (EVAL after NOSCRIPT, SQLite's second consume statement) see
 * that its deadline has passed. True from the deadline on, read from the clock: a synchronous driver call
 * (SQLite waiting on a lock) holds the event loop, so the deadline's timer may not have fired yet.
 */
export interface BoundedCall {
  readonly timedOut: boolean;
}

/** Milliseconds from a monotonic clock where there is one. */
const monotonicMs: () => number =
  typeof performance !== "undefined" && typeof performance.now === "function" ? () => performance.now() : () => Date.now();

/**
 * What is true of a call abandoned at its deadline, by operation: it is never retried, and what it sent
 * may still complete on the server. Only a consume can count; the others say what they may still do.
 */
const TIMEOUT_NOTES: Readonly<Record<string, string>> = {
  consume: "not retried; it may still count once, later: that use is lost, never granted",
  used: "not retried; a read, it changed nothing",
  revoke: "not retried; the revocation may still land later, or not at all: revoking again is safe",
  close: "the store refuses further calls; closing its client may still finish in the background",
  migrate: "not retried; the table and index may still be created later: migrate() again is safe",
  purge: "not retried; it may still delete expired counters, never live ones",
  purgeExpired: "not retried; it may still delete expired counters, never live ones",
};

/**
 * Runs one store call within `timeoutMs`, turning any failure into a `TempIDStoreError` (cause kept).
 * A call that times out is abandoned, never retried: it may still complete on the server (and a consume
 * may still count); its message says what that means for this operation.
 */
export function bounded<T>(what: string, timeoutMs: number, run: (call: BoundedCall) => Promise<T> | T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const deadline = monotonicMs() + timeoutMs;
    let fired = false;
    const call: BoundedCall = {
      get timedOut() {
        return fired || monotonicMs() >= deadline;
      },
    };
    const timer = setTimeout(() => {
      fired = true;
      const note = Object.hasOwn(TIMEOUT_NOTES, what) ? TIMEOUT_NOTES[what] : "not retried; it may still complete on the server";
      reject(new TempIDStoreError(`${what} timed out after ${timeoutMs} ms (${note})`));
    }, timeoutMs);
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(run(call));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(toStoreError(err, what));
      },
    );
  });
}

/**
 * Creates tables and indexes once per store instance, on first use. Concurrent first calls share one run;
 * a failed run is forgotten so the next call tries again (the server may have been down).
 */
export class OnceMigration {
  #done = false;
  #running: Promise<void> | undefined;
  constructor(private readonly run: () => Promise<void>) {}

  ensure(): Promise<void> | undefined {
    if (this.#done) return undefined;
    this.#running ??= this.run().then(
      () => {
        this.#done = true;
        this.#running = undefined;
      },
      (err: unknown) => {
        this.#running = undefined;
        throw err;
      },
    );
    return this.#running;
  }
}

/** Where each new AmortisedPurge draws its phase: Math.random unless a test set another source. */
let purgePhaseRandom: () => number = Math.random;

/**
 * For tests: the source of each new AmortisedPurge's phase (a number in [0, 1), as Math.random gives).
 * Returns the previous source, to put back.
 */
export function setPurgePhaseRandom(random: () => number): () => number {
  const previous = purgePhaseRandom;
  purgePhaseRandom = random;
  return previous;
}

/**
 * Deletes expired rows a batch at a time inside normal traffic: every `every` writes, one bounded DELETE of
 * at most `batch` rows runs in the background (never delaying or failing the call that triggered it).
 * With the defaults (1,000 rows every 100 writes) deletion outpaces creation tenfold, so a table holds
 * roughly the live counters plus at most a few batches of expired ones.
 *
 * Writes are counted per store instance, and an app may make a store per request (a Worker's
 * `d1Store(env.DB)` in `fetch()`): counting from 0 each time, such a store never reached `every` and nothing
 * was ever purged. So each instance starts at a random phase: its first purge comes after a uniformly
 * random 1..`every` writes, then one every `every`. A store that makes one write purges with probability
 * 1/`every`; across any number of instances, short-lived or not, that is one purge per `every` writes on
 * average.
 */
export class AmortisedPurge {
  /** Writes left before the next purge. */
  #untilPurge: number;
  #running: Promise<void> | undefined;
  constructor(
    private readonly every: number,
    private readonly purge: (nowMs: number) => Promise<unknown>,
    random: () => number = purgePhaseRandom,
  ) {
    this.#untilPurge = every === 0 ? 0 : firstPurgeAfter(every, random);
  }

  /**
   * Call after each write, with that call's clock reading (the purge goes by it, never by Date.now());
   * `every` = 0 turns the background purge off.
   */
  tick(nowMs: number): void {
    if (this.every === 0) return;
    if (this.#untilPurge > 0) this.#untilPurge--;
    if (this.#untilPurge > 0 || this.#running !== undefined) return;
    this.#untilPurge = this.every;
    // A failed purge only delays cleanup; the next tick tries again.
    this.#running = this.purge(nowMs).then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      this.#running = undefined;
    });
  }

  /** Resolves once no background purge is running (close() waits for it). */
  async idle(): Promise<void> {
    await this.#running;
  }
}

/** Uniform in 1..every from a draw in [0, 1); a draw outside it (a faulty source) is clamped into range. */
function firstPurgeAfter(every: number, random: () => number): number {
  const draw = random();
  const n = Number.isFinite(draw) ? Math.floor(draw * every) + 1 : every;
  return Math.min(Math.max(n, 1), every);
}

/**
 * True for a Cloudflare RPC stub (a Durable Object stub from `env.NS.get(id)`, a service binding): it
 * answers every property with a function, so a structural check for `prepare` or `idFromName` and `get`
 * passes, and every later call fails with a DataCloneError. A property no real binding has is read: from a
 * stub it is a function (a read that throws counts too); a D1 binding or a namespace has none.
 */
export function isRpcStub(value: object): boolean {
  try {
    return typeof (value as Record<string, unknown>)["tempidNoSuchBindingProperty"] === "function";
  } catch {
    return true;
  }
}

/** What a closed store rejects every later call with. */
export function closedError(): TempIDStoreError {
  return new TempIDStoreError("this store is closed");
}

/**
 * A counter holding a negative count. No writer of this layout produces one (counts start at 1 and only
 * grow, or jump to REVOKED_COUNT), so it was written by hand or by a faulty service. It is never read as
 * "uses left": the call is refused with this error, nothing is granted, and the row is left as it is.
 * The key is not named (a V2 key is the token's signature); `where` tells the operator what to search.
 */
export function corruptCount(value: number | string, where: string): TempIDStoreError {
  return new TempIDStoreError(
    `a counter in ${where} holds a negative count (${String(value)}), which no tempid writer produces: ` +
      "refused, no use granted; fix or delete the counters with count < 0",
  );
}

/** Unix seconds for a millisecond clock reading: a counter whose `expires_at` is at or below it has expired. */
export function toNowSec(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}

/** The token itself has expired: nothing to count, and nothing is written. */
export function tokenExpired(expiresAtSec: number, nowMs: number): boolean {
  return expiresAtSec * 1000 <= nowMs;
}
