/**
 * PlanetScale (Vitess / MySQL) use-count store for edge and serverless code, through `@planetscale/database`
 * (`connect()` or `Client`): one HTTPS request per consume. The table and SQL are the MySQL adapter's
 * (sql-dialect.ts, sql-store.ts), so a server on TCP, an edge function and the Python package share counts.
 *
 * The driver fills `?` placeholders on the client side: every value goes to `execute()` as an argument and
 * is escaped by the driver; only the checked table name and our own integers are part of the SQL text.
 *
 * Needs no Node API. Every call is bounded by `timeoutMs`. The driver cannot cancel a request, so a
 * consume past the deadline is abandoned, never retried: if it was delivered it may still count once
 * (that use is lost; a use is never granted twice).
 */
import { TempIDConfigError } from "@tempid/core";
import { MYSQL_DUPLICATE_KEY_NAME, type SqlStatement } from "./sql-dialect.js";
import { SQL_STORE_OPTION_KEYS, type SqlResult, type SqlRunner, type SqlStoreOptions, SqlUseStore } from "./sql-store.js";
import { type OptionKeys, checkBoolean, checkOptionKeys } from "./store-kit.js";

/** All we need from a PlanetScale `Connection` (from `connect()`) or `Client`. */
export interface PlanetScaleExecutor {
  execute(
    query: string,
    args?: any[] | Record<string, any> | null,
  ): Promise<{ rows: any[]; rowsAffected: number; insertId: string }>;
}

export interface PlanetScaleStoreOptions extends Omit<SqlStoreOptions, "autoMigrate"> {
  /**
   * Create the table on the first call of each store instance. Default false: on the edge a store often
   * lives for one request, and branches with safe migrations take DDL through deploy requests only.
   * Run `migrate()` once, or apply `migrationSql()` in a deploy request.
   */
  autoMigrate?: boolean;
}

/** The keys of `PlanetScaleStoreOptions`: anything else is refused as a misspelling. */
const PLANETSCALE_STORE_OPTION_KEYS: OptionKeys<PlanetScaleStoreOptions> = { ...SQL_STORE_OPTION_KEYS };

/** A use-count store on PlanetScale through a `Connection` (`connect({ url })`) or a `Client`. */
export function planetscaleStore(connectionOrClient: PlanetScaleExecutor, options: PlanetScaleStoreOptions = {}): SqlUseStore {
  checkOptionKeys(options, PLANETSCALE_STORE_OPTION_KEYS, "planetscaleStore");
  const autoMigrate = checkBoolean(options?.autoMigrate, "autoMigrate", false);
  if (typeof connectionOrClient !== "object" || connectionOrClient === null || typeof connectionOrClient.execute !== "function") {
    throw new TempIDConfigError("planetscaleStore takes a Connection from connect() or a Client from @planetscale/database");
  }
  return new SqlUseStore("mysql", new PlanetScaleRunner(connectionOrClient), {
    ...options,
    autoMigrate,
  });
}

class PlanetScaleRunner implements SqlRunner {
  constructor(private readonly conn: PlanetScaleExecutor) {}

  async run(statement: SqlStatement): Promise<SqlResult> {
    // Arguments, never spliced: the driver quotes and escapes each one as it fills the `?`.
    const result = await this.conn.execute(statement.sql, [...statement.args]);
    return { rows: result.rows as Record<string, unknown>[], affectedRows: result.rowsAffected, insertId: result.insertId };
  }

  async ddl(sql: string): Promise<void> {
    await this.conn.execute(sql, null);
  }

  /** The index already exists (MySQL has no CREATE INDEX IF NOT EXISTS). Vitess quotes the errno in the message. */
  alreadyExists(err: unknown): boolean {
    const message = err instanceof Error ? err.message : "";
    return message.includes(`(errno ${MYSQL_DUPLICATE_KEY_NAME})`);
  }
}
