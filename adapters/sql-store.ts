/**
 * One `UseStore` over any SQL driver: each SQL adapter (SQLite, PostgreSQL, MySQL, and the HTTP ones) only
 * supplies a `SqlRunner` that sends one statement and reports rows / affected rows. Not a public entry point.
 */
import { type UseStore, TempIDConfigError, TempIDStoreError, toStoreError } from "@tempid/core";
import { type SqlDialect, type SqlStatement, DEFAULT_TABLE, UseTableSql, mysqlCorruptCount, mysqlGranted, toCount } from "./sql-dialect.js";
import {
  AmortisedPurge,
  type BoundedCall,
  DEFAULT_TIMEOUT_MS,
  type OptionKeys,
  OnceMigration,
  bounded,
  checkBoolean,
  checkIdentifier,
  checkPositiveInt,
  closedError,
  corruptCount,
  toNowSec,
  tokenExpired,
} from "./store-kit.js";

/** Options every SQL store takes. */
export interface SqlStoreOptions {
  /** Table name (letters, digits, `_`). Default `tempid_uses`, the Python package's. */
  table?: string;
  /** Bound on each store call in ms; past it the call rejects with a TempIDStoreError. Default 5000. */
  timeoutMs?: number;
  /** Create the table and index on first use. Default true; set false and call `migrate()` yourself. */
  autoMigrate?: boolean;
  /**
   * Run one bounded purge of expired rows every this many writes (0 = never). Default 100. Writes are
   * counted per store instance from a random phase (the first purge after 1..purgeEvery writes), so stores
   * made per request purge too: on average once per purgeEvery writes, however many instances share them.
   */
  purgeEvery?: number;
  /** Rows deleted at most by one background purge. Default 1000. */
  purgeBatch?: number;
}

/** The keys of `SqlStoreOptions`, for the factories' unknown-option check. */
export const SQL_STORE_OPTION_KEYS: OptionKeys<SqlStoreOptions> = {
  table: true,
  timeoutMs: true,
  autoMigrate: true,
  purgeEvery: true,
  purgeBatch: true,
};

export interface SqlResult {
  /** Result rows as objects (column name → value); empty for statements without a result set. */
  readonly rows: readonly Record<string, unknown>[];
  /** Rows inserted, changed or deleted, as the driver reports them. */
  readonly affectedRows: number;
  /** MySQL only: the OK packet's insert id. */
  readonly insertId?: number | string | bigint;
}

/** What an adapter supplies: how to send one statement through its driver. */
export interface SqlRunner {
  /**
   * `call` says whether the caller's deadline has passed: a runner that may send a statement again (after
   * an error the server raised before running it) must not once it has.
   */
  run(statement: SqlStatement, call?: BoundedCall): Promise<SqlResult> | SqlResult;
  /** Runs one DDL statement (no parameters). */
  ddl(sql: string): Promise<void> | void;
  /** True when a DDL error only says the object already exists (a concurrent migration won the race). */
  alreadyExists(err: unknown): boolean;
  /**
   * Called once, by the store's close(): closes what the store opened itself (a client it created from a
   * URL or path), never the user's. A runner that opens lazily must never open again after this.
   */
  closeOwned?(): Promise<void> | void;
  /** Told, synchronously, the moment the store's close() begins: a runner that sends a follow-up sends no more. */
  closing?(): void;
  /**
   * True when every statement is a network round trip (D1): consume then sends its one full statement,
   * never SQLite's cheaper first statement followed, on a refusal, by a second (two round trips).
   */
  readonly remote?: boolean;
}

