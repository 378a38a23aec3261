/**
 * SQLite use-count store: `sqliteStore("./tempid.db")` or `sqliteStore(yourDatabase)`.
 *
 * Works with better-sqlite3 (Node), `bun:sqlite` (Bun) and `node:sqlite` (Node >= 22.5): all three share
 * the small synchronous shape declared below. Given a path, the store opens the file itself through a
 * guarded dynamic import (Bun → bun:sqlite; otherwise better-sqlite3, or node:sqlite when better-sqlite3
 * is missing or cannot load, as on Deno) and `close()` closes it. Given a handle, the handle stays yours.
 *
 * Consume is one `INSERT … ON CONFLICT … DO UPDATE SET count = count + 1 WHERE live AND count < limit
 * RETURNING` statement, which leaves `expires_at` (and so its index) alone; only when it grants nothing (an
 * expired row to restart, or a refusal) does the full statement follow. SQLite runs each under its write
 * lock and only a statement that changes the row grants, so it is exact across threads and processes.
 */
import { TempIDConfigError } from "@tempid/core";
import type { SqlStatement } from "./sql-dialect.js";
import { SQL_STORE_OPTION_KEYS, type SqlResult, type SqlRunner, type SqlStoreOptions, SqlUseStore } from "./sql-store.js";
import { DEFAULT_TIMEOUT_MS, type OptionKeys, checkOptionKeys, checkPositiveInt, closedError } from "./store-kit.js";

/** The part of a prepared statement the store uses (better-sqlite3, bun:sqlite and node:sqlite all have it). */
export interface SqliteStatementLike {
  run(...params: unknown[]): { changes: number | bigint };
  all(...params: unknown[]): unknown[];
}

/** The part of a SQLite database handle the store uses. */
export interface SqliteDatabaseLike {
  prepare(sql: string): SqliteStatementLike;
  exec(sql: string): unknown;
  close?(): unknown;
}

export interface SqliteStoreOptions extends SqlStoreOptions {
  /**
   * When the store opens a path: how long a statement waits for another connection's write lock
   * (`PRAGMA busy_timeout`), in ms. Defaults to `timeoutMs`. SQLite calls are synchronous, so this, not
   * `timeoutMs`, is what bounds a call blocked on a lock.
   */
  busyTimeoutMs?: number;
}

/** The keys of `SqliteStoreOptions`: anything else is refused as a misspelling. */
const SQLITE_STORE_OPTION_KEYS: OptionKeys<SqliteStoreOptions> = { ...SQL_STORE_OPTION_KEYS, busyTimeoutMs: true };

export type SqliteUseStore = SqlUseStore;

