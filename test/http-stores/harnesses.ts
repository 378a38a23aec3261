/**
 * Conformance-suite harnesses (test/support/store-harness.ts) for the HTTP stores: the official client of
 * each service, configured only the way its docs allow, talking to a test bridge on 127.0.0.1 that
 * forwards to the real local server. Counters are inspected on the real server directly.
 *
 * The bridge runs in the test process; the suite's worker processes load this module by path and reach
 * the same bridge through the address the first process put in the environment (TEMPID_BRIDGE_*), so
 * "4 processes" means 4 processes through one bridge into one database. No vitest import here.
 */
import type { StoreHarness, RawCounter } from "../support/store-harness.js";
import { deadPort, serviceUrls } from "../support/services.js";

const here = new URL(import.meta.url).pathname;

/**
 * Default bound for stores the suite opens without one. 1,000 HTTP requests at once through a bridge on a
 * 2-core machine (shared with other test runs) queue for several seconds; the suite measures exactness
 * here, not latency. The fault tests (faults.test.ts) check the bound itself with a short timeoutMs.
 */
const SUITE_TIMEOUT_MS = 30_000;

/** A bridge started here (closed by dispose) or found in the environment (a worker: not ours to close). */
interface BridgeHandle<T> {
  info: T;
  close?: () => Promise<void>;
}

async function upstashBridge(): Promise<BridgeHandle<{ url: string; token: string }>> {
  const found = process.env.TEMPID_BRIDGE_UPSTASH;
  if (found) return { info: JSON.parse(found) as { url: string; token: string } };
  const { startUpstashBridge } = await import("../support/bridges/upstash.js");
  const bridge = await startUpstashBridge({ redisUrl: serviceUrls.redis });
  process.env.TEMPID_BRIDGE_UPSTASH = JSON.stringify({ url: bridge.url, token: bridge.token });
  return {
    info: { url: bridge.url, token: bridge.token },
    close: async () => {
      delete process.env.TEMPID_BRIDGE_UPSTASH;
      await bridge.close();
    },
  };
}

const NEON_DEAD_HOST = "dead.neon.invalid";

async function neonBridge(): Promise<BridgeHandle<{ fetchEndpoint: string; wsBase: string; connectionString: string }>> {
  const found = process.env.TEMPID_BRIDGE_NEON;
  let handle: BridgeHandle<{ fetchEndpoint: string; wsBase: string; connectionString: string }>;
  if (found) {
    handle = { info: JSON.parse(found) };
  } else {
    const { startNeonBridge } = await import("../support/bridges/neon.js");
    const pg = new URL(serviceUrls.postgres);
    const bridge = await startNeonBridge({
      target: { host: pg.hostname, port: Number(pg.port || 5432), user: decodeURIComponent(pg.username), database: pg.pathname.slice(1) },
    });
    const info = {
      fetchEndpoint: bridge.fetchEndpoint,
      wsBase: bridge.wsProxy("x", 0).split("?")[0]!,
      connectionString: bridge.connectionString,
    };
    process.env.TEMPID_BRIDGE_NEON = JSON.stringify(info);
    handle = {
      info,
      close: async () => {
        delete process.env.TEMPID_BRIDGE_NEON;
        await bridge.close();
      },
    };
  }
  // neonConfig's endpoints are global settings of the client: route the bridge's placeholder host to the
  // bridge and the "dead" host to a port where nothing listens.
  const { neonConfig } = await import("@neondatabase/serverless");
  const { default: ws } = await import("ws");
  const dead = await deadPort();
  neonConfig.fetchEndpoint = (host) => (host === NEON_DEAD_HOST ? `http://127.0.0.1:${dead}/sql` : handle.info.fetchEndpoint);
  neonConfig.webSocketConstructor = ws;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  neonConfig.wsProxy = (host, port) =>
    host === NEON_DEAD_HOST ? `127.0.0.1:${dead}/v1` : `${handle.info.wsBase}?address=${host}:${port}`;
  return handle;
}

