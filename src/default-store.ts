import type { MemoryStore } from "./memory-store.js";
import type { UseStore } from "./store.js";

let memoryStore: Promise<typeof import("./memory-store.js")> | undefined;

/**
 * An instance's store when none is given: its own MemoryStore, made (and its module loaded) on the first
 * call, so code that never counts uses never carries the store.
 */
export function defaultStore(): UseStore {
  let store: Promise<MemoryStore> | undefined;
  const get = () => (store ??= (memoryStore ??= import("./memory-store.js")).then((m) => new m.MemoryStore()));
  return {
    consume: async (key, limit, expiresAtSec, nowMs) => (await get()).consume(key, limit, expiresAtSec, nowMs),
    used: async (key, nowMs) => (await get()).used(key, nowMs),
    revoke: async (key, expiresAtSec, nowMs) => (await get()).revoke(key, expiresAtSec, nowMs),
    close: async () => (await get()).close(),
  };
}
