import { describe, expect, it } from "vitest";
import { REVOKED_COUNT, TempIDConfigError, TempIDStoreError } from "@tempid/core";
import { mongoStore } from "@tempid/core/mongodb";
import { describeStore } from "./conformance.js";
import { checkCorruptCounts } from "./corrupt-counts.js";
import { fakeMongoHarness, mongoHarness } from "../support/store-harnesses.js";
import { detectService } from "../support/services.js";
import { FakeMongoCollection } from "../support/fake-mongo.js";

// A live server, when one is reachable (never on these machines: skipped with the reason).
describeStore(mongoHarness(), await detectService("mongodb"));
// The adapter's logic against the documented semantics, on the fake collection.
describeStore(fakeMongoHarness());

describe("mongodb store: the documents it sends", () => {
  const now = 1_800_000_000_000;
  const nowSec = now / 1000;
  const exp = nowSec + 3600;

  it("consume: one updateOne with upsert, filtered on count < limit or expired, a pipeline that bumps or restarts", async () => {
    const c = new FakeMongoCollection();
    const store = mongoStore(c, { timeoutMs: 1234 });
    expect(await store.consume("k", 5, exp, now)).toBe(true);
    expect(c.calls.map((call) => call.method)).toEqual(["createIndex", "createIndex", "updateOne"]);
    expect(c.calls[0]!.args).toEqual([{ token_id: 1 }, { unique: true }]);
    expect(c.calls[1]!.args).toEqual([{ expire_at_date: 1 }, { expireAfterSeconds: 0 }]);
    const fresh = { $lte: [{ $ifNull: ["$expires_at", 0] }, nowSec] };
    expect(c.calls[2]!.args).toEqual([
      { token_id: "k", $or: [{ count: { $lt: 5 } }, { expires_at: { $lte: nowSec } }] },
      [
        {
          $set: {
            count: { $cond: [fresh, 1, { $cond: [{ $lt: ["$count", 0] }, "$count", { $add: ["$count", 1] }] }] },
            expires_at: { $cond: [fresh, exp, "$expires_at"] },
            expire_at_date: { $cond: [fresh, new Date(exp * 1000), "$expire_at_date"] },
          },
        },
      ],
      { upsert: true, maxTimeMS: 1234 },
    ]);
    expect(c.docs.get("k")).toEqual({ token_id: "k", count: 1, expires_at: exp, expire_at_date: new Date(exp * 1000) });
  });

  it("used: a findOne by token_id, read-only; revoke: an upsert setting REVOKED_COUNT", async () => {
    const c = new FakeMongoCollection();
    const store = mongoStore(c, { autoMigrate: false });
    expect(await store.used("k", now)).toBe(0);
    expect(c.calls).toEqual([
      { method: "findOne", args: [{ token_id: "k" }, { projection: { _id: 0, count: 1, expires_at: 1 }, maxTimeMS: 5000 }] },
    ]);
    await store.revoke("k", exp, now);
    expect(c.calls[1]).toEqual({
      method: "updateOne",
      args: [
        { token_id: "k" },
        { $set: { count: REVOKED_COUNT, expires_at: exp, expire_at_date: new Date(exp * 1000) } },
        { upsert: true, maxTimeMS: 5000 },
      ],
    });
    expect(await store.consume("k", 5, exp, now)).toBe(false);
  });

  it("a refusal is the upsert's E11000: asked once more, and the second answer is final", async () => {
    const c = new FakeMongoCollection();
    const store = mongoStore(c, { autoMigrate: false });
    expect(await store.consume("k", 1, exp, now)).toBe(true);
    c.calls.length = 0;
    expect(await store.consume("k", 1, exp, now)).toBe(false);
    expect(c.calls.map((call) => call.method)).toEqual(["updateOne", "updateOne"]);
    expect(c.duplicateKeyErrors).toBe(2);
  });

  it("concurrent first uses collide on insert (E11000) and are retried: exactly maxUses granted", async () => {
    const c = new FakeMongoCollection();
    const store = mongoStore(c, { autoMigrate: false });
    const results = await Promise.all(Array.from({ length: 200 }, () => store.consume("k", 150, exp, now)));
    expect(results.filter(Boolean).length).toBe(150);
    expect(c.docs.get("k")?.["count"]).toBe(150);
    expect(c.duplicateKeyErrors).toBeGreaterThan(0);
  });

  it("a Python document (no Date field) is read, counted and restarted after expiry", async () => {
    const c = new FakeMongoCollection();
    c.docs.set("py", { token_id: "py", count: 1, expires_at: exp });
    const store = mongoStore(c, { autoMigrate: false });
    expect(await store.used("py", now)).toBe(1);
    expect(await store.consume("py", 2, exp, now)).toBe(true);
    expect(c.docs.get("py")).toEqual({ token_id: "py", count: 2, expires_at: exp });
    expect(await store.consume("py", 2, exp + 60, (exp + 1) * 1000)).toBe(true);
    expect(c.docs.get("py")).toEqual({ token_id: "py", count: 1, expires_at: exp + 60, expire_at_date: new Date((exp + 60) * 1000) });
    expect(await store.purgeExpired((exp + 61) * 1000)).toBe(1);
    expect(c.calls.at(-1)).toEqual({ method: "deleteMany", args: [{ expires_at: { $lte: exp + 61 } }, { maxTimeMS: 5000 }] });
  });

  it("driver failures and hangs become TempIDStoreError (cause kept), never a grant, and are not retried", async () => {
    const c = new FakeMongoCollection();
    const store = mongoStore(c, { autoMigrate: false, timeoutMs: 200 });
    const cause = Object.assign(new Error("not primary"), { code: 10107 });
    c.failWith = cause;
    const err = await store.consume("k", 5, exp, now).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TempIDStoreError);
    expect((err as Error).cause).toBe(cause);
    expect(c.calls.filter((call) => call.method === "updateOne").length).toBe(1);
    c.failWith = undefined;
    c.hang = true;
    await expect(store.consume("k", 5, exp, now)).rejects.toThrow(/timed out after 200 ms/);
    expect(c.calls.filter((call) => call.method === "updateOne").length).toBe(2);
  });

  it("a negative count (a document written by hand or by a faulty service) is refused with its value, never granted", async () => {
    const c = new FakeMongoCollection();
    const store = mongoStore(c, { autoMigrate: false });
    await checkCorruptCounts(
      store,
      {
        async write(key, count, expiresAt) {
          c.docs.set(key, { token_id: key, count, expires_at: expiresAt });
        },
        async read(key) {
          const doc = c.docs.get(key);
          return doc === undefined ? null : { count: doc["count"] as number, expiresAt: doc["expires_at"] as number };
        },
      },
      /the store's collection/,
    );
    // From a Db, the error names the collection.
    const named = new FakeMongoCollection();
    named.docs.set("k", { token_id: "k", count: -2, expires_at: exp });
    const fromDb = mongoStore({ collection: () => named }, { autoMigrate: false, collection: "app_uses" });
    await expect(fromDb.consume("k", 3, exp, now)).rejects.toThrow(/collection app_uses holds a negative count \(-2\)/);
    expect(named.docs.get("k")).toEqual({ token_id: "k", count: -2, expires_at: exp });
  });

  it("close() while the first call is still creating indexes: nothing is sent once close() has begun, later calls reject", async () => {
    const c = new FakeMongoCollection();
    let closed = false;
    const client = { db: () => ({ collection: () => c }), close: async () => void (closed = true) };
    const store = mongoStore(client, { closeClient: true });
    const inFlight = Promise.allSettled([store.consume("k", 1, exp, now), store.used("k", now), store.revoke("r", exp, now)]);
    const sentBeforeClose = c.calls.length;
    await store.close();
    expect(closed).toBe(true);
    for (const outcome of await inFlight) {
      if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(TempIDStoreError);
    }
    // Only the first createIndex had been sent; with an older driver anything later would reconnect the client.
    expect(c.calls.length).toBe(sentBeforeClose);
    for (const call of [() => store.consume("k", 1, exp, now), () => store.used("k", now), () => store.purgeExpired(now), () => store.migrate()]) {
      await expect(call()).rejects.toThrow("this store is closed");
    }
    expect(c.calls.length).toBe(sentBeforeClose);
  });

  it("takes a Collection, a Db (collection `uses`) or a MongoClient (database `tempid`), and checks names", async () => {
    const c = new FakeMongoCollection();
    const asked: string[] = [];
    const db = { collection: (name: string) => (asked.push(`collection:${name}`), c) };
    const client = { db: (name?: string) => (asked.push(`db:${name}`), db) };
    mongoStore(db);
    mongoStore(client);
    mongoStore(client, { database: "app", collection: "tempid_uses" });
    expect(asked).toEqual(["collection:uses", "db:tempid", "collection:uses", "db:app", "collection:tempid_uses"]);
    expect(() => mongoStore(db, { collection: "$bad" })).toThrow(TempIDConfigError);
    expect(() => mongoStore({} as never)).toThrow(TempIDConfigError);
  });
});
