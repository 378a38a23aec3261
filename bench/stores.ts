/**
 * `use()` on each store against the cheapest comparable single round trip on the same client (PING and
 * INCR on Redis, SELECT 1 on SQL; for the memory store, an async Map update). Latency p50/p99 and
 * throughput, at 1 and at 100 concurrent callers, baseline and store interleaved round by round.
 * `use` is a token with a use limit no run reaches (every use a granted write; on Redis the Lua script);
 * where a store has a path of its own for single-use tokens (Redis: `SET NX PX`), `singleUse` measures it
 * too: maxUses 1, a fresh token per call.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, percentile } from "./harness.js";
import type { Core, Lib } from "./lib.js";

export interface StoreStats {
  p50Us: number;
  p99Us: number;
  opsPerSec: number;
  ops: number;
}

export interface StoreResult {
  store: string;
  client: string;
  baseline: string;
  /** per concurrency level: the store's use() and the baseline */
  levels: Array<{
    callers: number;
    use: StoreStats;
    /** use() of single-use tokens (maxUses 1, a fresh token per call), where the store has a path for them */
    singleUse?: StoreStats;
    /** the adapter's consume() called directly: use() minus the token object's own work */
    consume: StoreStats;
    baseline: StoreStats;
    write?: StoreStats & { name: string };
    /** a measurement that explains a result (the same write without waiting for the WAL flush; a Lua call that does nothing) */
    explain?: StoreStats & { name: string };
  }>;
}

interface Target {
  store: string;
  client: string;
  baseline: string;
  /** Also measure single-use tokens (maxUses 1, fresh token per call): the store has a fast path for them. */
  singleUse?: boolean;
  /** the same client's cheapest durable single-row write, where the store is a database that writes to disk */
  make: () => Promise<{
    store: unknown;
    op: () => Promise<unknown>;
    write?: { name: string; op: () => Promise<unknown> };
    explain?: { name: string; op: () => Promise<unknown> };
    cleanup: () => Promise<void>;
  }>;
}

const SECRET = "bench-store-secret-0123456789abcdef-0123456789";

async function timed(op: () => Promise<unknown>, callers: number, ops: number): Promise<{ lat: number[]; elapsedMs: number }> {
  const lat: number[] = [];
  let left = ops;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (left > 0) {
        left--;
        const s = performance.now();
        await op();
        lat.push(performance.now() - s);
      }
    }),
  );
  return { lat, elapsedMs: performance.now() - t0 };
}

function stats(samples: Array<{ lat: number[]; elapsedMs: number }>): StoreStats {
  const all = samples.flatMap((s) => s.lat).sort((a, b) => a - b);
  // Throughput per round, median over rounds (like every other number here).
  const ops = median(samples.map((s) => (s.lat.length / s.elapsedMs) * 1000));
  return { p50Us: percentile(all, 50) * 1000, p99Us: percentile(all, 99) * 1000, opsPerSec: ops, ops: all.length };
}

