/**
 * The IndexedDB store: the conformance suite over fake-indexeddb (test/support/idb-harness.ts), what is
 * specific to it (idb-keyval's one-transaction update, two "tabs" on one database, the bounded sweep,
 * corrupt values, closing), its README example, and a run in headless Chromium's real IndexedDB with two
 * tabs racing for one counter (skipped with the reason when /usr/bin/chromium is missing:
 * scripts/install-chromium.sh; required when TEMPID_REQUIRE_SERVICES=1).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore, get, set, type UseStore as KeyvalStore } from "idb-keyval";
import { REVOKED_COUNT, TempIDConfigError, TempIDStoreError } from "@tempid/core";
import { idbStore } from "@tempid/core/idb";
import { describeStore } from "./conformance.js";
import { checkCorruptCounts, checkCountAboveRevoked } from "./corrupt-counts.js";
import { STORE_NAME, closeKeyval, deleteDatabase, idbHarness, installFakeIndexedDB } from "../support/idb-harness.js";
import { servicesRequired, uniqueName } from "../support/services.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

// A fresh fake IndexedDB as the global for this file only (restored after it).
let restore: (() => void) | undefined;
beforeAll(() => {
  restore = installFakeIndexedDB();
});
afterAll(() => {
  restore?.();
});

describeStore(idbHarness());

/** Records each transaction idb-keyval opens through this store, and every put/delete issued in it. */
function recording(inner: KeyvalStore) {
  const log: { mode: IDBTransactionMode; ops: string[] }[] = [];
  const store: KeyvalStore = (mode, callback) =>
    inner(mode, (objectStore) => {
      const entry = { mode, ops: [] as string[] };
      log.push(entry);
      const proxy = new Proxy(objectStore, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target) as unknown;
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            if (typeof prop === "string") entry.ops.push(prop);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      return callback(proxy);
    });
  return { store, log };
}

