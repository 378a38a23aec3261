/**
 * MySQL / MariaDB use-count store over the user's own mysql2 pool or connection (promise API).
 *
 * Consume is one `INSERT … ON DUPLICATE KEY UPDATE` statement whose OK packet (affected rows, insert id)
 * tells granted from refused (see `adapters/sql-dialect.ts`); InnoDB's row lock makes it exact across
 * connections, processes and servers.
 */
import { TempIDConfigError } from "@tempid/core";
import { MYSQL_DUPLICATE_KEY_NAME, type SqlStatement } from "./sql-dialect.js";
import { SQL_STORE_OPTION_KEYS, type SqlResult, type SqlRunner, type SqlStoreOptions, SqlUseStore } from "./sql-store.js";
import { DEFAULT_TIMEOUT_MS, type OptionKeys, checkBoolean, checkOptionKeys } from "./store-kit.js";

/** The OK packet mysql2 returns for INSERT/UPDATE/DELETE. */
interface ResultHeader {
  affectedRows: number;
  insertId: number | string | bigint;
}

/**
 * All the store needs from a mysql2/promise Pool, PoolConnection or Connection. Parameters are `any` so
 * mysql2's overloaded, generic signatures fit; the store passes `({ sql, timeout }, values)`.
 */
export interface Mysql2Queryable {
  execute(options: any, values?: any): Promise<[unknown, unknown]>;
  query(options: any, values?: any): Promise<[unknown, unknown]>;
  end?(): Promise<void>;
}

export interface MysqlStoreOptions extends SqlStoreOptions {
  /** Close the pool/connection (`end()`) when the store closes. Default false: the client is yours. */
  closeClient?: boolean;
}

/** The keys of `MysqlStoreOptions`: anything else is refused as a misspelling. */
const MYSQL_STORE_OPTION_KEYS: OptionKeys<MysqlStoreOptions> = { ...SQL_STORE_OPTION_KEYS, closeClient: true };

export type MysqlUseStore = SqlUseStore;

/** A use-count store on MySQL or MariaDB through a mysql2 promise pool or connection. */
export function mysqlStore(client: Mysql2Queryable, options: MysqlStoreOptions = {}): SqlUseStore {
  checkOptionKeys(options, MYSQL_STORE_OPTION_KEYS, "mysqlStore");
  const closeClient = checkBoolean(options.closeClient, "closeClient", false);
  const candidate = client as Partial<Mysql2Queryable> | null;
  if (typeof candidate !== "object" || candidate === null || typeof candidate.execute !== "function" || typeof candidate.query !== "function") {
    throw new TempIDConfigError("mysqlStore takes a mysql2 promise pool or connection (import mysql from \"mysql2/promise\")");
  }
  return new SqlUseStore("mysql", new Mysql2Runner(client, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, closeClient), options);
}

class Mysql2Runner implements SqlRunner {
  constructor(
    private readonly client: Mysql2Queryable,
    private readonly timeoutMs: number,
    private readonly owned: boolean,
  ) {}

  async run(statement: SqlStatement): Promise<SqlResult> {
    // timeout makes mysql2 give up on (and drop) the connection; the store's own bound still applies.
    const [result] = await this.client.execute({ sql: statement.sql, timeout: this.timeoutMs }, [...statement.args]);
    if (Array.isArray(result)) return { rows: result as Record<string, unknown>[], affectedRows: 0 };
    const header = result as ResultHeader;
    return { rows: [], affectedRows: header.affectedRows, insertId: header.insertId };
  }

  async ddl(sql: string): Promise<void> {
    await this.client.query({ sql, timeout: this.timeoutMs });
  }

  alreadyExists(err: unknown): boolean {
    return (err as { errno?: unknown } | null)?.errno === MYSQL_DUPLICATE_KEY_NAME;
  }

  async closeOwned(): Promise<void> {
    if (this.owned) await this.client.end?.();
  }
}
