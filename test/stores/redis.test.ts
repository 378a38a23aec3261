import { createHash } from "node:crypto";
import Redis from "ioredis";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REVOKED_COUNT, TempIDStoreError, createTempID } from "@tempid/core";
import { redisStore } from "@tempid/core/redis";
import { CONSUME_SCRIPT, CONSUME_SHA1, DEFAULT_PREFIX, REVOKE_SCRIPT, REVOKE_SHA1 } from "../../adapters/redis-script.js";
import { describeStore } from "./conformance.js";
import { ioredisHarness, nodeRedisHarness } from "../support/store-harnesses.js";
import { detectService, serviceUrls, servicesRequired } from "../support/services.js";
import { PrivateRedis } from "../support/redis-server.js";

const status = await detectService("redis");
describeStore(nodeRedisHarness(), status);
describeStore(ioredisHarness(), status);

describe("redis scripts", () => {
  it("ship the SHA-1 of their own text", () => {
    expect(createHash("sha1").update(CONSUME_SCRIPT).digest("hex")).toBe(CONSUME_SHA1);
    expect(createHash("sha1").update(REVOKE_SCRIPT).digest("hex")).toBe(REVOKE_SHA1);
  });
  it("default to the Python package's key prefix", () => {
    expect(DEFAULT_PREFIX).toBe("tempid:");
  });
});

// The consume script increments first and undoes a refused increment inside the script: a refusal must
// leave the counter exactly as it was (value and expiry), for this store's readers and for Python's.
describe.skipIf(!status.available)("redis consume script: a refusal leaves the counter as it was", () => {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const prefix = `tempid-script-${process.pid}-${Date.now()}:`;
  let client: Redis;
  beforeAll(() => {
    client = new Redis(serviceUrls.redis);
  });
  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });

  it("refused at the limit: count and expiry unchanged, then still refused", async () => {
    const store = redisStore(client, { prefix });
    expect(await store.consume("lim", 2, exp, Date.now())).toBe(true);
    expect(await store.consume("lim", 2, exp, Date.now())).toBe(true);
    for (let i = 0; i < 3; i++) {
      expect(await store.consume("lim", 2, exp, Date.now())).toBe(false);
      expect(await client.get(`${prefix}lim`)).toBe("2");
      expect(Number(await client.call("PEXPIRETIME", `${prefix}lim`))).toBe(exp * 1000);
    }
    expect(await store.used("lim", Date.now())).toBe(2);
  });

  it("a negative (corrupt) count is never counted on: the script path rejects naming the value, single-use refuses, used() rejects; the counter stays as it was", async () => {
    const store = redisStore(client, { prefix });
    for (const count of [-1, -7]) {
      const key = `neg${count}`;
      await client.set(prefix + key, String(count), "PXAT", exp * 1000);
      for (const limit of [2, 3, REVOKED_COUNT - 1]) {
        const err = await store.consume(key, limit, exp, Date.now()).then((granted) => new Error(`consume resolved ${String(granted)}`), (e: unknown) => e);
        expect(err).toBeInstanceOf(TempIDStoreError);
        expect((err as Error).message).toContain(`negative count (${count})`);
      }
      // The single-use SET NX finds the key present: refused (never granted), no script to read the value.
      expect(await store.consume(key, 1, exp, Date.now())).toBe(false);
      await expect(store.used(key, Date.now())).rejects.toThrow(`negative count (${count})`);
      expect(await client.get(prefix + key)).toBe(String(count));
      expect(Number(await client.call("PEXPIRETIME", prefix + key))).toBe(exp * 1000);
    }
    // Through the core: use() and usesInfo() reject with the value.
    const tempid = createTempID({ secret: "redis-corrupt-count-secret-0123456789abcdef", store });
    const tid = await tempid.new("10m", { maxUses: 2 });
    await client.set(prefix + tid.counterKey, "-1", "EX", 600);
    await expect(tid.use()).rejects.toThrow("negative count (-1)");
    await expect(tid.usesInfo()).rejects.toThrow("negative count (-1)");
  });

  // The script's INCR (or the revoke's SET) runs before its PEXPIREAT: an expiry Redis cannot take would fail
  // the script half-way and leave a counter that never expires, counted on by every later use.
  it("an expiry Redis cannot take, or a clock that is not a number, is refused before anything is sent: no counter without an expiry", async () => {
    const sent: string[] = [];
    const store = redisStore({ call: (command: string, ...args: string[]) => (sent.push(command), client.call(command, ...args)) }, { prefix });
    const now = Date.now();
    const cases: Array<[string, number, number]> = [
      ["beyond-safe", 1e16, now], // 1e19 ms: past 2^53, and past what PEXPIREAT takes
      ["infinite", Infinity, now],
      ["nan-expiry", NaN, now],
      ["nan-clock", exp, NaN],
    ];
    for (const [key, expiry, nowMs] of cases) {
      for (const limit of [1, 2, 5]) {
        await expect(store.consume(key, limit, expiry, nowMs)).rejects.toBeInstanceOf(TempIDStoreError);
      }
      await expect(store.revoke(key, expiry, nowMs)).rejects.toBeInstanceOf(TempIDStoreError);
      expect(await client.exists(prefix + key)).toBe(0);
    }
    expect(sent).toEqual([]);
    // An expiry with a fraction of a millisecond is rounded up to whole milliseconds, as the single-use PX is.
    const fractional = Math.floor(now / 1000) + 60.0004;
    expect(await store.consume("frac", 2, fractional, now)).toBe(true);
    expect(Number(await client.call("PEXPIRETIME", `${prefix}frac`))).toBe(Math.ceil(fractional * 1000));
    await store.revoke("frac-rev", fractional, now);
    expect(Number(await client.call("PEXPIRETIME", `${prefix}frac-rev`))).toBe(Math.ceil(fractional * 1000));
  });

  it("a revoked counter stays at the revoked count through refused uses", async () => {
    const store = redisStore(client, { prefix });
    await store.revoke("rev", exp, Date.now());
    expect(await store.consume("rev", 5, exp, Date.now())).toBe(false);
    expect(await client.get(`${prefix}rev`)).toBe(String(REVOKED_COUNT));
  });

  it("concurrent uses past the limit: exactly `limit` granted, the count ends at the limit", async () => {
    const store = redisStore(client, { prefix });
    const results = await Promise.all(Array.from({ length: 50 }, () => store.consume("race", 7, exp, Date.now())));
    expect(results.filter(Boolean).length).toBe(7);
    expect(await client.get(`${prefix}race`)).toBe("7");
  });

  it("the script itself, given a limit below 1, leaves no key behind (no counter without an expiry)", async () => {
    const key = `${prefix}zero`;
    expect(await client.eval(CONSUME_SCRIPT, 1, key, "0", String(exp * 1000))).toBe(0);
    expect(await client.exists(key)).toBe(0);
  });
});

