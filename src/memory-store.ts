import { TempIDStoreError } from "./errors.js";
import { type UseStore, REVOKED_COUNT } from "./store.js";

interface Counter {
  count: number;
  /** unix milliseconds */
  expiresAt: number;
}

/**
 * The embedded default store: counts uses in a `Map` inside this process.
 *
 * Atomic within the process (each call runs to completion on the event loop before the next), so exactly
 * `maxUses` concurrent `use()` calls succeed. Single process only: two processes (workers, serverless
 * instances, a restart) each have their own counts. Use a shared store for those.
 *
 * Expired counters are reclaimed without a scan of every entry: each call also inspects the next few
 * entries of a rolling cursor over the map and drops the expired ones, so the cost per call is O(1)
 * amortised and memory stays bounded by roughly the live entries.
 */
export class MemoryStore implements UseStore {
  readonly #counters = new Map<string, Counter>();
  #cursor: Iterator<[string, Counter]> | undefined;
  #closed = false;
  /** Entries inspected by the sweep on each call; above 1 so the sweep outpaces insertions. */
  static readonly #SWEEP = 2;

  /** Number of counters held, expired ones not yet reclaimed included. */
  get size(): number {
    return this.#counters.size;
  }

  async consume(key: string, limit: number, expiresAtSec: number, nowMs: number): Promise<boolean> {
    this.#sweep(nowMs);
    const expiresAt = expiresAtSec * 1000;
    if (nowMs >= expiresAt) return false;
    const counter = this.#live(key, nowMs);
    if (counter === undefined) {
      if (limit < 1) return false;
      this.#counters.set(key, { count: 1, expiresAt });
      return true;
    }
    if (counter.count >= limit) return false;
    counter.count += 1;
    return true;
  }

  async used(key: string, nowMs: number): Promise<number> {
    this.#sweep(nowMs);
    return this.#live(key, nowMs)?.count ?? 0;
  }

  async revoke(key: string, expiresAtSec: number, nowMs: number): Promise<void> {
    this.#sweep(nowMs);
    const expiresAt = expiresAtSec * 1000;
    if (nowMs >= expiresAt) return;
    this.#counters.set(key, { count: REVOKED_COUNT, expiresAt });
  }

  /** Drops every expired counter now (O(n)); normal traffic does this a few entries at a time anyway. */
  async purgeExpired(nowMs: number = Date.now()): Promise<number> {
    this.#assertOpen();
    let removed = 0;
    for (const [key, counter] of this.#counters) {
      if (counter.expiresAt <= nowMs) {
        this.#counters.delete(key);
        removed++;
      }
    }
    return removed;
  }

  /** Forgets every count; later calls reject with TempIDStoreError, as with every other store. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#counters.clear();
    this.#cursor = undefined;
  }

  #live(key: string, nowMs: number): Counter | undefined {
    const counter = this.#counters.get(key);
    if (counter !== undefined && counter.expiresAt <= nowMs) {
      this.#counters.delete(key);
      return undefined;
    }
    return counter;
  }

  /** A closed store has forgotten its counts: answering would grant spent tokens again. */
  #assertOpen(): void {
    if (this.#closed) throw new TempIDStoreError("this store is closed");
  }

  /** Every counting call starts here: refuses on a closed store, then reclaims a few expired entries. */
  #sweep(nowMs: number): void {
    this.#assertOpen();
    for (let i = 0; i < MemoryStore.#SWEEP; i++) {
      this.#cursor ??= this.#counters.entries();
      const next = this.#cursor.next();
      if (next.done) {
        this.#cursor = undefined;
        if (this.#counters.size === 0) return;
        continue;
      }
      const [key, counter] = next.value;
      if (counter.expiresAt <= nowMs) this.#counters.delete(key);
    }
  }
}
