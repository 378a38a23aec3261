/**
 * The IndexedDB store (adapters/idb.ts) in Node, over fake-indexeddb: an in-memory IndexedDB that follows
 * the spec's transaction scheduling (overlapping readwrite transactions run one at a time, across
 * connections). It checks the adapter's logic and idb-keyval's one-transaction update, not a browser's
 * IndexedDB engine (test/stores/idb.test.ts also runs one in headless Chromium when it is installed).
 *
 * idb-keyval's createStore() reads the global `indexedDB` when it first opens a database, so the harness
 * installs a fresh fake factory as the global for the test file that uses it, and `restore()` puts back
 * what was there (vitest runs each test file in its own worker; nothing leaks to other files either way).
 * One namespace is one database; "reopening" opens another connection to it, as another tab would.
 */
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { createStore, type UseStore as KeyvalStore } from "idb-keyval";
import { idbStore } from "@tempid/core/idb";
import type { HarnessStore, RawCounter, StoreHarness } from "./store-harness.js";

const GLOBALS = ["indexedDB", "IDBKeyRange"] as const;

/** Makes a fresh fake IndexedDB the global one; the function returned restores the previous globals. */
export function installFakeIndexedDB(): () => void {
  const g = globalThis as Record<string, unknown>;
  const saved = GLOBALS.map((name) => [name, Object.getOwnPropertyDescriptor(g, name)] as const);
  const values: Record<(typeof GLOBALS)[number], unknown> = { indexedDB: new IDBFactory(), IDBKeyRange };
  for (const name of GLOBALS) Object.defineProperty(g, name, { value: values[name], configurable: true, writable: true });
  return () => {
    for (const [name, descriptor] of saved) {
      if (descriptor === undefined) delete g[name];
      else Object.defineProperty(g, name, descriptor);
    }
  };
}

/** The object store name the harness uses in every database. */
export const STORE_NAME = "uses";

/** Closes the connection behind an idb-keyval store (if it opened one). */
export async function closeKeyval(store: KeyvalStore): Promise<void> {
  const db = await store("readonly", (s) => s.transaction.db);
  db.close();
}

/** Deletes a database; resolves once deleted (every connection to it must be closed first). */
export function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error(`deleting ${name} is blocked by an open connection`));
  });
}

export function idbHarness(): StoreHarness & { keyval(ns: string): KeyvalStore } {
  // Each store opened gets its own connection (its own createStore), like a tab; the harness closes them.
  const connections = new Map<string, KeyvalStore[]>();
  const connect = (ns: string) => {
    const store = createStore(ns, STORE_NAME);
    const list = connections.get(ns) ?? [];
    list.push(store);
    connections.set(ns, list);
    return store;
  };
  let reader: Map<string, KeyvalStore> = new Map();
  const keyval = (ns: string) => {
    let store = reader.get(ns);
    if (store === undefined) reader.set(ns, (store = connect(ns)));
    return store;
  };
  const closeAll = async (ns: string) => {
    for (const store of connections.get(ns) ?? []) await closeKeyval(store).catch(() => undefined);
    connections.delete(ns);
    reader.delete(ns);
  };
  return {
    name: "idb (idb-keyval over fake-indexeddb)",
    persistent: true,
    keyval,
    async open(ns, options): Promise<HarnessStore> {
      return idbStore({ store: connect(ns), ...options });
    },
    async inspect(ns, key): Promise<RawCounter | null> {
      const value = await keyval(ns)("readonly", (s) => new Promise<unknown>((resolve, reject) => {
        const request = s.get(key);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      }));
      if (value === undefined) return null;
      const v = value as RawCounter;
      return { count: v.count, expiresAt: v.expiresAt };
    },
    async size(ns) {
      return keyval(ns)("readonly", (s) => new Promise<number>((resolve, reject) => {
        const request = s.count();
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      }));
    },
    async drop(ns) {
      await closeAll(ns);
      await deleteDatabase(ns);
    },
    async dispose() {
      for (const ns of [...connections.keys()]) await closeAll(ns);
      reader = new Map();
    },
  };
}
