/**
 * IndexedDB use-count store for browser apps, PWAs and browser extensions, through `idb-keyval`.
 *
 * Scope: one browser profile. Every tab, window, worker and service worker of one origin (one extension)
 * shares the counts; other devices, other browsers and other profiles do not, and the user can clear them
 * (site data, private windows). It limits uses inside this browser; it is not a server-side guarantee.
 *
 * Atomicity: a consume opens ONE `readwrite` transaction through the idb-keyval store and, inside it,
 * issues `get(key)` and — from that request's success callback, while the transaction is still active —
 * `put(next, key)`, as idb-keyval's own `update()` does. IndexedDB runs readwrite transactions whose scopes
 * overlap one after the other, in creation order, across every connection to the database (tabs and
 * workers of the origin included), so no other write lands between the read and the write: exactly
 * `limit` uses are granted. A refusal writes nothing (the transaction commits with only the read).
 *
 * Nothing is granted, and no revocation reported done, unless the store called back with an object store,
 * the decision was made on what it read, and the transaction then fired `complete` (committed). A `store`
 * that never calls back (idb-keyval's `createStore` passed uncalled, instead of `createStore("db",
 * "store")`) fails every call with a TempIDStoreError; `createStore` itself is refused at construction.
 *
 * Expiry: values are `{ count, expiresAt }` (unix seconds); one whose `expiresAt <= now` counts as absent
 * (a use overwrites it with a fresh counter). Expired entries are reclaimed without a cleanup job: every
 * `purgeEvery` writes (grants and revocations) one background sweep visits at most `purgeBatch` entries
 * with a cursor, resuming where the previous sweep stopped, and deletes the expired ones. The sweep (and
 * `purgeExpired()`) deletes only entries exactly as this store writes them: a string key and a value with
 * the two own fields `count` (an integer from 1 to REVOKED_COUNT) and `expiresAt` (an integer). Give the
 * store an object store of its own all the same: an app's record of that exact shape would be taken for a
 * counter, read, counted on and deleted. With the defaults
 * (1,000 entries every 100 writes) that is O(1) amortised per call (10 entries visited per write) and the
 * sweep passes over the whole store every (entries / 10) writes.
 *
 * Needs no Node API. Every call is bounded by `timeoutMs`; IndexedDB cannot cancel a transaction that
 * idb-keyval has started, so a consume past its deadline may still commit later (that use is lost, never
 * granted).
 */
import { REVOKED_COUNT, TempIDConfigError, TempIDStoreError, type UseStore } from "@tempid/core";
import { createStore, promisifyRequest, type UseStore as KeyvalStore } from "idb-keyval";
import { AmortisedPurge, DEFAULT_TIMEOUT_MS, type OptionKeys, bounded, checkOptionKeys, checkPositiveInt, closedError, corruptCount, toNowSec, tokenExpired } from "./store-kit.js";

/** An idb-keyval store: what `createStore(dbName, storeName)` returns. */
export type IdbKeyvalStore = KeyvalStore;

export interface IdbStoreOptions {
  /**
   * The idb-keyval store to count in: `createStore(dbName, storeName)` (called: not `createStore` itself).
   * Give it a database of its own (idb-keyval creates the object store only when it creates the database),
   * and an object store tempid alone writes to: expired entries shaped exactly like a counter are deleted. Default: database "tempid",
   * object store "uses", laid out as `createStore("tempid", "uses")` would, on a connection the store opens,
   * closes on `close()`, and closes meanwhile whenever another tab upgrades or deletes that database
   * (reopening on the next call); a store you pass stays yours.
   */
  store?: IdbKeyvalStore;
  /** Bound on each call in ms (default 5,000). A consume past it rejects and may still count once, later. */
  timeoutMs?: number;
  /**
   * One background sweep of expired entries every this many writes (default 100; 0 turns it off). Writes
   * are counted per store instance from a random phase (the first sweep after 1..purgeEvery writes), so
   * short-lived stores sweep too: on average once per purgeEvery writes.
   */
  purgeEvery?: number;
  /** Entries a sweep visits at most (default 1,000). */
  purgeBatch?: number;
}

/** The keys of `IdbStoreOptions`: anything else is refused as a misspelling. */
const IDB_STORE_OPTION_KEYS: OptionKeys<IdbStoreOptions> = { store: true, timeoutMs: true, purgeEvery: true, purgeBatch: true };

/** The stored value. */
interface Counter {
  count: number;
  /** unix seconds */
  expiresAt: number;
}

/** What a `store` that never called back with an object store is told. */
const NEVER_CALLED_BACK =
  'the `store` given to idbStore() never called back with an object store, so nothing was read or written: ' +
  'pass createStore("db", "store"), not createStore';

