/**
 * The core's on-demand modules (src/python-v2.ts, compress.ts, node-engine.ts, memory-store.ts via
 * default-store.ts, uses.ts) are loaded with import() the first time a call needs them. Each test starts
 * from a fresh module graph, so the calls below are the very first ones, made all at once: they must share
 * one load (one default MemoryStore, not one per call) and behave exactly as later calls do.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";

const SECRET = "on-demand-secret-0123456789abcdef0123456789";
type Core = typeof import("@tempid/core");

/** A MemoryStore of the freshly imported core that records the order its counting calls arrive in. */
function recordingStore(lib: Core) {
  const inner = new lib.MemoryStore();
  const calls: string[] = [];
  const store = {
    consume: (...a: Parameters<typeof inner.consume>) => (calls.push("consume"), inner.consume(...a)),
    used: (...a: Parameters<typeof inner.used>) => (calls.push("used"), inner.used(...a)),
    revoke: (...a: Parameters<typeof inner.revoke>) => (calls.push("revoke"), inner.revoke(...a)),
    close: () => inner.close(),
  };
  return { store, calls };
}

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

describe("calls reach the store in the order they were made", () => {
  /** A store that records the order of the calls it receives, and counts like a MemoryStore. */
  function recordingStore(core: Core) {
    const inner = new core.MemoryStore();
    const calls: string[] = [];
    const store = {
      consume: (...a: Parameters<typeof inner.consume>) => (calls.push("consume"), inner.consume(...a)),
      used: (...a: Parameters<typeof inner.used>) => (calls.push("used"), inner.used(...a)),
      revoke: (...a: Parameters<typeof inner.revoke>) => (calls.push("revoke"), inner.revoke(...a)),
      close: () => inner.close(),
    };
    return { store, calls };
  }

  for (const warm of [false, true]) {
    const when = warm ? "once the store calls are loaded" : "on the very first calls";
    it(`revoke() then use(), not awaited in between: revoked first, the use refused (${when})`, async () => {
      const { store, calls } = recordingStore(core);
      const t = core.createTempID({ secret: SECRET, store });
      if (warm) await (await t.new("10m", { maxUses: 1 })).use();
      calls.length = 0;
      const tid = await t.new("10m", { maxUses: 5 });
      const revoked = tid.revoke();
      const used = tid.use();
      await revoked;
      expect(await used).toBe(false);
      expect(calls).toEqual(["revoke", "consume"]);
    });

    it(`usesInfo() then use(): the count read before the use (${when})`, async () => {
      const { store, calls } = recordingStore(core);
      const t = core.createTempID({ secret: SECRET, store });
      if (warm) await (await t.new("10m", { maxUses: 1 })).use();
      calls.length = 0;
      const tid = await t.new("10m", { maxUses: 5 });
      const info = tid.usesInfo();
      const used = tid.use();
      expect(await info).toEqual({ total: 5, used: 0, left: 5 });
      expect(await used).toBe(true);
      expect(calls).toEqual(["used", "consume"]);
    });

    it(`the default store: revoke() then use() refuses, use() then usesInfo() counts it (${when})`, async () => {
      const t = core.createTempID({ secret: SECRET });
      if (warm) await (await t.new("10m", { maxUses: 1 })).use();
      const a = await t.new("10m", { maxUses: 5 });
      const revoked = a.revoke();
      const usedA = a.use();
      await revoked;
      expect(await usedA).toBe(false);
      const b = await t.new("10m", { maxUses: 5 });
      const usedB = b.use();
      const info = b.usesInfo();
      expect(await usedB).toBe(true);
      expect(await info).toEqual({ total: 5, used: 1, left: 4 });
    });
  }
});

