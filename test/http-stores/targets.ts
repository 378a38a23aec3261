/**
 * The HTTP stores under test, each wired the way its docs allow to a bridge on 127.0.0.1 that forwards to
 * the real local server: Upstash → Redis, Neon (HTTP and WebSocket Pool) → PostgreSQL, PlanetScale →
 * MariaDB. Every target uses its own random table / key prefix and reads counts back from the real server
 * directly (not through the bridge), so a test checks what the database holds.
 */
import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import { connect } from "@planetscale/database";
import { Redis } from "@upstash/redis";
import mysql from "mysql2/promise";
import pg from "pg";
import { createClient } from "redis";
import ws from "ws";
import { neonStore } from "../../adapters/neon.js";
import { planetscaleStore } from "../../adapters/planetscale.js";
import { upstashStore, type UpstashStoreOptions } from "../../adapters/upstash.js";
import type { UseStore } from "../../src/index.js";
import type { FaultSwitch } from "../support/bridges/faults.js";
import { startNeonBridge, type NeonBridge } from "../support/bridges/neon.js";
import { startPlanetScaleBridge, type PlanetScaleBridge } from "../support/bridges/planetscale.js";
import { startUpstashBridge, type UpstashBridge } from "../support/bridges/upstash.js";

export const HTTP_KINDS = ["upstash", "neon-http", "neon-pool", "planetscale"] as const;
export type HttpKind = (typeof HTTP_KINDS)[number];

export interface StoreOptions {
  timeoutMs?: number;
}

export interface HttpTarget {
  kind: HttpKind;
  /** A store on this target's table / prefix, through the official client and the bridge. */
  store(options?: StoreOptions): UseStore & { purgeExpired?(nowMs?: number): Promise<number> };
  /** The bridge's fault switch for this target's transport. */
  faults: FaultSwitch;
  /** The count the real server holds for `key` (0 when absent), read directly. */
  realCount(key: string): Promise<number>;
  /** Runs SQL / a command on the real server directly (for setup in tests). */
  raw: RawAccess;
  /** Table name or key prefix in use. */
  namespace: string;
  /** PlanetScale: every statement text the bridge received (after the driver filled the `?`). */
  statements?: string[];
  /** Upstash: commands the bridge forwarded, by name. */
  commands?: Map<string, number>;
  close(): Promise<void>;
}

export type RawAccess =
  | { kind: "redis"; client: ReturnType<typeof createClient> }
  | { kind: "pg"; pool: pg.Pool }
  | { kind: "mysql"; pool: mysql.Pool };

const suffix = () => Math.random().toString(36).slice(2, 10);

let neonBridge: NeonBridge | undefined;
let neonUsers = 0;

/** The Neon bridge is shared in a process: neonConfig's endpoints are global settings of the client. */
async function acquireNeonBridge(): Promise<NeonBridge> {
  neonUsers++;
  if (neonBridge === undefined) {
    neonBridge = await startNeonBridge();
    neonConfig.fetchEndpoint = () => neonBridge!.fetchEndpoint;
    neonConfig.webSocketConstructor = ws;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
    neonConfig.wsProxy = (host, port) => neonBridge!.wsProxy(host, port);
  }
  return neonBridge;
}

async function releaseNeonBridge(): Promise<void> {
  if (--neonUsers === 0 && neonBridge !== undefined) {
    const bridge = neonBridge;
    neonBridge = undefined;
    await bridge.close();
  }
}

export async function openTarget(kind: HttpKind, upstashOptions: UpstashStoreOptions = {}): Promise<HttpTarget> {
  switch (kind) {
    case "upstash":
      return openUpstash(upstashOptions);
    case "neon-http":
    case "neon-pool":
      return openNeon(kind);
    case "planetscale":
      return openPlanetScale();
  }
}

async function openUpstash(upstashOptions: UpstashStoreOptions): Promise<HttpTarget> {
  const bridge: UpstashBridge = await startUpstashBridge();
  const client = createClient({ url: "redis://127.0.0.1:6379" });
  client.on("error", () => {});
  await client.connect();
  const prefix = `tempid-http-${suffix()}:`;
  // As the docs say: no client-side retries (a re-sent request could count a use twice).
  const redis = new Redis({ url: bridge.url, token: bridge.token, retry: { retries: 0 }, enableTelemetry: false });
  return {
    kind: "upstash",
    namespace: prefix,
    commands: bridge.commands,
    faults: bridge.faults,
    raw: { kind: "redis", client },
    store: (options = {}) => upstashStore(redis, { prefix, ...upstashOptions, ...options }),
    async realCount(key) {
      const value = await client.get(prefix + key);
      return value === null ? 0 : Number(value);
    },
    async close() {
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        if (keys.length > 0) await client.del(keys);
      }
      await client.quit();
      await bridge.close();
    },
  };
}

async function openNeon(kind: "neon-http" | "neon-pool"): Promise<HttpTarget> {
  const bridge = await acquireNeonBridge();
  const table = `tempid_http_${suffix()}`;
  const direct = new pg.Pool({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test", max: 2 });
  const pool = kind === "neon-pool" ? new Pool({ connectionString: bridge.connectionString, max: 20 }) : undefined;
  const sql = neon(bridge.connectionString);
  const make = (options: StoreOptions = {}) => neonStore(pool ?? sql, { table, ...options });
  await make().migrate();
  return {
    kind,
    namespace: table,
    faults: kind === "neon-pool" ? bridge.wsFaults : bridge.faults,
    raw: { kind: "pg", pool: direct },
    store: make,
    async realCount(key) {
      const { rows } = await direct.query(`SELECT count FROM "${table}" WHERE token_id = $1`, [key]);
      return rows[0] === undefined ? 0 : Number(rows[0].count);
    },
    async close() {
      await pool?.end();
      await direct.query(`DROP TABLE IF EXISTS "${table}"`);
      await direct.end();
      await releaseNeonBridge();
    },
  };
}

async function openPlanetScale(): Promise<HttpTarget> {
  const bridge: PlanetScaleBridge = await startPlanetScaleBridge();
  const table = `tempid_http_${suffix()}`;
  const direct = mysql.createPool({ host: "127.0.0.1", port: 3306, user: "root", database: "test", connectionLimit: 2 });
  const conn = connect({ url: bridge.url });
  const make = (options: StoreOptions = {}) => planetscaleStore(conn, { table, ...options });
  await make().migrate();
  return {
    kind: "planetscale",
    namespace: table,
    statements: bridge.statements,
    faults: bridge.faults,
    raw: { kind: "mysql", pool: direct },
    store: make,
    async realCount(key) {
      const [rows] = await direct.query(`SELECT count FROM \`${table}\` WHERE token_id = ?`, [key]);
      const row = (rows as Array<{ count: number }>)[0];
      return row === undefined ? 0 : Number(row.count);
    },
    async close() {
      await direct.query(`DROP TABLE IF EXISTS \`${table}\``);
      await direct.end();
      await bridge.close();
    },
  };
}
