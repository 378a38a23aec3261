import { inspect } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  configure,
  createTempID,
  MemoryStore,
  TempID,
  TempIDConfigError,
  TempIDError,
  type TempIDSchemaError,
  TempIDStoreError,
  type UseStore,
} from "@tempid/core";

const SECRET = "test-secret-0123456789abcdef0123456789";

function fakeClock(start = Date.UTC(2026, 11, 3, 12, 0, 0, 400)) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("new / verify / fromString", () => {
  it("round-trips a token without payload in at most 80 characters", async () => {
    const t = createTempID({ secret: SECRET });
    const tid = await t.new("15m");
    const text = String(tid);
    expect(text).toMatch(/^TEMP-V3\.[0-9A-HJKMNP-TV-Z]+$/);
    expect(text.length).toBeLessThanOrEqual(80);
    expect(tid.payload).toBeNull();
    expect(tid.maxUses).toBe(0);
    expect(tid.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const back = await t.verify(text);
    expect(back?.id).toBe(tid.id);
    expect(back?.expiresAt.getTime()).toBe(tid.expiresAt.getTime());
  });

  it("carries an encrypted payload; {user_id: 42} fits in 130 characters and is not readable in the text", async () => {
    const t = createTempID({ secret: SECRET });
    const tid = await t.new("10m", { payload: { user_id: 42 } });
    expect(String(tid).length).toBeLessThanOrEqual(130);
    const back = await t.verify<{ user_id: number }>(String(tid));
    expect(back?.payload).toEqual({ user_id: 42 });
    const big = await t.new("10m", { payload: { email: "demo@example.com", note: "n".repeat(100) } });
    expect(String(big).toLowerCase()).not.toContain("demo");
    expect((await t.verify(String(big)))?.payload).toEqual({ email: "demo@example.com", note: "n".repeat(100) });
  });

  it("accepts any case, dashes and surrounding whitespace", async () => {
    const t = createTempID({ secret: SECRET });
    const text = String(await t.new("1h", { payload: { a: 1 } }));
    const body = text.slice(8);
    const grouped = "TEMP-V3." + body.match(/.{1,6}/g)!.join("-");
    for (const variant of [text.toLowerCase(), `\n  ${text}\t `, grouped]) {
      expect((await t.verify(variant))?.payload).toEqual({ a: 1 });
    }
  });

  it("never throws for garbage, and fromString throws typed errors", async () => {
    const t = createTempID({ secret: SECRET });
    for (const bad of ["", "garbage-token", "TEMP-V3.", "TEMP-V3.!!!!", "x".repeat(100_000), "TEMP-V2.AAAA.BBBB"]) {
      expect(await t.verify(bad)).toBeNull();
    }
    expect(await t.verify(42 as never)).toBeNull();
    expect(await t.verify(undefined as never)).toBeNull();
    await expect(t.fromString("garbage-token")).rejects.toMatchObject({ code: "ERR_TEMPID_FORMAT", name: "TempIDFormatError" });
    const text = String(await t.new("1h"));
    // A character inside the id: the last one carries unused bits, where some changes are format errors.
    const tampered = text.slice(0, 20) + (text[20] === "A" ? "B" : "A") + text.slice(21);
    expect(await t.verify(tampered)).toBeNull();
    const err = await t.fromString(tampered).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TempIDError);
    expect(err).toMatchObject({ code: "ERR_TEMPID_TAMPERED", name: "TempIDTamperedError" });
    expect((err as Error).message).not.toContain(SECRET);
  });

  it("a token from another secret is tampered; V2 tokens are refused unless accepted", async () => {
    const a = createTempID({ secret: SECRET });
    const b = createTempID({ secret: "another-secret-0123456789abcdef012345" });
    const text = String(await a.new("1h"));
    await expect(b.fromString(text)).rejects.toMatchObject({ code: "ERR_TEMPID_TAMPERED" });
    const v2 = createTempID({ secret: SECRET, format: "v2", accept: ["v2"] });
    const v2text = String(await v2.new("1h"));
    await expect(a.fromString(v2text)).rejects.toThrow(/not accepted/);
    const both = createTempID({ secret: SECRET, accept: ["v3", "v2"] });
    expect((await both.verify(v2text))?.format).toBe("v2");
    expect((await both.verify(text))?.format).toBe("v3");
  });

  it("fromString returns expired tokens; verify does not", async () => {
    const clock = fakeClock();
    const t = createTempID({ secret: SECRET, clock: clock.now });
    const text = String(await t.new("30s"));
    clock.advance(31_000);
    expect(await t.verify(text)).toBeNull();
    const tid = await t.fromString(text);
    expect(tid.expired()).toBe(true);
  });

  it("clockTolerance accepts a token shortly past its expiry, and no longer", async () => {
    const clock = fakeClock();
    const strict = createTempID({ secret: SECRET, clock: clock.now });
    const lenient = createTempID({ secret: SECRET, clock: clock.now, clockTolerance: "30s" });
    const text = String(await strict.new("60s"));
    clock.advance(70_000);
    expect(await strict.verify(text)).toBeNull();
    expect(await lenient.verify(text)).not.toBeNull();
    clock.advance(30_000);
    expect(await lenient.verify(text)).toBeNull();
    expect(() => createTempID({ secret: SECRET, clockTolerance: -5 })).toThrow(TempIDConfigError);
    expect(() => createTempID({ secret: SECRET, clockTolerance: Number.NaN })).toThrow(TempIDConfigError);
  });

  it("the payload size limit is enforced at new, with a typed error that does not quote the payload", async () => {
    const t = createTempID({ secret: SECRET });
    const err = await t.new("1h", { payload: { secret_thing: "q".repeat(600) } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ERR_TEMPID_PAYLOAD_TOO_LARGE", limit: 512 });
    expect((err as Error).message).not.toContain("qqqq");
    const roomy = createTempID({ secret: SECRET, maxPayloadBytes: 2048 });
    const tid = await roomy.new("1h", { payload: { s: "q".repeat(1500) } });
    expect((await roomy.verify(String(tid)))?.payload).toEqual({ s: "q".repeat(1500) });
    // A token whose payload is over the verifier's limit is refused.
    expect(await t.verify(String(tid))).toBeNull();
  });

  it("refuses payloads that JSON would silently change", async () => {
    const t = createTempID({ secret: SECRET });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const payload of [[undefined], { d: new Date() }, { n: Number.NaN }, { f: () => 1 }, cyclic, { big: 1n }, new Map()]) {
      await expect(t.new("1h", { payload: payload as never })).rejects.toMatchObject({ code: "ERR_TEMPID_PAYLOAD" });
    }
    // An undefined property is an absent optional one, as in JSON: left out, not an error.
    const optional = await t.new("1h", { payload: { userId: 1, note: undefined } as { userId: number; note?: string } });
    expect(optional.payload).toEqual({ userId: 1 });
    expect(Object.keys((await t.verify(String(optional)))!.payload as object)).toEqual(["userId"]);
  });
});

describe("durations and remaining()", () => {
  it.each([
    ["45s", "45s"],
    ["90m", "1h 30m"],
    ["3d", "3d 0h"],
    ["15m", "15m 0s"],
    ["2h", "2h 0m"],
    [59, "59s"],
    ["36500d", "36500d 0h"],
  ])("a fresh %s token says %s", async (duration, expected) => {
    const clock = fakeClock();
    const t = createTempID({ secret: SECRET, clock: clock.now });
    const tid = await t.new(duration as never);
    expect(tid.remaining()).toBe(expected);
  });

  it("counts down in whole seconds rounded up, then says expired", async () => {
    const clock = fakeClock(Date.UTC(2026, 0, 1, 0, 0, 0, 0));
    const t = createTempID({ secret: SECRET, clock: clock.now });
    const tid = await t.new("15m");
    clock.advance(1);
    expect(tid.remaining()).toBe("15m 0s");
    clock.advance(1000);
    expect(tid.remaining()).toBe("14m 59s");
    clock.advance(900_000);
    expect(tid.remaining()).toBe("expired");
  });

  it.each(["", "15", "15x", "1.5h", "-5m", "0s", "0", "101y", "36501d", "abc", "1e3s", " m"])("refuses duration %j", async (bad) => {
    const t = createTempID({ secret: SECRET });
    await expect(t.new(bad as never)).rejects.toMatchObject({ code: "ERR_TEMPID_DURATION" });
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 4e9])("refuses %s seconds", async (bad) => {
    const t = createTempID({ secret: SECRET });
    await expect(t.new(bad as never)).rejects.toMatchObject({ code: "ERR_TEMPID_DURATION" });
  });
});

describe("onExpire and inspection", () => {
  it("runs callbacks once, on the first valid()/expired() after expiry, in order; a throwing one does not disturb", async () => {
    const clock = fakeClock();
    const t = createTempID({ secret: SECRET, clock: clock.now });
    const tid = await t.new("1s");
    const calls: string[] = [];
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(
      tid
        .onExpire(() => calls.push("a"))
        .onExpire(() => {
          throw new Error("boom");
        })
        .onExpire(() => calls.push("c")),
    ).toBe(tid);
    expect(tid.valid()).toBe(true);
    expect(calls).toEqual([]);
    clock.advance(2000);
    expect(inspect(tid)).toMatch(/^TempID\('TEMP-V3\.[0-9A-Z]+', expired, remaining=expired\)$/);
    expect(calls).toEqual([]); // inspecting fires nothing
    expect(tid.valid()).toBe(false);
    expect(calls).toEqual(["a", "c"]);
    expect(errors).toHaveBeenCalledTimes(1);
    expect(tid.expired()).toBe(true);
    expect(calls).toEqual(["a", "c"]);
    errors.mockRestore();
  });

  it("a callback registered after the expiry was noticed runs at the next check, once (it used to never run)", async () => {
    const clock = fakeClock();
    const tid = await createTempID({ secret: SECRET, clock: clock.now }).new("1s");
    const calls: string[] = [];
    tid.onExpire(() => calls.push("early"));
    clock.advance(2000);
    expect(tid.valid()).toBe(false);
    tid.onExpire(() => calls.push("late"));
    expect(calls).toEqual(["early"]);
    expect(tid.expired()).toBe(true);
    expect(tid.valid()).toBe(false);
    expect(calls).toEqual(["early", "late"]);
  });

  it("console.log shows the token, its state and time left", async () => {
    const clock = fakeClock();
    const t = createTempID({ secret: SECRET, clock: clock.now });
    const tid = await t.new("15m");
    clock.advance(1500);
    expect(inspect(tid)).toBe(`TempID('${tid}', valid, remaining=14m 59s)`);
    expect(JSON.stringify({ token: tid })).toBe(`{"token":"${tid}"}`);
  });
});

describe("max uses on the memory store", () => {
  it("grants exactly maxUses, reports usesInfo, and checkUses is read-only", async () => {
    const t = createTempID({ secret: SECRET });
    const tid = await t.new("1h", { maxUses: 2 });
    expect(await tid.usesInfo()).toEqual({ total: 2, used: 0, left: 2 });
    expect(await t.verify(String(tid), { checkUses: true })).not.toBeNull();
    expect(await t.verify(String(tid), { checkUses: true })).not.toBeNull();
    expect(await tid.use()).toBe(true);
    expect(await tid.use()).toBe(true);
    expect(await tid.use()).toBe(false);
    expect(await tid.usesInfo()).toEqual({ total: 2, used: 2, left: 0 });
    expect(await t.verify(String(tid), { checkUses: true })).toBeNull();
    expect(await t.verify(String(tid))).not.toBeNull();
    // A copy from verify shares the count.
    const copy = await t.verify(String(tid));
    expect(await copy!.use()).toBe(false);
  });

  it("unlimited tokens never touch the store", async () => {
    const store: UseStore = {
      consume: vi.fn(),
      used: vi.fn(),
      revoke: vi.fn(),
      close: vi.fn(),
    } as unknown as UseStore;
    const t = createTempID({ secret: SECRET, store });
    const tid = await t.new("1h");
    expect(await tid.use()).toBe(true);
    expect(await tid.use()).toBe(true);
    expect(await tid.usesInfo()).toEqual({ total: null, used: null, left: null });
    expect(await t.verify(String(tid), { checkUses: true })).not.toBeNull();
    expect(store.consume).not.toHaveBeenCalled();
    expect(store.used).not.toHaveBeenCalled();
    await expect(tid.revoke()).rejects.toMatchObject({ code: "ERR_TEMPID_UNSUPPORTED" });
  });

  it("an expired token's use() is false without touching the store", async () => {
    const clock = fakeClock();
    const consume = vi.fn(async () => true);
    const store = { consume, used: async () => 0, revoke: async () => {}, close: async () => {} };
    const t = createTempID({ secret: SECRET, store, clock: clock.now });
    const tid = await t.new("10s", { maxUses: 5 });
    clock.advance(11_000);
    expect(await tid.use()).toBe(false);
    expect(consume).not.toHaveBeenCalled();
  });

  it.each([1, 50, 999])("1,000 concurrent use() calls on maxUses %i: exactly that many succeed", async (n) => {
    const t = createTempID({ secret: SECRET, store: new MemoryStore() });
    const tid = await t.new("1h", { maxUses: n });
    const copies = await Promise.all(Array.from({ length: 10 }, () => t.verify(String(tid))));
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => copies[i % 10]!.use()));
    expect(results.filter(Boolean)).toHaveLength(n);
    expect(await tid.usesInfo()).toEqual({ total: n, used: n, left: 0 });
  });

  it("revoke() makes every later use() false and checkUses null, for every copy", async () => {
    const t = createTempID({ secret: SECRET });
    const tid = await t.new("1h", { maxUses: 10 });
    expect(await tid.use()).toBe(true);
    const copy = await t.verify(String(tid));
    await tid.revoke();
    expect(await copy!.use()).toBe(false);
    expect(await tid.use()).toBe(false);
    expect(await t.verify(String(tid), { checkUses: true })).toBeNull();
    expect(await tid.usesInfo()).toEqual({ total: 10, used: 10, left: 0 });
  });

  it("a maxUses of 4,294,967,295 is carried and counted", async () => {
    const t = createTempID({ secret: SECRET });
    const tid = await t.new("1h", { maxUses: 4294967295 });
    expect((await t.verify(String(tid)))?.maxUses).toBe(4294967295);
    expect(await tid.use()).toBe(true);
    expect(await tid.usesInfo()).toEqual({ total: 4294967295, used: 1, left: 4294967294 });
    await expect(t.new("1h", { maxUses: 4294967296 })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
    await expect(t.new("1h", { maxUses: -1 })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
    await expect(t.new("1h", { maxUses: 1.5 })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
  });

  it("a store failure rejects with TempIDStoreError (cause attached) and is never a grant", async () => {
    const boom = new Error("connection refused");
    const store: UseStore = {
      consume: async () => {
        throw boom;
      },
      used: async () => {
        throw boom;
      },
      revoke: async () => {
        throw boom;
      },
      close: async () => {},
    };
    const t = createTempID({ secret: SECRET, store });
    const tid = await t.new("1h", { maxUses: 1 });
    const err = await tid.use().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TempIDStoreError);
    expect((err as TempIDStoreError).cause).toBe(boom);
    await expect(tid.usesInfo()).rejects.toMatchObject({ code: "ERR_TEMPID_STORE" });
    await expect(tid.revoke()).rejects.toMatchObject({ code: "ERR_TEMPID_STORE" });
    await expect(t.verify(String(tid), { checkUses: true })).rejects.toMatchObject({ code: "ERR_TEMPID_STORE" });
  });

  it("a store answering nonsense is an error, not a grant", async () => {
    const store = { consume: async () => "yes", used: async () => "0", revoke: async () => {}, close: async () => {} };
    const t = createTempID({ secret: SECRET, store: store as never });
    const tid = await t.new("1h", { maxUses: 1 });
    await expect(tid.use()).rejects.toMatchObject({ code: "ERR_TEMPID_STORE" });
    await expect(tid.usesInfo()).rejects.toMatchObject({ code: "ERR_TEMPID_STORE" });
  });
});

describe("purpose and bind", () => {
  it("a token made for one purpose fails for another, and without one", async () => {
    const t = createTempID({ secret: SECRET });
    const tid = await t.new("15m", { purpose: "password-reset" });
    expect(await t.verify(String(tid), { purpose: "password-reset" })).not.toBeNull();
    expect(await t.verify(String(tid), { purpose: "email-verify" })).toBeNull();
    expect(await t.verify(String(tid))).toBeNull();
    const scoped = createTempID({ secret: SECRET, purpose: "password-reset" });
    expect(await scoped.verify(String(tid))).not.toBeNull();
    expect(await scoped.verify(String(await t.new("15m")))).toBeNull();
  });

  it("a token bound to a password hash stops working when the hash changes", async () => {
    const t = createTempID({ secret: SECRET });
    let passwordHash = "$argon2id$v=19$m=65536,t=3,p=4$old";
    const tid = await t.new("15m", { payload: { user_id: 7 }, bind: passwordHash });
    expect((await t.verify(String(tid), { bind: passwordHash }))?.payload).toEqual({ user_id: 7 });
    passwordHash = "$argon2id$v=19$m=65536,t=3,p=4$new";
    expect(await t.verify(String(tid), { bind: passwordHash })).toBeNull();
    expect(await t.verify(String(tid))).toBeNull();
    const bytes = await t.new("15m", { bind: new Uint8Array([1, 2, 3]) });
    expect(await t.verify(String(bytes), { bind: new Uint8Array([1, 2, 3]) })).not.toBeNull();
    expect(await t.verify(String(bytes), { bind: new Uint8Array([1, 2, 4]) })).toBeNull();
    await expect(t.new("15m", { bind: 42 as never })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
  });

  it("purpose and bind do not collide: ('ab', 'c') is not ('a', 'bc'); an empty bind is refused", async () => {
    const t = createTempID({ secret: SECRET });
    const tid = await t.new("15m", { purpose: "ab", bind: "c" });
    expect(await t.verify(String(tid), { purpose: "a", bind: "bc" })).toBeNull();
    expect(await t.verify(String(tid), { purpose: "ab" })).toBeNull();
    expect(await t.verify(String(tid), { purpose: "ab", bind: "c" })).not.toBeNull();
    // user.passwordHash ?? "" would bind every user without a password to the same value.
    await expect(t.new("15m", { bind: "" })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
    await expect(t.new("15m", { bind: new Uint8Array(0) })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
  });
});

describe("secrets", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("a token from a rotated-out key says which key id made it", async () => {
    const gone = createTempID({ secret: "rotated-out-secret-0123456789abcdef0123" });
    const text = String(await gone.new("1h"));
    const err = await createTempID({ secret: SECRET }).fromString(text).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "ERR_TEMPID_TAMPERED" });
    expect((err as Error).message).toMatch(/key id \d+, which none of this instance's secrets has/);
  });

  it("rotation: the first secret mints, all verify, each verify costs one key", async () => {
    const oldSecret = "old-secret-0123456789abcdef0123456789";
    const before = createTempID({ secret: oldSecret });
    const after = createTempID({ secret: [SECRET, oldSecret] });
    const oldToken = String(await before.new("1h", { payload: { v: 1 } }));
    const newToken = String(await after.new("1h"));
    expect((await after.verify(oldToken))?.payload).toEqual({ v: 1 });
    expect(await before.verify(newToken)).toBeNull();
    expect(await createTempID({ secret: SECRET }).verify(newToken)).not.toBeNull();
  });

  it("refuses native-format secrets under 32 bytes, but takes them for V2 alone", () => {
    expect(() => createTempID({ secret: "short" })).toThrow(/at least 32/);
    expect(() => createTempID({ secret: [SECRET, "short"] })).toThrow(/#2/);
    expect(() => createTempID({ secret: "short", format: "v2", accept: ["v2"] })).not.toThrow();
    expect(() => createTempID({ secret: "short", format: "v2" })).not.toThrow();
    expect(() => createTempID({ secret: "short", format: "v2", accept: ["v2", "v3"] })).toThrow(/no secret is 32 bytes or more/);
    expect(() => createTempID({ secret: [] })).toThrow(TempIDConfigError);
    expect(() => createTempID({ secret: "" })).toThrow(TempIDConfigError);
  });

  it("refuses the same secret twice, as text or bytes, when the instance is made", () => {
    expect(() => createTempID({ secret: [SECRET, SECRET] })).toThrow(/#1 and #2 are the same/);
    expect(() => createTempID({ secret: [SECRET, new TextEncoder().encode(SECRET)] })).toThrow(TempIDConfigError);
  });

  it("an explicit secret that is undefined or null (a missing binding) is an error, never the fallback", () => {
    const env: Record<string, string | undefined> = {};
    expect(() => createTempID({ secret: env.TEMPID_SECRET })).toThrow(/secret is undefined/);
    expect(() => createTempID({ secret: null as never })).toThrow(TempIDConfigError);
  });

  it("without a process environment (Workers, browsers) there is no fallback secret", () => {
    const saved = globalThis.process;
    vi.stubEnv("TEMPID_SECRET", "");
    try {
      (globalThis as { process?: unknown }).process = undefined;
      expect(() => createTempID()).toThrow(/no secret/);
    } finally {
      globalThis.process = saved;
    }
  });

  it("NODE_ENV=Production or prod counts as production", () => {
    vi.stubEnv("TEMPID_SECRET", "");
    for (const value of ["Production", "prod", " PRODUCTION "]) {
      vi.stubEnv("NODE_ENV", value);
      expect(() => createTempID()).toThrow(TempIDConfigError);
    }
  });

  it("a byte secret is copied: wiping the caller's buffer afterwards does not change the key", async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const kept = new Uint8Array(bytes);
    const t = createTempID({ secret: bytes });
    bytes.fill(0);
    const token = String(await t.new("15m"));
    expect(await createTempID({ secret: new Uint8Array(32) }).verify(token)).toBeNull();
    expect(await createTempID({ secret: kept }).verify(token)).not.toBeNull();
  });

  it("reads TEMPID_SECRET from the environment", async () => {
    vi.stubEnv("TEMPID_SECRET", SECRET);
    const fromEnv = createTempID();
    const explicit = createTempID({ secret: SECRET });
    expect(await explicit.verify(String(await fromEnv.new("1h")))).not.toBeNull();
  });

  it("without a secret: refuses in production and with strict, else warns once and falls back", async () => {
    vi.stubEnv("TEMPID_SECRET", "");
    vi.stubEnv("NODE_ENV", "production");
    expect(() => createTempID()).toThrow(TempIDConfigError);
    vi.stubEnv("NODE_ENV", "development");
    expect(() => createTempID({ strict: true })).toThrow(/no secret/);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const a = createTempID();
    createTempID();
    expect(warn.mock.calls.length).toBeLessThanOrEqual(1);
    expect(await a.verify(String(await a.new("1m")))).not.toBeNull();
    warn.mockRestore();
  });

  it("rejects bad options loudly", () => {
    expect(() => createTempID({ secret: SECRET, format: "v4" as never })).toThrow(TempIDConfigError);
    expect(() => createTempID({ secret: SECRET, accept: [] })).toThrow(TempIDConfigError);
    expect(() => createTempID({ secret: SECRET, maxPayloadBytes: 0 })).toThrow(TempIDConfigError);
    expect(() => createTempID({ secret: SECRET, maxPayloadBytes: 1e6 })).toThrow(TempIDConfigError);
    expect(() => createTempID({ secret: SECRET, store: {} as never })).toThrow(/UseStore/);
    expect(() => createTempID({ secret: SECRET, clock: 5 as never })).toThrow(TempIDConfigError);
  });
});

describe("found by the breaker (kept as regressions)", () => {
  it("clockTolerance extends the use counter too: use() works inside the tolerance window", async () => {
    const clock = fakeClock();
    const t = createTempID({ secret: SECRET, clock: clock.now, clockTolerance: "60s" });
    const tid = await t.new("10s", { maxUses: 2 });
    clock.advance(30_000);
    expect(tid.valid()).toBe(true);
    expect(await tid.use()).toBe(true);
    expect(await tid.usesInfo()).toEqual({ total: 2, used: 1, left: 1 });
    expect(await tid.use()).toBe(true);
    expect(await tid.use()).toBe(false);
    clock.advance(41_000);
    expect(await tid.use()).toBe(false);
  });

  it("a spent token stays spent for an instance with a larger tolerance, or a clock behind (store breaker)", async () => {
    const clock = fakeClock();
    const behind = { now: () => clock.now() - 30_000 };
    const store = new MemoryStore();
    const strict = createTempID({ secret: SECRET, store, clock: clock.now });
    const lenient = createTempID({ secret: SECRET, store, clock: clock.now, clockTolerance: "60s" });
    const slow = createTempID({ secret: SECRET, store, clock: behind.now });
    const tid = await strict.new("10s", { maxUses: 1 });
    expect(await tid.use()).toBe(true);
    clock.advance(12_000);
    await store.purgeExpired(clock.now()); // what a sweep or a SQL purge would do by now
    expect(await (await lenient.verify(String(tid)))!.use()).toBe(false);
    expect(await (await slow.verify(String(tid)))!.use()).toBe(false);
  });

  it("the TempID statics reject (never throw synchronously) when the default instance cannot be made", async () => {
    // No TempID static has run yet in this file, so the default instance is made now, from this environment.
    vi.stubEnv("TEMPID_SECRET", "short");
    const result = TempID.verify("x");
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toMatchObject({ code: "ERR_TEMPID_CONFIG" });
    vi.unstubAllEnvs();
  });

  it("purpose: null is refused, not read as 'no purpose'", async () => {
    const t = createTempID({ secret: SECRET, purpose: "login" });
    const plain = String(await createTempID({ secret: SECRET }).new("1h"));
    await expect(t.verify(plain, { purpose: null as never })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
    await expect(t.new("1h", { purpose: null as never })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
  });

  it("lone surrogates in purpose or bind are refused (they would encode like U+FFFD)", async () => {
    const t = createTempID({ secret: SECRET });
    await expect(t.new("1h", { purpose: "\ud800" })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
    await expect(t.new("1h", { bind: "\udc00x" })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
    const ok = await t.new("1h", { purpose: "🔑", bind: "\ufffdx" });
    expect(await t.verify(String(ok), { purpose: "🔑", bind: "\ufffdx" })).not.toBeNull();
  });

  it("a schema that is not a Standard Schema is a typed argument error", async () => {
    const t = createTempID({ secret: SECRET });
    await expect(t.new("1h", { payload: { a: 1 }, schema: {} as never })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
    await expect(t.verify("TEMP-V3.AAAA", { schema: { parse() {} } as never })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
  });

  it("null options read as none; a clock out of range is a config error", async () => {
    const t = createTempID({ secret: SECRET });
    const tid = await t.new("1m", null as never);
    expect(await t.verify(String(tid), null as never)).not.toBeNull();
    const negative = createTempID({ secret: SECRET, clock: () => -5 });
    await expect(negative.new("1m")).rejects.toMatchObject({ code: "ERR_TEMPID_CONFIG" });
    const far = createTempID({ secret: SECRET, clock: () => 1e18 });
    await expect(far.new("1m")).rejects.toMatchObject({ code: "ERR_TEMPID_CONFIG" });
  });

  it("payload errors name no key and no value; arrays with extra properties and symbol keys are refused", async () => {
    const t = createTempID({ secret: SECRET });
    const err = await t.new("1h", { payload: { "alice@example.com": () => "x" } as never }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "ERR_TEMPID_PAYLOAD" });
    expect((err as Error).message).not.toContain("alice");
    await expect(t.new("1h", { payload: Object.assign([1], { x: 2 }) as never })).rejects.toMatchObject({ code: "ERR_TEMPID_PAYLOAD" });
    await expect(t.new("1h", { payload: { [Symbol("s")]: 1 } as never })).rejects.toMatchObject({ code: "ERR_TEMPID_PAYLOAD" });
    // eslint-disable-next-line no-sparse-arrays
    await expect(t.new("1h", { payload: [1, , 3] as never })).rejects.toMatchObject({ code: "ERR_TEMPID_PAYLOAD" });
  });

  it("new() returns a copy of the payload, not the caller's object", async () => {
    const t = createTempID({ secret: SECRET });
    const payload = { list: [1, 2] };
    const tid = await t.new("1h", { payload });
    payload.list.push(3);
    expect(tid.payload).toEqual({ list: [1, 2] });
  });

  it("V2 payload JSON escapes DEL like Python (\\u007f)", async () => {
    const t = createTempID({ secret: "s3cret", format: "v2", maxPayloadBytes: 10 });
    // {"a":"\u007f"} is 14 bytes once escaped as Python writes it: over a 10-byte limit.
    await expect(t.new("1h", { payload: { a: "\u007f" } })).rejects.toMatchObject({ code: "ERR_TEMPID_PAYLOAD_TOO_LARGE", size: 14 });
  });

  it("a lower-case V2 prefix says V2 is case-sensitive", async () => {
    const t = createTempID({ secret: "s3cret", format: "v2" });
    const text = String(await t.new("1h"));
    await expect(t.fromString("temp-v2." + text.slice(8))).rejects.toThrow(/case-sensitive/);
  });
});

describe("typed payloads with a Standard Schema (zod 4)", () => {
  const Reset = z.object({ userId: z.number().int(), email: z.string().email() });

  it("validates at new and at verify, and types the payload", async () => {
    const t = createTempID({ secret: SECRET });
    const tid = await t.new("15m", { payload: { userId: 1, email: "a@example.com" }, schema: Reset });
    const back = await t.verify(String(tid), { schema: Reset });
    const userId: number | undefined = back?.payload?.userId;
    expect(userId).toBe(1);
    const bad = await t.new("15m", { payload: { userId: "x", email: "a@example.com" } as never, schema: Reset }).catch((e: Error) => e);
    expect(bad).toMatchObject({ code: "ERR_TEMPID_SCHEMA" });
    expect((bad as Error).message).toBe("payload does not match the schema (1 issue: see the error's issues)");
    expect((bad as TempIDSchemaError).issues[0]?.path?.map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p))).toEqual(["userId"]);
    const other = await t.new("15m", { payload: { userId: 1 } });
    expect(await t.verify(String(other), { schema: Reset })).toBeNull();
    await expect(t.fromString(String(other), { schema: Reset })).rejects.toMatchObject({ code: "ERR_TEMPID_SCHEMA" });
  });
});

describe("the default instance", () => {
  it("configure() sets the secret and store behind the TempID statics, and keeps the store across calls", async () => {
    const store = new MemoryStore();
    configure({ secret: SECRET, store });
    const tid = await TempID.new("1h", { maxUses: 1, payload: { userId: 42 } });
    expect(await tid.use()).toBe(true);
    configure({ clockTolerance: 5 });
    const back = await TempID.verify<{ userId: number }>(String(tid));
    expect(back?.payload?.userId).toBe(42);
    expect(await back!.use()).toBe(false);
    expect(store.size).toBe(1);
    await expect(TempID.fromString("nope")).rejects.toMatchObject({ code: "ERR_TEMPID_FORMAT" });
    expect(() => configure({ format: "v9" as never })).toThrow(TempIDConfigError);
    expect(() => configure({ clockTolerence: 5 } as never)).toThrow('unknown option "clockTolerence"');
    // a failed configure() leaves the previous configuration in place
    expect(await TempID.verify(String(tid))).not.toBeNull();
  });
});

describe("unknown options", () => {
  it("a misspelled option is a TempIDConfigError naming it and the real ones, never silently ignored", () => {
    // `secrt` would otherwise fall back to the public secret outside production.
    const err = (() => {
      try {
        createTempID({ secrt: SECRET } as never);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(TempIDConfigError);
    expect((err as Error).message).toBe(
      'unknown option "secrt" (options: secret, store, format, accept, clock, clockTolerance, purpose, maxPayloadBytes, strict, crypto)',
    );
    expect(() => createTempID({ secret: SECRET, maxUses: 3 } as never)).toThrow('unknown option "maxUses"');
    // Every documented option is known.
    expect(() =>
      createTempID({
        secret: SECRET,
        store: new MemoryStore(),
        format: "v3",
        accept: ["v3"],
        clock: Date.now,
        clockTolerance: "5s",
        purpose: "p",
        maxPayloadBytes: 100,
        strict: true,
        crypto: "auto",
      }),
    ).not.toThrow();
  });
});

describe("error names", () => {
  it("each class is named as exported; a subclass of yours by its own class; the base takes any code", () => {
    class MyStoreError extends TempIDStoreError {}
    class AppError extends TempIDError {
      constructor() {
        super("ERR_APP_SOMETHING_BAD" as never, "x");
      }
    }
    expect(new TempIDStoreError("m").name).toBe("TempIDStoreError");
    expect(new TempIDConfigError("m").name).toBe("TempIDConfigError");
    expect(new TempIDError("ERR_TEMPID_STORE", "m").name).toBe("TempIDError");
    expect(new MyStoreError("m").name).toBe("MyStoreError");
    expect(new MyStoreError("m")).toBeInstanceOf(TempIDStoreError);
    expect(new AppError().name).toBe("AppError");
    expect(new AppError().code).toBe("ERR_APP_SOMETHING_BAD");
    // A code that is not even a string (plain JavaScript) still makes an error.
    expect(new TempIDError(42 as never, "m").message).toBe("m");
  });
});
