/**
 * Cloudflare D1 use-count store, for Workers: `d1Store(env.DB)`. The table and SQL are the SQLite
 * adapter's (sql-dialect.ts, sql-store.ts): `tempid_uses(token_id, count, expires_at)`, the Python
 * package's layout, so a D1 database exported to (or imported from) a SQLite file keeps its counts.
 *
 * Atomicity rests on one D1 guarantee: every statement runs atomically on the database's single primary,
 * a SQLite database with one writer (D1 never runs writes on a read replica, with or without the Sessions
 * API). A consume is one `INSERT … ON CONFLICT … DO UPDATE … WHERE expired OR count < limit RETURNING
 * count`: the check, the increment (or the restart of an expired row) are one statement, and it grants
 * exactly when it changes the row. One round trip per use, refused or not: the local SQLite adapter's
 * cheaper first statement (which saves an index write, ~12 µs) would cost D1 a second round trip on every
 * refusal, so this runner is `remote`.
 *
 * Needs no Node API and no "cloudflare:*" import: the binding is typed structurally below. Every call is
 * bounded by `timeoutMs`; a D1 query cannot be cancelled, so a consume past the deadline is abandoned,
 * never retried: it may still count once, later (that use is lost, never granted twice).
 */
import { TempIDConfigError } from "@tempid/core";
import type { SqlStatement } from "./sql-dialect.js";
import { SQL_STORE_OPTION_KEYS, type SqlResult, type SqlRunner, type SqlStoreOptions, SqlUseStore } from "./sql-store.js";
import { type OptionKeys, checkBoolean, checkOptionKeys, isRpcStub } from "./store-kit.js";

/** What D1 reports about a statement (`meta.changes`: rows inserted, updated or deleted). */
export interface D1MetaLike {
  changes?: number;
}

/** The part of a D1 prepared statement the store uses. */
export interface D1PreparedStatementLike {
  bind(...values: unknown[]): D1PreparedStatementLike;
  all(): Promise<{ results?: unknown[]; meta?: D1MetaLike }>;
  run(): Promise<{ meta?: D1MetaLike }>;
}

/**
 * The part of a D1 binding the store uses: `env.DB`, or a session from `env.DB.withSession()` (writes,
 * and so every consume and revoke, always go to the primary; see the README on reads).
 */
export interface D1DatabaseLike {
  prepare(sql: string): D1PreparedStatementLike;
}

export interface D1StoreOptions extends Omit<SqlStoreOptions, "autoMigrate"> {
  /**
   * Create the table on the first call of each store instance. Default false: a Worker often creates its
   * store per request, and every consume should be one statement. Apply the DDL once (a wrangler D1
   * migration, or `migrate()`).
   */
  autoMigrate?: boolean;
}

/** The keys of `D1StoreOptions`: anything else is refused as a misspelling. */
const D1_STORE_OPTION_KEYS: OptionKeys<D1StoreOptions> = { ...SQL_STORE_OPTION_KEYS };

export type D1UseStore = SqlUseStore;

/** A use-count store on a D1 database binding (`env.DB`). The binding stays yours: close() leaves it alone. */
export function d1Store(db: D1DatabaseLike, options: D1StoreOptions = {}): SqlUseStore {
  checkOptionKeys(options, D1_STORE_OPTION_KEYS, "d1Store");
  if (typeof db !== "object" || db === null || typeof db.prepare !== "function") {
    throw new TempIDConfigError("d1Store takes a D1 database binding (env.DB) or a session from env.DB.withSession()");
  }
  if (isRpcStub(db)) {
    throw new TempIDConfigError(
      "d1Store takes a D1 database binding (env.DB) or a session from env.DB.withSession(), not a service binding or a Durable Object stub (an RPC stub: every call would fail)",
    );
  }
  const autoMigrate = checkBoolean(options?.autoMigrate, "autoMigrate", false);
  return new SqlUseStore("sqlite", new D1Runner(db), { ...options, autoMigrate });
}

function changes(meta: D1MetaLike | undefined): number {
  const n = meta?.changes;
  return typeof n === "number" && Number.isFinite(n) ? n : 0;
}

class D1Runner implements SqlRunner {
  /** Each statement is a round trip to the primary: one statement per consume, refused or not. */
  readonly remote = true;
  constructor(private readonly db: D1DatabaseLike) {}

  async run(statement: SqlStatement): Promise<SqlResult> {
    // Every value is bound, never spliced; only the checked table name and our own integers are SQL text.
    const prepared = this.db.prepare(statement.sql).bind(...statement.args);
    if (statement.returnsRows) {
      const result = await prepared.all();
      if (result === null || typeof result !== "object" || !Array.isArray(result.results)) {
        throw new Error("unexpected result shape from D1 (no results array)");
      }
      return { rows: result.results as Record<string, unknown>[], affectedRows: changes(result.meta) };
    }
    const result = await prepared.run();
    if (result === null || typeof result !== "object") throw new Error("unexpected result shape from D1");
    return { rows: [], affectedRows: changes(result.meta) };
  }

  async ddl(sql: string): Promise<void> {
    // prepare().run() rather than exec(): exec() splits its text on newlines and is absent from sessions.
    await this.db.prepare(sql).run();
  }

  alreadyExists(): boolean {
    // IF NOT EXISTS runs under SQLite's write lock on the primary: concurrent migrations never race.
    return false;
  }
}
