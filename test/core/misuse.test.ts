/**
 * Mistakes a first-time user made (a fresh-user pass), each of which used to pass silently: a misspelt call
 * option, an expired token's use(), one instance per request, a Worker with nodejs_compat and no secret, a
 * migration instance that could not hold the Python service's secret, a TempID object passed as a token.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { configure, createTempID, formatRemaining, MemoryStore, TempIDError, TempID, TempIDArgumentError, TempIDConfigError, TempIDDurationError, TempIDPayloadTooLargeError, TempIDStoreError, TempIDUnsupportedError } from "@tempid/core";

const SECRET = "misuse-secret-0123456789abcdef0123456789";
const PYTHON_SECRET = "py-secret"; // 9 bytes: fine for V2, too short for V3
const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);

afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});

describe("call options", () => {
  it("a misspelt option of new(), verify() or fromString() throws instead of being ignored", async () => {
    const t = createTempID({ secret: SECRET });
    // { maxUse: 1 } used to mint an unlimited token.
    await expect(t.new("5m", { maxUse: 1 } as never)).rejects.toThrow(TempIDArgumentError);
    await expect(t.new("5m", { payloads: { a: 1 } } as never)).rejects.toThrow(/unknown option "payloads" for new\(\)/);
    const spent = await t.new("5m", { maxUses: 1 });
    expect(await spent.use()).toBe(true);
    // { checkuses: true } used to skip the check and accept the spent token.
    await expect(t.verify(String(spent), { checkuses: true } as never)).rejects.toThrow(/unknown option "checkuses" for verify\(\)/);
    expect(await t.verify(String(spent), { checkUses: true })).toBeNull();
    await expect(t.fromString(String(spent), { checkUses: true } as never)).rejects.toThrow(/for fromString\(\) \(options: purpose, bind, schema\)/);
    // Every documented option is still taken, including explicit undefined values.
    const ok = await t.new("5m", { payload: { a: 1 }, maxUses: 2, purpose: "p", bind: "b", schema: undefined });
    expect((await t.verify(String(ok), { purpose: "p", bind: "b", checkUses: true, schema: undefined }))?.payload).toEqual({ a: 1 });
  });

  it("null is never a default: maxUses: null was an unlimited token, store: null a silent MemoryStore", async () => {
    const t = createTempID({ secret: SECRET });
    for (const key of ["maxUses", "purpose", "bind", "schema"]) {
      await expect(t.new("5m", { [key]: null } as never), key).rejects.toThrow(new RegExp(`^${key} is null`));
    }
    for (const key of ["purpose", "bind", "schema", "checkUses"]) {
      await expect(t.verify("anything", { [key]: null } as never), key).rejects.toThrow(TempIDArgumentError);
    }
    await expect(t.fromString("anything", { purpose: null } as never)).rejects.toThrow(TempIDArgumentError);
    for (const key of ["store", "format", "accept", "clock", "clockTolerance", "purpose", "maxPayloadBytes", "strict", "crypto"]) {
      expect(() => createTempID({ secret: SECRET, [key]: null } as never), key).toThrow(new RegExp(`^${key} is null`));
      expect(() => configure({ secret: SECRET, [key]: null } as never), key).toThrow(TempIDConfigError);
    }
    // A null payload is no payload (documented), and null options objects read as none.
    const none = await t.new("5m", { payload: null, maxUses: 1 });
    expect(none.payload).toBeNull();
    expect(none.maxUses).toBe(1);
    expect((await t.verify(String(none), null as never))?.id).toBe(none.id);
  });

  it("found by the fifth breaker: createTempID reads each option once, inherited ones too, and checks what it uses", async () => {
    // A store: null on the prototype passed the own-key checks, then silently gave the default MemoryStore.
    expect(() => createTempID(Object.assign(Object.create({ store: null }), { secret: SECRET }))).toThrow(/^store is null/);
    // A getter answering the real store once and null after: the store used is the store checked.
    const real = new MemoryStore();
    let reads = 0;
    const t = createTempID({
      secret: SECRET,
      get store() {
        return reads++ === 0 ? real : (null as never);
      },
    });
    expect(t.store).toBe(real);
    expect(reads).toBe(1);
    // A class whose getters give the options (inherited, not enumerable) still configures the instance.
    class Settings {
      get secret() {
        return SECRET;
      }
      get purpose() {
        return "login";
      }
    }
    const fromClass = createTempID(new Settings() as never);
    const token = String(await fromClass.new("5m"));
    expect(await createTempID({ secret: SECRET }).verify(token, { purpose: "login" })).not.toBeNull();
    expect(await createTempID({ secret: SECRET }).verify(token)).toBeNull();
  });

  it("found by a sixth breaker: store: undefined (a missing binding) is refused, never the default MemoryStore", async () => {
    const shared = new MemoryStore();
    expect(() => createTempID({ secret: SECRET, store: undefined })).toThrow(/^store is undefined/);
    configure({ secret: SECRET, store: shared });
    try {
      expect(() => configure({ store: undefined })).toThrow(TempIDConfigError);
      // The configured store is still the one counting.
      const tid = await TempID.new("5m", { maxUses: 1 });
      expect(await tid.use()).toBe(true);
      expect(await shared.used(tid.id, Date.now())).toBe(1);
    } finally {
      configure({ store: new MemoryStore() });
    }
  });

  it("found by a sixth breaker: an async onExpire callback that rejects is logged, and the process goes on", async () => {
    let now = T0;
    const t = createTempID({ secret: SECRET, clock: () => now });
    const errors: unknown[][] = [];
    const log = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void errors.push(args));
    const tid = (await t.new("1s")).onExpire(async () => {
      throw new Error("async boom");
    });
    now += 2000;
    expect(tid.expired()).toBe(true);
    // An unhandled rejection here would fail this test run (vitest reports it) and end a Node process.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(errors).toHaveLength(1);
    expect(String(errors[0]?.[1])).toContain("async boom");
    log.mockRestore();
  });

  it("found by a sixth breaker: a schema error's message holds neither payload keys nor values (zod quotes them)", async () => {
    const t = createTempID({ secret: SECRET });
    const Strict = z.strictObject({ userId: z.number() });
    const ByEmail = z.record(z.string(), z.number());
    const a = await t.new("5m", { payload: { userId: 1, "alice@example.com": 1 } as never, schema: Strict }).catch((e: Error) => e);
    const b = await t.new("5m", { payload: { "bob@example.com": "x" } as never, schema: ByEmail }).catch((e: Error) => e);
    for (const err of [a, b]) {
      expect(err).toBeInstanceOf(TempIDError);
      expect((err as Error).message).not.toMatch(/@example\.com/);
      expect((err as unknown as { issues: unknown[] }).issues.length).toBeGreaterThan(0); // the details stay on the error
    }
    expect(JSON.stringify((a as unknown as { issues: unknown }).issues)).toContain("alice@example.com");
  });

  it("found by a fresh user on Deno: without --allow-env, TEMPID_SECRET looks unset, and the error says which flag reads it", () => {
    vi.stubEnv("TEMPID_SECRET", "");
    expect(() => createTempID({ strict: true })).toThrow(/^no secret: set TEMPID_SECRET or pass \{ secret \} \(.*\)$/);
    vi.stubGlobal("Deno", { env: { get: () => { throw new Error("PermissionDenied"); } } });
    expect(() => createTempID({ strict: true })).toThrow(/; Deno reads TEMPID_SECRET only with --allow-env=TEMPID_SECRET$/);
  });

  it("a TempID object where its text is meant is an argument error, not a bad token (null)", async () => {
    const t = createTempID({ secret: SECRET });
    const tid = await t.new("5m");
    await expect(t.verify(tid as never)).rejects.toThrow(/String\(tid\)/);
    await expect(t.fromString(tid as never)).rejects.toThrow(TempIDArgumentError);
    // Other non-strings stay bad tokens: null from verify().
    expect(await t.verify({ token: String(tid) } as never)).toBeNull();
  });

  it("an on/off flag given as anything but a boolean is refused, never read as off", async () => {
    const t = createTempID({ secret: SECRET });
    const spent = await t.new("5m", { maxUses: 1 });
    expect(await spent.use()).toBe(true);
    // { checkUses: "true" } (text from a query string) used to skip the check and accept the spent token.
    for (const bad of ["true", 1, "false", null, {}]) {
      await expect(t.verify(String(spent), { checkUses: bad as never })).rejects.toThrow(TempIDArgumentError);
    }
    await expect(t.verify(String(spent), { checkUses: "true" as never })).rejects.toThrow("checkUses must be true or false, got string");
    expect(await t.verify(String(spent), { checkUses: true })).toBeNull();
    expect((await t.verify(String(spent), { checkUses: false }))?.id).toBe(spent.id);
    // { strict: "true" } used to allow the public fallback secret.
    vi.stubEnv("TEMPID_SECRET", "");
    vi.stubEnv("NODE_ENV", "development");
    expect(() => createTempID({ strict: "true" as never })).toThrow(TempIDConfigError);
    expect(() => createTempID({ strict: "true" as never })).toThrow("strict must be true or false, got string");
    expect(() => createTempID({ strict: true })).toThrow(/no secret/);
    expect(createTempID({ secret: SECRET, strict: false }).format).toBe("v3");
  });

  it("new() without a duration lasts 10 minutes, as the Python package's TempID.new() does", async () => {
    const t = createTempID({ secret: SECRET, clock: () => T0 });
    expect((await t.new()).expiresAt.getTime()).toBe(T0 + 600_000);
    expect((await t.new(undefined, { maxUses: 2 })).maxUses).toBe(2);
    expect((await t.new(undefined, { maxUses: 2 })).expiresAt.getTime()).toBe(T0 + 600_000);
    await expect(t.new(null as never)).rejects.toThrow(TempIDDurationError);
    await expect(t.new("" as never)).rejects.toThrow(TempIDDurationError);
  });

  it("clockTolerance \"0s\" (a config file's way to say none) is no tolerance, as 0 is", async () => {
    for (const none of [0, "0s", "0m", " 00h ", "0d"] as const) {
      const t = createTempID({ secret: SECRET, clock: () => T0, clockTolerance: none as never });
      const tid = await t.new(1);
      const later = createTempID({ secret: SECRET, clock: () => T0 + 1000, clockTolerance: none as never });
      expect(await later.verify(String(tid))).toBeNull();
    }
    expect(() => createTempID({ secret: SECRET, clockTolerance: "-1s" as never })).toThrow(TempIDConfigError);
    expect(() => createTempID({ secret: SECRET, clockTolerance: "0" as never })).toThrow(TempIDConfigError);
  });

  it("formatRemaining() refuses NaN and infinities instead of printing \"Infinityd NaNh\"", () => {
    for (const bad of [Infinity, -Infinity, NaN]) expect(() => formatRemaining(bad)).toThrow(TempIDDurationError);
    expect(formatRemaining(0)).toBe("expired");
    expect(formatRemaining(-5)).toBe("expired");
    expect(formatRemaining(1)).toBe("1s");
  });

  it("a secret with a lone surrogate is refused: it would be the same key as U+FFFD in its place", () => {
    const tail = "-0123456789abcdef0123456789abcdef";
    for (const lone of ["\ud800", "\udfff"]) {
      expect(() => createTempID({ secret: lone + tail })).toThrow(TempIDConfigError);
      expect(() => createTempID({ secret: [SECRET, lone + tail] })).toThrow("secret #2 is not well-formed Unicode (it has a lone surrogate)");
    }
    // A surrogate pair (an emoji) is fine, and differs from U+FFFD.
    const emoji = createTempID({ secret: "\ud83d\ude00" + tail });
    const replacement = createTempID({ secret: "\ufffd" + tail });
    return emoji.new("5m").then(async (tid) => expect(await replacement.verify(String(tid))).toBeNull());
  });

  it("maxUses given as text is quoted in the message", async () => {
    const t = createTempID({ secret: SECRET });
    await expect(t.new("5m", { maxUses: "2" as never })).rejects.toThrow('got "2"');
  });
});

describe("use() of an expired token", () => {
  it("is false with or without maxUses, for a token from new() or fromString()", async () => {
    let now = T0;
    const t = createTempID({ secret: SECRET, clock: () => now });
    const unlimited = await t.new("10s");
    const limited = await t.new("10s", { maxUses: 5 });
    expect(await unlimited.use()).toBe(true);
    now += 60_000;
    expect(await unlimited.use()).toBe(false);
    expect(await (await t.fromString(String(unlimited))).use()).toBe(false);
    expect(await limited.use()).toBe(false);
  });
});

describe("the default store", () => {
  it("is one per process: instances made per request count the same uses", async () => {
    const token = String(await createTempID({ secret: SECRET }).new("10m", { maxUses: 1 }));
    const grants: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const perRequest = createTempID({ secret: SECRET });
      const tid = await perRequest.verify(token, { checkUses: true });
      grants.push(tid !== null && (await tid.use()));
    }
    expect(grants).toEqual([true, false, false]);
    // Rotating secrets (a new instance) keeps the counts too.
    const rotated = createTempID({ secret: ["a-newer-secret-0123456789abcdef01234567", SECRET] });
    expect(await (await rotated.fromString(token)).use()).toBe(false);
  });

  it("close() closes one instance's handle: that instance refuses, the others keep their counts", async () => {
    const a = createTempID({ secret: SECRET });
    const b = createTempID({ secret: SECRET });
    const tid = await a.new("10m", { maxUses: 2 });
    expect(await tid.use()).toBe(true);
    await a.store.close();
    await expect(tid.use()).rejects.toThrow(TempIDStoreError);
    const again = await b.fromString(String(tid));
    expect(await again.usesInfo()).toEqual({ total: 2, used: 1, left: 1 });
    expect(await again.use()).toBe(true);
    expect(await again.use()).toBe(false);
  });
});

describe("no secret on edge platforms", () => {
  it("refuses the public fallback where a Worker with nodejs_compat, Vercel Edge or Deno Deploy emulates a process environment", () => {
    vi.stubEnv("TEMPID_SECRET", "");
    vi.stubEnv("NODE_ENV", "development");
    // A process environment and no edge marker: the fallback, with its warning (the control case).
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(() => createTempID()).not.toThrow();
    warn.mockRestore();
    vi.stubGlobal("navigator", { userAgent: "Cloudflare-Workers" });
    expect(() => createTempID()).toThrow(/no secret/);
    vi.unstubAllGlobals();
    vi.stubGlobal("EdgeRuntime", "edge-runtime");
    expect(() => createTempID()).toThrow(TempIDConfigError);
    vi.unstubAllGlobals();
    vi.stubEnv("DENO_DEPLOYMENT_ID", "abc123");
    expect(() => createTempID()).toThrow(TempIDConfigError);
  });
});

describe("migrating from the Python package", () => {
  it("a short Python secret may follow the V3 secret on an instance that accepts V2, and serves V2 only", async () => {
    const python = createTempID({ secret: PYTHON_SECRET, format: "v2" });
    const v2 = await python.new("15m", { payload: { user_id: 42 } });
    const migrating = createTempID({ secret: [SECRET, PYTHON_SECRET], accept: ["v3", "v2"] });
    expect((await migrating.verify(String(v2)))?.payload).toEqual({ user_id: 42 });
    const v3 = await migrating.new("5m");
    expect(v3.format).toBe("v3");
    expect((await createTempID({ secret: SECRET }).verify(String(v3)))?.id).toBe(v3.id);
    // A V2 instance that also reads V3: its V3 keys come from the long secrets only.
    const v2First = createTempID({ secret: [PYTHON_SECRET, SECRET], format: "v2", accept: ["v2", "v3"] });
    expect((await v2First.verify(String(v3)))?.id).toBe(v3.id);
    expect((await v2First.verify(String(v2)))?.payload).toEqual({ user_id: 42 });
  });

  it("still refuses a short secret that would mint V3, or that nothing but V3 would use", () => {
    expect(() => createTempID({ secret: [PYTHON_SECRET, SECRET], accept: ["v3", "v2"] })).toThrow(/secret #1 is 9 bytes/);
    expect(() => createTempID({ secret: [SECRET, PYTHON_SECRET] })).toThrow(/secret #2 is 9 bytes/);
    expect(() => createTempID({ secret: PYTHON_SECRET, format: "v2", accept: ["v2", "v3"] })).toThrow(/no secret is 32 bytes or more/);
  });

  it("verify() with a purpose or bind where only V2 is accepted throws; where V3 is accepted too, a V2 token is null", async () => {
    const python = createTempID({ secret: PYTHON_SECRET, format: "v2" });
    const v2 = String(await python.new("15m"));
    // Used to be null for every token, valid or not: a check that could never pass, said by nothing.
    await expect(python.verify(v2, { purpose: "reset" })).rejects.toThrow(TempIDUnsupportedError);
    await expect(python.verify("garbage", { bind: "hash" })).rejects.toThrow("purpose and bind do not exist in the V2 format");
    await expect(python.fromString(v2, { purpose: "reset" })).rejects.toMatchObject({ code: "ERR_TEMPID_UNSUPPORTED" });
    expect((await python.verify(v2))?.format).toBe("v2");
    const migrating = createTempID({ secret: [SECRET, PYTHON_SECRET], accept: ["v3", "v2"] });
    expect(await migrating.verify(v2, { purpose: "reset" })).toBeNull();
    const v3 = await migrating.new("15m", { purpose: "reset" });
    expect((await migrating.verify(String(v3), { purpose: "reset" }))?.id).toBe(v3.id);
  });

  it("V2 tokens are minted only within what Python reads: payload up to 512 bytes, expiry 2020..2100", async () => {
    const big = createTempID({ secret: PYTHON_SECRET, format: "v2", maxPayloadBytes: 2048 });
    const json = (n: number) => ({ a: "x".repeat(n - 8) }); // {"a":"…"} is n bytes of JSON
    expect((await big.new("5m", { payload: json(512) })).payload).toEqual(json(512));
    // Used to mint with the instance's 2048-byte limit: a token the Python package (512) refuses.
    await expect(big.new("5m", { payload: json(513) })).rejects.toThrow(TempIDPayloadTooLargeError);
    await expect(big.new("5m", { payload: json(513) })).rejects.toThrow("over the limit of 512 bytes");
    // The same instance's V3 tokens keep its own limit.
    const v3 = createTempID({ secret: [SECRET, PYTHON_SECRET], accept: ["v3", "v2"], maxPayloadBytes: 2048 });
    expect((await v3.new("5m", { payload: json(1500) })).payload).toEqual(json(1500));

    // Used to mint a token before 2020 that the same instance then refused to read.
    const early = createTempID({ secret: PYTHON_SECRET, format: "v2", clock: () => Date.UTC(2019, 5, 1) });
    await expect(early.new("5m")).rejects.toThrow(TempIDArgumentError);
    await expect(early.new("5m")).rejects.toThrow("outside 2020-01-01..2100-01-01 (UTC), got 2019-06-01T00:05:00.000Z");
    // The last second Python reads is 2100-01-01T00:00:00Z itself.
    const end = Date.UTC(2100, 0, 1) - 300_000;
    const late = createTempID({ secret: PYTHON_SECRET, format: "v2", clock: () => end });
    const last = await late.new("5m");
    expect(last.expiresAt.toISOString()).toBe("2100-01-01T00:00:00.000Z");
    expect((await late.verify(String(last)))?.id).toBe(last.id);
    await expect(late.new(301)).rejects.toThrow(TempIDArgumentError);
  });

  it("an instance must accept the format it mints in", () => {
    expect(() => createTempID({ secret: SECRET, format: "v2", accept: ["v3"] })).toThrow(/accept must include "v2"/);
    expect(() => createTempID({ secret: SECRET, accept: ["v2"] })).toThrow(TempIDConfigError);
  });
});