/** The exact shape this store writes under a string key: anything else in the object store is not ours. */
function isCounterEntry(key: IDBValidKey, value: unknown): value is Counter {
  if (typeof key !== "string" || typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const names = Object.keys(value);
  if (names.length !== 2 || !names.includes("count") || !names.includes("expiresAt")) return false;
  const { count, expiresAt } = value as Record<string, unknown>;
  return Number.isSafeInteger(count) && (count as number) >= 1 && (count as number) <= REVOKED_COUNT && Number.isSafeInteger(expiresAt);
}

/** A use-count store in IndexedDB (one browser profile: every tab of the origin shares the counts). */
export function idbStore(options: IdbStoreOptions = {}): IdbUseStore {
  checkOptionKeys(options, IDB_STORE_OPTION_KEYS, "idbStore");
  return new IdbUseStore(options);
}

export class IdbUseStore implements UseStore {
  readonly #store: IdbKeyvalStore;
  /** The connection of the default store, which the store opened itself (undefined: a store you passed). */
  readonly #own: OwnConnection | undefined;
  readonly #where: string;
  /** What a missing object store (NotFoundError) adds to its message. */
  readonly #missingHint: string;
  readonly #timeoutMs: number;
  readonly #purgeBatch: number;
  readonly #purge: AmortisedPurge;
  /** Where the next background sweep starts (the last key the previous one visited); undefined: the start. */
  #sweepFrom: IDBValidKey | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: IdbStoreOptions = {}) {
    if (typeof options !== "object" || options === null) throw new TempIDConfigError("idbStore takes an options object");
    this.#timeoutMs = checkPositiveInt(options.timeoutMs, "timeoutMs", DEFAULT_TIMEOUT_MS);
    const every = checkPositiveInt(options.purgeEvery, "purgeEvery", 100, true);
    this.#purgeBatch = checkPositiveInt(options.purgeBatch, "purgeBatch", 1000);
    if (options.store === undefined) {
      this.#own = new OwnConnection("tempid", "uses");
      this.#store = this.#own.store;
      this.#where = 'IndexedDB database "tempid", object store "uses"';
      this.#missingHint = missingObjectStoreHint("tempid", "uses");
    } else if ((options.store as unknown) === createStore || (typeof options.store === "function" && options.store.name === "createStore")) {
      throw new TempIDConfigError('idbStore: `store` is idb-keyval\'s createStore itself: pass createStore("db", "store"), not createStore');
    } else if (typeof options.store === "function") {
      this.#store = options.store;
      this.#own = undefined;
      this.#where = "the IndexedDB object store given to idbStore()";
      this.#missingHint = missingObjectStoreHint(undefined, undefined);
    } else {
      throw new TempIDConfigError('idbStore: `store` must be an idb-keyval store, from createStore("db", "store")');
    }
    this.#purge = new AmortisedPurge(every, (nowMs) => this.#sweep(toNowSec(nowMs)));
  }

  consume(key: string, limit: number, expiresAtSec: number, nowMs: number): Promise<boolean> {
    if (this.#closed) return Promise.reject(closedError());
    if (tokenExpired(expiresAtSec, nowMs)) return Promise.resolve(false);
    const nowSec = toNowSec(nowMs);
    return this.#bounded("consume", async () => {
      // One readwrite transaction: get, then put from the get's success callback (see the file comment).
      const granted = await this.#transact("readwrite", (objectStore) => {
        let outcome: { granted: boolean } | { error: unknown } | undefined;
        const request = objectStore.get(key);
        request.onsuccess = () => {
          let next: Counter | undefined;
          try {
            const live = this.#read(request.result, nowSec);
            if (live === undefined) next = { count: 1, expiresAt: expiresAtSec };
            else if (live.count < limit) next = { count: live.count + 1, expiresAt: live.expiresAt };
          } catch (err) {
            // Malformed or corrupt: nothing is written; the transaction commits with only the read.
            outcome = { error: err };
            return;
          }
          if (next !== undefined) objectStore.put(next, key);
          outcome = { granted: next !== undefined };
        };
        // Read once the transaction has committed: a grant is never reported before its write is stored.
        return () => {
          if (outcome === undefined) throw new TempIDStoreError("consume failed: the transaction completed without reading the counter; nothing was granted");
          if ("error" in outcome) throw outcome.error;
          return outcome.granted;
        };
      });
      if (granted) this.#purge.tick(nowMs);
      return granted;
    });
  }

  used(key: string, nowMs: number): Promise<number> {
    if (this.#closed) return Promise.reject(closedError());
    const nowSec = toNowSec(nowMs);
    return this.#bounded("used", async () => {
      const value = await this.#transact("readonly", (objectStore) => {
        let read: { value: unknown } | undefined;
        const request = objectStore.get(key);
        request.onsuccess = () => (read = { value: request.result });
        return () => {
          if (read === undefined) throw new TempIDStoreError("used failed: the transaction completed without reading the counter");
          return read.value;
        };
      });
      return this.#read(value, nowSec)?.count ?? 0;
    });
  }

  revoke(key: string, expiresAtSec: number, nowMs: number): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (tokenExpired(expiresAtSec, nowMs)) return Promise.resolve();
    return this.#bounded("revoke", async () => {
      // One put (its own readwrite transaction): whatever was there, corrupt values included, is replaced.
      // Reported done only once that transaction has committed.
      await this.#transact("readwrite", (objectStore) => {
        objectStore.put({ count: REVOKED_COUNT, expiresAt: expiresAtSec } satisfies Counter, key);
        return () => undefined;
      });
      this.#purge.tick(nowMs);
    });
  }

  /**
   * Deletes every expired entry now, a batch (`purgeBatch` entries, one transaction) at a time, and
   * resolves with how many it deleted. O(entries); normal traffic does this a batch at a time anyway
   * (going by each call's clock reading). `nowMs` defaults to `Date.now()`: pass your TempID instance's
   * clock reading when it is not the system clock.
   */
  purgeExpired(nowMs: number = Date.now()): Promise<number> {
    if (this.#closed) return Promise.reject(closedError());
    const nowSec = toNowSec(nowMs);
    return (async () => {
      let deleted = 0;
      let from: IDBValidKey | undefined;
      do {
        const batch = await this.#bounded("purgeExpired", () => this.#sweepBatch(nowSec, from));
        deleted += batch.deleted;
        from = batch.next;
      } while (from !== undefined);
      return deleted;
    })();
  }

  /**
   * Refuses every later call. Closes the database connection when the store opened it (the default store),
   * after its transactions finish; an idb-keyval store you passed is left open.
   */
  close(): Promise<void> {
    // A second close() is the first one's promise: it must not report closed while the first still waits.
    return (this.#closing ??= (async () => {
      this.#closed = true;
      await this.#purge.idle();
      if (this.#own !== undefined) await bounded("close", this.#timeoutMs, () => this.#own!.close());
    })());
  }

  /**
   * Runs `body` in one transaction of the idb-keyval store: `body` issues its requests on the object store
   * and returns how to read its result, which is read once the transaction has fired `complete` (its
   * writes committed). A store that never calls back with an object store (or only after answering)
   * fails with a TempIDStoreError, and a late callback then does nothing: no write is ever made or reported
   * without the other.
   */
  async #transact<T>(mode: IDBTransactionMode, body: (objectStore: IDBObjectStore) => () => T): Promise<T> {
    let committed: Promise<() => T> | undefined;
    let abandoned = false;
    await this.#store(mode, (objectStore) => {
      if (abandoned) return Promise.reject(new TempIDStoreError(NEVER_CALLED_BACK));
      if (typeof objectStore !== "object" || objectStore === null || typeof objectStore.get !== "function") {
        committed = Promise.reject(new TempIDStoreError(NEVER_CALLED_BACK));
        committed.catch(() => undefined);
        return committed;
      }
      const result = body(objectStore);
      committed = promisifyRequest(objectStore.transaction).then(() => result);
      // Awaited below; marked handled here in case the store's own promise rejects first.
      committed.catch(() => undefined);
      return committed;
    });
    if (committed === undefined) {
      abandoned = true;
      throw new TempIDStoreError(NEVER_CALLED_BACK);
    }
    return (await committed)();
  }

  /**
   * One call bounded by `timeoutMs`. A NotFoundError (the database exists without the object store, which
   * idb-keyval creates only with the database) says what to do about it.
   */
  #bounded<T>(what: string, run: () => Promise<T>): Promise<T> {
    return bounded(what, this.#timeoutMs, async () => {
      try {
        return await run();
      } catch (err) {
        if ((err as { name?: unknown } | null)?.name !== "NotFoundError") throw err;
        const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        throw new TempIDStoreError(`${what} failed: ${detail}; ${this.#missingHint}`, { cause: err });
      }
    });
  }

  /** A live counter, undefined when absent or expired; a negative or malformed value is an error. */
  #read(value: unknown, nowSec: number): Counter | undefined {
    if (value === undefined) return undefined;
    const v = value as Partial<Counter> | null;
    if (typeof v !== "object" || v === null || typeof v.expiresAt !== "number" || !Number.isFinite(v.expiresAt)) {
      throw this.#malformed(value);
    }
    if (v.expiresAt <= nowSec) return undefined;
    if (typeof v.count !== "number" || !Number.isSafeInteger(v.count)) throw this.#malformed(value);
    if (v.count < 0) throw corruptCount(v.count, this.#where);
    return { count: v.count, expiresAt: v.expiresAt };
  }

  #malformed(value: unknown): TempIDStoreError {
    let shown: string;
    try {
      shown = JSON.stringify(value) ?? String(value);
    } catch {
      shown = Object.prototype.toString.call(value);
    }
    return new TempIDStoreError(
      `a counter in ${this.#where} is not { count, expiresAt } (${shown.slice(0, 80)}), which no tempid writer produces: ` +
        "refused, no use granted; fix or delete it",
    );
  }

  /** One background sweep: the next batch after the previous one's last key, wrapping at the end. */
  async #sweep(nowSec: number): Promise<void> {
    if (this.#closed) return;
    const batch = await this.#bounded("purge", () => this.#sweepBatch(nowSec, this.#sweepFrom));
    this.#sweepFrom = batch.next;
  }

  /**
   * Visits at most `purgeBatch` entries from `from` on (the start when undefined) in one readwrite
   * transaction, deleting the expired counters (only entries exactly as this store writes them: see
   * `isCounterEntry`; malformed values and an app's own entries are left alone). `next` is where the following
   * batch starts: undefined when the cursor reached the end.
   */
  #sweepBatch(nowSec: number, from: IDBValidKey | undefined): Promise<{ deleted: number; next: IDBValidKey | undefined }> {
    return this.#transact("readwrite", (objectStore) => {
      let deleted = 0;
      let visited = 0;
      let next: IDBValidKey | undefined;
      let positioned = from === undefined;
      const request = objectStore.openCursor();
      request.onsuccess = () => {
        const cursor = request.result;
        if (cursor === null) {
          next = undefined;
          return;
        }
        if (!positioned) {
          positioned = true;
          // continue(key) moves to the first key >= it, in IndexedDB's own key order, whatever the keys'
          // types (a store shared with other data may hold numbers, dates or arrays besides our strings).
          // It throws a DataError when the cursor is already at or past that key: the batch starts here.
          try {
            cursor.continue(from);
            return;
          } catch (err) {
            if ((err as { name?: unknown } | null)?.name !== "DataError") throw err;
          }
        }
        if (visited >= this.#purgeBatch) {
          next = cursor.key; // not visited: the next batch starts here
          return;
        }
        visited++;
        // Only what this store writes, exactly (see the file comment): an app's own entries are left alone.
        if (isCounterEntry(cursor.key, cursor.value) && cursor.value.expiresAt <= nowSec) {
          cursor.delete();
          deleted++;
        }
        cursor.continue();
      };
      return () => ({ deleted, next });
    });
  }
}

