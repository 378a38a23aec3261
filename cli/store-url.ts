/**
 * Opens a use-count store from a URL, for the CLI: the store owns the client it creates, so close() closes it.
 *   sqlite:./tempid.db   redis://host:6379   postgres://user@host/db (or postgresql://)   mysql://root@host/db
 * Each client library is loaded only when its scheme is used; a missing one is a clear error.
 */
import { TempIDConfigError, TempIDStoreError, type UseStore } from "@tempid/core";
import { sqliteStore } from "@tempid/core/sqlite";
import { redisStore } from "@tempid/core/redis";
import { postgresStore } from "@tempid/core/postgres";
import { mysqlStore } from "@tempid/core/mysql";
import { settlesWithin } from "./deadline.js";

/** How long the CLI waits for a server to answer when it connects (the stores' own calls are bounded by timeoutMs). */
const CONNECT_TIMEOUT_MS = 5000;

async function load<T>(specifier: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (err) {
    const pkg = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!;
    throw new TempIDConfigError(`this store needs the "${pkg}" package: npm install ${pkg}`, { cause: err });
  }
}

/** Wraps a store so that close() also closes the client it was made with. */
function owning(store: UseStore, closeClient: () => Promise<unknown>): UseStore {
  return {
    consume: (...a) => store.consume(...a),
    used: (...a) => store.used(...a),
    revoke: (...a) => store.revoke(...a),
    async close() {
      try {
        await store.close();
      } finally {
        await closeClient();
      }
    },
  };
}

/** `--store-prefix` (Redis) and `--store-table` (SQL): where the store keeps its counters. */
export interface StoreNames {
  prefix?: string | undefined;
  table?: string | undefined;
}

export async function openStore(url: string, names: StoreNames = {}): Promise<UseStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const isRedis = scheme === "redis" || scheme === "rediss";
  if (names.prefix !== undefined && !isRedis) throw new TempIDConfigError("--store-prefix is for redis:// stores (SQL stores take --store-table)");
  if (names.table !== undefined && isRedis) throw new TempIDConfigError("--store-table is for SQL stores (Redis takes --store-prefix)");
  const table = names.table === undefined ? {} : { table: names.table };
  switch (scheme) {
    case "sqlite": {
      // better-sqlite3 trims the name it is given: so do the checks below.
      const path = url.slice("sqlite:".length).trim().replace(/^\/\//, "");
      // Each CLI run is a new process: an in-memory database would forget every use at exit (and a file
      // named ":memory:", from sqlite:///:memory:, is surely not what was meant either).
      if (path === "" || /(^|[/\\]):memory:$/.test(path) || (/^file:/i.test(path) && /:memory:|mode=memory/i.test(path))) {
        throw new TempIDConfigError("sqlite: needs a file path, like sqlite:./tempid.db (an in-memory database forgets uses when the command exits)");
      }
      return sqliteStore(path, table);
    }
    case "redis":
    case "rediss": {
      const { createClient } = await load<typeof import("redis")>("redis");
      const client = createClient({ url, socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: false } });
      client.on("error", () => {});
      try {
        // connectTimeout bounds the TCP connect only: a server that accepts and never answers held the
        // handshake (and the command) forever.
        const connecting = client.connect();
        if (!(await settlesWithin(connecting, CONNECT_TIMEOUT_MS))) throw new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`);
        await connecting;
      } catch (err) {
        try {
          client.destroy(); // a handshake still waiting is dropped, so the process can exit
        } catch {
          // closed already: the connect failed on its own
        }
        // The server, not the command line, is at fault: a store error (exit code 2 either way).
        throw new TempIDStoreError(`cannot connect to ${redact(url)}: ${(err as Error).message}`, { cause: err });
      }
      const prefix = names.prefix === undefined ? {} : { prefix: names.prefix };
      let store: UseStore;
      try {
        store = redisStore(client, prefix);
      } catch (err) {
        await client.close().catch(() => client.destroy());
        throw err;
      }
      return owning(store, () => client.close().catch(() => client.destroy()));
    }
    case "postgres":
    case "postgresql": {
      const pg = await load<{ default: typeof import("pg") }>("pg");
      const pool = new pg.default.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      pool.on("error", () => {});
      return owning(postgresStore(pool, table), () => pool.end());
    }
    case "mysql":
    case "mariadb": {
      const mysql = await load<typeof import("mysql2/promise")>("mysql2/promise");
      const pool = mysql.createPool({ uri: url.replace(/^mariadb:/, "mysql:"), connectionLimit: 2, connectTimeout: CONNECT_TIMEOUT_MS });
      return owning(mysqlStore(pool, table), () => pool.end());
    }
    default:
      throw new TempIDConfigError(
        `unknown store ${JSON.stringify(redact(url))}: use sqlite:./tempid.db, redis://…, postgres://… or mysql://…`,
      );
  }
}

/** A URL without its password, for messages; when it does not parse, only its scheme. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return `${/^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? ""}…`;
  }
}