// A Python-style consume on the same key: GET, compare with the limit, INCR, expire on first use. (The
// adapter's own script, INCR first, is run beside it.) Both must refuse a key the fast path left behind.
const GET_THEN_INCR_SCRIPT = `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return 1`;

// limit 1 (single-use tokens) is one `SET key 1 NX PX ttl`, no script: same key and value as the script,
// the expiry relative to the caller's clock.
describe.skipIf(!status.available)("redis single-use fast path (limit 1): SET NX PX, no script", () => {
  const prefix = `tempid-once-${process.pid}-${Date.now()}:`;
  let io: Redis;
  let nr: ReturnType<typeof createClient>;
  beforeAll(async () => {
    io = new Redis(serviceUrls.redis);
    nr = createClient({ url: serviceUrls.redis });
    await nr.connect();
  });
  afterAll(async () => {
    const keys = await io.keys(`${prefix}*`);
    if (keys.length > 0) await io.del(...keys);
    io.disconnect();
    await nr.close();
  });

  // Pass-through clients of each shape, recording the command names the store sends.
  const flavours = {
    "node-redis": (sent: string[]) => ({ sendCommand: (args: string[]) => (sent.push(args[0]!), nr.sendCommand(args)) }),
    ioredis: (sent: string[]) => ({ call: (command: string, ...args: string[]) => (sent.push(command), io.call(command, ...args)) }),
  };

  for (const [flavour, spy] of Object.entries(flavours)) {
    describe(flavour, () => {
      let n = 0;
      const fresh = () => `${flavour}-${++n}`;

      it("1,000 concurrent uses: exactly one granted, one SET each and no script; the key holds 1, expiring ttl later", async () => {
        const sent: string[] = [];
        const store = redisStore(spy(sent), { prefix });
        const key = fresh();
        const exp = Math.floor(Date.now() / 1000) + 3600;
        const before = Date.now();
        const results = await Promise.all(Array.from({ length: 1000 }, () => store.consume(key, 1, exp, Date.now())));
        expect(results.filter(Boolean).length).toBe(1);
        expect(sent.length).toBe(1000);
        expect(new Set(sent)).toEqual(new Set(["SET"]));
        expect(await io.get(prefix + key)).toBe("1");
        // ttl = exp*1000 - nowMs of the granted call, counted from its arrival: at most exp*1000 - before
        // left now, and (generously) no less than 10 s under what is left by this clock.
        const pttl = await io.pttl(prefix + key);
        expect(pttl).toBeLessThanOrEqual(exp * 1000 - before);
        expect(pttl).toBeGreaterThan(exp * 1000 - Date.now() - 10_000);
        expect(await store.used(key, Date.now())).toBe(1);
      });

      it("a revoked key is refused at limit 1 and stays revoked (count and expiry untouched)", async () => {
        const sent: string[] = [];
        const store = redisStore(spy(sent), { prefix });
        const key = fresh();
        const exp = Math.floor(Date.now() / 1000) + 3600;
        await store.revoke(key, exp, Date.now());
        expect(await store.consume(key, 1, exp, Date.now())).toBe(false);
        expect(await store.consume(key, 1, exp, Date.now())).toBe(false);
        expect(sent).toEqual(["EVALSHA", "SET", "SET"]);
        expect(await io.get(prefix + key)).toBe(String(REVOKED_COUNT));
        expect(Number(await io.call("PEXPIRETIME", prefix + key))).toBe(exp * 1000);
        expect(await store.used(key, Date.now())).toBe(REVOKED_COUNT);
      });

      it("ttl <= 0 (expired by the caller's clock) is refused without sending anything, and writes nothing", async () => {
        const sent: string[] = [];
        const store = redisStore(spy(sent), { prefix });
        const key = fresh();
        const exp = Math.floor(Date.now() / 1000) + 3600;
        expect(await store.consume(key, 1, exp, exp * 1000)).toBe(false); // ttl 0
        expect(await store.consume(key, 1, exp, exp * 1000 + 1)).toBe(false); // ttl -1
        expect(await store.consume(key, 1, exp - 7200, Date.now())).toBe(false);
        expect(sent).toEqual([]);
        expect(await io.exists(prefix + key)).toBe(0);
      });

      it("a clock reading with a fraction of a millisecond still sends a whole PX (rounded up)", async () => {
        const store = redisStore(spy([]), { prefix });
        const key = fresh();
        const exp = Math.floor(Date.now() / 1000) + 60;
        expect(await store.consume(key, 1, exp, Date.now() + 0.25)).toBe(true);
        expect(await io.get(prefix + key)).toBe("1");
        expect(await io.pttl(prefix + key)).toBeGreaterThan(0); // an expiry is set (-1 would be none)
        // Half a millisecond left: PX 1, granted (the key then lives 1 ms), not a Redis error.
        expect(await store.consume(fresh(), 1, exp, exp * 1000 - 0.5)).toBe(true);
      });

      it("the key it leaves is the Python layout: a Python-style script on it refuses, usesInfo reads 1", async () => {
        const store = redisStore(spy([]), { prefix });
        const key = fresh();
        const exp = Math.floor(Date.now() / 1000) + 3600;
        expect(await store.consume(key, 1, exp, Date.now())).toBe(true);
        const pttl = await io.pttl(prefix + key);
        // GET 1 >= 1: refused. INCR 1 -> 2 > 1: refused and undone.
        expect(await io.eval(GET_THEN_INCR_SCRIPT, 1, prefix + key, "1", String(exp * 1000))).toBe(0);
        expect(await io.eval(CONSUME_SCRIPT, 1, prefix + key, "1", String(exp * 1000))).toBe(0);
        expect(await io.get(prefix + key)).toBe("1");
        const after = await io.pttl(prefix + key);
        expect(after).toBeGreaterThan(0);
        expect(after).toBeLessThanOrEqual(pttl);
        expect(await store.consume(key, 1, exp, Date.now())).toBe(false);

        // Through the core: a maxUses 1 token, one use, then refused; usesInfo reads the count 1.
        const tempid = createTempID({ secret: "fast-path-secret-0123456789abcdef", store: redisStore(spy([]), { prefix }) });
        const tid = await tempid.new("15m", { maxUses: 1 });
        expect(await tid.use()).toBe(true);
        expect(await tid.use()).toBe(false);
        expect(await tid.usesInfo()).toEqual({ total: 1, used: 1, left: 0 });
        expect(await io.get(prefix + tid.counterKey)).toBe("1");
      });
    });
  }
});

