import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { TempIDConfigError, TempIDStoreError } from "@tempid/core";
import { type SqliteDatabaseLike, sqliteStore } from "@tempid/core/sqlite";
import { describeStore } from "./conformance.js";
import { checkCorruptCounts, checkCountAboveRevoked } from "./corrupt-counts.js";
import { sqliteHarness } from "../support/store-harnesses.js";

describeStore(sqliteHarness());

/** The rejection of `call`, which must be a TempIDStoreError. */
async function storeError(call: Promise<unknown>): Promise<TempIDStoreError> {
  const err = await call.then(
    (value) => new Error(`resolved with ${String(value)}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TempIDStoreError);
  return err as TempIDStoreError;
}

// Found by a fresh-user test: with autoMigrate off, a use said only "no such table: tempid_uses".
describe("sqlite store: a missing table says how to create it", () => {
  const exp = Math.floor(Date.now() / 1000) + 3600;

  it("autoMigrate: false and no table: every call names the table and migrate(), keeping the driver's error as cause", async () => {
    const db = new Database(":memory:");
    const store = sqliteStore(db, { table: "absent_uses", autoMigrate: false });
    const hint = 'the table "absent_uses" does not exist: call store.migrate() once, or create it with the DDL in the README (autoMigrate is off)';
    const consume = await storeError(store.consume("k", 2, exp, Date.now()));
    expect(consume.message).toBe(`consume failed: SqliteError: no such table: absent_uses; ${hint}`);
    expect((consume.cause as Error).message).toBe("no such table: absent_uses");
    expect((await storeError(store.used("k", Date.now()))).message).toMatch(/^used failed: .*no such table.*; the table "absent_uses" does not exist: call store\.migrate\(\) once/);
    expect((await storeError(store.revoke("k", exp, Date.now()))).message).toContain(hint);
    expect((await storeError(store.purgeExpired())).message).toContain(hint);
    await store.migrate();
    expect(await store.consume("k", 2, exp, Date.now())).toBe(true);
    db.close();
  });

  it("autoMigrate on, the table dropped after the store created it: says so", async () => {
    const db = new Database(":memory:");
    const store = sqliteStore(db, { table: "dropped_uses" });
    expect(await store.consume("k", 2, exp, Date.now())).toBe(true);
    db.exec("DROP TABLE dropped_uses");
    expect((await storeError(store.consume("k", 2, exp, Date.now()))).message).toBe(
      'consume failed: SqliteError: no such table: dropped_uses; the table "dropped_uses" does not exist (dropped after this store created it?): call store.migrate() to create it again',
    );
    db.close();
  });

  it("other errors are left as they were", async () => {
    const db = new Database(":memory:");
    db.exec("CREATE TABLE odd_uses (token_id TEXT PRIMARY KEY)");
    const store = sqliteStore(db, { table: "odd_uses", autoMigrate: false });
    const err = await storeError(store.consume("k", 2, exp, Date.now()));
    expect(err.message).not.toContain("does not exist");
    expect(err.message).toMatch(/^consume failed: SqliteError: /);
    db.close();
  });
});

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

/** File descriptors this process holds on `path` (Linux: /proc/self/fd), or undefined where that cannot be read. */
function descriptorsOn(path: string): number | undefined {
  let fds: string[];
  try {
    fds = readdirSync("/proc/self/fd");
  } catch {
    return undefined;
  }
  return fds.filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

const settle = (p: Promise<unknown>) =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe("sqlite store: close() while the first call is still opening the database", () => {
  const dir = mkdtempSync(join(tmpdir(), "tempid-sqlite-close-"));
  const exp = Math.floor(Date.now() / 1000) + 3600;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Found by the breaker: the first call's migration and statement reopened the file after close() had
  // closed it, so a handle leaked and the in-flight use was granted by a closed store.
  it("a path: nothing reopens the file; calls in flight complete or reject; every later call rejects", async () => {
    const path = join(dir, "race.db");
    const store = sqliteStore(path);
    const now = Date.now();
    const inFlight = [store.consume("k", 2, exp, now), store.used("k", now), store.revoke("r", exp, now), store.migrate()].map(settle);
    await store.close();
    for (const outcome of await Promise.all(inFlight)) {
      if ("error" in outcome) expect(outcome.error).toBeInstanceOf(TempIDStoreError);
    }
    // Let any straggling continuation run, then look for an open handle: the WAL file only outlives the
    // last connection while one is open, and /proc lists the descriptors themselves.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(descriptorsOn(path) ?? 0).toBe(0);
    for (const call of [
      () => store.consume("k", 2, exp, now),
      () => store.used("k", now),
      () => store.revoke("k", exp, now),
      () => store.migrate(),
      () => store.purgeExpired(now),
    ]) {
      await expect(call()).rejects.toThrow(new TempIDStoreError("this store is closed"));
    }
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(descriptorsOn(path) ?? 0).toBe(0);
    await store.close(); // idempotent
  });

  it("a path whose open fails: close() resolves, and nothing is retried after it", async () => {
    const store = sqliteStore(join(dir, "no-such-dir", "x.db"));
    const inFlight = settle(store.consume("k", 1, exp, Date.now()));
    await store.close();
    const outcome = await inFlight;
    expect("error" in outcome && outcome.error).toBeInstanceOf(TempIDStoreError);
    await expect(store.used("k", Date.now())).rejects.toThrow("this store is closed");
    expect(existsSync(join(dir, "no-such-dir"))).toBe(false);
  });

  it("your handle: once close() resolves the store sends it nothing more, and leaves it open", async () => {
    const db = new Database(":memory:");
    let sent = 0;
    const counted: SqliteDatabaseLike = {
      prepare: (sql) => (sent++, db.prepare(sql)),
      exec: (sql) => (sent++, db.exec(sql)),
    };
    const store = sqliteStore(counted);
    const now = Date.now();
    const inFlight = [store.consume("k", 2, exp, now), store.used("k", now)].map(settle);
    await store.close();
    await Promise.all(inFlight);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = sent;
    await expect(store.consume("k", 2, exp, now)).rejects.toBeInstanceOf(TempIDStoreError);
    expect(sent).toBe(before);
    expect(db.open).toBe(true);
    db.close();
  });
});

// SQLite calls are synchronous: a statement blocked on another connection's write lock holds the event loop,
// so the deadline's timer cannot fire before the next statement of the same call is sent. The second
// statement of a consume must still see that the deadline passed during the first.
describe("sqlite store: the deadline passing during the first statement of a consume", () => {
  it("a first statement that waited past timeoutMs and granted nothing: no second statement, the call rejects, nothing counted", async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const db = new Database(":memory:");
    const sent: string[] = [];
    // The live statement (count + 1 only) waits 250 ms, as on a lock another process held that long.
    const slow: SqliteDatabaseLike = {
      prepare(sql) {
        const stmt = db.prepare(sql);
        const live = /SET count = u\.count \+ 1 WHERE/.test(sql);
        return {
          run: (...args: unknown[]) => (sent.push(sql), stmt.run(...args)),
          all: (...args: unknown[]) => {
            sent.push(sql);
            if (live) for (const until = Date.now() + 250; Date.now() < until; );
            return stmt.all(...args);
          },
        };
      },
      exec: (sql) => db.exec(sql),
    };
    const store = sqliteStore(slow, { timeoutMs: 100, purgeEvery: 0 });
    await store.migrate();
    const row = () => db.prepare("SELECT count, expires_at FROM tempid_uses WHERE token_id = ?").get("k");
    // An expired row (the full statement would restart it) and a row at the limit (it would refuse).
    db.prepare("INSERT INTO tempid_uses (token_id, count, expires_at) VALUES ('k', 9, ?)").run(exp - 7200);
    const started = Date.now();
    const err = await store.consume("k", 9, exp, Date.now()).then((granted) => new Error(`consume resolved ${String(granted)}`), (e: unknown) => e);
    expect(err).toBeInstanceOf(TempIDStoreError);
    expect((err as Error).message).toMatch(/timed out after 100 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(sent.length).toBe(1); // the live statement only
    expect(row()).toEqual({ count: 9, expires_at: exp - 7200 });
    // Without the wait, the same store restarts the row as usual.
    await store.close();
    const quick = sqliteStore(db, { purgeEvery: 0 });
    expect(await quick.consume("k", 9, exp, Date.now())).toBe(true);
    expect(row()).toEqual({ count: 1, expires_at: exp });
    await quick.close();
    db.close();
  });
});

describe("sqlite store: a negative count (corrupt row) is refused, never granted", () => {
  it("a count above REVOKED_COUNT reads as used up, as in every store that can hold one", async () => {
    const db = new Database(":memory:");
    const store = sqliteStore(db, { purgeEvery: 0 });
    await store.migrate();
    await checkCountAboveRevoked(store, {
      async write(key, count, expiresAt) {
        db.prepare("INSERT OR REPLACE INTO tempid_uses (token_id, count, expires_at) VALUES (?, ?, ?)").run(key, count, expiresAt);
      },
      async read(key) {
        const row = db.prepare("SELECT count, expires_at FROM tempid_uses WHERE token_id = ?").get(key) as { count: number; expires_at: number } | undefined;
        return row === undefined ? null : { count: row.count, expiresAt: row.expires_at };
      },
    });
    db.close();
  });

  it("consume and used reject naming the value; the row is left; expired ones restart; revoke overwrites", async () => {
    const db = new Database(":memory:");
    const store = sqliteStore(db, { purgeEvery: 0 });
    await store.migrate();
    await checkCorruptCounts(
      store,
      {
        async write(key, count, expiresAt) {
          db.prepare("INSERT OR REPLACE INTO tempid_uses (token_id, count, expires_at) VALUES (?, ?, ?)").run(key, count, expiresAt);
        },
        async read(key) {
          const row = db.prepare("SELECT count, expires_at FROM tempid_uses WHERE token_id = ?").get(key) as
            | { count: number; expires_at: number }
            | undefined;
          return row === undefined ? null : { count: row.count, expiresAt: row.expires_at };
        },
      },
      /table tempid_uses/,
    );
    await store.close();
    db.close();
  });
});
