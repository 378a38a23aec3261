/**
 * The default store is shared by the instances of a realm given no store. A store drops the counters its
 * caller's clock says have expired, so instances on different clocks must not share one: an instance on a
 * fixed clock (tests) or a clock set ahead would otherwise drop, and so re-grant, the others' spent tokens.
 */
import { describe, expect, it } from "vitest";
import { configure, createTempID, TempID } from "@tempid/core";

const SECRET = "default-store-secret-0123456789abcdef0123";
const OTHER = "another-secret-0123456789abcdef0123456789ab";
const DAY = 86_400_000;

/** A few store calls from an instance, enough for the store's rolling sweep to reach every counter. */
async function traffic(t: ReturnType<typeof createTempID>): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const tid = await t.new("1h", { maxUses: 1 });
    await tid.use();
    await tid.use();
  }
}

describe("the default store and clocks", () => {
  it("an instance on a clock set ahead does not drop the counts of instances on Date.now", async () => {
    const app = createTempID({ secret: SECRET });
    const tid = await app.new("15m", { maxUses: 1 });
    expect(await tid.use()).toBe(true);
    await traffic(createTempID({ secret: OTHER, clock: () => Date.now() + DAY }));
    expect(await tid.use()).toBe(false);
    expect(await (await createTempID({ secret: SECRET }).fromString(String(tid))).use()).toBe(false);
  });

  it("an instance on a fixed clock keeps its counts while instances on Date.now run", async () => {
    const fixed = createTempID({ secret: SECRET, clock: () => Date.UTC(2024, 0, 1) });
    const tid = await fixed.new("15m", { maxUses: 1 });
    expect(await tid.use()).toBe(true);
    await traffic(createTempID({ secret: OTHER }));
    expect(await tid.use()).toBe(false);
  });

  it("instances on the same clock still count the same uses", async () => {
    const clock = () => Date.UTC(2025, 5, 1);
    const token = String(await createTempID({ secret: SECRET, clock }).new("10m", { maxUses: 1 }));
    expect(await (await createTempID({ secret: SECRET, clock }).fromString(token)).use()).toBe(true);
    expect(await (await createTempID({ secret: SECRET, clock }).fromString(token)).use()).toBe(false);
    const now = String(await createTempID({ secret: SECRET, clock: Date.now }).new("10m", { maxUses: 1 }));
    expect(await (await createTempID({ secret: SECRET }).fromString(now)).use()).toBe(true);
    expect(await (await createTempID({ secret: SECRET, clock: Date.now }).fromString(now)).use()).toBe(false);
  });

  it("configure() with another clock does not carry the default store's handle onto it", async () => {
    configure({ secret: SECRET });
    const tid = await TempID.new("15m", { maxUses: 1 });
    expect(await tid.use()).toBe(true);
    configure({ clockTolerance: 5 });
    expect(await (await TempID.fromString(String(tid))).use()).toBe(false); // same clock: same counts
    configure({ clock: () => Date.now() + DAY });
    for (let i = 0; i < 3; i++) await (await TempID.new("1h", { maxUses: 1 })).use();
    expect(await (await createTempID({ secret: SECRET }).fromString(String(tid))).use()).toBe(false);
  });

  it("purgeExpired() without a time goes by the instance's clock, not Date.now", async () => {
    let now = Date.UTC(2024, 0, 1);
    const t = createTempID({ secret: SECRET, clock: () => now });
    const tid = await t.new("15m", { maxUses: 1 });
    expect(await tid.use()).toBe(true);
    const store = t.store as import("@tempid/core").MemoryStore;
    expect(await store.purgeExpired()).toBe(0);
    expect(await tid.use()).toBe(false);
    now += 30 * 60_000; // past the token's expiry plus the 10-minute grace
    expect(await store.purgeExpired()).toBe(1);
  });
});
