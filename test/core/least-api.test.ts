/**
 * bench/least-api.ts is what the bundle benchmark weighs as "the least API that keeps the checks". A size
 * is only worth quoting for code that works: it must make and read the very tokens createTempID does.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createTempID, TempIDArgumentError, TempIDConfigError, TempIDPayloadError } from "@tempid/core";
import { createTempID as leastTempID } from "../../bench/least-api.js";

const SECRET = "least-api-secret-0123456789abcdef0123";
const OTHER = "another-secret-0123456789abcdef01234567";
const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);

describe("bench/least-api.ts, the bundle benchmark's least API", () => {
  for (const engine of ["auto", "webcrypto"] as const) {
    it(`mints tokens createTempID verifies and verifies createTempID's (${engine})`, async () => {
      const full = createTempID({ secret: SECRET, crypto: engine, clock: () => T0 });
      const least = leastTempID({ secret: SECRET, crypto: engine, clock: () => T0 });
      await fc.assert(
        fc.asyncProperty(
          fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string({ maxLength: 40 }), fc.boolean())), { nil: undefined }),
          fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          fc.option(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/[\ud800-\udfff]/.test(s)), { nil: undefined }),
          async (payload, maxUses, bind) => {
            const mine = await least.new("15m", { payload, maxUses, bind });
            const read = await full.verify(mine.token, { bind });
            expect(read?.id).toBe(mine.id);
            expect(read?.maxUses).toBe(maxUses);
            expect(read?.payload).toEqual(payload ?? null);
            expect(read?.expiresAt.getTime()).toBe(T0 + 15 * 60_000);
            const theirs = await full.new("15m", { payload, maxUses, bind });
            const back = await least.verify(theirs.toString(), { bind });
            expect(back?.id).toBe(theirs.id);
            expect(back?.token).toBe(theirs.toString());
            expect(back?.payload).toEqual(payload ?? null);
            expect(back?.maxUses).toBe(maxUses);
            // Bound to one value, refused for another (or for none).
            if (bind !== undefined) expect(await least.verify(theirs.toString(), { bind: `${bind}x` })).toBeNull();
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  it("reads a payload createTempID compressed (loaded on demand)", async () => {
    const full = createTempID({ secret: SECRET });
    const payload = { note: "a".repeat(300) };
    const theirs = await full.new("1h", { payload });
    expect(theirs.toString().length).toBeLessThan(200); // compressed: 300 bytes of JSON would be ~500 chars
    expect((await leastTempID({ secret: SECRET }).verify(theirs.toString()))?.payload).toEqual(payload);
  });

  it("refuses what createTempID refuses: expired, tampered, another secret or purpose, garbage", async () => {
    let now = T0;
    const least = leastTempID({ secret: [SECRET], clock: () => now, clockTolerance: "30s", purpose: "reset" });
    const tid = await least.new("1m");
    expect(String(tid)).toBe(tid.token);
    now = T0 + 60_000 + 29_999;
    expect((await least.verify(tid.token))?.id).toBe(tid.id);
    now = T0 + 60_000 + 30_000;
    expect(await least.verify(tid.token)).toBeNull();
    now = T0;
    const last = tid.token.at(-1) === "0" ? "1" : "0";
    expect(await least.verify(tid.token.slice(0, -1) + last)).toBeNull();
    expect(await leastTempID({ secret: OTHER, clock: () => now, purpose: "reset" }).verify(tid.token)).toBeNull();
    expect(await least.verify(tid.token, { purpose: "login" })).toBeNull();
    expect(await least.verify("this-is-not-a-real-token")).toBeNull();
    expect(await least.verify(42 as unknown as string)).toBeNull();
    // Rotation: an older secret still verifies.
    expect((await leastTempID({ secret: [OTHER, SECRET], clock: () => now, purpose: "reset" }).verify(tid.token))?.id).toBe(tid.id);
  });

  it("throws the same errors for bad options and arguments", async () => {
    expect(() => leastTempID({ secret: "short" })).toThrow(TempIDConfigError);
    expect(() => leastTempID({ secret: SECRET, secrt: 1 } as never)).toThrow(/unknown option "secrt"/);
    expect(() => leastTempID({} as never)).toThrow(TempIDConfigError);
    const least = leastTempID({ secret: SECRET });
    await expect(least.new("15m", { payload: { when: new Date() } as never })).rejects.toThrow(TempIDPayloadError);
    await expect(least.new("15m", { maxUses: -1 })).rejects.toThrow(TempIDArgumentError);
    await expect(least.new("15m", { bind: "" })).rejects.toThrow(TempIDArgumentError);
    await expect(least.new("soon" as never)).rejects.toThrow(/invalid duration/);
  });
});
