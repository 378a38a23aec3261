/**
 * The amortised purge's random phase (store-kit's AmortisedPurge, used by every SQL store, D1 and the
 * IndexedDB store). Found by the breaker: writes were counted from 0 per store instance, so a Worker that
 * makes `d1Store(env.DB)` per request (as the README's example does) never reached `purgeEvery` writes on
 * any instance, and no expired row was ever deleted. Each instance now starts at a random phase: its first
 * purge comes after a uniformly random 1..purgeEvery writes, then every purgeEvery.
 */
import Database from "better-sqlite3";
import { Miniflare } from "miniflare";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createStore, keys } from "idb-keyval";
import { type UseStore, createTempID } from "@tempid/core";
import { d1Store, type D1DatabaseLike } from "@tempid/core/d1";
import { idbStore } from "@tempid/core/idb";
import { sqliteStore } from "@tempid/core/sqlite";
import { AmortisedPurge, setPurgePhaseRandom } from "../../adapters/store-kit.js";
import { COMPATIBILITY_DATE, workerdStatus } from "../support/cloudflare-harness.js";
import { installFakeIndexedDB } from "../support/idb-harness.js";

const SECRET = "purge-phase-test-secret-0123456789abcdef01";
const status = await workerdStatus();
const runD1 = status.available ? describe : describe.skip;

/** A seeded source in [0, 1) (mulberry32): the same draws on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A source that cycles through 0, 1/n, 2/n, ...: of every n stores made in a row, exactly one has its
 * first purge on its first write, as Math.random gives on average.
 */
function stratified(n: number): () => number {
  let i = 0;
  return () => (i++ % n) / n;
}

/** The writes (1-based) at which a purge starts, over `writes` ticks; each purge finishes at once. */
async function purgesAt(every: number, draw: number, writes: number): Promise<number[]> {
  const at: number[] = [];
  let write = 0;
  const purge = new AmortisedPurge(every, async () => void at.push(write), () => draw);
  for (write = 1; write <= writes; write++) {
    purge.tick(0);
    await purge.idle();
  }
  return at;
}

