/**
 * The D1 store under Miniflare (workerd with its local D1, a SQLite database): the conformance suite from
 * Node through `mf.getD1Database("DB")`, then the store running inside a module worker (bundled from the
 * adapter source, no Node built-in reachable) with concurrent uses, the Python layout, migrations, and
 * corrupt counts. Skips with the reason when workerd cannot start here (fails under
 * TEMPID_REQUIRE_SERVICES=1).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REVOKED_COUNT, TempIDConfigError, TempIDStoreError, createTempID } from "@tempid/core";
import { d1Store, type D1DatabaseLike } from "@tempid/core/d1";
import { describeStore } from "./conformance.js";
import { checkCorruptCounts } from "./corrupt-counts.js";
import { COMPATIBILITY_DATE, bundleWorker, d1Harness, mintAndRedeem, workerdStatus } from "../support/cloudflare-harness.js";

const status = await workerdStatus();
describeStore(d1Harness(), status);

const SECRET = "d1-worker-test-secret-0123456789abcdef0123";

/** The store inside a worker: `/use` spends one use, `/race` spends `n` at once within one request. */
const WORKER = `
import { createTempID } from "@tempid/core";
import { d1Store } from "@tempid/core/d1";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const store = d1Store(env.DB, { timeoutMs: 10000 });
    if (url.pathname === "/migrate") {
      await store.migrate();
      return new Response("ready");
    }
    if (url.pathname === "/redeem") {
      const tempid = createTempID({ secret: env.TEMPID_SECRET, store });
      const tid = await tempid.verify(url.searchParams.get("token") ?? "");
      if (tid === null) return new Response("invalid", { status: 401 });
      return (await tid.use()) ? new Response("welcome") : new Response("used", { status: 410 });
    }
    const key = url.searchParams.get("key");
    const limit = Number(url.searchParams.get("limit"));
    const exp = Number(url.searchParams.get("exp"));
    if (url.pathname === "/race") {
      const n = Number(url.searchParams.get("n"));
      const results = await Promise.all(Array.from({ length: n }, () => store.consume(key, limit, exp, Date.now())));
      return Response.json({ granted: results.filter(Boolean).length, used: await store.used(key, Date.now()) });
    }
    return new Response("not found", { status: 404 });
  },
};
`;

const run = status.available ? describe : describe.skip;

run("d1 store: inside a worker (workerd, Miniflare)", () => {
  let mf: Miniflare;
  let db: Awaited<ReturnType<Miniflare["getD1Database"]>>;
  const exp = Math.floor(Date.now() / 1000) + 3600;

  beforeAll(async () => {
    mf = new Miniflare({
      modules: true,
      script: await bundleWorker({ contents: WORKER }),
      compatibilityDate: COMPATIBILITY_DATE,
      d1Databases: ["DB"],
      bindings: { TEMPID_SECRET: SECRET },
    });
    db = await mf.getD1Database("DB");
    const res = await mf.dispatchFetch("http://worker.test/migrate");
    expect(await res.text()).toBe("ready");
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
  });

  const count = async (key: string) =>
    (await db.prepare("SELECT count, expires_at FROM tempid_uses WHERE token_id = ?").bind(key).first<{ count: number; expires_at: number }>()) ?? null;

  for (const limit of [1, 50, 299]) {
    it(`300 uses at once inside one request, maxUses ${limit}: exactly ${limit} granted, and the row holds ${limit}`, async () => {
      const key = `race-${limit}-${Math.random().toString(36).slice(2)}`;
      const res = await mf.dispatchFetch(`http://worker.test/race?key=${key}&limit=${limit}&exp=${exp}&n=300`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ granted: limit, used: limit });
      expect(await count(key)).toEqual({ count: limit, expires_at: exp });
    });
  }

  it("100 concurrent requests redeeming one maxUses 7 token: 7 welcomed, 93 refused; the row says 7", async () => {
    const tempid = createTempID({ secret: SECRET });
    const tid = await tempid.new("10m", { maxUses: 7 });
    const statuses = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const res = await mf.dispatchFetch(`http://worker.test/redeem?token=${encodeURIComponent(tid.toString())}`);
        await res.text();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 200).length).toBe(7);
    expect(statuses.filter((s) => s === 410).length).toBe(93);
    expect((await count(tid.counterKey))?.count).toBe(7);
    // The worker's store and a store from Node on the same binding share the count.
    expect(await d1Store(db).used(tid.counterKey, Date.now())).toBe(7);
  });
});