/** Opens (or adopts) a SQLite database and returns a use-count store on it. */
export function sqliteStore(pathOrDatabase: string | SqliteDatabaseLike, options: SqliteStoreOptions = {}): SqlUseStore {
  checkOptionKeys(options, SQLITE_STORE_OPTION_KEYS, "sqliteStore");
  const busy = checkPositiveInt(options.busyTimeoutMs, "busyTimeoutMs", options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let runner: SqliteRunner;
  if (typeof pathOrDatabase === "string") {
    if (pathOrDatabase === "") throw new TempIDConfigError("sqliteStore needs a file path (or a database handle)");
    runner = new SqliteRunner(() => openSqlite(pathOrDatabase, busy), true);
  } else if (isDatabase(pathOrDatabase)) {
    const db = pathOrDatabase;
    runner = new SqliteRunner(() => db, false);
  } else {
    throw new TempIDConfigError("sqliteStore takes a file path or a SQLite database handle (better-sqlite3, bun:sqlite, node:sqlite)");
  }
  return new SqlUseStore("sqlite", runner, options);
}

function isDatabase(value: unknown): value is SqliteDatabaseLike {
  const db = value as SqliteDatabaseLike | null;
  return typeof db === "object" && db !== null && typeof db.prepare === "function" && typeof db.exec === "function";
}

/**
 * Opens the database on the first statement (a path: once, shared by concurrent first calls) and runs
 * statements on it. Once closed it never opens again: a statement still waiting for the first open
 * rejects, and so does every later one.
 */
class SqliteRunner implements SqlRunner {
  #db: SqliteDatabaseLike | Promise<SqliteDatabaseLike> | undefined;
  #closed = false;
  readonly #statements = new Map<string, SqliteStatementLike>();

  constructor(
    private readonly open: () => SqliteDatabaseLike | Promise<SqliteDatabaseLike>,
    private readonly owned: boolean,
  ) {}

  run(statement: SqlStatement): SqlResult | Promise<SqlResult> {
    const db = this.#db;
    // Once open, a statement runs synchronously (as the driver does): no promise per statement.
    if (db !== undefined && !(db instanceof Promise)) return this.#execute(db, statement);
    return Promise.resolve(this.#database()).then((opened) => this.#execute(opened, statement));
  }

  #execute(db: SqliteDatabaseLike, statement: SqlStatement): SqlResult {
    if (this.#closed) throw closedError();
    let prepared = this.#statements.get(statement.sql);
    if (prepared === undefined) {
      prepared = db.prepare(statement.sql);
      this.#statements.set(statement.sql, prepared);
    }
    if (statement.returnsRows) {
      return { rows: prepared.all(...statement.args) as Record<string, unknown>[], affectedRows: 0 };
    }
    const { changes } = prepared.run(...statement.args);
    return { rows: [], affectedRows: Number(changes) };
  }

  async ddl(sql: string): Promise<void> {
    const db = await this.#database();
    if (this.#closed) throw closedError();
    db.exec(sql);
  }

  alreadyExists(): boolean {
    // IF NOT EXISTS under SQLite's write lock never races.
    return false;
  }

  async closeOwned(): Promise<void> {
    // Closed first, synchronously: from here nothing opens the file again or runs on it.
    this.#closed = true;
    const db = this.#db;
    this.#db = undefined;
    this.#statements.clear();
    if (!this.owned || db === undefined) return;
    let opened: SqliteDatabaseLike;
    try {
      // The first call may still be opening the file: wait for it, then close what it opened.
      opened = await db;
    } catch {
      return; // the open failed: nothing to close
    }
    opened.close?.();
  }

  #database(): SqliteDatabaseLike | Promise<SqliteDatabaseLike> {
    if (this.#closed) throw closedError();
    if (this.#db === undefined) {
      const opening = Promise.resolve().then(this.open);
      // Opened: later statements use the handle directly. A failed open is forgotten so the next call tries again.
      opening.then(
        (db) => {
          if (this.#db === opening) this.#db = db;
        },
        () => {
          if (this.#db === opening) this.#db = undefined;
        },
      );
      this.#db = opening;
    }
    return this.#db;
  }
}

type Constructor = new (path: string, options?: Record<string, unknown>) => SqliteDatabaseLike;

/** A dynamic import the bundler leaves alone: these drivers are optional and runtime-specific. */
function importOptional(specifier: string): Promise<Record<string, unknown>> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<Record<string, unknown>>;
}

function isMissingModule(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || code === "ERR_UNKNOWN_BUILTIN_MODULE";
}

async function openSqlite(path: string, busyTimeoutMs: number): Promise<SqliteDatabaseLike> {
  let db: SqliteDatabaseLike | undefined;
  if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") {
    const { Database } = (await importOptional("bun:sqlite")) as { Database: Constructor };
    db = new Database(path, { create: true });
  } else {
    // better-sqlite3 first; node:sqlite when it is missing or cannot load (Deno refuses its native addon).
    let betterError: unknown;
    try {
      const mod = await importOptional("better-sqlite3");
      const Database = (mod["default"] ?? mod) as Constructor;
      db = new Database(path, { timeout: busyTimeoutMs });
    } catch (err) {
      betterError = err;
    }
    if (db === undefined) {
      try {
        const { DatabaseSync } = (await importOptional("node:sqlite")) as { DatabaseSync: Constructor };
        db = new DatabaseSync(path);
      } catch (err) {
        if (!isMissingModule(err)) throw err;
        if (!isMissingModule(betterError)) throw betterError;
        throw new TempIDConfigError(
          "sqliteStore(path) needs a SQLite driver: `npm install better-sqlite3` (Node < 22.5), or pass your own database handle",
          { cause: betterError },
        );
      }
    }
  }
  db.exec(`PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)}`);
  // WAL lets readers and one writer work at once across processes sharing the file.
  if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
  return db;
}