export async function storeBench(
  lib: Lib,
  opts: { rounds: number; opsSingle: number; opsConcurrent: number; log: (s: string) => void },
): Promise<{ results: StoreResult[]; skipped: Record<string, string> }> {
  const core: Core = lib.core;
  const suffix = randomBytes(4).toString("hex");
  const table = `bench_uses_${suffix}`;
  const skipped: Record<string, string> = {};
  const targets: Target[] = [];

  targets.push({
    store: "memory",
    client: "MemoryStore (in process)",
    baseline: "async Map get+set",
    make: async () => {
      const map = new Map<string, number>();
      let i = 0;
      const store = new core.MemoryStore();
      return {
        store,
        op: async () => {
          const k = `k${i++ & 1023}`;
          map.set(k, (map.get(k) ?? 0) + 1);
        },
        cleanup: () => store.close(),
      };
    },
  });

  const adapters = lib.adapters;
  if (adapters["sqlite"]) {
    targets.push({
      store: "sqlite",
      client: "better-sqlite3 (file, WAL)",
      baseline: "SELECT 1",
      make: async () => {
        const { default: Database } = await import("better-sqlite3");
        const file = join(tmpdir(), `tempid-bench-${suffix}.db`);
        const db = new Database(file);
        db.pragma("journal_mode = WAL");
        const select = db.prepare("SELECT 1");
        db.exec(`CREATE TABLE ${table}_floor (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`);
        const upsert = db.prepare(`INSERT INTO ${table}_floor (k, n) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET n = n + 1`);
        let i = 0;
        const store = (adapters["sqlite"]!["sqliteStore"] as (db: unknown, o: object) => unknown)(db, { table });
        return {
          store,
          op: async () => select.get(),
          write: { name: "upsert", op: async () => upsert.run(`k${i++ % 1000}`) },
          cleanup: async () => {
            await (store as { close(): Promise<void> }).close();
            db.close();
            for (const ext of ["", "-wal", "-shm"]) rmSync(file + ext, { force: true });
          },
        };
      },
    });
  }
  if (adapters["redis"]) {
    let client: { sendCommand(a: string[]): Promise<unknown>; connect(): Promise<unknown>; close?(): Promise<unknown>; quit(): Promise<unknown> } | undefined;
    const prefix = `tempid-bench-${suffix}:`;
    targets.push({
      store: "redis",
      client: "node-redis 5 (one connection)",
      baseline: "PING",
      singleUse: true,
      make: async () => {
        const { createClient } = await import("redis");
        client = createClient({ url: "redis://127.0.0.1:6379" }) as unknown as typeof client;
        await client!.connect();
        const store = (adapters["redis"]!["redisStore"] as (c: unknown, o: object) => unknown)(client, { prefix });
        // Any atomic check-and-count in one round trip is a server-side script; this one does nothing, so
        // it is the least any of them costs (the script call itself), next to PING.
        const noop = (await client!.sendCommand(["SCRIPT", "LOAD", "return 1"])) as string;
        return {
          store,
          op: () => client!.sendCommand(["PING"]),
          write: { name: "INCR", op: () => client!.sendCommand(["INCR", `${prefix}incr`]) },
          explain: { name: "EVALSHA of `return 1` (a Lua call that does nothing)", op: () => client!.sendCommand(["EVALSHA", noop, "0"]) },
          cleanup: async () => {
            let cursor = "0";
            do {
              const [next, keys] = (await client!.sendCommand(["SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "1000"])) as [string, string[]];
              cursor = next;
              if (keys.length > 0) await client!.sendCommand(["DEL", ...keys]);
            } while (cursor !== "0");
            await client!.quit();
          },
        };
      },
    });
  }
  if (adapters["postgres"]) {
    targets.push({
      store: "postgres",
      client: "pg Pool (10 connections)",
      baseline: "SELECT 1",
      make: async () => {
        const { default: pg } = await import("pg");
        const pool = new pg.Pool({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test", max: 10 });
        const store = (adapters["postgres"]!["postgresStore"] as (c: unknown, o: object) => unknown)(pool, { table });
        await pool.query(`CREATE TABLE ${table}_floor (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`);
        const upsert = `INSERT INTO ${table}_floor (k, n) VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET n = ${table}_floor.n + 1`;
        // The same upsert on a pool whose sessions do not wait for the WAL flush (synchronous_commit off
        // for these connections only, never the store's): shows what the durable commit itself costs.
        const unsynced = new pg.Pool({
          host: "127.0.0.1",
          port: 5432,
          user: "postgres",
          database: "test",
          max: 10,
          options: "-c synchronous_commit=off",
        });
        let i = 0;
        return {
          store,
          op: () => pool.query("SELECT 1"),
          // Named (prepared once per connection), as the store's statements are: like for like.
          write: { name: "upsert", op: () => pool.query({ name: `${table}_floor`, text: upsert, values: [`k${i++ % 1000}`] }) },
          explain: {
            name: "upsert, synchronous_commit off",
            op: () => unsynced.query({ name: `${table}_floor`, text: upsert, values: [`k${i++ % 1000}`] }),
          },
          cleanup: async () => {
            await unsynced.end();
            await (store as { close(): Promise<void> }).close();
            await pool.query(`DROP TABLE IF EXISTS ${table}`);
            await pool.query(`DROP TABLE IF EXISTS ${table}_floor`);
            await pool.end();
          },
        };
      },
    });
  }
  if (adapters["mysql"]) {
    targets.push({
      store: "mysql",
      client: "mysql2/promise pool (10 connections)",
      baseline: "SELECT 1",
      make: async () => {
        const mysql = await import("mysql2/promise");
        const pool = mysql.createPool({ host: "127.0.0.1", port: 3306, user: "root", database: "test", connectionLimit: 10 });
        const store = (adapters["mysql"]!["mysqlStore"] as (c: unknown, o: object) => unknown)(pool, { table });
        await pool.query(`CREATE TABLE ${table}_floor (k VARCHAR(64) PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB`);
        const upsert = `INSERT INTO ${table}_floor (k, n) VALUES (?, 1) ON DUPLICATE KEY UPDATE n = n + 1`;
        let i = 0;
        return {
          store,
          op: () => pool.query("SELECT 1"),
          write: { name: "upsert", op: () => pool.execute(upsert, [`k${i++ % 1000}`]) },
          cleanup: async () => {
            await (store as { close(): Promise<void> }).close();
            await pool.query(`DROP TABLE IF EXISTS ${table}`);
            await pool.query(`DROP TABLE IF EXISTS ${table}_floor`);
            await pool.end();
          },
        };
      },
    });
  }

  const results: StoreResult[] = [];
  for (const target of targets) {
    let made: Awaited<ReturnType<Target["make"]>>;
    try {
      made = await target.make();
    } catch (err) {
      skipped[target.store] = `could not connect: ${(err as Error).message}`;
      opts.log(`  ${target.store}: skipped (${skipped[target.store]})`);
      continue;
    }
    try {
      const t = core.createTempID({ secret: SECRET, store: made.store as never });
      // Distinct tokens, as in real traffic; a use limit no run reaches, so every use() is a granted write.
      const tokens = await Promise.all(Array.from({ length: 1000 }, () => t.new("15m", { maxUses: 1_000_000_000 })));
      let next = 0;
      const use = async () => {
        if (!(await tokens[next++ % tokens.length]!.use())) throw new Error(`${target.store}: use() refused`);
      };
      const store = made.store as { consume(key: string, limit: number, exp: number, now: number): Promise<boolean> };
      const consume = async () => {
        const tid = tokens[next++ % tokens.length]!;
        if (!(await store.consume(tid.counterKey, 1_000_000_000, Math.floor(tid.expiresAt.getTime() / 1000), Date.now()))) {
          throw new Error(`${target.store}: consume() refused`);
        }
      };
      // Single-use tokens, minted before each timed run (minting is not measured): each use() is the
      // token's first and only one, granted.
      let fresh: Array<{ use(): Promise<boolean> }> = [];
      let nextFresh = 0;
      const mint = async (n: number) => {
        fresh = await Promise.all(Array.from({ length: n }, () => t.new("15m", { maxUses: 1 })));
        nextFresh = 0;
      };
      const useOnce = async () => {
        const tid = fresh[nextFresh++];
        if (tid === undefined) throw new Error(`${target.store}: out of single-use tokens`);
        if (!(await tid.use())) throw new Error(`${target.store}: single-use use() refused`);
      };
      const timedOnce = async (callers: number, ops: number) => {
        await mint(ops);
        return timed(useOnce, callers, ops);
      };
      // Warm up: creates the table, prepares statements, fills connection pools.
      await timed(use, 10, 200);
      if (target.singleUse) await timedOnce(10, 200);
      await timed(made.op, 10, 200);
      if (made.write) await timed(made.write.op, 10, 200);
      if (made.explain) await timed(made.explain.op, 10, 200);
      const levels: StoreResult["levels"] = [];
      for (const callers of [1, 100]) {
        const ops = callers === 1 ? opts.opsSingle : opts.opsConcurrent;
        const u: Array<{ lat: number[]; elapsedMs: number }> = [];
        const b: typeof u = [];
        const s: typeof u = [];
        const c: typeof u = [];
        const e: typeof u = [];
        const o: typeof u = [];
        for (let r = 0; r < opts.rounds; r++) {
          c.push(await timed(consume, callers, ops));
          // Alternate which goes first, so neither always runs on a warmer (or busier) server.
          if (r % 2 === 0) {
            if (target.singleUse) o.push(await timedOnce(callers, ops));
            u.push(await timed(use, callers, ops));
            b.push(await timed(made.op, callers, ops));
          } else {
            b.push(await timed(made.op, callers, ops));
            u.push(await timed(use, callers, ops));
            if (target.singleUse) o.push(await timedOnce(callers, ops));
          }
          if (made.write) s.push(await timed(made.write.op, callers, ops));
          if (made.explain) e.push(await timed(made.explain.op, callers, ops));
        }
        levels.push({
          callers,
          use: stats(u),
          ...(target.singleUse ? { singleUse: stats(o) } : {}),
          consume: stats(c),
          baseline: stats(b),
          ...(made.write ? { write: { name: made.write.name, ...stats(s) } } : {}),
          ...(made.explain ? { explain: { name: made.explain.name, ...stats(e) } } : {}),
        });
      }
      results.push({ store: target.store, client: target.client, baseline: target.baseline, levels });
      const one = levels[0]!;
      const once = one.singleUse ? `, single-use tokens ${one.singleUse.p50Us.toFixed(1)} µs` : "";
      opts.log(`  ${target.store}: use() p50 ${one.use.p50Us.toFixed(1)} µs${once} vs ${target.baseline} ${one.baseline.p50Us.toFixed(1)} µs`);
    } finally {
      await made.cleanup();
    }
  }
  return { results, skipped };
}
