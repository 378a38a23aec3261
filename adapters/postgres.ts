/**
 * PostgreSQL use-count store over the user's own client: a `pg` Pool or Client, or a postgres.js `sql`.
 *
 * Consume is one `INSERT … ON CONFLICT … DO UPDATE … WHERE count < limit RETURNING count` statement: the
 * row lock PostgreSQL takes for the upsert makes it exact across connections, processes and servers.
 */
import { TempIDConfigError } from "@tempid/core";
import { PG_CONCURRENT_CREATE_CODES, type SqlStatement } from "./sql-dialect.js";
import { SQL_STORE_OPTION_KEYS, type SqlResult, type SqlRunner, type SqlStoreOptions, SqlUseStore } from "./sql-store.js";
import { type BoundedCall, DEFAULT_TIMEOUT_MS, type OptionKeys, checkBoolean, checkOptionKeys, closedError } from "./store-kit.js";

/** All the store needs from `pg` (Pool, PoolClient or Client). */
export interface PgQueryable {
  query(config: { name?: string; text: string; values?: unknown[]; query_timeout?: number }): Promise<{
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
  /**
   * Send the store's statements as named prepared statements, parsed and planned once per connection.
   * Default true: it saves the server a parse and plan per use (about a quarter of a use on a fast disk,
   * measured with `pg`). Set false behind a pooler in transaction mode that does not keep prepared
   * statements (PgBouncer before 1.21, or `max_prepared_statements = 0`).
   */
  prepare?: boolean;
}

/** The keys of `PostgresStoreOptions`: anything else is refused as a misspelling. */
const POSTGRES_STORE_OPTION_KEYS: OptionKeys<PostgresStoreOptions> = { ...SQL_STORE_OPTION_KEYS, closeClient: true, prepare: true };

export type PostgresUseStore = SqlUseStore;

/** A use-count store on PostgreSQL through a `pg` Pool/Client or a postgres.js `sql`. */
export function postgresStore(client: PgQueryable | PostgresJsSql, options: PostgresStoreOptions = {}): SqlUseStore {
  checkOptionKeys(options, POSTGRES_STORE_OPTION_KEYS, "postgresStore");
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let runner: SqlRunner;
  const prepare = checkBoolean(options.prepare, "prepare", true);
  const closeClient = checkBoolean(options.closeClient, "closeClient", false);
  if (isPostgresJs(client)) runner = new PostgresJsRunner(client, closeClient, prepare);
  else if (isPg(client)) runner = new PgRunner(client, timeoutMs, closeClient, prepare);
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

/**
 * The name of a prepared statement: derived from its text (FNV-1a, 64 bits), so two stores on one pool
 * with different tables never share a name, and the same text always gets the same one.
 */
export function preparedName(sql: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return `tempid_${h1.toString(16).padStart(8, "0")}${h2.toString(16).padStart(8, "0")}`;
}

/**
 * Errors PostgreSQL raises for a named statement before running any of it, so sending the statement again
 * cannot count a use twice: the name is unknown on this server connection (26000: DEALLOCATE or DISCARD ALL
 * by other code on the pool, or a pooler in transaction mode that switched server connections), the name
 * is already taken there (42P05: a pooler), or the table changed under the cached plan (0A000 from
 * RevalidateCachedQuery: "cached plan must not change result type", e.g. a column's type altered). `pg`
 * forgets a name whose use failed, so the next call prepares it again. (postgres.js retries these itself.)
 */
function notRun(err: unknown): boolean {
  const e = err as { code?: unknown; routine?: unknown } | null;
  const code = e?.code;
  return code === "26000" || code === "42P05" || (code === "0A000" && e?.routine === "RevalidateCachedQuery");
}

class PgRunner implements SqlRunner {
  readonly #names = new Map<string, string>();
  #closed = false;

  constructor(
    private readonly client: PgQueryable,
    private readonly timeoutMs: number,
    private readonly owned: boolean,
    private readonly prepare: boolean,
  ) {}

  async run(statement: SqlStatement, call?: BoundedCall): Promise<SqlResult> {
    // query_timeout frees the pool's connection too; the store's own bound still applies on top.
    const config: { name?: string; text: string; values: unknown[]; query_timeout: number } = {
      text: statement.sql,
      values: [...statement.args],
      query_timeout: this.timeoutMs,
    };
    if (this.prepare) {
      let name = this.#names.get(statement.sql);
      if (name === undefined) this.#names.set(statement.sql, (name = preparedName(statement.sql)));
      config.name = name;
    }
    let result;
    try {
      result = await this.client.query(config);
    } catch (err) {
      // Refused before it ran (see `notRun`): sent once more, unnamed, so nothing can count twice. Not for
      // a caller past its deadline, and not once the store's close() has begun.
      if (config.name === undefined || !notRun(err) || call?.timedOut === true) throw err;
      if (this.#closed) throw closedError();
      delete config.name;
      result = await this.client.query(config);
    }
    return { rows: result.rows, affectedRows: result.rowCount ?? 0 };
  }

  async ddl(sql: string): Promise<void> {
    await this.client.query({ text: sql, query_timeout: this.timeoutMs });
  }

  alreadyExists = alreadyExists;

  closing(): void {
    this.#closed = true;
  }

  async closeOwned(): Promise<void> {
    if (this.owned) await this.client.end?.();
  }
}

class PostgresJsRunner implements SqlRunner {
  constructor(
    private readonly sql: PostgresJsSql,
    private readonly owned: boolean,
    private readonly prepare: boolean,
  ) {}

  async run(statement: SqlStatement): Promise<SqlResult> {
    const rows = await this.sql.unsafe(statement.sql, [...statement.args], { prepare: this.prepare });
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