describe("idb store: specific", () => {
  const now = Date.now();
  const inAnHour = Math.floor(now / 1000) + 3600;
  const opened: KeyvalStore[] = [];
  const dbs: string[] = [];
  const keyval = (name?: string) => {
    const db = name ?? uniqueName("idb");
    if (!dbs.includes(db)) dbs.push(db);
    const store = createStore(db, STORE_NAME);
    opened.push(store);
    return { db, store };
  };

  afterAll(async () => {
    for (const s of opened) await closeKeyval(s).catch(() => undefined);
    for (const db of dbs) await deleteDatabase(db).catch(() => undefined);
  });

  it("a consume is one readwrite transaction (get then put); a refusal puts nothing; used() is one readonly get", async () => {
    const { store: inner } = keyval();
    const { store, log } = recording(inner);
    const s = idbStore({ store, purgeEvery: 0 });
    expect(await s.consume("k", 1, inAnHour, now)).toBe(true);
    expect(log).toEqual([{ mode: "readwrite", ops: ["get", "put"] }]);
    log.length = 0;
    expect(await s.consume("k", 1, inAnHour, now)).toBe(false);
    expect(log).toEqual([{ mode: "readwrite", ops: ["get"] }]);
    log.length = 0;
    expect(await s.used("k", now)).toBe(1);
    expect(log).toEqual([{ mode: "readonly", ops: ["get"] }]);
    expect(await get("k", inner)).toEqual({ count: 1, expiresAt: inAnHour });
    await s.close();
  });

  for (const limit of [1, 50, 999]) {
    it(`two "tabs" (two connections to one database) racing 1,000 uses: exactly ${limit} granted`, async () => {
      const { db, store: tabA } = keyval();
      const { store: tabB } = keyval(db);
      const a = idbStore({ store: tabA });
      const b = idbStore({ store: tabB });
      const key = `race-${limit}`;
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? a : b).consume(key, limit, inAnHour, now)),
      );
      expect(results.filter(Boolean).length).toBe(limit);
      expect(await a.used(key, now)).toBe(limit);
      expect(await b.used(key, now)).toBe(limit);
      expect(await get(key, tabA)).toEqual({ count: limit, expiresAt: inAnHour });
      await a.close();
      await b.close();
    });
  }

  it("the sweep keeps the database near its live entries: stale ones are reclaimed by later traffic", async () => {
    const { store } = keyval();
    const s = idbStore({ store, purgeEvery: 10, purgeBatch: 25 });
    for (let i = 0; i < 300; i++) expect(await s.consume(`a-stale-${i}`, 1, inAnHour, now)).toBe(true);
    const later = (inAnHour + 1) * 1000; // every stale counter has expired
    const count = () => store("readonly", (os) => new Promise<number>((resolve) => (os.count().onsuccess = (e) => resolve((e.target as IDBRequest<number>).result))));
    // 300 writes of new counters: 30 sweeps of 25 entries, more than one pass over the (at most 600) entries.
    for (let i = 0; i < 300; i++) expect(await s.consume(`b-live-${i}`, 1, inAnHour + 7200, later)).toBe(true);
    let size = await count();
    // The sweep runs beside the traffic (never awaited by it): poll, a bounded number of times.
    for (let i = 0; i < 100 && size > 300; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      size = await count();
    }
    expect(size).toBe(300);
    expect(await s.used("b-live-7", later)).toBe(1);
    expect(await s.purgeExpired(later)).toBe(0);
    await s.close();
  });

  it("purgeExpired() deletes in batches of purgeBatch entries, one transaction each", async () => {
    const { store: inner } = keyval();
    const { store, log } = recording(inner);
    const s = idbStore({ store, purgeEvery: 0, purgeBatch: 7 });
    for (let i = 0; i < 30; i++) await s.consume(`k${String(i).padStart(2, "0")}`, 1, inAnHour, now);
    await s.consume("z-live", 1, inAnHour + 60, now);
    log.length = 0;
    expect(await s.purgeExpired(inAnHour * 1000)).toBe(30);
    // 31 entries, 7 per batch: 5 batches, the last one reaching the end.
    expect(log.map((t) => t.mode)).toEqual(["readwrite", "readwrite", "readwrite", "readwrite", "readwrite"]);
    expect(await s.used("z-live", inAnHour * 1000)).toBe(1);
    expect(await get("k00", inner)).toBeUndefined();
    await s.close();
  });

  it("keys that are not strings (a shared idb-keyval store) never stall the sweep or loop purgeExpired()", async () => {
    const { store } = keyval();
    // Numbers sort before strings, arrays after them (IndexedDB key order): some app's own entries.
    await set(1, "app data", store);
    await set(2, { expiresAt: 5 }, store);
    await set(["z", 1], "more app data", store);
    const s = idbStore({ store, purgeEvery: 0, purgeBatch: 2 });
    for (let i = 0; i < 5; i++) expect(await s.consume(`live-${i}`, 1, inAnHour + 60, now)).toBe(true);
    for (let i = 0; i < 5; i++) expect(await s.consume(`stale-${i}`, 1, inAnHour, now)).toBe(true);
    // Bounded here: before the fix each batch restarted from the first key and this never returned.
    const purged = await Promise.race([
      s.purgeExpired(inAnHour * 1000),
      new Promise<string>((resolve) => setTimeout(() => resolve("purgeExpired() did not return in 3 s"), 3000)),
    ]);
    // The 5 stale counters only: the app's { expiresAt: 5 } under a number key is not a counter (found by the
    // breaker: any value with a numeric expiresAt was deleted).
    expect(purged).toBe(5);
    expect(await get(2, store)).toEqual({ expiresAt: 5 });
    for (let i = 0; i < 5; i++) expect(await s.used(`live-${i}`, inAnHour * 1000)).toBe(1);
    expect(await get(1, store)).toBe("app data");
    expect(await get(["z", 1], store)).toBe("more app data");
    // The background sweep goes round the whole store too, a batch per sweep, past the non-string keys.
    const swept = idbStore({ store, purgeEvery: 1, purgeBatch: 2 });
    for (let i = 0; i < 5; i++) expect(await swept.consume(`stale2-${i}`, 1, inAnHour, now)).toBe(true);
    const count = () => store("readonly", (os) => new Promise<number>((resolve) => (os.count().onsuccess = (e) => resolve((e.target as IDBRequest<number>).result))));
    const later = (inAnHour + 1) * 1000;
    for (let i = 0; i < 40 && (await count()) > 8; i++) {
      expect(await swept.consume(`live-${i % 5}`, 100, inAnHour + 60, later)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await count()).toBe(8); // 3 app entries and the 5 live counters
    await s.close();
    await swept.close();
  });

  it("negative counts: TempIDStoreError naming the value, never a grant, the value left as it was", async () => {
    const { store } = keyval();
    const s = idbStore({ store });
    await checkCorruptCounts(
      s,
      {
        write: (key, count, expiresAtSec) => set(key, { count, expiresAt: expiresAtSec }, store),
        read: async (key) => ((await get(key, store)) as { count: number; expiresAt: number } | undefined) ?? null,
      },
      /IndexedDB object store given to idbStore/,
    );
    await s.close();
  });

  it("a count above REVOKED_COUNT reads as used up, as in every store that can hold one", async () => {
    const { store } = keyval();
    const s = idbStore({ store });
    await checkCountAboveRevoked(s, {
      write: (key, count, expiresAtSec) => set(key, { count, expiresAt: expiresAtSec }, store),
      read: async (key) => ((await get(key, store)) as { count: number; expiresAt: number } | undefined) ?? null,
    });
    await s.close();
  });

  it("malformed values: TempIDStoreError on consume and used(), left as they were; revoke() overwrites them", async () => {
    const { store } = keyval();
    const s = idbStore({ store });
    const bad: unknown[] = ["3", 7, null, { count: 1 }, { count: "1", expiresAt: inAnHour }, { count: 1.5, expiresAt: inAnHour }, { count: 1, expiresAt: "soon" }];
    for (const [i, value] of bad.entries()) {
      const key = `bad-${i}`;
      await set(key, value, store);
      await expect(s.consume(key, 5, inAnHour, now)).rejects.toThrow(/is not \{ count, expiresAt \}/);
      await expect(s.used(key, now)).rejects.toBeInstanceOf(TempIDStoreError);
      expect(await get(key, store)).toEqual(value);
      await s.revoke(key, inAnHour, now);
      expect(await s.used(key, now)).toBe(REVOKED_COUNT);
    }
    // An expired counter with a bad count counts as absent (its expiry is readable).
    await set("bad-expired", { count: "x", expiresAt: inAnHour - 7200 }, store);
    expect(await s.used("bad-expired", now)).toBe(0);
    expect(await s.consume("bad-expired", 1, inAnHour, now)).toBe(true);
    expect(await get("bad-expired", store)).toEqual({ count: 1, expiresAt: inAnHour });
    await s.close();
  });

  it('the default store counts in database "tempid", object store "uses", and close() closes that connection', async () => {
    const s = idbStore();
    expect(await s.consume("default-key", 2, inAnHour, now)).toBe(true);
    const reader = createStore("tempid", "uses");
    expect(await get("default-key", reader)).toEqual({ count: 1, expiresAt: inAnHour });
    await closeKeyval(reader);
    await s.close();
    // Blocked (rejects) while any connection is open: the store's own is closed.
    await deleteDatabase("tempid");
  });

  it("the default store never blocks another tab upgrading or deleting its database: it steps aside and reopens", async () => {
    const s = idbStore();
    expect(await s.consume("step-aside", 5, inAnHour, now)).toBe(true);
    // Another tab (newer code) opens "tempid" at a higher version, adding an object store.
    const upgraded = await new Promise<IDBDatabase | string>((resolve) => {
      const request = indexedDB.open("tempid", 2);
      request.onupgradeneeded = () => request.result.createObjectStore("other");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(`error: ${String(request.error)}`);
      request.onblocked = () => resolve("blocked by the store's open connection");
    });
    expect(typeof upgraded).not.toBe("string");
    (upgraded as IDBDatabase).close();
    // The store reopens (at the new version) and its counts are intact.
    expect(await s.consume("step-aside", 5, inAnHour, now)).toBe(true);
    expect(await s.used("step-aside", now)).toBe(2);
    // Deleting the database (an app's "reset", or a test) is not blocked either; the store starts afresh.
    await deleteDatabase("tempid");
    expect(await s.used("step-aside", now)).toBe(0);
    expect(await s.consume("step-aside", 5, inAnHour, now)).toBe(true);
    await s.close();
    await deleteDatabase("tempid");
  });

  it("a store you pass stays open after close(); the closed store refuses every call", async () => {
    const { store } = keyval();
    const s = idbStore({ store });
    expect(await s.consume("c", 1, inAnHour, now)).toBe(true);
    await s.close();
    await s.close(); // idempotent
    for (const call of [
      () => s.consume("c2", 1, inAnHour, now),
      () => s.used("c", now),
      () => s.revoke("c", inAnHour, now),
      () => s.purgeExpired(now),
    ]) {
      await expect(call()).rejects.toThrow(TempIDStoreError);
    }
    expect(await get("c", store)).toEqual({ count: 1, expiresAt: inAnHour }); // the connection is still usable
  });

  it("an object store missing from an existing database: TempIDStoreError (cause kept), never a grant", async () => {
    const { db, store: other } = keyval();
    await set("x", 1, other); // creates the database with object store "uses" only
    const wrong = createStore(db, "not-there");
    const s = idbStore({ store: wrong, timeoutMs: 2000 });
    for (const call of [() => s.consume("k", 5, inAnHour, now), () => s.used("k", now), () => s.revoke("k", inAnHour, now)]) {
      const err = await call().then(
        (value) => new Error(`resolved with ${String(value)}`),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TempIDStoreError);
      expect((err as TempIDStoreError).message).toMatch(/failed: NotFoundError/);
      // A store passed in does not tell its names: the advice is given without them.
      expect((err as TempIDStoreError).message).toMatch(
        /NotFoundError: .*; the IndexedDB database of the idb-keyval store given to idbStore\(\) has no such object store: idb-keyval creates it only when it creates the database, so give the store a database of its own \(createStore\("<a database name nothing else uses>", storeName\)\)$/,
      );
      expect((err as TempIDStoreError).cause).toMatchObject({ name: "NotFoundError" });
    }
    await expect(s.purgeExpired(now)).rejects.toThrow(/^purgeExpired failed: NotFoundError: .*has no such object store/);
    await s.close();
  });

  // Found by a fresh-user test: an app's own "tempid" database without "uses" gave a bare NotFoundError.
  it('the default store on an existing "tempid" database without object store "uses": the error names both and the fix', async () => {
    const app = createStore("tempid", "settings");
    await set("theme", "dark", app); // the app created "tempid" first, with another object store
    await closeKeyval(app);
    const s = idbStore();
    const hint =
      'the IndexedDB database "tempid" has no object store "uses": idb-keyval creates it only when it creates the database, ' +
      'so give the store a database of its own (createStore("<other name>", "uses"))';
    for (const [what, call] of [
      ["consume", () => s.consume("k", 5, inAnHour, now)],
      ["used", () => s.used("k", now)],
      ["revoke", () => s.revoke("k", inAnHour, now)],
    ] as const) {
      const err = await (call() as Promise<unknown>).then(
        (value) => new Error(`resolved with ${String(value)}`),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TempIDStoreError);
      expect((err as TempIDStoreError).message).toMatch(new RegExp(`^${what} failed: NotFoundError: `));
      expect((err as TempIDStoreError).message.endsWith(`; ${hint}`)).toBe(true);
      expect((err as TempIDStoreError).cause).toMatchObject({ name: "NotFoundError" });
    }
    await s.close();
    await deleteDatabase("tempid");
  });

  it("a call that never completes is bounded by timeoutMs: TempIDStoreError, never a grant", async () => {
    const stuck: KeyvalStore = () => new Promise(() => undefined);
    const s = idbStore({ store: stuck, timeoutMs: 50 });
    await expect(s.consume("k", 1, inAnHour, now)).rejects.toThrow(/consume timed out after 50 ms/);
    await expect(s.used("k", now)).rejects.toThrow(/used timed out/);
  });

  it("options are checked", () => {
    expect(() => idbStore({ timeoutMs: 0 })).toThrow(TempIDConfigError);
    expect(() => idbStore({ purgeBatch: 0 })).toThrow(TempIDConfigError);
    expect(() => idbStore({ purgeEvery: -1 })).toThrow(TempIDConfigError);
    expect(() => idbStore({ store: "tempid" as unknown as KeyvalStore })).toThrow(TempIDConfigError);
  });
});

