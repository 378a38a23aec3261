/**
 * What is particular to each HTTP store, beyond the conformance suite: one request per use, NOSCRIPT after a
 * SCRIPT FLUSH (Upstash), the client's own retries (Upstash), values escaped by the driver (PlanetScale),
 * and one database shared with the TCP adapter of the same server (same table, same keys, same scripts).
 */
import { Redis, type RedisConfigNodejs, type Requester } from "@upstash/redis";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mysqlStore } from "../../adapters/mysql.js";
import { neonStore } from "../../adapters/neon.js";
import { planetscaleStore } from "../../adapters/planetscale.js";
import { postgresStore } from "../../adapters/postgres.js";
import { CONSUME_SCRIPT } from "../../adapters/redis-script.js";
import { redisStore } from "../../adapters/redis.js";
import { upstashStore } from "../../adapters/upstash.js";
import { TempIDConfigError, TempIDStoreError, createTempID } from "../../src/index.js";
import { startUpstashBridge, type UpstashBridge } from "../support/bridges/upstash.js";
import { openTarget, type HttpTarget } from "./targets.js";

const exp = () => Math.floor(Date.now() / 1000) + 600;
const rand = () => Math.random().toString(36).slice(2, 10);

describe("upstash", () => {
  let bridge: UpstashBridge;
  const raw = createClient({ url: "redis://127.0.0.1:6379" });
  const prefix = `tempid-up-${rand()}:`;
  const client = (config: Partial<RedisConfigNodejs> = {}) =>
    new Redis({ url: bridge.url, token: bridge.token, retry: { retries: 0 }, enableTelemetry: false, ...config });

  beforeAll(async () => {
    bridge = await startUpstashBridge();
    raw.on("error", () => {});
    await raw.connect();
  });
  afterAll(async () => {
    bridge.faults.release();
    for await (const keys of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await raw.del(keys);
    await raw.quit();
    await bridge.close();
  });

  it("refuses a client that re-sends after network errors: the default, and retry: false (still one retry)", () => {
    expect(() => upstashStore(client({ retry: undefined }))).toThrow(TempIDConfigError);
    expect(() => upstashStore(client({ retry: false }))).toThrow(TempIDConfigError);
    expect(() => upstashStore(client({ retry: { retries: 0 } }))).not.toThrow();
    // A custom requester has no retry setting to read: trusted to send once.
    const requester = { request: async () => ({ result: 1 }) } as unknown as Requester;
    expect(() => upstashStore(new Redis(requester))).not.toThrow();
    expect(() => upstashStore({} as never)).toThrow(TempIDConfigError);
  });

  it("why: with the client's default retries, one use that lost its reply is counted several times", async () => {
    const store = upstashStore(client({ retry: { retries: 3, backoff: () => 1 } }), { prefix, allowClientRetries: true, timeoutMs: 5000 });
    const key = `retried-${rand()}`;
    bridge.faults.set("drop-after");
    await expect(store.consume(key, 10, exp(), Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
    bridge.faults.release();
    await bridge.faults.settled();
    // 1 try + 3 retries, each ran the script: 4 uses spent for one call that granted nothing.
    expect(Number(await raw.get(prefix + key))).toBe(4);
  });

  it("one request per use, EVALSHA; after SCRIPT FLUSH the next use gets NOSCRIPT, falls back to EVAL, and counts exactly once", async () => {
    const store = upstashStore(client(), { prefix });
    const key = `flush-${rand()}`;
    expect(await store.consume(key, 5, exp(), Date.now())).toBe(true); // loads the script if needed
    const before = { received: bridge.faults.received, evalsha: bridge.commands.get("EVALSHA") ?? 0, eval: bridge.commands.get("EVAL") ?? 0 };
    expect(await store.consume(key, 5, exp(), Date.now())).toBe(true);
    expect(bridge.faults.received - before.received).toBe(1);
    expect((bridge.commands.get("EVALSHA") ?? 0) - before.evalsha).toBe(1);

    await raw.scriptFlush();
    expect(await store.consume(key, 5, exp(), Date.now())).toBe(true);
    expect((bridge.commands.get("EVALSHA") ?? 0) - before.evalsha).toBe(2);
    expect((bridge.commands.get("EVAL") ?? 0) - before.eval).toBe(1);
    expect(await raw.get(prefix + key)).toBe("3");
    // EVAL cached the script again: back to EVALSHA alone.
    expect(await store.consume(key, 5, exp(), Date.now())).toBe(true);
    expect((bridge.commands.get("EVAL") ?? 0) - before.eval).toBe(1);
    expect(await raw.get(prefix + key)).toBe("4");
  });

  it("a flush racing 1,000 concurrent uses: exactly the limit granted", async () => {
    const store = upstashStore(client(), { prefix });
    const key = `flush-race-${rand()}`;
    await raw.scriptFlush();
    const results = await Promise.all(Array.from({ length: 1000 }, () => store.consume(key, 300, exp(), Date.now())));
    expect(results.filter(Boolean).length).toBe(300);
    expect(await raw.get(prefix + key)).toBe("300");
  });

  it("shares one database with the TCP Redis adapter: same key, same expiry, one count", async () => {
    const edge = upstashStore(client(), { prefix });
    const server = redisStore(raw, { prefix });
    const key = `shared-${rand()}`;
    const expiry = exp();
    expect(await edge.consume(key, 3, expiry, Date.now())).toBe(true);
    expect(await server.consume(key, 3, expiry, Date.now())).toBe(true);
    expect(await edge.consume(key, 3, expiry, Date.now())).toBe(true);
    expect(await server.consume(key, 3, expiry, Date.now())).toBe(false);
    expect(await edge.used(key, Date.now())).toBe(3);
    expect(Number(await raw.sendCommand(["PEXPIRETIME", prefix + key]))).toBe(expiry * 1000);
    await server.revoke(key, expiry, Date.now());
    expect(await edge.used(key, Date.now())).toBe(2147483647);
  });

  describe("single-use fast path (limit 1): SET NX PX, no script", () => {
    it("1,000 concurrent uses: exactly one granted, SET only (no script); the key holds 1, expiring ttl later", async () => {
      const store = upstashStore(client(), { prefix });
      const key = `once-race-${rand()}`;
      const expiry = Math.floor(Date.now() / 1000) + 3600;
      const before = { set: bridge.commands.get("SET") ?? 0, evalsha: bridge.commands.get("EVALSHA") ?? 0, eval: bridge.commands.get("EVAL") ?? 0 };
      const start = Date.now();
      const results = await Promise.all(Array.from({ length: 1000 }, () => store.consume(key, 1, expiry, Date.now())));
      expect(results.filter(Boolean).length).toBe(1);
      expect((bridge.commands.get("SET") ?? 0) - before.set).toBe(1000);
      expect((bridge.commands.get("EVALSHA") ?? 0) - before.evalsha).toBe(0);
      expect((bridge.commands.get("EVAL") ?? 0) - before.eval).toBe(0);
      expect(await raw.get(prefix + key)).toBe("1");
      const pttl = await raw.pTTL(prefix + key);
      expect(pttl).toBeLessThanOrEqual(expiry * 1000 - start);
      expect(pttl).toBeGreaterThan(expiry * 1000 - Date.now() - 10_000);
      expect(await store.used(key, Date.now())).toBe(1);
    });

    it("a revoked key is refused at limit 1 and stays revoked", async () => {
      const store = upstashStore(client(), { prefix });
      const key = `once-rev-${rand()}`;
      const expiry = exp();
      await store.revoke(key, expiry, Date.now());
      expect(await store.consume(key, 1, expiry, Date.now())).toBe(false);
      expect(await raw.get(prefix + key)).toBe("2147483647");
      expect(Number(await raw.sendCommand(["PEXPIRETIME", prefix + key]))).toBe(expiry * 1000);
    });

    it("ttl <= 0 is refused without a request, and writes nothing", async () => {
      const store = upstashStore(client(), { prefix });
      const key = `once-dead-${rand()}`;
      const expiry = exp();
      const received = bridge.faults.received;
      expect(await store.consume(key, 1, expiry, expiry * 1000)).toBe(false);
      expect(await store.consume(key, 1, expiry, expiry * 1000 + 1)).toBe(false);
      expect(bridge.faults.received).toBe(received);
      expect(await raw.exists(prefix + key)).toBe(0);
    });

    it("one count with the TCP adapter and a Python-style script: after the grant, both refuse", async () => {
      const edge = upstashStore(client(), { prefix });
      const server = redisStore(raw, { prefix });
      const key = `once-shared-${rand()}`;
      const expiry = exp();
      expect(await edge.consume(key, 1, expiry, Date.now())).toBe(true);
      expect(await server.consume(key, 1, expiry, Date.now())).toBe(false);
      expect(await edge.consume(key, 1, expiry, Date.now())).toBe(false);
      // The script (what a Python service or a limit > 1 consume runs): INCR 1 -> 2 > 1, refused and undone.
      expect(await raw.sendCommand(["EVAL", CONSUME_SCRIPT, "1", prefix + key, "1", String(expiry * 1000)])).toBe(0);
      expect(await raw.get(prefix + key)).toBe("1");
      expect(await edge.used(key, Date.now())).toBe(1);
      // And the other way round: the TCP adapter's fast path grants, Upstash refuses.
      const other = `once-shared2-${rand()}`;
      expect(await server.consume(other, 1, expiry, Date.now())).toBe(true);
      expect(await edge.consume(other, 1, expiry, Date.now())).toBe(false);
    });
  });

  it("default prefix is the Python package's tempid:", async () => {
    const tempid = createTempID({ secret: "s3cret", store: upstashStore(client()), format: "v2", accept: ["v2"] });
    const tid = await tempid.new("1m", { maxUses: 2 });
    expect(await tid.use()).toBe(true);
    expect(await raw.get(`tempid:${tid.counterKey}`)).toBe("1");
    await raw.del(`tempid:${tid.counterKey}`);
  });
});

describe("planetscale", () => {
  let target: HttpTarget;
  beforeAll(async () => {
    target = await openTarget("planetscale");
  });
  afterAll(async () => {
    await target?.close();
  });

  it("one request per use (no session round trip)", async () => {
    const store = target.store();
    const before = target.faults.received;
    expect(await store.consume(`one-${rand()}`, 2, exp(), Date.now())).toBe(true);
    expect(target.faults.received - before).toBe(1);
  });

  it("keys reach the database exactly as given: the driver escapes every value, nothing is spliced", async () => {
    const store = target.store();
    const hostile = [
      "a'b",
      "a''b",
      "back\\slash",
      "quote\"d",
      "q?mark",
      "?",
      ":named",
      "semi;colon -- comment",
      "/* block */",
      "x' OR '1'='1",
      "'); DROP TABLE t; --",
      "tab\there",
    ];
    for (const key of hostile) {
      expect(await store.consume(key, 2, exp(), Date.now())).toBe(true);
      expect(await store.consume(key, 2, exp(), Date.now())).toBe(true);
      expect(await store.consume(key, 2, exp(), Date.now())).toBe(false);
      expect(await target.realCount(key)).toBe(2);
    }
    // Nothing else was written: one row per key, and the table is intact.
    if (target.raw.kind !== "mysql") throw new Error("planetscale target reads MySQL");
    const [rows] = await target.raw.pool.query(`SELECT token_id FROM \`${target.namespace}\` WHERE token_id IN (?)`, [hostile]);
    expect((rows as Array<{ token_id: string }>).map((r) => r.token_id).sort()).toEqual([...hostile].sort());
    // The statements the bridge received carry the keys as quoted literals from the driver.
    const consumeText = target.statements!.filter((s) => s.includes("back\\\\slash"));
    expect(consumeText.length).toBeGreaterThan(0);
  });

  it("shares one table with the TCP MySQL adapter", async () => {
    if (target.raw.kind !== "mysql") throw new Error("planetscale target reads MySQL");
    const edge = target.store();
    const server = mysqlStore(target.raw.pool, { table: target.namespace });
    const key = `shared-${rand()}`;
    expect(await edge.consume(key, 3, exp(), Date.now())).toBe(true);
    expect(await server.consume(key, 3, exp(), Date.now())).toBe(true);
    expect(await edge.consume(key, 3, exp(), Date.now())).toBe(true);
    expect(await server.consume(key, 3, exp(), Date.now())).toBe(false);
    expect(await edge.consume(key, 3, exp(), Date.now())).toBe(false);
    expect(await server.used(key, Date.now())).toBe(3);
  });

  it("rejects something that is not a PlanetScale connection, and a bad table name", () => {
    expect(() => planetscaleStore({} as never)).toThrow(TempIDConfigError);
    expect(() => planetscaleStore({ execute: async () => ({ rows: [], rowsAffected: 0, insertId: "0" }) }, { table: "x; DROP" })).toThrow(
      TempIDConfigError,
    );
  });
});

describe.each(["neon-http", "neon-pool"] as const)("%s", (kind) => {
  let target: HttpTarget;
  beforeAll(async () => {
    target = await openTarget(kind);
  });
  afterAll(async () => {
    await target?.close();
  });

  if (kind === "neon-http") {
    it("one request per use", async () => {
      const store = target.store();
      const before = target.faults.received;
      expect(await store.consume(`one-${rand()}`, 2, exp(), Date.now())).toBe(true);
      expect(target.faults.received - before).toBe(1);
    });
  }

  it("shares one table with the TCP PostgreSQL adapter", async () => {
    if (target.raw.kind !== "pg") throw new Error("neon target reads PostgreSQL");
    const edge = target.store();
    const server = postgresStore(target.raw.pool, { table: target.namespace });
    const key = `shared-${rand()}`;
    expect(await edge.consume(key, 3, exp(), Date.now())).toBe(true);
    expect(await server.consume(key, 3, exp(), Date.now())).toBe(true);
    expect(await edge.consume(key, 3, exp(), Date.now())).toBe(true);
    expect(await server.consume(key, 3, exp(), Date.now())).toBe(false);
    expect(await edge.used(key, Date.now())).toBe(3);
  });

  it("migrate() creates the PostgreSQL adapter's layout", async () => {
    if (target.raw.kind !== "pg") throw new Error("neon target reads PostgreSQL");
    const { rows } = await target.raw.pool.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
      [target.namespace],
    );
    expect(rows).toEqual([
      { column_name: "token_id", data_type: "text" },
      { column_name: "count", data_type: "integer" },
      { column_name: "expires_at", data_type: "bigint" },
    ]);
  });
});

describe("neonStore arguments", () => {
  it("rejects anything but neon() or a Pool", () => {
    expect(() => neonStore({} as never)).toThrow(TempIDConfigError);
    expect(() => neonStore(null as never)).toThrow(TempIDConfigError);
  });
  it("rejects a timeoutMs that is not a positive integer", () => {
    const fake = Object.assign(async () => [], { query: async () => ({ rows: [], rowCount: 0 }) });
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
      expect(() => neonStore(fake, { timeoutMs: bad })).toThrow(TempIDConfigError);
    }
  });
});

// Found by a fresh-user test: autoMigrate is off by default on Neon and PlanetScale, and a use on a database
// without the table said only what the driver said.
describe("no table yet (Neon, PlanetScale): the error says how to create it", () => {
  for (const kind of ["neon-http", "neon-pool", "planetscale"] as const) {
    it(`${kind}: TempIDStoreError naming the table and migrate(), the driver's error as cause; migrate() fixes it`, async () => {
      const target = await openTarget(kind);
      try {
        const table = target.namespace;
        if (target.raw.kind === "pg") await target.raw.pool.query(`DROP TABLE "${table}"`);
        else if (target.raw.kind === "mysql") await target.raw.pool.query(`DROP TABLE \`${table}\``);
        const store = target.store();
        const err = await store.consume(`k-${rand()}`, 2, exp(), Date.now()).then(
          (granted) => new Error(`resolved ${String(granted)}`),
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(TempIDStoreError);
        expect((err as Error).message).toMatch(/^consume failed: /);
        expect((err as Error).message).toContain(
          `; the table "${table}" does not exist: call store.migrate() once, or create it with the DDL in the README (autoMigrate is off)`,
        );
        expect((err as Error).cause).toBeInstanceOf(Error);
        await (store as unknown as { migrate(): Promise<void> }).migrate();
        expect(await store.consume(`k-${rand()}`, 2, exp(), Date.now())).toBe(true);
      } finally {
        await target.close();
      }
    });
  }
});