async function planetscaleBridge(): Promise<BridgeHandle<{ url: string }>> {
  const found = process.env.TEMPID_BRIDGE_PLANETSCALE;
  if (found) return { info: JSON.parse(found) as { url: string } };
  const { startPlanetScaleBridge } = await import("../support/bridges/planetscale.js");
  const my = new URL(serviceUrls.mysql);
  const bridge = await startPlanetScaleBridge({
    target: {
      host: my.hostname,
      port: Number(my.port || 3306),
      user: decodeURIComponent(my.username),
      password: decodeURIComponent(my.password),
      database: my.pathname.slice(1),
    },
  });
  process.env.TEMPID_BRIDGE_PLANETSCALE = JSON.stringify({ url: bridge.url });
  return {
    info: { url: bridge.url },
    close: async () => {
      delete process.env.TEMPID_BRIDGE_PLANETSCALE;
      await bridge.close();
    },
  };
}

/** Upstash Redis REST (`@upstash/redis`, no client retries) → bridge → Redis. */
export function upstashHarness(): StoreHarness {
  let bridge: Promise<BridgeHandle<{ url: string; token: string }>> | undefined;
  let raw: import("ioredis").Redis | undefined;
  const rawClient = async () => {
    const { default: Redis } = await import("ioredis");
    return (raw ??= new Redis(serviceUrls.redis));
  };
  const client = async () => {
    const { info } = await (bridge ??= upstashBridge());
    const { Redis } = await import("@upstash/redis");
    return new Redis({ url: info.url, token: info.token, retry: { retries: 0 }, enableTelemetry: false });
  };
  return {
    name: "upstash (@upstash/redis → REST bridge → Redis)",
    service: "redis",
    persistent: true,
    serverClock: true,
    relativeSingleUseExpiry: true,
    async open(ns, options) {
      const { upstashStore } = await import("../../adapters/upstash.js");
      return upstashStore(await client(), { prefix: `${ns}:`, timeoutMs: options?.timeoutMs ?? SUITE_TIMEOUT_MS });
    },
    async inspect(ns, key): Promise<RawCounter | null> {
      const r = await rawClient();
      const [value, pexpireAt] = await Promise.all([r.get(`${ns}:${key}`), r.call("PEXPIRETIME", `${ns}:${key}`) as Promise<number>]);
      return value === null ? null : { count: Number(value), expiresAt: pexpireAt / 1000 };
    },
    async size(ns) {
      return (await (await rawClient()).keys(`${ns}:*`)).length;
    },
    async drop(ns) {
      const r = await rawClient();
      const keys = await r.keys(`${ns}:*`);
      if (keys.length > 0) await r.del(...keys);
    },
    async openDead() {
      const { Redis } = await import("@upstash/redis");
      const { upstashStore } = await import("../../adapters/upstash.js");
      const dead = new Redis({ url: `http://127.0.0.1:${await deadPort()}`, token: "t", retry: { retries: 0 }, enableTelemetry: false });
      return upstashStore(dead, { timeoutMs: 2000 });
    },
    worker: { module: here, export: "upstashHarness" },
    async dispose() {
      raw?.disconnect();
      raw = undefined;
      const b = await bridge;
      bridge = undefined;
      await b?.close?.();
    },
  };
}

function sqlInspector(kind: "pg" | "mysql") {
  let pgPool: import("pg").Pool | undefined;
  let myPool: import("mysql2/promise").Pool | undefined;
  const query = async (sql: string, args: unknown[]): Promise<Record<string, unknown>[]> => {
    if (kind === "pg") {
      const { default: pg } = await import("pg");
      pgPool ??= new pg.Pool({ connectionString: serviceUrls.postgres, max: 2 });
      return (await pgPool.query(sql, args)).rows;
    }
    const mysql = await import("mysql2/promise");
    myPool ??= mysql.createPool({ uri: serviceUrls.mysql, connectionLimit: 2 });
    return (await myPool.query(sql, args))[0] as Record<string, unknown>[];
  };
  const q = kind === "pg" ? '"' : "`";
  return {
    async inspect(ns: string, key: string): Promise<RawCounter | null> {
      const rows = await query(`SELECT count, expires_at FROM ${q}${ns}${q} WHERE token_id = ${kind === "pg" ? "$1" : "?"}`, [key]);
      const row = rows[0];
      return row === undefined ? null : { count: Number(row["count"]), expiresAt: Number(row["expires_at"]) };
    },
    async size(ns: string): Promise<number> {
      return Number((await query(`SELECT COUNT(*) AS n FROM ${q}${ns}${q}`, []))[0]?.["n"]);
    },
    async drop(ns: string): Promise<void> {
      await query(`DROP TABLE IF EXISTS ${q}${ns}${q}`, []);
    },
    async end(): Promise<void> {
      await pgPool?.end();
      await myPool?.end();
      pgPool = undefined;
      myPool = undefined;
    },
  };
}

