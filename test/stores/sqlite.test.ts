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

  it("rejects bad arguments with TempIDConfigError", () => {
    expect(() => sqliteStore("")).toThrow(TempIDConfigError);
    expect(() => sqliteStore({} as never)).toThrow(TempIDConfigError);
    expect(() => sqliteStore(":memory:", { table: "a b" })).toThrow(TempIDConfigError);
    expect(() => sqliteStore(":memory:", { timeoutMs: 0 })).toThrow(TempIDConfigError);
    expect(() => sqliteStore(":memory:", { purgeEvery: -1 })).toThrow(TempIDConfigError);
  });
});
