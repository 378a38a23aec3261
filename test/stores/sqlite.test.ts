import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { TempIDConfigError } from "@tempid/core";
import { sqliteStore } from "@tempid/core/sqlite";
import { describeStore } from "./conformance.js";
import { sqliteHarness } from "../support/store-harnesses.js";

describeStore(sqliteHarness());

describe("sqlite store: handles, paths and layout", () => {
  const dir = mkdtempSync(join(tmpdir(), "tempid-sqlite-"));
  const exp = Math.floor(Date.now() / 1000) + 3600;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("uses the Python layout by default: tempid_uses(token_id, count, expires_at)", async () => {
    const db = new Database(":memory:");
    const store = sqliteStore(db);
    expect(await store.consume("k", 2, exp, Date.now())).toBe(true);
    expect(db.prepare("SELECT token_id, count, expires_at FROM tempid_uses").all()).toEqual([{ token_id: "k", count: 1, expires_at: exp }]);
    const columns = db.prepare("SELECT name, type FROM pragma_table_info('tempid_uses')").all();
    expect(columns).toEqual([
      { name: "token_id", type: "TEXT" },
      { name: "count", type: "INTEGER" },
      { name: "expires_at", type: "INTEGER" },
    ]);
    await store.close();
    // The handle was the caller's: still open.
    expect(db.open).toBe(true);
    db.close();
  });

  it("opens a path lazily and closes what it opened; counts survive in the file", async () => {
    const path = join(dir, "tempid.db");
    const store = sqliteStore(path);
    expect(await store.consume("k", 2, exp, Date.now())).toBe(true);
    await store.close();
    const raw = new Database(path);
    expect(raw.prepare("SELECT count FROM tempid_uses WHERE token_id = 'k'").get()).toEqual({ count: 1 });
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    raw.close();
    const again = sqliteStore(path);
    expect(await again.consume("k", 2, exp, Date.now())).toBe(true);
    expect(await again.consume("k", 2, exp, Date.now())).toBe(false);
    await again.close();
  });

  it("works on a table the Python package created, with autoMigrate off", async () => {
    const db = new Database(":memory:");
    db.exec("CREATE TABLE tempid_uses (token_id TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL DEFAULT 0)");
    db.prepare("INSERT INTO tempid_uses VALUES ('py', 1, ?)").run(exp);
    const store = sqliteStore(db, { autoMigrate: false });
    expect(await store.used("py", Date.now())).toBe(1);
    expect(await store.consume("py", 2, exp, Date.now())).toBe(true);
    expect(await store.consume("py", 2, exp, Date.now())).toBe(false);
    db.close();
  });

  it("a missing table with autoMigrate off is a TempIDStoreError, until migrate()", async () => {
    const db = new Database(":memory:");
    const store = sqliteStore(db, { autoMigrate: false, table: "custom_uses" });
    await expect(store.consume("k", 1, exp, Date.now())).rejects.toMatchObject({ code: "ERR_TEMPID_STORE" });
    await store.migrate();
    expect(await store.consume("k", 1, exp, Date.now())).toBe(true);
    expect(db.prepare("SELECT count(*) AS n FROM custom_uses").get()).toEqual({ n: 1 });
    db.close();
  });

  // consume() first tries a statement that leaves expires_at alone (a first use, or a live row below the
  // limit) and falls back to the full statement (restart an expired row, or refuse). These pin the row
  // each path leaves behind.
  it("a live row's use changes only the count; at the limit nothing changes; an expired row restarts", async () => {
    const db = new Database(":memory:");
    const store = sqliteStore(db, { purgeEvery: 0 });
    const row = () => db.prepare("SELECT count, expires_at FROM tempid_uses WHERE token_id = 'k'").get();
    const now = Date.now();
    expect(await store.consume("k", 2, exp, now)).toBe(true);
    expect(row()).toEqual({ count: 1, expires_at: exp });
    // A later call with another expiry (another token claiming the key) does not move a live row's expiry.
    expect(await store.consume("k", 2, exp + 60, now)).toBe(true);
    expect(row()).toEqual({ count: 2, expires_at: exp });
    expect(await store.consume("k", 2, exp + 60, now)).toBe(false);
    expect(row()).toEqual({ count: 2, expires_at: exp });
    // The row has expired by the injected clock: the use restarts it with the new expiry.
    const later = (exp + 1) * 1000;
    expect(await store.consume("k", 2, exp + 7200, later)).toBe(true);
    expect(row()).toEqual({ count: 1, expires_at: exp + 7200 });
    // A revoked row is refused by both statements and stays revoked.
    await store.revoke("k", exp + 7200, later);
    expect(await store.consume("k", 5, exp + 7200, later)).toBe(false);
    expect((row() as { count: number }).count).toBe(2147483647);
    await store.close();
    db.close();
  });

  it("two handles on one file, interleaved uses: exactly `limit` granted", async () => {
    const path = join(dir, "two-handles.db");
    const a = new Database(path);
    a.pragma("journal_mode = WAL");
    const b = new Database(path);
    const sa = sqliteStore(a);
    const sb = sqliteStore(b);
    await sa.migrate();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? sa : sb).consume("shared", 13, exp, Date.now())));
    expect(results.filter(Boolean).length).toBe(13);
    expect(await sb.used("shared", Date.now())).toBe(13);
    await sa.close();
    await sb.close();
    a.close();
    b.close();
  });

  it("rejects bad arguments with TempIDConfigError", () => {
    expect(() => sqliteStore("")).toThrow(TempIDConfigError);
    expect(() => sqliteStore({} as never)).toThrow(TempIDConfigError);
    expect(() => sqliteStore(":memory:", { table: "a b" })).toThrow(TempIDConfigError);
    expect(() => sqliteStore(":memory:", { timeoutMs: 0 })).toThrow(TempIDConfigError);
    expect(() => sqliteStore(":memory:", { purgeEvery: -1 })).toThrow(TempIDConfigError);
  });
});
