import { createHash } from "node:crypto";
import Redis from "ioredis";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REVOKED_COUNT, TempIDStoreError } from "@tempid/core";
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
