import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempIDStoreError } from "@tempid/core";
import { mysqlStore } from "@tempid/core/mysql";
import { describeStore } from "./conformance.js";
import { checkCorruptCounts } from "./corrupt-counts.js";
import { mysqlHarness } from "../support/store-harnesses.js";
import { detectService, serviceUrls, servicesRequired, uniqueName } from "../support/services.js";
import { PrivateMariaDB } from "../support/private-servers.js";

const status = await detectService("mysql");
describeStore(mysqlHarness(), status);

describe.skipIf(!status.available)("mysql store: both affected-row modes, migrations and faults", () => {
  const pool = mysql.createPool({ uri: serviceUrls.mysql, connectionLimit: 20 });
  const tables: string[] = [];
  const table = () => {
    const t = uniqueName("tm");
    tables.push(t);
    return t;
  };
  const exp = Math.floor(Date.now() / 1000) + 3600;
  afterAll(async () => {
    for (const t of tables) await pool.query(`DROP TABLE IF EXISTS \`${t}\``);
    await pool.end();
  });

  it("without CLIENT_FOUND_ROWS (a refusal reports 0 affected rows) it still grants exactly maxUses", async () => {
    const plain = mysql.createPool({ uri: serviceUrls.mysql, connectionLimit: 10, flags: ["-FOUND_ROWS"] });
    try {
      const store = mysqlStore(plain, { table: table() });
      const results = await Promise.all(Array.from({ length: 300 }, () => store.consume("k", 7, exp, Date.now())));
      expect(results.filter(Boolean).length).toBe(7);
      expect(await store.used("k", Date.now())).toBe(7);
      // An expired row restarts: 2 affected rows with or without the flag.
      expect(await store.consume("k", 7, exp + 10, (exp + 1) * 1000)).toBe(true);
      expect(await store.used("k", (exp + 1) * 1000)).toBe(1);
    } finally {
      await plain.end();
    }
  });

  // Found by a fresh-user test: with autoMigrate off, a use said only "Table '…' doesn't exist".
  it("autoMigrate: false and no table (ER_NO_SUCH_TABLE): the error names the table and migrate(), cause kept", async () => {
    const t = table();
    const store = mysqlStore(pool, { table: t, autoMigrate: false });
    const err = await store.consume("k", 2, exp, Date.now()).then(
      (granted) => new Error(`resolved ${String(granted)}`),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TempIDStoreError);
    expect((err as Error).message).toMatch(
      new RegExp(`^consume failed: Error: Table '[^']*\\.${t}' doesn't exist; the table "${t}" does not exist: call store\\.migrate\\(\\) once, or create it with the DDL in the README \\(autoMigrate is off\\)$`),
    );
    expect(((err as Error).cause as { errno?: unknown }).errno).toBe(1146);
    await expect(store.used("k", Date.now())).rejects.toThrow(`the table "${t}" does not exist`);
    await store.migrate();
    expect(await store.consume("k", 2, exp, Date.now())).toBe(true);
  });

  it("creates the Python layout with a case-sensitive key and an expires_at index; 10 concurrent migrations succeed", async () => {
    const t = table();
    await Promise.all(Array.from({ length: 10 }, () => mysqlStore(pool, { table: t }).migrate()));
    const [columns] = await pool.query(
      "SELECT column_name AS c, data_type AS d, collation_name AS k FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
      [t],
    );
    expect(columns).toEqual([
      { c: "token_id", d: "varchar", k: "ascii_bin" },
      { c: "count", d: "int", k: null },
      { c: "expires_at", d: "bigint", k: null },
    ]);
    const store = mysqlStore(pool, { table: t });
    expect(await store.consume("abc", 1, exp, Date.now())).toBe(true);
    expect(await store.consume("ABC", 1, exp, Date.now())).toBe(true);
  });

  it("refuses a table with an AUTO_INCREMENT column (its insert id would hide first uses) — store breaker", async () => {
    const t = table();
    await pool.query(
      `CREATE TABLE \`${t}\` (id INT AUTO_INCREMENT PRIMARY KEY, token_id VARCHAR(255) NOT NULL UNIQUE, count INT NOT NULL DEFAULT 0, expires_at BIGINT NOT NULL DEFAULT 0)`,
    );
    await expect(mysqlStore(pool, { table: t }).migrate()).rejects.toThrow(/AUTO_INCREMENT/);
    const err = await mysqlStore(pool, { table: t }).consume("x", 1, exp, Date.now()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TempIDStoreError);
    expect(String((err as Error).message)).toMatch(/AUTO_INCREMENT/);
    const [rows] = await pool.query(`SELECT COUNT(*) AS n FROM \`${t}\``);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it("a negative count (a row written by hand or by a faulty service) is refused with its value, never granted, with and without CLIENT_FOUND_ROWS", async () => {
    const plain = mysql.createPool({ uri: serviceUrls.mysql, connectionLimit: 2, flags: ["-FOUND_ROWS"] });
    try {
      for (const client of [pool, plain]) {
        const t = table();
        const store = mysqlStore(client, { table: t, purgeEvery: 0 });
        await store.migrate();
        await checkCorruptCounts(
          store,
          {
            async write(key, count, expiresAt) {
              await pool.query(`REPLACE INTO \`${t}\` (token_id, count, expires_at) VALUES (?, ?, ?)`, [key, count, expiresAt]);
            },
            async read(key) {
              const [rows] = (await pool.query(`SELECT count, expires_at FROM \`${t}\` WHERE token_id = ?`, [key])) as unknown as [
                { count: number; expires_at: number }[],
              ];
              return rows[0] === undefined ? null : { count: rows[0].count, expiresAt: Number(rows[0].expires_at) };
            },
          },
          new RegExp(`table ${t}`),
        );
      }
    } finally {
      await plain.end();
    }
  });

  it("adds the purge index to a table the Python package created", async () => {
    const t = table();
    await pool.query(`CREATE TABLE \`${t}\` (token_id VARCHAR(64) PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0, expires_at BIGINT NOT NULL DEFAULT 0)`);
    const store = mysqlStore(pool, { table: t });
    expect(await store.consume("py", 2, exp, Date.now())).toBe(true);
    const [indexes] = await pool.query(`SHOW INDEX FROM \`${t}\` WHERE Column_name = 'expires_at'`);
    expect((indexes as unknown[]).length).toBe(1);
  });

  it("a connection killed mid-run: TempIDStoreError, no extra use, and the pool serves again", async () => {
    const t = table();
    const conn = await mysql.createConnection({ uri: serviceUrls.mysql });
    conn.on("error", () => undefined);
    const store = mysqlStore(conn, { table: t });
    expect(await store.consume("k", 3, exp, Date.now())).toBe(true);
    const [[{ id }]] = (await conn.query("SELECT CONNECTION_ID() AS id")) as unknown as [[{ id: number }]];
    await pool.query(`KILL ${Number(id)}`);
    await expect(store.consume("k", 3, exp, Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
    await conn.end().catch(() => undefined);
    const again = mysqlStore(pool, { table: t });
    expect(await again.used("k", Date.now())).toBe(1);
    expect(await again.consume("k", 3, exp, Date.now())).toBe(true);
    expect(await again.consume("k", 3, exp, Date.now())).toBe(true);
    expect(await again.consume("k", 3, exp, Date.now())).toBe(false);
  });

  it("a row lock held past timeoutMs rejects with TempIDStoreError", async () => {
    const t = table();
    const store = mysqlStore(pool, { table: t, timeoutMs: 500 });
    expect(await store.consume("locked", 5, exp, Date.now())).toBe(true);
    const holder = await pool.getConnection();
    try {
      await holder.query("START TRANSACTION");
      await holder.query(`SELECT * FROM \`${t}\` WHERE token_id = 'locked' FOR UPDATE`);
      await expect(store.consume("locked", 5, exp, Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
      await holder.query("ROLLBACK");
    } finally {
      holder.release();
    }
  });
});

// Stopping the shared server would break other test runs: this one stops its own.
const canRestart = PrivateMariaDB.available();
if (!canRestart && servicesRequired()) throw new Error("mariadb-install-db/mariadbd missing (TEMPID_REQUIRE_SERVICES=1)");

describe.skipIf(!canRestart)("mysql store on a private MariaDB: stopped and restarted mid-run", () => {
  const server = new PrivateMariaDB();
  beforeAll(() => server.init(), 60_000);
  afterAll(() => server.destroy(), 60_000);

  it("while down every call rejects with TempIDStoreError; once back, the pool serves again with the counts kept", async () => {
    const pool = mysql.createPool({ uri: server.url, connectTimeout: 1000 });
    const store = mysqlStore(pool, { timeoutMs: 2000 });
    const exp = Math.floor(Date.now() / 1000) + 3600;
    try {
      expect(await store.consume("k", 3, exp, Date.now())).toBe(true);
      await server.stop();
      const during = await Promise.allSettled([1, 2, 3, 4].map(() => store.consume("k", 3, exp, Date.now())));
      for (const outcome of during) {
        expect(outcome.status).toBe("rejected");
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(TempIDStoreError);
      }
      await server.start();
      // The pool may first hand out a connection the restart closed: poll until it serves (bounded).
      let used = -1;
      for (let i = 0; i < 20 && used < 0; i++) used = await store.used("k", Date.now()).catch(() => -1);
      expect(used).toBe(1);
      const after: boolean[] = [];
      for (let i = 0; i < 4; i++) after.push(await store.consume("k", 3, exp, Date.now()));
      expect(after).toEqual([true, true, false, false]);
    } finally {
      await pool.end();
    }
  }, 60_000);
});
