import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempIDConfigError, TempIDStoreError } from "@tempid/core";
import postgres from "postgres";
import { postgresStore, preparedName } from "@tempid/core/postgres";
import { UseTableSql } from "../../adapters/sql-dialect.js";
import { describeStore } from "./conformance.js";
import { checkCorruptCounts } from "./corrupt-counts.js";
import { postgresJsHarness, postgresPgHarness } from "../support/store-harnesses.js";
import { detectService, serviceUrls, servicesRequired, uniqueName } from "../support/services.js";
import { PrivatePostgres } from "../support/private-servers.js";

const status = await detectService("postgres");
describeStore(postgresPgHarness(), status);
describeStore(postgresJsHarness(), status);

describe.skipIf(!status.available)("postgres store: migrations and faults", () => {
  const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 20 });
  const tables: string[] = [];
  const table = () => {
    const t = uniqueName("tp");
    tables.push(t);
    return t;
  };
  const exp = Math.floor(Date.now() / 1000) + 3600;
  afterAll(async () => {
    for (const t of tables) await pool.query(`DROP TABLE IF EXISTS "${t}"`);
    await pool.end();
  });

  // Found by a fresh-user test: with autoMigrate off, a use said only 'relation "…" does not exist'.
  it("autoMigrate: false and no table (42P01): the error names the table and migrate(), through pg and postgres.js", async () => {
    const t = table();
    const sql = postgres(serviceUrls.postgres, { max: 2, onnotice: () => {} });
    try {
      for (const client of [pool, sql]) {
        const store = postgresStore(client, { table: t, autoMigrate: false });
        const err = await store.consume("k", 2, exp, Date.now()).then(
          (granted) => new Error(`resolved ${String(granted)}`),
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(TempIDStoreError);
        expect((err as Error).message).toMatch(
          new RegExp(`^consume failed: .*relation "${t}" does not exist; the table "${t}" does not exist: call store\\.migrate\\(\\) once, or create it with the DDL in the README \\(autoMigrate is off\\)$`),
        );
        expect(((err as Error).cause as { code?: unknown }).code).toBe("42P01");
        await expect(store.used("k", Date.now())).rejects.toThrow(`the table "${t}" does not exist`);
      }
    } finally {
      await sql.end();
    }
  });

  it("creates the Python layout (token_id, count, expires_at) and an expires_at index", async () => {
    const t = table();
    await postgresStore(pool, { table: t }).migrate();
    const columns = await pool.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
      [t],
    );
    expect(columns.rows).toEqual([
      { column_name: "token_id", data_type: "text" },
      { column_name: "count", data_type: "integer" },
      { column_name: "expires_at", data_type: "bigint" },
    ]);
    const indexes = await pool.query("SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname", [t]);
    expect(indexes.rows.map((r) => r.indexname)).toEqual([`${t}_expires_at_idx`, `${t}_pkey`]);
  });

  it("10 stores creating the same table at once all succeed, and count together", async () => {
    const t = table();
    const stores = Array.from({ length: 10 }, () => postgresStore(pool, { table: t }));
    const results = await Promise.all(stores.map((s) => s.consume("k", 5, exp, Date.now())));
    expect(results.filter(Boolean).length).toBe(5);
    await Promise.all(stores.map((s) => s.migrate()));
  });

  it("works on a table the Python package created (INTEGER expires_at, no index)", async () => {
    const t = table();
    await pool.query(`CREATE TABLE "${t}" (token_id TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL DEFAULT 0)`);
    const store = postgresStore(pool, { table: t });
    expect(await store.consume("py", 1, exp, Date.now())).toBe(true);
    expect(await store.consume("py", 1, exp, Date.now())).toBe(false);
    expect((await pool.query(`SELECT count, expires_at FROM "${t}"`)).rows).toEqual([{ count: 1, expires_at: exp }]);
  });

  // Statements go out as named prepared statements (parsed and planned once per connection) unless
  // prepare: false, for poolers in transaction mode that do not keep them.
  it("sends named prepared statements by default, one name per statement text; prepare: false sends none", async () => {
    const t = table();
    const sent: Array<{ name?: string; text: string }> = [];
    const spy = { query: (config: { name?: string; text: string }) => (sent.push(config), pool.query(config as never)) };
    // Data statements only (the DDL of the first use's migration is sent unnamed).
    const names = () => sent.filter((c) => !c.text.startsWith("DO ")).map((c) => c.name);
    // purgeEvery 0: a background purge (its first one may come on any of the first 100 writes) is no data statement here.
    const store = postgresStore(spy as never, { table: t, purgeEvery: 0 });
    expect(await store.consume("n", 2, exp, Date.now())).toBe(true);
    expect(await store.consume("n", 2, exp, Date.now())).toBe(true);
    expect(await store.consume("n", 2, exp, Date.now())).toBe(false);
    expect(await store.used("n", Date.now())).toBe(2);
    const [consume, , , used] = names();
    expect(names()).toEqual([consume, consume, consume, used]);
    expect(consume).toMatch(/^tempid_[0-9a-f]{16}$/);
    expect(used).toMatch(/^tempid_[0-9a-f]{16}$/);
    expect(used).not.toBe(consume);
    expect(sent.filter((c) => c.text.startsWith("DO ")).every((c) => c.name === undefined)).toBe(true);
    // Another table on the same pool: other texts, other names, no clash on a shared connection.
    const other = postgresStore(spy as never, { table: table(), purgeEvery: 0 });
    expect(await other.consume("n", 1, exp, Date.now())).toBe(true);
    expect(names().at(-1)).not.toBe(consume);

    sent.length = 0;
    const unprepared = postgresStore(spy as never, { table: t, prepare: false });
    expect(await unprepared.consume("n", 3, exp, Date.now())).toBe(true);
    expect(await unprepared.consume("n", 3, exp, Date.now())).toBe(false);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((c) => c.name === undefined)).toBe(true);
    expect(() => postgresStore(pool, { prepare: "yes" as never })).toThrow(TempIDConfigError);
  });

  it("a prepared statement that failed (table missing, autoMigrate off) works once the table exists", async () => {
    const t = table();
    const client = new pg.Client({ connectionString: serviceUrls.postgres });
    await client.connect();
    try {
      const store = postgresStore(client, { table: t, autoMigrate: false });
      await expect(store.consume("m", 1, exp, Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
      await store.migrate();
      expect(await store.consume("m", 1, exp, Date.now())).toBe(true);
      expect(await store.consume("m", 1, exp, Date.now())).toBe(false);
    } finally {
      await client.end();
    }
  });

  // A named statement can vanish from a connection (DEALLOCATE / DISCARD ALL by other code on the pool, a
  // pooler handing over another server connection), already exist there under the same name (a pooler), or
  // stop matching its table (a column's type changed: "cached plan must not change result type"). PostgreSQL
  // refuses each before running anything, so the call is sent again, unnamed, once: no error for the caller
  // and no use counted twice. (postgres.js does the same by itself.)
  for (const flavour of ["pg", "postgres.js"] as const) {
    it(`${flavour}: a prepared statement gone, already there, or stale after ALTER TABLE: the call succeeds, counted once`, async () => {
      const t = table();
      const conn = new pg.Client({ connectionString: serviceUrls.postgres });
      await conn.connect();
      const js = postgres(serviceUrls.postgres, { max: 1, onnotice: () => {} });
      const sql = (text: string) => (flavour === "pg" ? conn.query(text) : js.unsafe(text));
      try {
        const store = postgresStore(flavour === "pg" ? conn : js, { table: t, purgeEvery: 0 });
        const count = async () => Number((await pool.query(`SELECT count FROM "${t}" WHERE token_id = 'p'`)).rows[0]?.count);
        expect(await store.consume("p", 100, exp, Date.now())).toBe(true);
        expect(await store.used("p", Date.now())).toBe(1);

        await sql("DEALLOCATE ALL");
        expect(await store.consume("p", 100, exp, Date.now())).toBe(true);
        expect(await store.used("p", Date.now())).toBe(2);
        expect(await count()).toBe(2);

        await sql(`ALTER TABLE "${t}" ALTER COLUMN count TYPE BIGINT`);
        expect(await store.consume("p", 100, exp, Date.now())).toBe(true);
        expect(await store.used("p", Date.now())).toBe(3);
        expect(await count()).toBe(3);

        // The names the store will use already taken on a connection it has not prepared them on.
        if (flavour === "pg") {
          const fresh = new pg.Client({ connectionString: serviceUrls.postgres });
          await fresh.connect();
          try {
            const statements = new UseTableSql("postgres", t);
            for (const st of [statements.consume("p", 1, 1, 1), statements.used("p", 1)]) {
              await fresh.query(`PREPARE ${preparedName(st.sql)} AS SELECT 1`);
            }
            const other = postgresStore(fresh, { table: t, purgeEvery: 0, autoMigrate: false });
            expect(await other.consume("p", 100, exp, Date.now())).toBe(true);
            expect(await other.used("p", Date.now())).toBe(4);
            expect(await count()).toBe(4);
          } finally {
            await fresh.end();
          }
        }
      } finally {
        await conn.end();
        await js.end();
      }
    });
  }

  it("a negative count (a row written by hand or by a faulty service) is refused with its value, never granted", async () => {
    const t = table();
    const store = postgresStore(pool, { table: t, purgeEvery: 0 });
    await store.migrate();
    await checkCorruptCounts(
      store,
      {
        async write(key, count, expiresAt) {
          await pool.query(
            `INSERT INTO "${t}" (token_id, count, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (token_id) DO UPDATE SET count = excluded.count, expires_at = excluded.expires_at`,
            [key, count, expiresAt],
          );
        },
        async read(key) {
          const { rows } = await pool.query(`SELECT count, expires_at FROM "${t}" WHERE token_id = $1`, [key]);
          return rows[0] === undefined ? null : { count: rows[0].count as number, expiresAt: Number(rows[0].expires_at) };
        },
      },
      new RegExp(`table ${t}`),
    );
  });

  it("close() while the first call is still migrating: nothing is sent once close() has begun, later calls reject", async () => {
    const t = table();
    let closing = false;
    const afterClose: string[] = [];
    const spy = {
      query: (config: { text: string }) => {
        if (closing) afterClose.push(config.text);
        return pool.query(config as never);
      },
    };
    const store = postgresStore(spy as never, { table: t });
    const now = Date.now();
    const inFlight = Promise.allSettled([store.consume("k", 1, exp, now), store.used("k", now)]);
    closing = true;
    await store.close();
    for (const outcome of await inFlight) {
      if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(TempIDStoreError);
    }
    // The first migration statement was already on its way; nothing after it (second DDL, the consume).
    expect(afterClose).toEqual([]);
    await expect(store.consume("k", 1, exp, now)).rejects.toThrow("this store is closed");
    await expect(store.used("k", now)).rejects.toThrow("this store is closed");
    expect(afterClose).toEqual([]);
  });

  it("rejects a table name that is not a plain identifier", () => {
    for (const bad of ["x; DROP TABLE y", "1abc", "a-b", "", "a".repeat(49)]) {
      expect(() => postgresStore(pool, { table: bad })).toThrow(TempIDConfigError);
    }
  });

  it("a connection killed mid-run: the call in flight fails with TempIDStoreError, nothing extra is granted, the pool recovers", async () => {
    const t = table();
    const client = new pg.Client({ connectionString: serviceUrls.postgres, application_name: `tempid-fault-${t}` });
    client.on("error", () => undefined);
    await client.connect();
    const store = postgresStore(client, { table: t });
    expect(await store.consume("k", 3, exp, Date.now())).toBe(true);
    // Kill this client's backend while a statement is running on it.
    const slow = client.query("SELECT pg_sleep(5)").catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [`tempid-fault-${t}`]);
    expect(await slow).toBeInstanceOf(Error);
    await expect(store.consume("k", 3, exp, Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
    // A fresh store on a fresh connection sees the count the server kept: 1, not more.
    const again = postgresStore(pool, { table: t });
    expect(await again.used("k", Date.now())).toBe(1);
    expect(await again.consume("k", 3, exp, Date.now())).toBe(true);
    expect(await again.consume("k", 3, exp, Date.now())).toBe(true);
    expect(await again.consume("k", 3, exp, Date.now())).toBe(false);
  });

  it("a statement slower than timeoutMs rejects with TempIDStoreError (a lock held elsewhere)", async () => {
    const t = table();
    const store = postgresStore(pool, { table: t, timeoutMs: 500 });
    expect(await store.consume("locked", 5, exp, Date.now())).toBe(true);
    const holder = await pool.connect();
    try {
      await holder.query("BEGIN");
      await holder.query(`SELECT * FROM "${t}" WHERE token_id = 'locked' FOR UPDATE`);
      const err = await store.consume("locked", 5, exp, Date.now()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TempIDStoreError);
      await holder.query("ROLLBACK");
    } finally {
      holder.release();
    }
    // The timed-out statement was not retried: at most it ran once (pg's query_timeout abandons it).
    const used = await store.used("locked", Date.now());
    expect(used === 1 || used === 2).toBe(true);
  });
});

// Stopping the shared server would break other test runs: this one stops its own.
const canRestart = PrivatePostgres.available();
if (!canRestart && servicesRequired()) throw new Error("initdb/pg_ctl missing (TEMPID_REQUIRE_SERVICES=1)");

describe.skipIf(!canRestart)("postgres store on a private server: stopped and restarted mid-run", () => {
  const server = new PrivatePostgres();
  beforeAll(() => server.init(), 60_000);
  afterAll(() => server.destroy(), 60_000);

  it("while down every call rejects with TempIDStoreError; once back, the pool serves again with the counts kept", async () => {
    const pool = new pg.Pool({ connectionString: server.url, connectionTimeoutMillis: 1000 });
    pool.on("error", () => undefined);
    const store = postgresStore(pool, { timeoutMs: 2000 });
    const exp = Math.floor(Date.now() / 1000) + 3600;
    try {
      expect(await store.consume("k", 3, exp, Date.now())).toBe(true);
      await server.stop();
      const during = await Promise.allSettled([1, 2, 3, 4].map(() => store.consume("k", 3, exp, Date.now())));
      for (const outcome of during) {
        expect(outcome.status).toBe("rejected");
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(TempIDStoreError);
      }
      await expect(store.used("k", Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
      await server.start();
      expect(await store.used("k", Date.now())).toBe(1);
      const after: boolean[] = [];
      for (let i = 0; i < 4; i++) after.push(await store.consume("k", 3, exp, Date.now()));
      expect(after).toEqual([true, true, false, false]);
    } finally {
      await pool.end();
    }
  }, 60_000);
});
