/**
 * MongoDB use-count store over the user's own `mongodb` driver objects (a Collection, a Db or a MongoClient).
 *
 * Layout (the Python package's plus one field): database `tempid`, collection `uses`, documents
 * `{ token_id, count, expires_at }` with `expires_at` in unix seconds and a unique index on `token_id`;
 * we add `expire_at_date` (a Date) with a TTL index on it, so MongoDB deletes expired counters itself
 * (a TTL index only fires on Date fields, which is why Python's index on the integer never does).
 *
 * Consume is one `updateOne` with `upsert`: its filter matches the counter only while a use is left
 * (`count < limit`) or once it has expired, and a pipeline update bumps or restarts it. When the filter
 * does not match, the upsert's insert collides with the unique index (E11000): that is a refusal, unless
 * another process inserted the counter a moment earlier, so on E11000 (nothing written) the update is sent
 * once more and its outcome is final. A live counter with a negative count (corrupt) is matched but left
 * as it is, and the call rejects naming its value. Needs MongoDB >= 4.2 (pipeline updates).
 */
import { type UseStore, REVOKED_COUNT, TempIDConfigError, TempIDStoreError } from "@tempid/core";
import {
  type BoundedCall,
  DEFAULT_TIMEOUT_MS,
  OnceMigration,
  type OptionKeys,
  bounded,
  checkBoolean,
  checkOptionKeys,
  checkPositiveInt,
  closedError,
  corruptCount,
  toNowSec,
  tokenExpired,
} from "./store-kit.js";

type Doc = Record<string, unknown>;

/**
 * All the store needs from a `mongodb` Collection. Parameters are `any` so the driver's generic
 * signatures (Filter<T>, UpdateFilter<T>, IndexSpecification) fit.
 */
export interface MongoCollectionLike {
  updateOne(filter: any, update: any, options?: any): Promise<{ matchedCount: number; modifiedCount: number; upsertedCount: number }>;
  findOne(filter: any, options?: any): Promise<Doc | null>;
  deleteMany(filter: any, options?: any): Promise<{ deletedCount: number }>;
  createIndex(spec: any, options?: any): Promise<string>;
}

/** A `mongodb` Db. */
export interface MongoDbLike {
  collection(name: string): MongoCollectionLike;
}

/** A `mongodb` MongoClient. */
export interface MongoClientLike {
  db(name?: string): MongoDbLike;
  close?(): Promise<void>;
}

export interface MongoStoreOptions {
  /** Collection name when given a Db or MongoClient. Default `uses`, the Python package's. */
  collection?: string;
  /** Database name when given a MongoClient. Default `tempid`, the Python package's. */
  database?: string;
  /** Bound on each store call in ms (also sent as `maxTimeMS`). Default 5000. */
  timeoutMs?: number;
  /** Create the indexes on first use. Default true; set false and call `migrate()` yourself. */
  autoMigrate?: boolean;
  /** Close the MongoClient when the store closes (only when given a MongoClient). Default false. */
  closeClient?: boolean;
}

/** The keys of `MongoStoreOptions`: anything else is refused as a misspelling. */
const MONGO_STORE_OPTION_KEYS: OptionKeys<MongoStoreOptions> = {
  collection: true,
  database: true,
  timeoutMs: true,
  autoMigrate: true,
  closeClient: true,
};

const DUPLICATE_KEY = 11000;

function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === DUPLICATE_KEY;
}

function checkName(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback;
  // Collection/database names: no "$", no NUL, not empty, not system.*.
  if (typeof value !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(value) || value.startsWith("system.")) {
    throw new TempIDConfigError(`${option} must be 1-64 letters, digits, "_", "-" or "." (not system.*)`);
  }
  return value;
}

