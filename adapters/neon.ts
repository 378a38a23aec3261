/**
 * Neon (serverless PostgreSQL) use-count store for edge and serverless code, through
 * `@neondatabase/serverless`: either the HTTP query function `neon(url)` (one HTTPS request per consume) or
 * its WebSocket `Pool`. The table and SQL are the PostgreSQL adapter's (sql-dialect.ts, sql-store.ts), so a
 * server on TCP, an edge function on Neon and the Python package share counts.
 *
 * Needs no Node API. Every call is bounded by `timeoutMs`. Past the deadline the HTTP request is aborted
 * and a Pool connection destroyed; a statement already on its way may still reach the server and count once
 * (that use is lost, never granted, as the README says of every store). Never retried.
 */
import { TempIDConfigError } from "@tempid/core";
import { PG_CONCURRENT_CREATE_CODES, type SqlStatement } from "./sql-dialect.js";
import { SQL_STORE_OPTION_KEYS, type SqlResult, type SqlRunner, type SqlStoreOptions, SqlUseStore } from "./sql-store.js";
import { DEFAULT_TIMEOUT_MS, type OptionKeys, checkBoolean, checkOptionKeys, checkPositiveInt } from "./store-kit.js";

/** All we need from `neon(url)`: `query()` with per-call options (`fetchOptions` carries the abort signal). */
export interface NeonQueryFunctionLike {
  (strings: TemplateStringsArray, ...params: any[]): PromiseLike<unknown>;
  query(
    text: string,
    params?: any[],
    options?: { arrayMode?: boolean; fullResults?: boolean; fetchOptions?: Record<string, any> },
  ): PromiseLike<unknown>;
}

/** All we need from a `Pool` (pg-compatible `connect()` and `release()`). */
export interface NeonPoolLike {
  connect(): Promise<NeonPoolClientLike>;
}
export interface NeonPoolClientLike {
  query(config: { text: string; values?: any[] }): Promise<{ rows: any[]; rowCount: number | null }>;
  release(err?: Error | boolean): void;
  on?(event: "error", listener: (err: Error) => void): unknown;
  removeListener?(event: "error", listener: (err: Error) => void): unknown;
}

export interface NeonStoreOptions extends Omit<SqlStoreOptions, "autoMigrate"> {
  /**
   * Create the table on the first call of each store instance. Default false: on the edge a store often
   * lives for one request, and every consume should be one statement. Run `migrate()` once at deploy time.
   */
  autoMigrate?: boolean;
}

/** The keys of `NeonStoreOptions`: anything else is refused as a misspelling. */
const NEON_STORE_OPTION_KEYS: OptionKeys<NeonStoreOptions> = { ...SQL_STORE_OPTION_KEYS };

export type NeonUseStore = SqlUseStore;

const BACKSTOP_MS = 100;

/** A use-count store on Neon through `neon(url)` (HTTP) or a `Pool` (WebSocket). */
export function neonStore(sqlOrPool: NeonQueryFunctionLike | NeonPoolLike, options: NeonStoreOptions = {}): SqlUseStore {
  checkOptionKeys(options, NEON_STORE_OPTION_KEYS, "neonStore");
  const timeoutMs = checkPositiveInt(options?.timeoutMs, "timeoutMs", DEFAULT_TIMEOUT_MS);
  const autoMigrate = checkBoolean(options?.autoMigrate, "autoMigrate", false);
  let runner: SqlRunner;
  if (typeof sqlOrPool === "function" && typeof sqlOrPool.query === "function") {
    runner = new NeonHttpRunner(sqlOrPool, timeoutMs);
  } else if (typeof sqlOrPool === "object" && sqlOrPool !== null && typeof (sqlOrPool as NeonPoolLike).connect === "function") {
    runner = new NeonPoolRunner(sqlOrPool as NeonPoolLike, timeoutMs);
  } else {
    throw new TempIDConfigError("neonStore takes the query function from neon(url) or a Pool from @neondatabase/serverless");
  }
  // The runner cancels each request at `timeoutMs` and rejects; the store's own bound sits a little later
  // as a backstop, so the error a caller sees comes after the cancellation, never before it.
  return new SqlUseStore("postgres", runner, {
    ...options,
    timeoutMs: timeoutMs + BACKSTOP_MS,
    autoMigrate,
  });
}