/** Neon over HTTP (`neon(url)`) → bridge → PostgreSQL; or over its WebSocket `Pool`. */
function neonHarness(mode: "http" | "pool"): StoreHarness {
  let bridge: Promise<Awaited<ReturnType<typeof neonBridge>>> | undefined;
  let pool: import("@neondatabase/serverless").Pool | undefined;
  const inspector = sqlInspector("pg");
  const target = async () => {
    const { info } = await (bridge ??= neonBridge());
    const { neon, Pool } = await import("@neondatabase/serverless");
    if (mode === "http") return neon(info.connectionString);
    if (pool === undefined) {
      pool = new Pool({ connectionString: info.connectionString, max: 10 });
      pool.on("error", () => undefined);
    }
    return pool;
  };
  return {
    name: mode === "http" ? "neon (neon() over HTTP → bridge → PostgreSQL)" : "neon (Pool over WebSocket → bridge → PostgreSQL)",
    service: "postgres",
    persistent: true,
    async open(ns, options) {
      const { neonStore } = await import("../../adapters/neon.js");
      const store = neonStore(await target(), { table: ns, ...options, timeoutMs: options?.timeoutMs ?? SUITE_TIMEOUT_MS });
      // The documented deploy step (the edge stores do not create tables on the request path).
      await store.migrate();
      return store;
    },
    inspect: inspector.inspect,
    size: inspector.size,
    drop: inspector.drop,
    async openDead() {
      await (bridge ??= neonBridge());
      const { neonStore } = await import("../../adapters/neon.js");
      const { neon, Pool } = await import("@neondatabase/serverless");
      const url = `postgresql://postgres@${NEON_DEAD_HOST}/test`;
      if (mode === "http") return neonStore(neon(url), { timeoutMs: 2000 });
      const dead = new Pool({ connectionString: url, connectionTimeoutMillis: 1000 });
      dead.on("error", () => undefined);
      const store = neonStore(dead, { timeoutMs: 2000 });
      return { ...bindStore(store), close: async () => void (await dead.end().catch(() => undefined)) };
    },
    worker: { module: here, export: mode === "http" ? "neonHttpHarness" : "neonPoolHarness" },
    async dispose() {
      await pool?.end().catch(() => undefined);
      pool = undefined;
      await inspector.end();
      const b = await bridge;
      bridge = undefined;
      await b?.close?.();
    },
  };
}

export const neonHttpHarness = () => neonHarness("http");
export const neonPoolHarness = () => neonHarness("pool");

/** PlanetScale (`connect({ url })`) → bridge → MariaDB. */
export function planetscaleHarness(): StoreHarness {
  let bridge: Promise<BridgeHandle<{ url: string }>> | undefined;
  const inspector = sqlInspector("mysql");
  return {
    name: "planetscale (@planetscale/database → HTTP bridge → MariaDB)",
    service: "mysql",
    persistent: true,
    async open(ns, options) {
      const { info } = await (bridge ??= planetscaleBridge());
      const { connect } = await import("@planetscale/database");
      const { planetscaleStore } = await import("../../adapters/planetscale.js");
      const store = planetscaleStore(connect({ url: info.url }), { table: ns, ...options, timeoutMs: options?.timeoutMs ?? SUITE_TIMEOUT_MS });
      await store.migrate();
      return store;
    },
    inspect: inspector.inspect,
    size: inspector.size,
    drop: inspector.drop,
    async openDead() {
      const { connect } = await import("@planetscale/database");
      const { planetscaleStore } = await import("../../adapters/planetscale.js");
      return planetscaleStore(connect({ url: `http://u:p@127.0.0.1:${await deadPort()}` }), { timeoutMs: 2000 });
    },
    worker: { module: here, export: "planetscaleHarness" },
    async dispose() {
      await inspector.end();
      const b = await bridge;
      bridge = undefined;
      await b?.close?.();
    },
  };
}

/** The store's methods as plain functions (to wrap close()). */
function bindStore<T extends { consume: Function; used: Function; revoke: Function }>(store: T) {
  return {
    consume: store.consume.bind(store) as T["consume"],
    used: store.used.bind(store) as T["used"],
    revoke: store.revoke.bind(store) as T["revoke"],
  };
}
