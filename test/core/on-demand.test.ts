/**
 * The core's on-demand modules (src/python-v2.ts, compress.ts, node-engine.ts, memory-store.ts via
 * default-store.ts, uses.ts) are loaded with import() the first time a call needs them. Each test starts
 * from a fresh module graph, so the calls below are the very first ones, made all at once: they must share
 * one load (one default MemoryStore, not one per call) and behave exactly as later calls do.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";

const SECRET = "on-demand-secret-0123456789abcdef0123456789";
type Core = typeof import("@tempid/core");

let core: Core;
beforeEach(async () => {
  vi.resetModules();
  core = await import("@tempid/core");
});

describe("first calls, all at once", () => {
  it("the default store: 40 concurrent first use() calls of a maxUses 5 token grant exactly 5", async () => {
    const t = core.createTempID({ secret: SECRET });
    const tid = await t.new("10m", { maxUses: 5 });
    const granted = await Promise.all(Array.from({ length: 40 }, () => tid.use()));
    expect(granted.filter(Boolean)).toHaveLength(5);
    expect(await tid.usesInfo()).toEqual({ total: 5, used: 5, left: 0 });
    // The same token read back on the same instance counts in the same (one) default store.
    const again = await t.verify(tid.toString(), { checkUses: true });
    expect(again).toBeNull();
  });

  it("the V2 format: 30 concurrent first mints, each verified by a fresh instance's concurrent first reads", async () => {
    const minter = core.createTempID({ secret: SECRET, format: "v2", accept: ["v2"] });
    const minted = await Promise.all(Array.from({ length: 30 }, (_, i) => minter.new("10m", { payload: { i } })));
    expect(minted.every((m) => m.toString().startsWith("TEMP-V2."))).toBe(true);
    vi.resetModules();
    const fresh = (await import("@tempid/core")) as Core;
    const reader = fresh.createTempID({ secret: SECRET, format: "v2", accept: ["v2"] });
    const read = await Promise.all(minted.map((m) => reader.verify(m.toString())));
    expect(read.map((r) => (r?.payload as { i: number } | undefined)?.i)).toEqual(minted.map((_, i) => i));
  });

  it("compression: concurrent first mints of payloads over 48 bytes come back whole", async () => {
    const t = core.createTempID({ secret: SECRET });
    const payload = { note: "x".repeat(200), list: Array.from({ length: 20 }, (_, i) => i) };
    const minted = await Promise.all(Array.from({ length: 10 }, () => t.new("10m", { payload })));
    // 200 repeated characters deflate well: the token is far shorter than the JSON it carries.
    expect(minted[0]!.toString().length).toBeLessThan(JSON.stringify(payload).length);
    const read = await Promise.all(minted.map((m) => t.verify(m.toString())));
    for (const r of read) expect(r?.payload).toEqual(payload);
  });

  it("the engine: concurrent first calls of instances on both engines agree", async () => {
    const native = core.createTempID({ secret: SECRET });
    const portable = core.createTempID({ secret: SECRET, crypto: "webcrypto" });
    expect(native.cryptoEngine).toBe("node");
    expect(portable.cryptoEngine).toBe("webcrypto");
    const [a, b] = await Promise.all([native.new("10m", { payload: { n: 1 } }), portable.new("10m", { payload: { n: 2 } })]);
    const [fromA, fromB] = await Promise.all([portable.verify(a.toString()), native.verify(b.toString())]);
    expect(fromA?.payload).toEqual({ n: 1 });
    expect(fromB?.payload).toEqual({ n: 2 });
  });

  it("a store's failure on the first use() is a TempIDStoreError, never a grant", async () => {
    const failing = {
      consume: async () => {
        throw new Error("down");
      },
      used: async () => 0,
      revoke: async () => {},
      close: async () => {},
    };
    const t = core.createTempID({ secret: SECRET, store: failing });
    const tid = await t.new("10m", { maxUses: 1 });
    await expect(tid.use()).rejects.toThrow(core.TempIDStoreError);
    await expect(tid.use()).rejects.toThrow(/^use\(\) failed: Error: down$/);
  });
});
