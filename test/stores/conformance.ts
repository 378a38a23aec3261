/**
 * The one store conformance suite. Every store (memory, SQLite, PostgreSQL, MySQL, Redis, MongoDB, and the
 * HTTP stores) runs it through a harness (test/support/store-harness.ts):
 *
 *   describeStore(postgresPgHarness(), await detectService("postgres"));
 *
 * A store whose server is missing is skipped with the reason in the suite's name, or fails when
 * TEMPID_REQUIRE_SERVICES=1.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COUNTER_GRACE_SECONDS, REVOKED_COUNT, TempIDStoreError, createTempID } from "@tempid/core";
import type { HarnessStore, StoreHarness } from "../support/store-harness.js";
import { type ServiceStatus, uniqueName } from "../support/services.js";

const WORKER = fileURLToPath(new URL("../support/store-worker.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface PythonVectors {
  now: number;
  valid: { secret: string; token: string; expires_at: number; max_uses: number; counter_key: string }[];
}
const vectors = JSON.parse(readFileSync(new URL("../fixtures/python-v2.json", import.meta.url), "utf8")) as PythonVectors;

export function describeStore(harness: StoreHarness, status?: ServiceStatus): void {
  if (status !== undefined && !status.available) {
    if (status.required) {
      describe(`store: ${harness.name}`, () => {
        it(`needs ${status.name} (TEMPID_REQUIRE_SERVICES=1)`, () => {
          throw new Error(status.reason);
        });
      });
    } else {
      console.warn(`[skipped] store ${harness.name}: ${status.reason}`);
      describe.skip(`store: ${harness.name} — skipped: ${status.reason}`, () => {
        it("conformance", () => undefined);
      });
    }
    return;
  }

  describe(`store: ${harness.name}`, () => {
    const namespaces: string[] = [];
    const opened: HarnessStore[] = [];
    let ns: string;
    let store: HarnessStore;
    // Real time, so that stores which expire by the server's clock (Redis) agree with the injected one.
    const now = Date.now();
    const inAnHour = Math.floor(now / 1000) + 3600;
    let n = 0;
    const key = (label: string) => `${label}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

    const open = async (namespace = ns, options?: Parameters<StoreHarness["open"]>[1]) => {
      const s = await harness.open(namespace, options);
      opened.push(s);
      return s;
    };
    const fresh = () => {
      const name = uniqueName("tt");
      namespaces.push(name);
      return name;
    };

    beforeAll(async () => {
      ns = fresh();
      store = await open();
    });

    afterAll(async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      for (const name of namespaces) await harness.drop(name).catch(() => undefined);
      await harness.dispose();
    });

    it("grants exactly `limit` uses, then refuses", async () => {
      const k = key("limit");
      const results: boolean[] = [];
      for (let i = 0; i < 5; i++) results.push(await store.consume(k, 3, inAnHour, now));
      expect(results).toEqual([true, true, true, false, false]);
      expect(await store.used(k, now)).toBe(3);
      if (harness.inspect) expect(await harness.inspect(ns, k)).toEqual({ count: 3, expiresAt: inAnHour });
    });

    it("keeps keys apart", async () => {
      const a = key("a");
      const b = key("b");
      expect(await store.consume(a, 1, inAnHour, now)).toBe(true);
      expect(await store.consume(b, 1, inAnHour, now)).toBe(true);
      expect(await store.consume(a, 1, inAnHour, now)).toBe(false);
      expect(await store.used(b, now)).toBe(1);
    });

    it("binds keys as data: a key full of quotes and SQL is counted verbatim", async () => {
      const k = `${key("inj")}'"); DROP TABLE tempid_uses; -- \\ $1 ? %s`;
      expect(await store.consume(k, 1, inAnHour, now)).toBe(true);
      expect(await store.consume(k, 1, inAnHour, now)).toBe(false);
      expect(await store.used(k, now)).toBe(1);
      if (harness.inspect) {
        const raw = await harness.inspect(ns, k);
        if (harness.relativeSingleUseExpiry) {
          // ttl = inAnHour - now, counted from the write: later than inAnHour by at most the time since `now`.
          expect(raw?.count).toBe(1);
          expect(raw!.expiresAt).toBeGreaterThanOrEqual(inAnHour);
          expect(raw!.expiresAt).toBeLessThanOrEqual(inAnHour + (Date.now() - now) / 1000 + 1);
        } else {
          expect(raw).toEqual({ count: 1, expiresAt: inAnHour });
        }
      }
    });

    it("used() is read-only: it never creates or changes a counter", async () => {
      const k = key("ro");
      expect(await store.used(k, now)).toBe(0);
      expect(await store.used(k, now)).toBe(0);
      if (harness.inspect) expect(await harness.inspect(ns, k)).toBeNull();
      expect(await store.consume(k, 2, inAnHour, now)).toBe(true);
      for (let i = 0; i < 3; i++) expect(await store.used(k, now)).toBe(1);
      expect(await store.consume(k, 2, inAnHour, now)).toBe(true);
      expect(await store.consume(k, 2, inAnHour, now)).toBe(false);
    });

    it("revoke() refuses every later use, whatever the limit, and used() reports REVOKED_COUNT", async () => {
      const spent = key("rev");
      expect(await store.consume(spent, 10, inAnHour, now)).toBe(true);
      await store.revoke(spent, inAnHour, now);
      expect(await store.consume(spent, 10, inAnHour, now)).toBe(false);
      expect(await store.consume(spent, REVOKED_COUNT - 1, inAnHour, now)).toBe(false);
      expect(await store.used(spent, now)).toBe(REVOKED_COUNT);

      const unseen = key("rev-new");
      await store.revoke(unseen, inAnHour, now);
      expect(await store.consume(unseen, 1, inAnHour, now)).toBe(false);
      expect(await store.used(unseen, now)).toBe(REVOKED_COUNT);
      if (harness.inspect) expect(await harness.inspect(ns, unseen)).toEqual({ count: REVOKED_COUNT, expiresAt: inAnHour });
    });

    it("an expired token is refused and writes nothing", async () => {
      const k = key("dead");
      const past = Math.floor(now / 1000) - 1;
      expect(await store.consume(k, 5, past, now)).toBe(false);
      await store.revoke(k, past, now);
      expect(await store.used(k, now)).toBe(0);
      if (harness.inspect) expect(await harness.inspect(ns, k)).toBeNull();
    });

    if (harness.serverClock) {
      it("counters expire at the token's expiry (server clock), and a later use starts afresh", async () => {
        const k = key("exp");
        const soon = Math.floor(Date.now() / 1000) + 1;
        expect(await store.consume(k, 1, soon, Date.now())).toBe(true);
        expect(await store.consume(k, 1, soon, Date.now())).toBe(false);
        await new Promise((resolve) => setTimeout(resolve, soon * 1000 - Date.now() + 150));
        expect(await store.used(k, Date.now())).toBe(0);
        if (harness.inspect) expect(await harness.inspect(ns, k)).toBeNull();
        const later = Math.floor(Date.now() / 1000) + 60;
        expect(await store.consume(k, 1, later, Date.now())).toBe(true);
      });
    } else {
      it("an expired counter counts as absent: used() is 0 and a use restarts it (injected clock)", async () => {
        const k = key("exp");
        expect(await store.consume(k, 1, inAnHour, now)).toBe(true);
        expect(await store.consume(k, 1, inAnHour, now)).toBe(false);
        const after = inAnHour * 1000; // expires_at <= now: expired
        expect(await store.used(k, after - 1)).toBe(1);
        expect(await store.used(k, after)).toBe(0);
        const renewed = inAnHour + 3600;
        expect(await store.consume(k, 1, renewed, after)).toBe(true);
        expect(await store.used(k, after)).toBe(1);
        if (harness.inspect) expect(await harness.inspect(ns, k)).toEqual({ count: 1, expiresAt: renewed });
        // A revoked counter expires too.
        const r = key("exp-rev");
        await store.revoke(r, inAnHour, now);
        expect(await store.used(r, after)).toBe(0);
      });

      it("purgeExpired() and normal traffic remove expired counters and keep live ones", async () => {
        const space = fresh();
        const s = await open(space, { purgeEvery: 10, purgeBatch: 1000 });
        const stale = Array.from({ length: 40 }, () => key("stale"));
        for (const k of stale) expect(await s.consume(k, 1, inAnHour, now)).toBe(true);
        const live = key("live");
        expect(await s.consume(live, 5, inAnHour + 7200, now)).toBe(true);
        const later = (inAnHour + 1) * 1000;
        // Normal traffic after the stale ones expired: the amortised purge reclaims them.
        for (let i = 0; i < 100; i++) expect(await s.consume(key("traffic"), 1, inAnHour + 7200, later)).toBe(true);
        const inTraffic = harness.reclaimsInTraffic !== false;
        if (harness.size && inTraffic) {
          let size = await harness.size(space);
          // The purge runs beside the traffic (not awaited by it); poll until it has, bounded by the test timeout.
          for (let i = 0; i < 100 && size > 101; i++) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            size = await harness.size(space);
          }
          expect(size).toBe(101);
        }
        if (s.purgeExpired) {
          for (let i = 0; i < 3; i++) expect(await s.consume(key("short"), 1, inAnHour + 1, now)).toBe(true);
          expect(await s.purgeExpired(later + 1000)).toBe(inTraffic ? 3 : 43);
          expect(await s.purgeExpired(later + 1000)).toBe(0);
          if (harness.size) expect(await harness.size(space)).toBe(101);
        }
        expect(await s.used(live, later)).toBe(1);
        if (harness.inspect && (inTraffic || s.purgeExpired)) {
          for (const k of stale) expect(await harness.inspect(space, k)).toBeNull();
        }
      });
    }

    describe("1,000 concurrent uses", () => {
      for (const limit of [1, 50, 999]) {
        it(`maxUses ${limit}: exactly ${limit} granted, and the stored count is ${limit}`, async () => {
          const k = key(`race${limit}`);
          const results = await Promise.all(Array.from({ length: 1000 }, () => store.consume(k, limit, inAnHour, now)));
          expect(results.filter(Boolean).length).toBe(limit);
          expect(await store.used(k, now)).toBe(limit);
          if (harness.inspect) expect((await harness.inspect(ns, k))?.count).toBe(limit);
        });
      }
    });

    if (harness.worker && !harness.processLocal) {
      it("1,000 uses from 4 processes at once: exactly maxUses granted (1, 50, 999)", async () => {
        const space = fresh();
        const prep = await open(space);
        await prep.used("prepare", now); // creates the table before the workers race
        const jobs = [1, 50, 999].map((limit) => ({ key: key(`proc${limit}`), limit, expiresAtSec: inAnHour, calls: 250 }));
        const results = await runWorkers(harness, space, jobs, 4);
        expect(results.flatMap((r) => r.errors)).toEqual([]);
        for (const job of jobs) {
          const granted = results.reduce((sum, r) => sum + (r.granted[job.key] ?? 0), 0);
          expect(granted, `granted for maxUses ${job.limit}`).toBe(job.limit);
          expect(await prep.used(job.key, now)).toBe(job.limit);
          if (harness.inspect) expect((await harness.inspect(space, job.key))?.count).toBe(job.limit);
        }
      }, 120_000);
    }

    it("a V2 token minted by the Python package counts under the key Python reads", async () => {
      const vector = vectors.valid.find((v) => v.max_uses === 50 && v.token === v.token.trim());
      if (vector === undefined) throw new Error("fixture lost its max_uses=50 vector");
      const space = fresh();
      const s = await open(space);
      // The vectors are evaluated at their own `now`; the counter expires at the token's expires_at plus the
      // grace the core adds for clock skew (Python reads the count; a later expiry is harmless to it).
      const tempid = createTempID({ secret: vector.secret, store: s, format: "v2", accept: ["v2"], clock: () => vectors.now * 1000 });
      const tid = await tempid.fromString(vector.token);
      expect(tid.counterKey).toBe(vector.counter_key);
      expect(await tid.use()).toBe(true);
      expect(await tid.use()).toBe(true);
      expect(await tid.usesInfo()).toEqual({ total: 50, used: 2, left: 48 });
      if (harness.inspect) {
        expect(await harness.inspect(space, vector.counter_key)).toEqual({ count: 2, expiresAt: vector.expires_at + COUNTER_GRACE_SECONDS });
      }
    });

    if (harness.persistent) {
      it("keeps counts when the store is closed and opened again", async () => {
        const space = fresh();
        const k = key("persist");
        const first = await open(space);
        expect(await first.consume(k, 3, inAnHour, now)).toBe(true);
        expect(await first.consume(k, 3, inAnHour, now)).toBe(true);
        await first.close();
        const second = await open(space);
        expect(await second.used(k, now)).toBe(2);
        expect(await second.consume(k, 3, inAnHour, now)).toBe(true);
        expect(await second.consume(k, 3, inAnHour, now)).toBe(false);
      });
    }

    it("a closed store rejects with TempIDStoreError; a second close() settles only after the first", async () => {
      const s = await open(fresh());
      await s.consume(key("open"), 1, inAnHour, now); // opened and connected, so closing has work to do
      const settled: string[] = [];
      // Found by a breaker: the second call returned at once while the first still waited on the client.
      await Promise.all([s.close().then(() => settled.push("first")), s.close().then(() => settled.push("second"))]);
      expect(settled).toEqual(["first", "second"]);
      if (harness.processLocal) return; // the memory harness hands out views whose close() is a no-op
      await expect(s.consume(key("closed"), 1, inAnHour, now)).rejects.toBeInstanceOf(TempIDStoreError);
    });

    if (harness.openDead) {
      it("an unreachable server: every call rejects with TempIDStoreError (cause kept), never a grant", async () => {
        const dead = await harness.openDead!();
        try {
          for (const call of [
            () => dead.consume(key("dead"), 5, inAnHour, now),
            () => dead.used(key("dead"), now),
            () => dead.revoke(key("dead"), inAnHour, now),
          ]) {
            const err = await call().then(
              (value) => new Error(`resolved with ${String(value)}`),
              (e: unknown) => e,
            );
            expect(err).toBeInstanceOf(TempIDStoreError);
            expect((err as TempIDStoreError).code).toBe("ERR_TEMPID_STORE");
            expect((err as TempIDStoreError).message).toMatch(/failed|timed out/);
          }
        } finally {
          await dead.close().catch(() => undefined);
        }
      }, 20_000);
    }
  });
}

interface WorkerResult {
  granted: Record<string, number>;
  errorCount: number;
  errors: string[];
}

/** Starts `count` workers, waits until each has its store open, says "go" to all, and collects their counts. */
async function runWorkers(
  harness: StoreHarness,
  ns: string,
  jobs: { key: string; limit: number; expiresAtSec: number; calls: number }[],
  count: number,
): Promise<WorkerResult[]> {
  const worker = harness.worker!;
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ["--import", "tsx", WORKER, worker.module, worker.export, ns, JSON.stringify(jobs)], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    }),
  );
  const kill = () => children.forEach((c) => c.kill("SIGKILL"));
  const timer = setTimeout(kill, 100_000);
  try {
    const outputs = children.map((child) => {
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
      const ready = new Promise<void>((resolve, reject) => {
        const check = () => (out.includes("ready\n") ? resolve() : undefined);
        child.stdout.on("data", check);
        child.once("exit", (code) => reject(new Error(`worker exited (${code}) before ready: ${err.slice(0, 500)}`)));
      });
      const done = new Promise<WorkerResult>((resolve, reject) => {
        child.once("exit", (code) => {
          const line = out.split("\n").find((l) => l.startsWith("{"));
          if (code === 0 && line) resolve(JSON.parse(line) as WorkerResult);
          else reject(new Error(`worker exited (${code}): ${err.slice(0, 500)}`));
        });
      });
      return { child, ready, done };
    });
    await Promise.all(outputs.map((o) => o.ready));
    for (const { child } of outputs) child.stdin.write("go\n");
    return await Promise.all(outputs.map((o) => o.done));
  } finally {
    clearTimeout(timer);
    kill();
  }
}