// The stop/restart test runs its own redis-server (the shared one serves other test runs).
const canRestart = PrivateRedis.available();
if (!canRestart && servicesRequired()) throw new Error("redis-server binary missing (TEMPID_REQUIRE_SERVICES=1)");

describe.skipIf(!canRestart)("redis store on a private server: NOSCRIPT, stop and restart", () => {
  const server = new PrivateRedis();
  const exp = Math.floor(Date.now() / 1000) + 3600;
  beforeAll(() => server.start());
  afterAll(() => server.destroy());

  it("sends EVAL after NOSCRIPT (scripts flushed), and only then", async () => {
    const client = new Redis({ host: "127.0.0.1", port: server.port });
    const sent: string[] = [];
    const spy = { call: (command: string, ...args: string[]) => (sent.push(command), client.call(command, ...args)) };
    try {
      await client.call("SCRIPT", "FLUSH");
      const store = redisStore(spy, { prefix: "ns:" });
      expect(await store.consume("k", 2, exp, Date.now())).toBe(true);
      expect(await store.consume("k", 2, exp, Date.now())).toBe(true);
      expect(await store.consume("k", 2, exp, Date.now())).toBe(false);
      expect(sent).toEqual(["EVALSHA", "EVAL", "EVALSHA", "EVALSHA"]);
      expect(await client.get("ns:k")).toBe("2");
      expect(Number(await client.call("PEXPIRETIME", "ns:k"))).toBe(exp * 1000);
    } finally {
      client.disconnect();
    }
  });

  it("a store closed while its EVALSHA was answered NOSCRIPT sends no EVAL: the call rejects as closed, nothing counted", async () => {
    const client = new Redis({ host: "127.0.0.1", port: server.port });
    const sent: string[] = [];
    let store: ReturnType<typeof redisStore> | undefined;
    const spy = {
      call: async (command: string, ...args: string[]) => {
        sent.push(command);
        const reply = client.call(command, ...args);
        // The NOSCRIPT answer arrives after close() has begun.
        if (command === "EVALSHA") await store!.close();
        return reply;
      },
    };
    try {
      await client.call("SCRIPT", "FLUSH");
      store = redisStore(spy, { prefix: "closing:" });
      await expect(store.consume("k", 2, exp, Date.now())).rejects.toThrow("this store is closed");
      expect(sent).toEqual(["EVALSHA"]);
      expect(await client.get("closing:k")).toBeNull();
    } finally {
      client.disconnect();
    }
  });

  for (const flavour of ["node-redis", "ioredis"] as const) {
    it(`${flavour}: server stopped mid-run → TempIDStoreError within timeoutMs, no use slips through; restarted → same counts, serving again`, async () => {
      const key = `restart-${flavour}`;
      let close: () => Promise<unknown>;
      let client: Parameters<typeof redisStore>[0];
      if (flavour === "ioredis") {
        const c = new Redis({ host: "127.0.0.1", port: server.port, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
        c.on("error", () => undefined);
        client = c;
        close = async () => c.disconnect();
      } else {
        const c = createClient({ socket: { host: "127.0.0.1", port: server.port, reconnectStrategy: 100 } });
        c.on("error", () => undefined);
        await c.connect();
        client = c;
        close = () => c.destroy() as unknown as Promise<unknown>;
      }
      const store = redisStore(client, { timeoutMs: 1000 });
      try {
        expect(await store.consume(key, 3, exp, Date.now())).toBe(true);
        await server.stop();
        const during = await Promise.allSettled([1, 2, 3, 4].map(() => store.consume(key, 3, exp, Date.now())));
        for (const outcome of during) {
          expect(outcome.status).toBe("rejected");
          expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(TempIDStoreError);
        }
        await server.start();
        // The client reconnects by itself; poll until it serves again (bounded).
        let used = -1;
        for (let i = 0; i < 100 && used < 0; i++) {
          used = await store.used(key, Date.now()).catch(() => -1);
          if (used < 0) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        // Append-only persistence kept the count. Calls made while down were refused by the client
        // (queued ones may still run after reconnecting: they count, they never grant).
        expect(used).toBeGreaterThanOrEqual(1);
        expect(used).toBeLessThanOrEqual(3);
        const granted: boolean[] = [];
        for (let i = 0; i < 4; i++) granted.push(await store.consume(key, 3, exp, Date.now()));
        expect(granted.filter(Boolean).length).toBe(3 - used);
        expect(await store.used(key, Date.now())).toBe(3);
      } finally {
        await close();
      }
    }, 30_000);
  }
});