describe("a call made just as the store calls finish loading", () => {
  it("queues behind the calls already waiting for the load: revoke() made first is not overtaken by a later use()", async () => {
    // The load marks the module loaded one step before the calls that waited for it run. A call made in
    // that step (here: any of the use() calls below, made one microtask apart) must not go first.
    vi.resetModules();
    const actual = await vi.importActual<typeof import("../../src/uses.js")>("../../src/uses.js");
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    vi.doMock("../../src/uses.js", async () => {
      await gate;
      return actual;
    });
    try {
      const lib = (await import("@tempid/core")) as Core;
      const { store, calls } = recordingStore(lib);
      const t = lib.createTempID({ secret: SECRET, store });
      const tid = await t.new("10m", { maxUses: 5 });
      const revoked = tid.revoke();
      release();
      const uses: Promise<boolean>[] = [];
      for (let i = 0; i < 5000 && calls.length === 0; i++) {
        uses.push(tid.use());
        await Promise.resolve();
      }
      await revoked;
      expect(await Promise.all(uses)).not.toContain(true);
      expect(calls[0]).toBe("revoke");
      expect(new Set(calls.slice(1))).toEqual(new Set(["consume"]));
    } finally {
      vi.doUnmock("../../src/uses.js");
    }
  });
});

describe("store calls that fail to load", () => {
  it("refuse every waiting call (nothing granted), load again on the next, and then reach the store at once", async () => {
    vi.resetModules();
    vi.doMock("../../src/uses.js", () => {
      throw new Error("simulated: uses.js was not deployed");
    });
    try {
      const lib = (await import("@tempid/core")) as Core;
      const { store, calls } = recordingStore(lib);
      const t = lib.createTempID({ secret: SECRET, store });
      const tid = await t.new("10m", { maxUses: 1 });
      const results = await Promise.allSettled([tid.use(), tid.usesInfo(), tid.revoke(), t.verify(tid.toString(), { checkUses: true })]);
      for (const r of results) {
        expect(r.status).toBe("rejected");
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(lib.TempIDConfigError);
      }
      expect(calls).toEqual([]);
      vi.doUnmock("../../src/uses.js");
      expect(await tid.use()).toBe(true);
      // Loaded, and no call left waiting: the next use() reaches the store before it returns.
      const again = tid.use();
      expect(calls).toEqual(["consume", "consume"]);
      expect(await again).toBe(false);
    } finally {
      vi.doUnmock("../../src/uses.js");
    }
  });
});

describe("the default store", () => {
  it("offers what a MemoryStore does: size and purgeExpired() besides the UseStore calls", async () => {
    let now = Date.UTC(2026, 11, 4, 12);
    const t = core.createTempID({ secret: SECRET, clock: () => now });
    const store = t.store as import("@tempid/core").MemoryStore;
    expect(store.size).toBe(0);
    await (await t.new("1m", { maxUses: 2 })).use();
    await (await t.new("1h", { maxUses: 2 })).use();
    expect(store.size).toBe(2);
    now += 20 * 60_000; // past the 1-minute token's counter (its expiry plus the 10-minute grace)
    expect(await store.purgeExpired(now)).toBe(1);
    expect(store.size).toBe(1);
  });
});

describe("a module that fails to load", () => {
  it("is a TempIDConfigError naming it, and is loaded again by the next call", async () => {
    vi.resetModules();
    vi.doMock("../../src/python-v2.js", () => {
      throw new Error("simulated: the file was not deployed");
    });
    const lib = (await import("@tempid/core")) as Core;
    const t = lib.createTempID({ secret: SECRET, format: "v2", accept: ["v2"] });
    const failed = await t.new("10m").catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(lib.TempIDConfigError);
    // (vitest words the loader's error its own way; the loader's error is the cause, whatever it says)
    expect((failed as Error).message).toMatch(/^could not load the V2 format \(python-v2\.js\) \(.+\): every file of @tempid\/core must be deployed with the app$/);
    expect((failed as Error).cause).toBeInstanceOf(Error);
    // verify() throws it too: a missing file is not a bad token.
    await expect(t.verify("TEMP-V2.AAAAA.AAAAA")).rejects.toThrow(lib.TempIDConfigError);
    vi.doUnmock("../../src/python-v2.js");
    const tid = await t.new("10m", { payload: { ok: true } });
    expect((await t.verify(tid.toString()))?.payload).toEqual({ ok: true });
  });
});