function alreadyExists(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && PG_CONCURRENT_CREATE_CODES.includes(code);
}

/** An error the server sent (it has a SQLSTATE and severity): the connection itself is fine. */
function isDatabaseError(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown } | null;
  return typeof e?.code === "string" && typeof e.severity === "string";
}

function toResult(result: unknown): SqlResult {
  const r = result as { rows?: unknown; rowCount?: unknown } | null;
  if (r === null || typeof r !== "object" || !Array.isArray(r.rows)) throw new Error("unexpected result shape from the Neon driver");
  return { rows: r.rows as Record<string, unknown>[], affectedRows: typeof r.rowCount === "number" ? r.rowCount : 0 };
}

class NeonHttpRunner implements SqlRunner {
  constructor(
    private readonly sql: NeonQueryFunctionLike,
    private readonly timeoutMs: number,
  ) {}

  async run(statement: SqlStatement): Promise<SqlResult> {
    return toResult(await this.#query(statement.sql, [...statement.args]));
  }

  async ddl(sql: string): Promise<void> {
    await this.#query(sql, []);
  }

  alreadyExists = alreadyExists;

  /** Past the deadline the request is aborted (not left to land later), then the call rejects. */
  #query(text: string, params: unknown[]): Promise<unknown> {
    const controller = new AbortController();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within ${this.timeoutMs} ms (request aborted)`));
      }, this.timeoutMs);
      this.sql
        .query(text, params, { arrayMode: false, fullResults: true, fetchOptions: { signal: controller.signal } })
        .then(
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          (err: unknown) => {
            clearTimeout(timer);
            reject(err);
          },
        );
    });
  }
}

class NeonPoolRunner implements SqlRunner {
  constructor(
    private readonly pool: NeonPoolLike,
    private readonly timeoutMs: number,
  ) {}

  async run(statement: SqlStatement): Promise<SqlResult> {
    return toResult(await this.#query(statement.sql, [...statement.args]));
  }

  async ddl(sql: string): Promise<void> {
    await this.#query(sql, []);
  }

  alreadyExists = alreadyExists;

  /**
   * One statement on one pooled connection. Past the deadline the connection is destroyed (released with
   * an error) instead of returned, so a statement still queued on it can never run later.
   */
  #query(text: string, values: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let client: NeonPoolClientLike | undefined;
      let settled = false;
      // `keep`: a database error leaves the connection usable; anything else (deadline, socket) destroys it.
      // A checked-out pg client reports a lost connection as an "error" event, which nobody else listens
      // to while we hold it; the pending query rejects with the same error, so the event is only noted.
      const onError = () => {};
      const finish = (err: Error | undefined, value?: unknown, keep = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (client !== undefined) {
          const destroy = err !== undefined && !keep;
          client.release(destroy ? err : undefined);
          // A destroyed client may still emit while closing; a healthy one goes back to the pool's listener.
          if (!destroy) client.removeListener?.("error", onError);
        }
        if (err) reject(err);
        else resolve(value);
      };
      const timer = setTimeout(() => finish(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pool.connect().then(
        (acquired) => {
          if (settled) {
            acquired.release(new Error("deadline passed while connecting")); // destroyed, never used
            return;
          }
          client = acquired;
          acquired.on?.("error", onError);
          acquired.query({ text, values }).then(
            (result) => finish(undefined, result),
            (err: unknown) => finish(err instanceof Error ? err : new Error(String(err)), undefined, isDatabaseError(err)),
          );
        },
        (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
      );
    });
  }
}
