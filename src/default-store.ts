import type { MemoryStore } from "./memory-store.js";
import { onDemand } from "./on-demand.js";
import type { UseStore } from "./store.js";

const memoryStore = onDemand("the default store (memory-store.js)", () => import("./memory-store.js"));

/** The default store: what a MemoryStore offers, the class itself loaded on first use. */
export type DefaultStore = UseStore & Pick<MemoryStore, "purgeExpired" | "size">;

/**
 * An instance's store when none is given: its own MemoryStore, made (and its module loaded) on the first
 * call, so code that never counts uses never carries the store. Once made, every call goes straight to it
 * (a use counts at once, as with a MemoryStore of your own); before, calls wait for the one load and reach
 * the store in the order they were made.
 */
export function defaultStore(): DefaultStore {
  let store: MemoryStore | undefined;
  const call = <T>(f: (s: MemoryStore) => Promise<T>): Promise<T> =>
    store ? f(store) : memoryStore().then((m) => f((store ??= new m.MemoryStore())));
  return {
    consume: (key, limit, expiresAtSec, nowMs) => call((s) => s.consume(key, limit, expiresAtSec, nowMs)),
    used: (key, nowMs) => call((s) => s.used(key, nowMs)),
    revoke: (key, expiresAtSec, nowMs) => call((s) => s.revoke(key, expiresAtSec, nowMs)),
    close: () => call((s) => s.close()),
    purgeExpired: (nowMs?: number) => call((s) => s.purgeExpired(nowMs)),
    get size() {
      return store?.size ?? 0;
    },
  };
}