describe("idb store: README example", () => {
  it("examples/stores/idb.ts runs (Node, fake-indexeddb preloaded as the browser's IndexedDB)", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "tempid-idb-example-"));
    try {
      const { stdout } = await promisify(execFile)(
        join(ROOT, "node_modules/.bin/tsx"),
        ["--import", join(ROOT, "node_modules/fake-indexeddb/auto/index.mjs"), join(ROOT, "examples/stores/idb.ts")],
        { cwd, env: { ...process.env, NODE_ENV: "test", TSX_TSCONFIG_PATH: join(ROOT, "tsconfig.json") }, timeout: 60_000 },
      );
      expect(stdout.trim().split("\n")).toEqual(["true", "false"]);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 70_000);
});

// ---------------------------------------------------------------------------------------------------------
// Headless Chromium: the adapter (bundled from the sources with idb-keyval) in two tabs of one origin.

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const chromiumMissing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (scripts/install-chromium.sh installs it)`;

const PAGE_ENTRY = `
import { createStore } from "idb-keyval";
import { idbStore } from "@tempid/core/idb";
globalThis.tempidIdb = {
  async race(db, key, calls, limit, expiresAtSec, nowMs) {
    const store = idbStore({ store: createStore(db, "uses") });
    const results = await Promise.all(Array.from({ length: calls }, () => store.consume(key, limit, expiresAtSec, nowMs)));
    await store.close();
    return results.filter(Boolean).length;
  },
  async used(db, key, nowMs) {
    const store = idbStore({ store: createStore(db, "uses") });
    try { return await store.used(key, nowMs); } finally { await store.close(); }
  },
};
globalThis.tempidIdbReady = true;
`;

if (chromiumMissing !== undefined && !servicesRequired()) {
  console.warn(`[skipped] idb store in headless Chromium: ${chromiumMissing}`);
  describe.skip(`idb store: headless Chromium — skipped: ${chromiumMissing}`, () => {
    it("two tabs", () => undefined);
  });
} else {
  describe("idb store: headless Chromium, two tabs of one origin", () => {
    type Page = import("playwright-core").Page;
    let close: (() => Promise<void>) | undefined;
    let tabs: Page[] = [];
    const now = Date.now();
    const inAnHour = Math.floor(now / 1000) + 3600;

    beforeAll(async () => {
      if (chromiumMissing !== undefined) throw new Error(`${chromiumMissing} (TEMPID_REQUIRE_SERVICES=1)`);
      const { build } = await import("esbuild");
      const result = await build({
        stdin: { contents: PAGE_ENTRY, resolveDir: ROOT, loader: "js" },
        bundle: true,
        write: false,
        format: "esm",
        platform: "browser",
        target: "es2022",
        alias: { "@tempid/core": join(ROOT, "src/index.ts"), "@tempid/core/idb": join(ROOT, "adapters/idb.ts") },
        logLevel: "silent",
      });
      const code = result.outputFiles[0]!.text;
      const server = createServer((req, res) => {
        if (req.url === "/entry.js") {
          res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" });
          res.end(code);
        } else {
          res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
          res.end('<!doctype html><meta charset="utf-8"><script type="module" src="/entry.js"></script>');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const profile = mkdtempSync(join(tmpdir(), "tempid-idb-chromium-"));
      const { chromium } = await import("playwright-core");
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
      close = async () => {
        await context.close().catch(() => undefined);
        server.close();
        rmSync(profile, { recursive: true, force: true });
      };
      tabs = [await context.newPage(), await context.newPage()];
      for (const tab of tabs) {
        await tab.goto(`${origin}/`);
        await tab.waitForFunction(() => (globalThis as { tempidIdbReady?: boolean }).tempidIdbReady === true, undefined, { timeout: 30_000 });
      }
    }, 60_000);

    afterAll(async () => {
      await close?.();
    });

    for (const limit of [1, 50, 999]) {
      it(`500 uses from each tab at once: exactly ${limit} granted, and both tabs read ${limit}`, async () => {
        const db = `tempid-race-${limit}`;
        const key = `race-${limit}`;
        type Api = { race(...a: unknown[]): Promise<number>; used(...a: unknown[]): Promise<number> };
        const granted = await Promise.all(
          tabs.map((tab) =>
            tab.evaluate(
              ([d, k, l, e, n]) => (globalThis as unknown as { tempidIdb: Api }).tempidIdb.race(d, k, 500, l, e, n),
              [db, key, limit, inAnHour, now] as const,
            ),
          ),
        );
        expect(granted[0]! + granted[1]!).toBe(limit);
        for (const tab of tabs) {
          expect(await tab.evaluate(([d, k, n]) => (globalThis as unknown as { tempidIdb: Api }).tempidIdb.used(d, k, n), [db, key, now] as const)).toBe(limit);
        }
      }, 60_000);
    }
  });
}