/** A use-count store on a SQL table; see the adapter factories (`sqliteStore`, `postgresStore`, `mysqlStore`). */
export class SqlUseStore implements UseStore {
  readonly table: string;
  readonly #sql: UseTableSql;
  readonly #runner: SqlRunner;
  readonly #timeoutMs: number;
  readonly #batch: number;
  readonly #migration: OnceMigration | undefined;
  /** What a "no such table" error adds to its message: how to create the table. */
  readonly #missingTableHint: string;
  readonly #purge: AmortisedPurge;
  /** Where a corrupt count lies, for its error message. */
  readonly #where: string;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(dialect: SqlDialect, runner: SqlRunner, options: SqlStoreOptions = {}) {
    if (options === null || typeof options !== "object") throw new TempIDConfigError("store options must be an object");
    this.table = checkIdentifier(options.table, "table", DEFAULT_TABLE);
    this.#timeoutMs = checkPositiveInt(options.timeoutMs, "timeoutMs", DEFAULT_TIMEOUT_MS);
    this.#batch = checkPositiveInt(options.purgeBatch, "purgeBatch", 1000);
    const every = checkPositiveInt(options.purgeEvery, "purgeEvery", 100, true);
    this.#sql = new UseTableSql(dialect, this.table);
    this.#where = `table ${this.table}`;
    this.#runner = runner;
    this.#migration = checkBoolean(options.autoMigrate, "autoMigrate", true) ? new OnceMigration(() => this.#migrate()) : undefined;
    this.#missingTableHint =
      this.#migration === undefined
        ? `the table "${this.table}" does not exist: call store.migrate() once, or create it with the DDL in the README (autoMigrate is off)`
        : // autoMigrate created it on this store's first call, so it was dropped since.
          `the table "${this.table}" does not exist (dropped after this store created it?): call store.migrate() to create it again`;
    this.#purge = new AmortisedPurge(every, (nowMs) =>
      bounded("purge", this.#timeoutMs, () => this.#run(this.#sql.purge(toNowSec(nowMs), this.#batch))),
    );
  }

  async consume(key: string, limit: number, expiresAtSec: number, nowMs: number): Promise<boolean> {
    if (tokenExpired(expiresAtSec, nowMs) || limit < 1) return false;
    const granted = await this.#call("consume", async (call) => {
      const nowSec = toNowSec(nowMs);
      const live = this.#runner.remote === true ? undefined : this.#sql.consumeLive(key, limit, expiresAtSec, nowSec);
      if (live !== undefined) {
        if ((await this.#run(live, call)).rows.length === 1) return true;
        // Past the deadline (the first statement may have waited that long on a lock, holding the event
        // loop), nothing more is sent: the call fails, and the first statement, which granted nothing,
        // changed nothing.
        if (call.timedOut) {
          throw new TempIDStoreError(`consume timed out after ${this.#timeoutMs} ms (not retried; nothing was counted)`);
        }
      }
      const result = await this.#run(this.#sql.consume(key, limit, expiresAtSec, nowSec), call);
      if (this.#sql.dialect === "mysql") {
        // An absent insert id is 0 (PlanetScale's JSON leaves zero values out); null is not.
        const insertId = result.insertId === undefined ? 0 : result.insertId;
        const corrupt = mysqlCorruptCount(insertId);
        if (corrupt !== undefined) throw corruptCount(corrupt, this.#where);
        return mysqlGranted(result.affectedRows, insertId);
      }
      const row = oneRow(result.rows);
      if (row === undefined) return false;
      // A live row with a negative count comes back unchanged: refused, with an error naming its value.
      const count = toCount(row["count"]);
      if (count < 1) throw corruptCount(count, this.#where);
      return true;
    });
    this.#purge.tick(nowMs);
    return granted;
  }

  async used(key: string, nowMs: number): Promise<number> {
    return this.#call("used", async (call) => {
      const result = await this.#run(this.#sql.used(key, toNowSec(nowMs)), call);
      const row = oneRow(result.rows);
      if (row === undefined) return 0;
      const count = toCount(row["count"]);
      if (count < 0) throw corruptCount(count, this.#where);
      return count;
    });
  }

  async revoke(key: string, expiresAtSec: number, nowMs: number): Promise<void> {
    if (tokenExpired(expiresAtSec, nowMs)) return;
    await this.#call("revoke", (call) => this.#run(this.#sql.revoke(key, expiresAtSec), call));
    this.#purge.tick(nowMs);
  }

  /** Creates the table and its `expires_at` index if missing. Idempotent; safe from several processes at once. */
  async migrate(): Promise<void> {
    this.#open();
    await bounded("migrate", this.#timeoutMs, () => this.#migrate());
  }

  /**
   * Deletes every expired row now, in batches; resolves to the number deleted. Normal traffic does this a
   * batch at a time (going by each call's clock reading). `nowMs` defaults to `Date.now()`: pass your TempID
   * instance's clock reading when it is not the system clock.
   */
  async purgeExpired(nowMs: number = Date.now()): Promise<number> {
    let total = 0;
    for (;;) {
      const { affectedRows } = await this.#call("purgeExpired", () =>
        this.#run(this.#sql.purge(toNowSec(nowMs), this.#batch)),
      );
      total += affectedRows;
      if (affectedRows < this.#batch) return total;
    }
  }

  /**
   * Closes the store: from this moment no statement is sent (a call still in flight completes with what
   * it already sent, or rejects), and what the store opened itself is closed, never to be reopened.
   */
  close(): Promise<void> {
    // A second close() is the first one's promise: it must not report closed while the first still waits.
    return (this.#closing ??= (async () => {
      this.#closed = true;
      this.#runner.closing?.();
      await this.#purge.idle();
      await bounded("close", this.#timeoutMs, async () => {
        await this.#runner.closeOwned?.();
      });
    })());
  }

  #open(): void {
    if (this.#closed) throw closedError();
  }

  /** Every statement goes through here: none is sent once close() has begun. */
  #run(statement: SqlStatement, call?: BoundedCall): Promise<SqlResult> | SqlResult {
    this.#open();
    return this.#runner.run(statement, call);
  }

  async #call<T>(what: string, run: (call: BoundedCall) => Promise<T> | T): Promise<T> {
    this.#open();
    return bounded(what, this.#timeoutMs, async (call) => {
      await this.#migration?.ensure();
      // A caller told the call timed out (during a slow first migration) gets nothing sent for it later.
      if (call.timedOut) throw new Error(`${what} abandoned at its deadline`);
      try {
        return await run(call);
      } catch (err) {
        if (err instanceof TempIDStoreError || !missingTable(err)) throw err;
        // The message bounded() would give (toStoreError's), with how to create the table.
        throw new TempIDStoreError(`${toStoreError(err, what).message}; ${this.#missingTableHint}`, { cause: err });
      }
    });
  }

  async #migrate(): Promise<void> {
    for (const ddl of this.#sql.migrate()) {
      this.#open();
      try {
        await this.#runner.ddl(ddl);
      } catch (err) {
        if (!this.#runner.alreadyExists(err)) throw err;
      }
    }
    const check = this.#sql.autoIncrementColumns();
    if (check !== undefined) {
      const { rows } = await this.#run(check);
      if (Number(rows[0]?.["n"] ?? 0) > 0) {
        throw new TempIDConfigError(
          `table ${this.#sql.table} has an AUTO_INCREMENT column: the MySQL store reads a grant from the insert id, which that column fills. Use the layout migrate() creates (token_id primary key, no surrogate id).`,
        );
      }
    }
  }
}

