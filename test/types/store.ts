// An instance's `store` has the type of the store it counts in: the default store's MemoryStore extras
// (`size`, `purgeExpired()`) without a cast, a given store as given.
import { createTempID, type DefaultStore, MemoryStore, parseDuration, type TempIDOptions, type UseStore } from "@tempid/core";
import { type Equal, expectType } from "./assert.js";

const secret = "type-test-secret-0123456789abcdef01";

export async function storeTypes(options: TempIDOptions) {
  const byDefault = createTempID({ secret });
  expectType<Equal<typeof byDefault.store, DefaultStore>>(true);
  const size: number = byDefault.store.size;
  await byDefault.store.purgeExpired();
  const none = createTempID();
  expectType<Equal<typeof none.store, DefaultStore>>(true);

  const memory = createTempID({ secret, store: new MemoryStore() });
  expectType<Equal<typeof memory.store, MemoryStore>>(true);

  // Options whose store may or may not be there: only the UseStore contract is known.
  const either = createTempID(options);
  expectType<Equal<typeof either.store, UseStore>>(true);
  // @ts-expect-error size is not part of the UseStore contract
  either.store.size;
  return size;
}

// A duration from a config file is a string: parseDuration checks it and gives seconds, a Duration.
export async function durationFromConfig(ttl: string) {
  const tempid = createTempID({ secret });
  // @ts-expect-error a string is not known to be a duration
  await tempid.new(ttl);
  const tid = await tempid.new(parseDuration(ttl));
  const tenMinutes = await tempid.new();
  return [tid, tenMinutes];
}
