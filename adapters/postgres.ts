/**
 * PostgreSQL use-count store over the user's own client: a `pg` Pool or Client, or a postgres.js `sql`.
 *
 * Consume is one `INSERT … ON CONFLICT … DO UPDATE … WHERE count < limit RETURNING count` statement: the
 * row lock PostgreSQL takes for the upsert makes it exact across connections, processes and servers.
 */
import { TempIDConfigError } from "@tempid/core";
import { PG_CONCURRENT_CREATE_CODES, type SqlStatement } from "./sql-dialect.js";
import { type SqlResult, type SqlRunner, type SqlStoreOptions, SqlUseStore } from "./sql-store.js";
import { DEFAULT_TIMEOUT_MS } from "./store-kit.js";

/** All the store needs from `pg` (Pool, PoolClient or Client). */
export interface PgQueryable {
  query(config: { text: string; values?: unknown[]; query_timeout?: number }): Promise<{
    rows: Record<string, unknown>[];
    rowCount: number | null;
  }>;
  end?(): Promise<void>;
}

/** All the store needs from a postgres.js `sql` instance. */
export interface PostgresJsSql {
  unsafe(query: string, parameters?: unknown[], options?: { prepare?: boolean }): PromiseLike<
    Record<string, unknown>[] & { count?: number | null }
  >;
  end?(options?: { timeout?: number }): Promise<void>;
}

export interface PostgresStoreOptions extends SqlStoreOptions {
  /** Close the client (`end()`) when the store closes. Default false: the client is yours. */
  closeClient?: boolean;
}

export type PostgresUseStore = SqlUseStore;

/** A use-count store on PostgreSQL through a `pg` Pool/Client or a postgres.js `sql`. */
export function postgresStore(client: PgQueryable | PostgresJsSql, options: PostgresStoreOptions = {}): SqlUseStore {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let runner: SqlRunner;
  if (isPostgresJs(client)) runner = new PostgresJsRunner(client, options.closeClient === true);
  else if (isPg(client)) runner = new PgRunner(client, timeoutMs, options.closeClient === true);
  else throw new TempIDConfigError("postgresStore takes a pg Pool/Client or a postgres.js sql instance");
  return new SqlUseStore("postgres", runner, options);
}

function isPostgresJs(value: unknown): value is PostgresJsSql {
  return typeof value === "function" && typeof (value as Partial<PostgresJsSql>).unsafe === "function";
}

function isPg(value: unknown): value is PgQueryable {
  return typeof value === "object" && value !== null && typeof (value as Partial<PgQueryable>).query === "function";
}

function alreadyExists(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && PG_CONCURRENT_CREATE_CODES.includes(code);
}

class PgRunner implements SqlRunner {
  constructor(
    private readonly client: PgQueryable,
    private readonly timeoutMs: number,
    private readonly owned: boolean,
  ) {}

  async run(statement: SqlStatement): Promise<SqlResult> {
    // query_timeout frees the pool's connection too; the store's own bound still applies on top.
    const result = await this.client.query({
      text: statement.sql,
      values: [...statement.args],
      query_timeout: this.timeoutMs,
    });
    return { rows: result.rows, affectedRows: result.rowCount ?? 0 };
  }

  async ddl(sql: string): Promise<void> {
    await this.client.query({ text: sql, query_timeout: this.timeoutMs });
  }

  alreadyExists = alreadyExists;

  async closeOwned(): Promise<void> {
    if (this.owned) await this.client.end?.();
  }
}

class PostgresJsRunner implements SqlRunner {
  constructor(
    private readonly sql: PostgresJsSql,
    private readonly owned: boolean,
  ) {}

  async run(statement: SqlStatement): Promise<SqlResult> {
    const rows = await this.sql.unsafe(statement.sql, [...statement.args], { prepare: true });
    return { rows, affectedRows: rows.count ?? 0 };
  }

  async ddl(sql: string): Promise<void> {
    await this.sql.unsafe(sql);
  }

  alreadyExists = alreadyExists;

  async closeOwned(): Promise<void> {
    if (this.owned) await this.sql.end?.({ timeout: 5 });
  }
}