describe("AmortisedPurge: a random phase per instance", () => {
  it("the first purge comes after 1..every writes as the draw goes from 0 to just under 1, then one every `every`", async () => {
    expect(await purgesAt(10, 0, 35)).toEqual([1, 11, 21, 31]);
    expect(await purgesAt(10, 0.55, 35)).toEqual([6, 16, 26]);
    expect(await purgesAt(10, 0.9999, 35)).toEqual([10, 20, 30]);
    expect(await purgesAt(1, 0.5, 3)).toEqual([1, 2, 3]);
    // Each of the `every` draws i/every gives a different first purge: 1..every, uniformly.
    const firsts = await Promise.all(Array.from({ length: 10 }, async (_, i) => (await purgesAt(10, i / 10, 10))[0]));
    expect(firsts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("a faulty source (1, NaN, negative) still gives a phase within 1..every", async () => {
    expect((await purgesAt(10, 1, 10))[0]).toBe(10);
    expect((await purgesAt(10, Number.NaN, 10))[0]).toBe(10);
    expect((await purgesAt(10, -3, 10))[0]).toBe(1);
  });

  it("every = 0 never purges, whatever the draw", async () => {
    expect(await purgesAt(0, 0, 50)).toEqual([]);
  });

  it("the purge goes by the clock reading of the write that triggered it", async () => {
    const seen: number[] = [];
    const purge = new AmortisedPurge(2, async (nowMs) => void seen.push(nowMs), () => 0);
    purge.tick(1_000);
    await purge.idle();
    purge.tick(2_000);
    purge.tick(3_000);
    await purge.idle();
    expect(seen).toEqual([1_000, 3_000]);
  });

  it("a write while a purge runs does not start another; the next write after it ends does", async () => {
    let release!: () => void;
    let started = 0;
    const purge = new AmortisedPurge(1, () => (started++, new Promise<void>((resolve) => (release = resolve))), () => 0);
    purge.tick(0);
    purge.tick(0);
    purge.tick(0);
    expect(started).toBe(1);
    release();
    await purge.idle();
    purge.tick(0);
    expect(started).toBe(2);
    release();
    await purge.idle();
  });

  it("10,000 instances of one write each (a store per request), every 100: about 100 purges, as one long-lived store makes", async () => {
    const random = seeded(7);
    let purges = 0;
    for (let i = 0; i < 10_000; i++) {
      const purge = new AmortisedPurge(100, async () => void purges++, random);
      purge.tick(0);
    }
    // Binomial(10,000, 1/100): mean 100, standard deviation ~10.
    expect(purges).toBeGreaterThan(60);
    expect(purges).toBeLessThan(140);
  });

  it("Math.random is the default source", async () => {
    const previous = setPurgePhaseRandom(() => 0);
    try {
      let purged = false;
      new AmortisedPurge(1_000_000, async () => void (purged = true)).tick(0);
      expect(purged).toBe(true);
    } finally {
      expect(setPurgePhaseRandom(previous)).not.toBe(Math.random);
    }
    expect(setPurgePhaseRandom(Math.random)).toBe(Math.random);
  });
});

/**
 * The breaker's scenario: 250 "requests", each minting a 1-second token and spending it, 20 minutes
 * apart (every earlier counter, expiry plus grace, has expired by the next request), with one store for
 * all of them or a new store per request. Returns the rows (entries) left.
 */
async function perRequestScenario(makeStore: () => UseStore, size: () => Promise<number>, perRequest: boolean): Promise<number> {
  let now = Date.UTC(2030, 0, 1);
  const shared = makeStore();
  for (let i = 0; i < 250; i++) {
    const store = perRequest ? makeStore() : shared;
    const tempid = createTempID({ secret: SECRET, store, clock: () => now });
    const tid = await tempid.new("1s", { maxUses: 1 });
    expect(await tid.use()).toBe(true);
    now += 20 * 60 * 1000;
    await new Promise((resolve) => setTimeout(resolve, 2)); // let a background purge run
  }
  // The last purge may still be running beside the traffic.
  for (let i = 0; i < 50 && (await size()) >= 200; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return size();
}

describe("a store per request purges too (purgeEvery 100: of every 100 stores made, one purges on its first write)", () => {
  let restoreRandom: (() => number) | undefined;
  afterEach(() => {
    if (restoreRandom !== undefined) setPurgePhaseRandom(restoreRandom);
    restoreRandom = undefined;
  });

  runD1("D1 (Miniflare's local D1, as the README's Worker example: d1Store(env.DB) per request)", () => {
    let mf: Miniflare;
    let db: D1DatabaseLike & { prepare(sql: string): { first<T>(): Promise<T | null> } & ReturnType<D1DatabaseLike["prepare"]> };
    beforeAll(async () => {
      mf = new Miniflare({
        modules: true,
        script: "export default { fetch() { return new Response('') } }",
        compatibilityDate: COMPATIBILITY_DATE,
        d1Databases: ["DB"],
      });
      db = (await mf.getD1Database("DB")) as never;
    }, 60_000);
    afterAll(async () => {
      await mf?.dispose();
    });

    for (const perRequest of [false, true]) {
      it(`${perRequest ? "one store per request" : "one store for every request"}: expired rows are purged (fewer than 200 of 250 left)`, async () => {
        restoreRandom = setPurgePhaseRandom(stratified(100));
        const table = perRequest ? "per_request_uses" : "shared_uses";
        await d1Store(db, { table }).migrate();
        const size = async () => Number(((await db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).all()).results?.[0] as { n: number } | undefined)?.n);
        const left = await perRequestScenario(() => d1Store(db, { table }), size, perRequest);
        expect(left).toBeLessThan(200);
      }, 120_000);
    }
  });

  it("SQLite, a store per request: expired rows are purged", async () => {
    restoreRandom = setPurgePhaseRandom(stratified(100));
    const database = new Database(":memory:");
    const size = async () => Number((database.prepare("SELECT COUNT(*) AS n FROM tempid_uses").get() as { n: number }).n);
    expect(await perRequestScenario(() => sqliteStore(database), size, true)).toBeLessThan(200);
    database.close();
  });

  it("SQLite, a store per request, Math.random's phases, purgeEvery 10: expired rows are purged", async () => {
    // No purge in the last 100 of 250 requests has probability 0.9^100, about 3e-5.
    const database = new Database(":memory:");
    const size = async () => Number((database.prepare("SELECT COUNT(*) AS n FROM tempid_uses").get() as { n: number }).n);
    expect(await perRequestScenario(() => sqliteStore(database, { purgeEvery: 10 }), size, true)).toBeLessThan(200);
    database.close();
  });

  it("IndexedDB, a store per request: expired entries are swept", async () => {
    restoreRandom = setPurgePhaseRandom(stratified(100));
    const restore = installFakeIndexedDB();
    try {
      const keyval = createStore("purge-phase", "uses");
      const size = async () => (await keys(keyval)).length;
      expect(await perRequestScenario(() => idbStore({ store: keyval }), size, true)).toBeLessThan(200);
    } finally {
      restore();
    }
  });
});
