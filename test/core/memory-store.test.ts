import { describe, expect, it } from "vitest";
import { MemoryStore, REVOKED_COUNT } from "@tempid/core";

describe("MemoryStore reclaims expired counters without scanning", () => {
  it("stays bounded under a long run of short-lived tokens", async () => {
    const store = new MemoryStore();
    let now = 1_800_000_000_000;
    let peak = 0;
    // 200,000 tokens, each living 10 s, one new token every 1 ms: about 10,000 alive at any time.
    for (let i = 0; i < 200_000; i++) {
      now += 1;
      await store.consume(`k${i}`, 1, Math.ceil((now + 10_000) / 1000), now);
      peak = Math.max(peak, store.size);
    }
    // Live entries are ~10,000; the rolling sweep keeps expired ones within a small factor of that.
    expect(peak).toBeLessThan(25_000);
    expect(peak).toBeGreaterThan(9_000);
  });

  it("an expired counter reads as absent and a consume starts it afresh", async () => {
    const store = new MemoryStore();
    const now = 1_800_000_000_000;
    expect(await store.consume("a", 1, 1_800_000_010, now)).toBe(true);
    expect(await store.consume("a", 1, 1_800_000_010, now)).toBe(false);
    expect(await store.used("a", now + 10_000)).toBe(0);
    expect(await store.consume("a", 1, 1_800_000_030, now + 10_000)).toBe(true);
  });

  it("revoke sets the sentinel count, refused by every later consume", async () => {
    const store = new MemoryStore();
    const now = 1_800_000_000_000;
    await store.revoke("r", 1_800_000_100, now);
    expect(await store.used("r", now)).toBe(REVOKED_COUNT);
    expect(await store.consume("r", REVOKED_COUNT - 1, 1_800_000_100, now)).toBe(false);
    expect(await store.purgeExpired(now + 200_000)).toBe(1);
    expect(store.size).toBe(0);
  });
});

describe("MemoryStore after close()", () => {
  it("refuses every call instead of granting a spent token again", async () => {
    const store = new MemoryStore();
    const now = 1_800_000_000_000;
    expect(await store.consume("spent", 1, 1_800_000_100, now)).toBe(true);
    await store.close();
    await expect(store.consume("spent", 1, 1_800_000_100, now)).rejects.toMatchObject({ code: "ERR_TEMPID_STORE", message: "this store is closed" });
    await expect(store.used("spent", now)).rejects.toMatchObject({ code: "ERR_TEMPID_STORE" });
    await expect(store.revoke("spent", 1_800_000_100, now)).rejects.toMatchObject({ code: "ERR_TEMPID_STORE" });
    expect(store.size).toBe(0);
    await store.close(); // closing twice is harmless
  });

  it("a token on a closed store: use() rejects with TempIDStoreError, never grants", async () => {
    const { createTempID } = await import("@tempid/core");
    const store = new MemoryStore();
    const tempid = createTempID({ secret: "k".repeat(32), store });
    const tid = await tempid.new("10m", { maxUses: 1 });
    expect(await tid.use()).toBe(true);
    await store.close();
    await expect(tid.use()).rejects.toMatchObject({ code: "ERR_TEMPID_STORE" });
    expect(await tempid.verify(tid.toString())).not.toBeNull(); // verify without checkUses needs no store
    await expect(tempid.verify(tid.toString(), { checkUses: true })).rejects.toMatchObject({ code: "ERR_TEMPID_STORE" });
  });
});
