/**
 * One harness per store backend on this machine, for the conformance suite and its worker processes.
 * Each opens its own clients lazily and closes them in dispose().
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MemoryStore } from "@tempid/core";
import { sqliteStore } from "@tempid/core/sqlite";
import { postgresStore } from "@tempid/core/postgres";
import { mysqlStore } from "@tempid/core/mysql";
import { redisStore } from "@tempid/core/redis";
import { mongoStore } from "@tempid/core/mongodb";
import type { HarnessStore, RawCounter, StoreHarness } from "./store-harness.js";
import { deadPort, serviceUrls } from "./services.js";
import { FakeMongoCollection } from "./fake-mongo.js";

const here = fileURLToPath(import.meta.url);

/** The in-process MemoryStore: one instance per namespace, so "reopening" reaches the same one. */
export function memoryHarness(): StoreHarness {
  const stores = new Map<string, MemoryStore>();
  const get = (ns: string) => {
    let store = stores.get(ns);
    if (store === undefined) stores.set(ns, (store = new MemoryStore()));
    return store;
  };
  return {
    name: "memory",
    persistent: false,
    processLocal: true,
    async open(ns) {
      const store = get(ns);
      // close() would clear the shared instance; the suite closes what it opens, so hand out a view.
      return {
        consume: (...a) => store.consume(...a),
        used: (...a) => store.used(...a),
        revoke: (...a) => store.revoke(...a),
        purgeExpired: (nowMs) => store.purgeExpired(nowMs),
        close: async () => undefined,
      } satisfies HarnessStore;
    },
    size: async (ns) => get(ns).size,
    async drop(ns) {
      await stores.get(ns)?.close();
      stores.delete(ns);
    },
    async dispose() {
      stores.clear();
    },
  };
}

