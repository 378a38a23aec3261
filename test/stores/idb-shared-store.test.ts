/**
 * The IndexedDB store's sweep and purgeExpired() delete only entries exactly as the store writes them (a
 * string key; a value with just `count`, an integer 1..REVOKED_COUNT, and `expiresAt`, an integer).
 * Found by the breaker: any entry whose value had a numeric `expiresAt` at or below now was deleted,
 * whatever its key or other fields, so an app sharing the object store lost its own records.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore, get, keys, set } from "idb-keyval";
import { REVOKED_COUNT, createTempID } from "@tempid/core";
import { idbStore } from "@tempid/core/idb";
import { installFakeIndexedDB } from "../support/idb-harness.js";
import { uniqueName } from "../support/services.js";

let restore: (() => void) | undefined;
beforeAll(() => {
  restore = installFakeIndexedDB();
});
afterAll(() => {
  restore?.();
});

const SECRET = "idb-shared-store-test-secret-0123456789abc";
const nowSec = () => Math.floor(Date.now() / 1000);

describe("idb store: an object store shared with the app", () => {
  it("purgeExpired() leaves the app's own records (the breaker's repro)", async () => {
    const kv = createStore(uniqueName("app"), "data");
    await set("draft:1", { title: "my draft", expiresAt: nowSec() - 1 }, kv);
    await set(42, { expiresAt: 0, note: "number key" }, kv);
    await set(["a", 1], { expiresAt: 5 }, kv);
    const store = idbStore({ store: kv });
    expect(await store.purgeExpired()).toBe(0);
    expect(await keys(kv)).toHaveLength(3);
    await store.close();
  });

  it("the background sweep leaves them too (purgeEvery: 1)", async () => {
    const kv = createStore(uniqueName("app"), "data");
    await set("cache:user", { name: "bob", expiresAt: nowSec() - 60 }, kv);
    const store = idbStore({ store: kv, purgeEvery: 1 });
    const tempid = createTempID({ secret: SECRET, store });
    expect(await (await tempid.new("1h", { maxUses: 2 })).use()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await keys(kv)).toContain("cache:user");
    await store.close();
  });

  it("only exact expired counters go: near shapes, other key types and live counters stay", async () => {
    const kv = createStore(uniqueName("app"), "data");
    const past = nowSec() - 100;
    const future = nowSec() + 3600;
    // What the store writes, expired: deleted.
    const ours: [string, unknown][] = [
      ["c-1", { count: 1, expiresAt: past }],
      ["c-revoked", { count: REVOKED_COUNT, expiresAt: past }],
      ["c-expires-first", { expiresAt: past, count: 7 }],
    ];
    // Not what the store writes: kept, expired or not.
    const theirs: [IDBValidKey, unknown][] = [
      ["extra-field", { count: 1, expiresAt: past, owner: "app" }],
      ["no-count", { expiresAt: past }],
      ["count-zero", { count: 0, expiresAt: past }],
      ["count-negative", { count: -1, expiresAt: past }],
      ["count-above-revoked", { count: REVOKED_COUNT + 1, expiresAt: past }],
      ["count-fraction", { count: 1.5, expiresAt: past }],
      ["count-string", { count: "1", expiresAt: past }],
      ["expires-fraction", { count: 1, expiresAt: past + 0.5 }],
      ["expires-string", { count: 1, expiresAt: String(past) }],
      ["array", [1, past]],
      ["string", "expiresAt"],
      [7, { count: 1, expiresAt: past }],
      [new Date(0), { count: 1, expiresAt: past }],
      [["c", 1], { count: 1, expiresAt: past }],
    ];
    for (const [key, value] of [...ours, ...theirs]) await set(key, value, kv);
    await set("c-live", { count: 2, expiresAt: future }, kv);
    const store = idbStore({ store: kv, purgeBatch: 4 });
    expect(await store.purgeExpired()).toBe(ours.length);
    for (const [key] of ours) expect(await get(key, kv)).toBeUndefined();
    for (const [key, value] of theirs) expect(await get(key, kv)).toEqual(value);
    expect(await get("c-live", kv)).toEqual({ count: 2, expiresAt: future });
    expect(await store.purgeExpired()).toBe(0);
    await store.close();
  });
});