run("d1 store: layout, migrations, options, corrupt counts", () => {
  let mf: Miniflare;
  let db: Awaited<ReturnType<Miniflare["getD1Database"]>>;
  const exp = Math.floor(Date.now() / 1000) + 3600;

  beforeAll(async () => {
    mf = new Miniflare({ modules: true, script: "export default { fetch() { return new Response('') } }", compatibilityDate: COMPATIBILITY_DATE, d1Databases: ["DB"] });
    db = await mf.getD1Database("DB");
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
  });

  it("autoMigrate is off by default: with no table a use fails with TempIDStoreError, never a grant; migrate() makes the Python layout", async () => {
    const store = d1Store(db, { table: "layout_uses" });
    const err = await store.consume("k", 2, exp, Date.now()).then(
      (granted) => new Error(`resolved ${String(granted)}`),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TempIDStoreError);
    expect((err as Error).message).toMatch(/^consume failed: .*no such table: layout_uses/);
    // Found by a fresh-user test: the message says how to create the table, and keeps D1's error as cause.
    expect((err as Error).message).toMatch(
      /; the table "layout_uses" does not exist: call store\.migrate\(\) once, or create it with the DDL in the README \(autoMigrate is off\)$/,
    );
    expect(String((err as Error).cause)).toMatch(/no such table/);

    await store.migrate();
    await store.migrate(); // idempotent
    const columns = await db.prepare("SELECT name, type, pk FROM pragma_table_info('layout_uses')").all();
    expect(columns.results).toEqual([
      { name: "token_id", type: "TEXT", pk: 1 },
      { name: "count", type: "INTEGER", pk: 0 },
      { name: "expires_at", type: "INTEGER", pk: 0 },
    ]);
    const index = await db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'layout_uses' AND sql IS NOT NULL").all();
    expect(index.results).toEqual([{ name: "layout_uses_expires_at_idx" }]);

    expect(await store.consume("k", 2, exp, Date.now())).toBe(true);
    const row = await db.prepare("SELECT token_id, count, expires_at, typeof(count) AS tc, typeof(expires_at) AS te FROM layout_uses").first();
    // Integers, not REALs: the Python package reads the same row.
    expect(row).toEqual({ token_id: "k", count: 1, expires_at: exp, tc: "integer", te: "integer" });
  });

  it("works on a table the Python package created (no index), and revoke writes REVOKED_COUNT", async () => {
    await db.prepare("CREATE TABLE tempid_uses (token_id TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL DEFAULT 0)").run();
    await db.prepare("INSERT INTO tempid_uses VALUES ('py', 1, ?)").bind(exp).run();
    const store = d1Store(db);
    expect(await store.used("py", Date.now())).toBe(1);
    expect(await store.consume("py", 2, exp, Date.now())).toBe(true);
    expect(await store.consume("py", 2, exp, Date.now())).toBe(false);
    await store.revoke("py", exp, Date.now());
    expect(await db.prepare("SELECT count FROM tempid_uses WHERE token_id = 'py'").first()).toEqual({ count: REVOKED_COUNT });
  });

  it("every consume is one statement (one round trip to the primary): a grant, a refusal and an expired row's restart alike", async () => {
    const sent: string[] = [];
    const recording = { prepare: (sql: string) => (sent.push(sql), db.prepare(sql)) } as unknown as typeof db;
    const store = d1Store(recording, { table: "trips_uses", purgeEvery: 0 });
    await store.migrate();
    sent.length = 0;
    const now = Date.now();
    expect(await store.consume("t", 1, exp, now)).toBe(true); // first use
    expect(await store.consume("t", 1, exp, now)).toBe(false); // refusal
    const later = (exp + 10) * 1000;
    expect(await store.consume("t", 1, exp + 3600, later)).toBe(true); // the expired row restarted
    expect(sent).toHaveLength(3);
    expect(new Set(sent).size).toBe(1);
    expect(sent[0]).toMatch(/ON CONFLICT/);
    expect(await db.prepare("SELECT count, expires_at FROM trips_uses WHERE token_id = 't'").first()).toEqual({ count: 1, expires_at: exp + 3600 });
  });

  it("a closed store sends nothing and rejects; the binding is left usable", async () => {
    const store = d1Store(db, { table: "layout_uses" });
    await store.close();
    await expect(store.consume("closed", 1, exp, Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
    expect(await d1Store(db, { table: "layout_uses" }).used("k", Date.now())).toBe(1);
  });

  it("refuses what is not a D1 binding, and bad options, with TempIDConfigError", () => {
    expect(() => d1Store({} as D1DatabaseLike)).toThrow(TempIDConfigError);
    expect(() => d1Store(null as unknown as D1DatabaseLike)).toThrow(TempIDConfigError);
    expect(() => d1Store(db, { table: "bad name" })).toThrow(TempIDConfigError);
    expect(() => d1Store(db, { timeoutMs: 0 })).toThrow(TempIDConfigError);
  });

  it("a reply without a results array is an error, never a grant", async () => {
    const odd: D1DatabaseLike = {
      prepare: () => {
        const stmt = { bind: () => stmt, all: async () => ({ meta: { changes: 1 } }), run: async () => ({}) };
        return stmt;
      },
    };
    await expect(d1Store(odd).consume("k", 1, exp, Date.now())).rejects.toThrow(/unexpected result shape from D1/);
  });

  it("a negative count (corrupt row) is refused naming the value, never granted; expired ones restart; revoke overwrites", async () => {
    const store = d1Store(db, { table: "corrupt_uses", purgeEvery: 0 });
    await store.migrate();
    await checkCorruptCounts(
      store,
      {
        async write(key, count, expiresAt) {
          await db.prepare("INSERT OR REPLACE INTO corrupt_uses (token_id, count, expires_at) VALUES (?, ?, ?)").bind(key, count, expiresAt).run();
        },
        async read(key) {
          const row = await db.prepare("SELECT count, expires_at FROM corrupt_uses WHERE token_id = ?").bind(key).first<{ count: number; expires_at: number }>();
          return row === null ? null : { count: row.count, expiresAt: row.expires_at };
        },
      },
      /table corrupt_uses/,
    );
  });
});

run("d1 store: examples/edge/workers/d1.ts runs in workerd", () => {
  let mf: Miniflare;
  beforeAll(async () => {
    mf = new Miniflare({
      modules: true,
      script: await bundleWorker({ path: fileURLToPath(new URL("../../examples/edge/workers/d1.ts", import.meta.url)) }),
      compatibilityDate: COMPATIBILITY_DATE,
      d1Databases: ["DB"],
      bindings: { TEMPID_SECRET: SECRET },
    });
    // The documented deploy step: create the table once.
    await d1Store(await mf.getD1Database("DB")).migrate();
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
  });

  it("mints a maxUses 3 token; 20 concurrent redeems: 3 welcomed, 17 refused", async () => {
    const { token, statuses } = await mintAndRedeem(mf, 20);
    expect(statuses.filter((s) => s === 200).length).toBe(3);
    expect(statuses.filter((s) => s === 410).length).toBe(17);
  });
});

run("d1 store: the README's migration file", () => {
  let mf: Miniflare;

  beforeAll(async () => {
    mf = new Miniflare({ modules: true, script: "export default { fetch() { return new Response('') } }", compatibilityDate: COMPATIBILITY_DATE, d1Databases: ["FILE", "MIGRATE"] });
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
  });

  // Found by a fresh user: the DDL was two inline statements without semicolons, which wrangler's migration
  // runner refused when pasted into one file. It is now a file, applied here as D1 applies a migration.
  it("makes exactly the table and index migrate() makes, and the store counts in it", async () => {
    const file = await mf.getD1Database("FILE");
    const made = await mf.getD1Database("MIGRATE");
    const sql = readFileSync(fileURLToPath(new URL("../../examples/edge/workers/migrations/0001_tempid.sql", import.meta.url)), "utf8");
    const statements = sql
      .split("\n")
      .filter((line) => !line.startsWith("--"))
      .join("\n")
      .split(";")
      .map((s) => s.trim())
      .filter(Boolean);
    expect(statements).toHaveLength(2);
    await file.batch(statements.map((s) => file.prepare(s)));
    await d1Store(made).migrate();
    const schema = async (db: typeof file) => (await db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'tempid_uses%' ORDER BY name").all()).results;
    const fromFile = await schema(file);
    expect(fromFile.map((r) => (r as { name: string }).name)).toEqual(["tempid_uses", "tempid_uses_expires_at_idx"]);
    expect(fromFile).toEqual(await schema(made));
    const store = d1Store(file);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    expect(await store.consume("k", 1, exp, Date.now())).toBe(true);
    expect(await store.consume("k", 1, exp, Date.now())).toBe(false);
  });
});
