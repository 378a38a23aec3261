import type { MemoryStore } from "./memory-store.js";
import { TempIDStoreError } from "./errors.js";
import { onDemand } from "./on-demand.js";
import type { UseStore } from "./store.js";

const memoryStore = onDemand("the default store (memory-store.js)", () => import("./memory-store.js"));

/** The default store: what a MemoryStore offers, the class itself loaded on first use. */
export type DefaultStore = UseStore & Pick<MemoryStore, "purgeExpired" | "size">;

/**
 * Where the realm keeps them: on globalThis under a registered symbol, so that two copies of the package in
 * one process (its ESM and CJS builds, loaded by import and by require) count in the same store; a module's
 * own map would give each copy its counts, and a single-use token one use per copy.
 */
const REGISTRY = Symbol.for("tempid.defaultStores");

/**
 * The MemoryStore behind the default stores of this realm (process, isolate, tab) that read the same clock,
 * made on first use. One per clock: a store drops the counters its callers' clock says have expired, so an
 * instance on another clock (a fixed one in tests, one set ahead) would drop the others' counts of live tokens.
 */
const shared: WeakMap<() => number, MemoryStore> = ((globalThis as { [REGISTRY]?: WeakMap<() => number, MemoryStore> })[REGISTRY] ??= new WeakMap());

/**
 * An instance's store when none is given: a handle on the realm's MemoryStore for its clock (`Date.now`
 * unless one is given), so instances made per request (or remade to rotate secrets) count the same uses, as
 * the Python package's default backend does per process. Counters are keyed by token id (the Python layout,
 * as in every shared store), and ids are random (V3) or carry a nonce (V2): tokens minted by `new()` never
 * share a counter, whatever the secret, though whoever holds one of the secrets could craft a token with
 * another's id. The store is made (and its module loaded) on the first call, so code that never counts
 * uses never carries it. Once made, every call goes straight to it (a use counts at once, as with a
 * MemoryStore of your own); before, calls wait for the one load and reach the store in the order they were
 * made. `close()` closes this handle only: the other instances' counts stay.
 */
export function defaultStore(clock: () => number): DefaultStore {
  let closed = false;
  const call = <T>(f: (s: MemoryStore) => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new TempIDStoreError("this store is closed"));
    const store = shared.get(clock);
    return store ? f(store) : memoryStore().then((m) => f(shared.get(clock) ?? shared.set(clock, new m.MemoryStore()).get(clock)!));
  };
  return {
    consume: (key, limit, expiresAtSec, nowMs) => call((s) => s.consume(key, limit, expiresAtSec, nowMs)),
    used: (key, nowMs) => call((s) => s.used(key, nowMs)),
    revoke: (key, expiresAtSec, nowMs) => call((s) => s.revoke(key, expiresAtSec, nowMs)),
    close: async () => {
      closed = true;
    },
    // By the instance's clock, as every other call: Date.now would drop the live counters of a clock behind it.
    purgeExpired: (nowMs = clock()) => call((s) => s.purgeExpired(nowMs)),
    get size() {
      return shared.get(clock)?.size ?? 0;
    },
  };
}