/** SQLite through better-sqlite3, one file per namespace (workers open the same file). */
export function sqliteHarness(): StoreHarness {
  const file = (ns: string) => join(tmpdir(), `tempid-test-${ns}.db`);
  const raw = async (ns: string) => {
    const { default: Database } = await import("better-sqlite3");
    return new Database(file(ns), { timeout: 5000 });
  };
  return {
    name: "sqlite (better-sqlite3, file)",
    persistent: true,
    async open(ns, options) {
      return sqliteStore(file(ns), { table: ns, ...options });
    },
    async inspect(ns, key) {
      const db = await raw(ns);
      try {
        const row = db.prepare(`SELECT count, expires_at FROM "${ns}" WHERE token_id = ?`).get(key) as
          | { count: number; expires_at: number }
          | undefined;
        return row === undefined ? null : { count: row.count, expiresAt: row.expires_at };
      } finally {
        db.close();
      }
    },
    async size(ns) {
      const db = await raw(ns);
      try {
        return (db.prepare(`SELECT COUNT(*) AS n FROM "${ns}"`).get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    async drop(ns) {
      for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(file(ns) + suffix, { force: true });
    },
    async openDead() {
      // A directory that does not exist: SQLite cannot create the file.
      return sqliteStore(join(tmpdir(), "tempid-no-such-dir", "x", "tempid.db"), { timeoutMs: 2000 });
    },
    worker: { module: here, export: "sqliteHarness" },
    async dispose() {},
  };
}

type PgPool = import("pg").Pool;

function sqlServerParts(client: () => Promise<{ query(sql: string, args: unknown[]): Promise<Record<string, unknown>[]> }>, q: string) {
  return {
    async inspect(ns: string, key: string): Promise<RawCounter | null> {
      const rows = await (await client()).query(`SELECT count, expires_at FROM ${q}${ns}${q} WHERE token_id = ${q === "`" ? "?" : "$1"}`, [key]);
      const row = rows[0];
      return row === undefined ? null : { count: Number(row["count"]), expiresAt: Number(row["expires_at"]) };
    },
    async size(ns: string): Promise<number> {
      const rows = await (await client()).query(`SELECT COUNT(*) AS n FROM ${q}${ns}${q}`, []);
      return Number(rows[0]?.["n"]);
    },
    async drop(ns: string): Promise<void> {
      await (await client()).query(`DROP TABLE IF EXISTS ${q}${ns}${q}`, []);
    },
  };
}

/** PostgreSQL through a `pg` Pool. */
export function postgresPgHarness(): StoreHarness {
  let pool: PgPool | undefined;
  const get = async () => {
    const { default: pg } = await import("pg");
    return (pool ??= new pg.Pool({ connectionString: serviceUrls.postgres, max: 10 }));
  };
  const parts = sqlServerParts(async () => {
    const p = await get();
    return { query: async (sql, args) => (await p.query(sql, args)).rows };
  }, '"');
  return {
    name: "postgres (pg Pool)",
    service: "postgres",
    persistent: true,
    async open(ns, options) {
      return postgresStore(await get(), { table: ns, ...options });
    },
    ...parts,
    async openDead() {
      const { default: pg } = await import("pg");
      const dead = new pg.Pool({ host: "127.0.0.1", port: await deadPort(), user: "postgres", database: "test", connectionTimeoutMillis: 1000 });
      return postgresStore(dead, { table: "tempid_dead", timeoutMs: 2000, closeClient: true });
    },
    worker: { module: here, export: "postgresPgHarness" },
    async dispose() {
      await pool?.end();
      pool = undefined;
    },
  };
}

/** PostgreSQL through postgres.js. */
export function postgresJsHarness(): StoreHarness {
  let sql: import("postgres").Sql | undefined;
  const get = async () => {
    const { default: postgres } = await import("postgres");
    return (sql ??= postgres(serviceUrls.postgres, { max: 10, onnotice: () => undefined }));
  };
  const parts = sqlServerParts(async () => {
    const s = await get();
    return { query: async (text, args) => [...(await s.unsafe(text, args as never[]))] as Record<string, unknown>[] };
  }, '"');
  return {
    name: "postgres (postgres.js)",
    service: "postgres",
    persistent: true,
    async open(ns, options) {
      return postgresStore(await get(), { table: ns, ...options });
    },
    ...parts,
    async openDead() {
      const { default: postgres } = await import("postgres");
      const dead = postgres({ host: "127.0.0.1", port: await deadPort(), user: "postgres", database: "test", connect_timeout: 1 });
      return postgresStore(dead, { table: "tempid_dead", timeoutMs: 2000, closeClient: true });
    },
    worker: { module: here, export: "postgresJsHarness" },
    async dispose() {
      await sql?.end({ timeout: 5 });
      sql = undefined;
    },
  };
}

/** MySQL / MariaDB through a mysql2 promise pool. */
export function mysqlHarness(): StoreHarness {
  let pool: import("mysql2/promise").Pool | undefined;
  const get = async () => {
    const mysql = await import("mysql2/promise");
    return (pool ??= mysql.createPool({ uri: serviceUrls.mysql, connectionLimit: 10 }));
  };
  const parts = sqlServerParts(async () => {
    const p = await get();
    return { query: async (sql, args) => (await p.query(sql, args))[0] as Record<string, unknown>[] };
  }, "`");
  return {
    name: "mysql (mysql2 pool)",
    service: "mysql",
    persistent: true,
    async open(ns, options) {
      return mysqlStore(await get(), { table: ns, ...options });
    },
    ...parts,
    async openDead() {
      const mysql = await import("mysql2/promise");
      const dead = mysql.createPool({ host: "127.0.0.1", port: await deadPort(), user: "root", database: "test", connectTimeout: 1000 });
      return mysqlStore(dead, { table: "tempid_dead", timeoutMs: 2000, closeClient: true });
    },
    worker: { module: here, export: "mysqlHarness" },
    async dispose() {
      await pool?.end();
      pool = undefined;
    },
  };
}

async function redisRaw() {
  const { default: Redis } = await import("ioredis");
  return new Redis(serviceUrls.redis);
}

function redisParts(raw: () => Promise<import("ioredis").Redis>) {
  return {
    async inspect(ns: string, key: string): Promise<RawCounter | null> {
      const r = await raw();
      const [value, pexpireAt] = await Promise.all([r.get(`${ns}:${key}`), r.call("PEXPIRETIME", `${ns}:${key}`) as Promise<number>]);
      return value === null ? null : { count: Number(value), expiresAt: pexpireAt / 1000 };
    },
    async size(ns: string): Promise<number> {
      return (await (await raw()).keys(`${ns}:*`)).length;
    },
    async drop(ns: string): Promise<void> {
      const r = await raw();
      const keys = await r.keys(`${ns}:*`);
      if (keys.length > 0) await r.del(...keys);
    },
  };
}

/** Redis through node-redis (`redis` v5). */
export function nodeRedisHarness(): StoreHarness {
  let client: ReturnType<typeof import("redis").createClient> | undefined;
  let raw: import("ioredis").Redis | undefined;
  const get = async () => {
    const { createClient } = await import("redis");
    if (client === undefined) {
      client = createClient({ url: serviceUrls.redis });
      await client.connect();
    }
    return client;
  };
  return {
    name: "redis (node-redis)",
    service: "redis",
    persistent: true,
    serverClock: true,
    relativeSingleUseExpiry: true,
    async open(ns, options) {
      return redisStore(await get(), { prefix: `${ns}:`, timeoutMs: options?.timeoutMs });
    },
    ...redisParts(async () => (raw ??= await redisRaw())),
    async openDead() {
      const { createClient } = await import("redis");
      const dead = createClient({ socket: { host: "127.0.0.1", port: await deadPort(), reconnectStrategy: 200 } });
      dead.on("error", () => undefined);
      dead.connect().catch(() => undefined);
      return redisStore(dead, { timeoutMs: 2000 });
    },
    worker: { module: here, export: "nodeRedisHarness" },
    async dispose() {
      await client?.close();
      raw?.disconnect();
      client = undefined;
      raw = undefined;
    },
  };
}

/** Redis through ioredis. */
export function ioredisHarness(): StoreHarness {
  let client: import("ioredis").Redis | undefined;
  return {
    name: "redis (ioredis)",
    service: "redis",
    persistent: true,
    serverClock: true,
    relativeSingleUseExpiry: true,
    async open(ns, options) {
      return redisStore((client ??= await redisRaw()), { prefix: `${ns}:`, timeoutMs: options?.timeoutMs });
    },
    ...redisParts(async () => (client ??= await redisRaw())),
    async openDead() {
      const { default: Redis } = await import("ioredis");
      const dead = new Redis({ host: "127.0.0.1", port: await deadPort(), lazyConnect: false });
      dead.on("error", () => undefined);
      return redisStore(dead, { timeoutMs: 2000 });
    },
    worker: { module: here, export: "ioredisHarness" },
    async dispose() {
      client?.disconnect();
      client = undefined;
    },
  };
}

/** MongoDB through the official driver (needs a server: none can be installed here, so it skips). */
export function mongoHarness(): StoreHarness {
  let client: import("mongodb").MongoClient | undefined;
  const get = async () => {
    const { MongoClient } = await import("mongodb");
    if (client === undefined) {
      client = new MongoClient(serviceUrls.mongodb, { serverSelectionTimeoutMS: 2000 });
      await client.connect();
    }
    return client;
  };
  const collection = async (ns: string) => (await get()).db("tempid_test").collection(ns);
  return {
    name: "mongodb (official driver)",
    service: "mongodb",
    persistent: true,
    reclaimsInTraffic: false,
    async open(ns, options) {
      return mongoStore(await collection(ns), { timeoutMs: options?.timeoutMs });
    },
    async inspect(ns, key) {
      const doc = await (await collection(ns)).findOne({ token_id: key });
      return doc === null ? null : { count: Number(doc["count"]), expiresAt: Number(doc["expires_at"]) };
    },
    size: async (ns) => (await collection(ns)).countDocuments(),
    async drop(ns) {
      await (await collection(ns)).drop().catch(() => undefined);
    },
    worker: { module: here, export: "mongoHarness" },
    async dispose() {
      await client?.close();
      client = undefined;
    },
  };
}

/**
 * The MongoDB store over the in-process fake collection (test/support/fake-mongo.ts): checks the
 * adapter's filters, pipeline and E11000 handling, not a server's guarantees.
 */
export function fakeMongoHarness(): StoreHarness {
  const collections = new Map<string, FakeMongoCollection>();
  const get = (ns: string) => {
    let c = collections.get(ns);
    if (c === undefined) collections.set(ns, (c = new FakeMongoCollection()));
    return c;
  };
  return {
    name: "mongodb (fake collection, no server)",
    persistent: true,
    reclaimsInTraffic: false,
    processLocal: true,
    async open(ns, options) {
      return mongoStore(get(ns), { timeoutMs: options?.timeoutMs });
    },
    async inspect(ns, key) {
      const doc = get(ns).docs.get(key);
      return doc === undefined ? null : { count: Number(doc["count"]), expiresAt: Number(doc["expires_at"]) };
    },
    size: async (ns) => get(ns).docs.size,
    async drop(ns) {
      collections.delete(ns);
    },
    async openDead() {
      const dead = new FakeMongoCollection();
      dead.failWith = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:27017"), { name: "MongoServerSelectionError" });
      return mongoStore(dead, { timeoutMs: 2000 });
    },
    async dispose() {
      collections.clear();
    },
  };
}