/** A use-count store on a MongoDB collection. */
export class MongoUseStore implements UseStore {
  readonly #collection: MongoCollectionLike;
  readonly #timeoutMs: number;
  readonly #migration: OnceMigration | undefined;
  readonly #close: (() => Promise<void>) | undefined;
  /** Where a corrupt count lies, for its error message. */
  readonly #where: string;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(target: MongoCollectionLike | MongoDbLike | MongoClientLike, options: MongoStoreOptions = {}) {
    const t = target as Partial<MongoCollectionLike & MongoDbLike & MongoClientLike> | null;
    if (typeof t !== "object" || t === null) throw new TempIDConfigError("mongoStore takes a Collection, Db or MongoClient");
    const collection = checkName(options.collection, "collection", "uses");
    const autoMigrate = checkBoolean(options.autoMigrate, "autoMigrate", true);
    const closeClient = checkBoolean(options.closeClient, "closeClient", false);
    if (typeof t.updateOne === "function" && typeof t.findOne === "function") {
      this.#collection = t as MongoCollectionLike;
    } else if (typeof t.collection === "function") {
      this.#collection = t.collection(collection);
    } else if (typeof t.db === "function") {
      this.#collection = t.db(checkName(options.database, "database", "tempid")).collection(collection);
      const close = t.close;
      if (closeClient && typeof close === "function") this.#close = () => close.call(t);
    } else {
      throw new TempIDConfigError("mongoStore takes a Collection, Db or MongoClient");
    }
    const named = (this.#collection as { collectionName?: unknown }).collectionName;
    this.#where = typeof named === "string" ? `collection ${named}` : this.#collection === t ? "the store's collection" : `collection ${collection}`;
    this.#timeoutMs = checkPositiveInt(options.timeoutMs, "timeoutMs", DEFAULT_TIMEOUT_MS);
    this.#migration = autoMigrate ? new OnceMigration(() => this.#migrate()) : undefined;
  }

  async consume(key: string, limit: number, expiresAtSec: number, nowMs: number): Promise<boolean> {
    if (tokenExpired(expiresAtSec, nowMs) || limit < 1) return false;
    const nowSec = toNowSec(nowMs);
    const filter = { token_id: key, $or: [{ count: { $lt: limit } }, { expires_at: { $lte: nowSec } }] };
    // Inside one $set stage every "$field" reads the document as it was before the update. A live counter
    // with a negative count (corrupt) matches the filter but keeps its count: matched, not modified.
    const fresh = { $lte: [{ $ifNull: ["$expires_at", 0] }, nowSec] };
    const update = [
      {
        $set: {
          count: { $cond: [fresh, 1, { $cond: [{ $lt: ["$count", 0] }, "$count", { $add: ["$count", 1] }] }] },
          expires_at: { $cond: [fresh, expiresAtSec, "$expires_at"] },
          expire_at_date: { $cond: [fresh, new Date(expiresAtSec * 1000), "$expire_at_date"] },
        },
      },
    ];
    return this.#call("consume", async (call) => {
      const options = { upsert: true, maxTimeMS: this.#timeoutMs };
      for (let attempt = 0; ; attempt++) {
        try {
          this.#live();
          const result = await this.#collection.updateOne(filter, update, options);
          if (result.upsertedCount === 1 || result.modifiedCount === 1) return true;
          // A match always changes the counter (a bump, or a restart to a later expiry) unless its count
          // is negative: refused. The count is read back only to name it in the error.
          if (result.matchedCount === 1) throw corruptCount(await this.#readCount(key, call), this.#where);
          return false;
        } catch (err) {
          // E11000: the insert found the counter there, nothing was written. Ask once more (unless the
          // caller has given up); the second answer (update or collision again) is final.
          if (isDuplicateKey(err) && attempt === 0 && !call.timedOut) continue;
          if (isDuplicateKey(err)) return false;
          throw err;
        }
      }
    });
  }