/** What to do when a database exists without the store's object store; names when the store knows them. */
function missingObjectStoreHint(dbName: string | undefined, storeName: string | undefined): string {
  const fix = "idb-keyval creates it only when it creates the database, so give the store a database of its own";
  if (dbName === undefined || storeName === undefined) {
    return `the IndexedDB database of the idb-keyval store given to idbStore() has no such object store: ${fix} (createStore("<a database name nothing else uses>", storeName))`;
  }
  return `the IndexedDB database ${JSON.stringify(dbName)} has no object store ${JSON.stringify(storeName)}: ${fix} (createStore("<other name>", ${JSON.stringify(storeName)}))`;
}

/**
 * The default store's connection: idb-keyval's `createStore(dbName, storeName)` (one connection, opened on
 * first use, the object store created with the database), plus what a shared database needs across tabs.
 * When another connection asks to upgrade or delete the database (a tab with newer code, an app's reset),
 * this one closes at once instead of blocking it until every tab is gone; transactions already started
 * finish first, and the next call opens a new connection (queued behind that upgrade or deletion).
 */
class OwnConnection {
  #db: Promise<IDBDatabase> | undefined;
  #closed = false;

  constructor(
    private readonly dbName: string,
    private readonly storeName: string,
  ) {}

  readonly store: IdbKeyvalStore = (mode, callback) =>
    this.#open().then((db) => callback(db.transaction(this.storeName, mode).objectStore(this.storeName)));

  #open(): Promise<IDBDatabase> {
    if (this.#db !== undefined) return this.#db;
    if (this.#closed) return Promise.reject(closedError());
    const request = indexedDB.open(this.dbName);
    request.onupgradeneeded = () => request.result.createObjectStore(this.storeName);
    const db = (this.#db = promisifyRequest(request));
    const forget = () => {
      if (this.#db === db) this.#db = undefined;
    };
    db.then((connection) => {
      // Closed by the browser (site data cleared, Safari dropping it): open again next time.
      connection.onclose = forget;
      connection.onversionchange = () => {
        forget();
        connection.close();
      };
    }, forget);
    return db;
  }

  /** Closes the connection (after its transactions finish); never opens one. */
  async close(): Promise<void> {
    this.#closed = true;
    const db = this.#db;
    this.#db = undefined;
    // A connection that failed to open has nothing to close.
    (await db?.catch(() => undefined))?.close();
  }
}
