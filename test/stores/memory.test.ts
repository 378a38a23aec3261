import { describe, expect, it } from "vitest";
import { MemoryStore, TempIDStoreError } from "@tempid/core";
import { describeStore } from "./conformance.js";
import { memoryHarness } from "../support/store-harnesses.js";

describeStore(memoryHarness());

describe("MemoryStore after close(): every call rejects, purgeExpired() included", () => {
  it("purgeExpired() on a closed store rejects with TempIDStoreError, as consume, used and revoke do", async () => {
    const store = new MemoryStore();
    const now = 1_800_000_000_000;
    expect(await store.consume("k", 1, 1_800_000_100, now)).toBe(true);
    await store.close();
    await expect(store.purgeExpired(now)).rejects.toBeInstanceOf(TempIDStoreError);
    await expect(store.purgeExpired()).rejects.toMatchObject({ message: "this store is closed" });
    await expect(store.consume("k", 1, 1_800_000_100, now)).rejects.toBeInstanceOf(TempIDStoreError);
  });
});