  async used(key: string, nowMs: number): Promise<number> {
    return this.#call("used", async () => {
      this.#live();
      const doc = await this.#collection.findOne(
        { token_id: key },
        { projection: { _id: 0, count: 1, expires_at: 1 }, maxTimeMS: this.#timeoutMs },
      );
      if (doc === null || !(Number(doc["expires_at"]) > toNowSec(nowMs))) return 0;
      const count = Number(doc["count"]);
      if (!Number.isSafeInteger(count)) throw new TempIDStoreError(`unexpected count value ${String(doc["count"])}`);
      if (count < 0) throw corruptCount(count, this.#where);
      return count;
    });
  }

  async revoke(key: string, expiresAtSec: number, nowMs: number): Promise<void> {
    if (tokenExpired(expiresAtSec, nowMs)) return;
    const update = { $set: { count: REVOKED_COUNT, expires_at: expiresAtSec, expire_at_date: new Date(expiresAtSec * 1000) } };
    await this.#call("revoke", async (call) => {
      const options = { upsert: true, maxTimeMS: this.#timeoutMs };
      try {
        this.#live();
        await this.#collection.updateOne({ token_id: key }, update, options);
      } catch (err) {
        // Two upserts raced to insert; the counter exists now, so the second try is an update.
        if (!isDuplicateKey(err) || call.timedOut) throw err;
        this.#live();
        await this.#collection.updateOne({ token_id: key }, update, options);
      }
    });
  }

  /** Creates the unique index on `token_id` and the TTL index on `expire_at_date`. Idempotent. */
  async migrate(): Promise<void> {
    this.#live();
    await bounded("migrate", this.#timeoutMs, () => this.#migrate());
  }

  /**
   * Deletes every expired counter now; resolves to the number deleted. The TTL index does this by itself
   * (MongoDB's TTL monitor runs every 60 s); this also reaches documents the Python package wrote, which
   * have no Date field. `nowMs` defaults to `Date.now()`: pass your TempID instance's clock reading when it
   * is not the system clock.
   */
  async purgeExpired(nowMs: number = Date.now()): Promise<number> {
    return this.#call("purgeExpired", async () => {
      this.#live();
      const result = await this.#collection.deleteMany({ expires_at: { $lte: toNowSec(nowMs) } }, { maxTimeMS: this.#timeoutMs });
      return result.deletedCount;
    });
  }

  /**
   * From this moment nothing is sent: a call in flight completes with what it already sent, or rejects
   * (a MongoClient never reconnects for it). With `closeClient`, the client is closed.
   */
  close(): Promise<void> {
    // A second close() is the first one's promise: it must not report closed while the first still waits.
    return (this.#closing ??= (async () => {
      this.#closed = true;
      const close = this.#close;
      if (close !== undefined) await bounded("close", this.#timeoutMs, () => close());
    })());
  }

  /** Checked before every driver call: none is sent once close() has begun. */
  #live(): void {
    if (this.#closed) throw closedError();
  }

  #call<T>(what: string, run: (call: BoundedCall) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    return bounded(what, this.#timeoutMs, async (call) => {
      await this.#migration?.ensure();
      // A caller told the call timed out (during a slow first migration) gets nothing sent for it later.
      if (call.timedOut) throw new Error(`${what} abandoned at its deadline`);
      return run(call);
    });
  }

  /** A counter's raw count, for an error message only; "unknown" when it cannot be read (or is fine again). */
  async #readCount(key: string, call: BoundedCall): Promise<number | string> {
    if (call.timedOut || this.#closed) return "unknown";
    try {
      const doc = await this.#collection.findOne({ token_id: key }, { projection: { _id: 0, count: 1 }, maxTimeMS: this.#timeoutMs });
      const count = Number(doc?.["count"]);
      return Number.isSafeInteger(count) && count < 0 ? count : "unknown";
    } catch {
      return "unknown";
    }
  }

  async #migrate(): Promise<void> {
    this.#live();
    await this.#collection.createIndex({ token_id: 1 }, { unique: true });
    this.#live();
    await this.#collection.createIndex({ expire_at_date: 1 }, { expireAfterSeconds: 0 });
  }
}

/** A use-count store on MongoDB through the official driver. */
export function mongoStore(target: MongoCollectionLike | MongoDbLike | MongoClientLike, options: MongoStoreOptions = {}): MongoUseStore {
  checkOptionKeys(options, MONGO_STORE_OPTION_KEYS, "mongoStore");
  return new MongoUseStore(target, options);
}
