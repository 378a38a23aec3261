/**
 * The IndexedDB store grants a use, or reports a revocation done, only when the idb-keyval store it was
 * given really called back with an object store, the decision was made on what was read, and the
 * transaction committed. Found by the breaker: `idbStore({ store: createStore })` (the factory itself,
 * not `createStore("db", "store")`) granted every use() without counting it, because a consume granted
 * whenever idb-keyval's update() resolved, and calling the factory resolves with a new store function.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore, get, type UseStore as KeyvalStore } from "idb-keyval";
import { REVOKED_COUNT, TempIDConfigError, TempIDStoreError, createTempID } from "@tempid/core";
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

const SECRET = "idb-store-callable-test-secret-0123456789ab";
const now = Date.now();
const inAnHour = Math.floor(now / 1000) + 3600;
const FIX = 'pass createStore("db", "store"), not createStore';

async function rejection(call: Promise<unknown>): Promise<Error> {
  const err = await call.then(
    (value) => new Error(`resolved with ${String(value)}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TempIDStoreError);
  return err as Error;
}

describe("idb store: a store that does not call back is never a grant", () => {
  it("createStore itself is a TempIDConfigError at construction, saying what to pass", () => {
    expect(() => idbStore({ store: createStore as unknown as KeyvalStore })).toThrow(TempIDConfigError);
    expect(() => idbStore({ store: createStore as unknown as KeyvalStore })).toThrow(FIX);
    // Another copy of idb-keyval's createStore (a second bundle): recognised by its name.
    function createStoreCopy(db: string, name: string) {
      return createStore(db, name);
    }
    Object.defineProperty(createStoreCopy, "name", { value: "createStore" });
    expect(() => idbStore({ store: createStoreCopy as unknown as KeyvalStore })).toThrow(FIX);
  });

  it("the breaker's repro, with the factory under another name: use() rejects every time, never true; usesInfo() rejects", async () => {
    const factory = (db: string, name: string) => createStore(db, name);
    const tempid = createTempID({ secret: SECRET, store: idbStore({ store: factory as unknown as KeyvalStore }) });
    const tid = await tempid.new("1h", { maxUses: 1 });
    for (let i = 0; i < 5; i++) {
      const err = await rejection(tid.use());
      expect(err.message).toContain(FIX);
    }
    expect((await rejection(tid.usesInfo())).message).toContain(FIX);
  });

  it("every call of such a store fails naming the fix: consume, used, revoke, purgeExpired", async () => {
    const s = idbStore({ store: ((_db: string, _name: string) => () => undefined) as unknown as KeyvalStore, purgeEvery: 1 });
    for (const call of [
      () => s.consume("k", 5, inAnHour, now),
      () => s.used("k", now),
      () => s.revoke("k", inAnHour, now),
      () => s.purgeExpired(now),
    ]) {
      expect((await rejection(call())).message).toContain(`never called back with an object store, so nothing was read or written: ${FIX}`);
    }
    await s.close();
  });

  it("a store that calls back only after answering: the call fails, and the late callback writes nothing", async () => {
    const inner = createStore(uniqueName("idb-late"), "uses");
    const late: KeyvalStore = (mode, callback) => {
      setTimeout(() => void inner(mode, callback).catch(() => undefined), 10);
      return Promise.resolve(undefined as never);
    };
    const s = idbStore({ store: late });
    await rejection(s.consume("k", 5, inAnHour, now));
    await rejection(s.revoke("r", inAnHour, now));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await get("k", inner)).toBeUndefined();
    expect(await get("r", inner)).toBeUndefined();
  });

  it("a store that calls back but does not wait for the callback: grants still come after the commit, exactly the limit", async () => {
    const inner = createStore(uniqueName("idb-nowait"), "uses");
    const hasty: KeyvalStore = (mode, callback) => {
      let called!: () => void;
      const calledBack = new Promise<void>((resolve) => (called = resolve));
      void inner(mode, (objectStore) => {
        called();
        return callback(objectStore);
      }).catch(() => undefined);
      return calledBack as Promise<never>;
    };
    const s = idbStore({ store: hasty });
    const results = await Promise.all(Array.from({ length: 20 }, () => s.consume("k", 3, inAnHour, now)));
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(await get("k", inner)).toEqual({ count: 3, expiresAt: inAnHour });
    await s.revoke("k", inAnHour, now);
    expect(await get("k", inner)).toEqual({ count: REVOKED_COUNT, expiresAt: inAnHour });
  });

  it("a transaction that aborts after the put: TempIDStoreError, nothing granted or stored; a revoke that aborts is not reported done", async () => {
    const inner = createStore(uniqueName("idb-abort"), "uses");
    // Each put is issued, then its transaction aborted (as a quota error or a closing tab would).
    const aborting: KeyvalStore = (mode, callback) =>
      inner(mode, (objectStore) =>
        callback(
          new Proxy(objectStore, {
            get(target, prop) {
              const value = Reflect.get(target, prop, target) as unknown;
              if (prop === "put") {
                return (...args: [unknown, IDBValidKey]) => {
                  const request = target.put(...args);
                  target.transaction.abort();
                  return request;
                };
              }
              return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
            },
          }),
        ),
      );
    const s = idbStore({ store: aborting, purgeEvery: 0 });
    await rejection(s.consume("k", 5, inAnHour, now));
    await rejection(s.revoke("r", inAnHour, now));
    expect(await get("k", inner)).toBeUndefined();
    expect(await get("r", inner)).toBeUndefined();
    // The same store without the abort counts (the proxy itself changes nothing else).
    expect(await idbStore({ store: inner }).consume("k", 5, inAnHour, now)).toBe(true);
  });
});