/**
 * True when a driver error says the table does not exist: SQLite and D1 "no such table", PostgreSQL (pg,
 * postgres.js, Neon) SQLSTATE 42P01, MySQL / MariaDB ER_NO_SUCH_TABLE (errno 1146, SQLSTATE 42S02), and
 * PlanetScale (Vitess), which quotes the errno in its message. Every statement the store sends names only
 * its own table, so such an error is about that table. Causes are followed a few levels (D1 wraps).
 */
export function missingTable(err: unknown): boolean {
  for (let depth = 0; depth < 4 && err !== null && typeof err === "object"; depth++) {
    const e = err as { code?: unknown; errno?: unknown; sqlState?: unknown; message?: unknown; cause?: unknown };
    if (e.code === "42P01" || e.code === "ER_NO_SUCH_TABLE" || e.errno === 1146) return true;
    const message = typeof e.message === "string" ? e.message : "";
    if (
      /\bno such table\b/i.test(message) ||
      /\brelation "[^"]*" does not exist\b/.test(message) ||
      /\bTable '[^']*' doesn't exist\b/.test(message) ||
      /\(errno 1146\)/.test(message)
    ) {
      return true;
    }
    err = e.cause;
  }
  return false;
}

/** The one row a single-key statement returns, or undefined for none; more than one is a reply to refuse. */
function oneRow(rows: readonly Record<string, unknown>[]): Record<string, unknown> | undefined {
  if (rows.length > 1) throw new Error(`unexpected reply: ${rows.length} rows for one key`);
  return rows[0];
}
