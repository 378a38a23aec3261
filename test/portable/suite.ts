/**
 * The portable suite: the public API of @tempid/core, exercised the same way on every runtime. It imports
 * nothing at run time: each runner passes in the library it loaded (the built package, as a user would
 * load it) and the test vectors it read, and this file only uses what every runtime has (crypto.subtle,
 * crypto.getRandomValues, TextEncoder, Promise).
 */
import { assert, deepEqual, equal, match, throwsCode, type TestCase } from "./harness.js";

type Core = typeof import("@tempid/core");
type JsonValue = import("@tempid/core").JsonValue;
type Instance = ReturnType<Core["createTempID"]>;
type Engine = "auto" | "webcrypto";

export interface PythonV2Vectors {
  now: number;
  valid: Array<{ secret: string; token: string; expires_at: number; payload: unknown; max_uses: number; counter_key: string }>;
  expired: Array<{ secret: string; token: string; expires_at: number; payload: unknown; max_uses: number; counter_key: string }>;
  invalid: Array<{ secret: string; token: string; why: string }>;
}

export interface V3Vectors {
  now: number;
  valid: Array<{
    secret: string;
    token: string;
    id: string;
    expires_at: number;
    payload: unknown;
    max_uses: number;
    purpose: string | null;
    bind: string | null;
    key_id: number;
  }>;
  expired: Array<{ secret: string; token: string; id: string; expires_at: number; payload: unknown; max_uses: number }>;
  invalid: Array<{ secret: string; token: string; why: string; purpose?: string; bind?: string }>;
}

export interface Fixtures {
  pythonV2: PythonV2Vectors;
  /** test/fixtures/v3-vectors.json */
  v3: V3Vectors;
}

export interface SuiteOptions {
  /** Does this runtime offer Node's crypto through process.getBuiltinModule (Node, Deno, Bun, workerd with nodejs_compat)? */
  expectNativeCrypto: boolean;
}

const NOW = 1_800_000_000_000;
const SECRET_A = "portable-suite-secret-A-0123456789abcdef";
const SECRET_B = "portable-suite-secret-B-fedcba9876543210";
const V2_SECRET = "s3cret";
const TOKEN_FAULT = ["ERR_TEMPID_FORMAT", "ERR_TEMPID_TAMPERED"] as const;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The V3 text alphabet (Crockford base32, no aliases) and the V2 one (RFC 4648). */
const V3_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const V2_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A settable clock: every time-based decision in these tests goes through one. */
function clockAt(ms: number): { now: number; read: () => number } {
  const c = { now: ms, read: () => c.now };
  return c;
}

/** Random printable text of exactly `n` ASCII characters: JSON-safe and incompressible. */
function randomAscii(n: number): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let s = "";
  for (const b of bytes) s += chars[b & 63];
  return s;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** Every one-character substitution of the token's body (after its prefix) with another alphabet symbol. */
function mutations(text: string, alphabet: string): string[] {
  const start = text.indexOf(".") + 1;
  const out: string[] = [];
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    const at = alphabet.indexOf(c);
    if (at < 0) continue; // a dash: not part of the data
    out.push(text.slice(0, i) + alphabet[(at + 1 + (i % (alphabet.length - 1))) % alphabet.length] + text.slice(i + 1));
  }
  return out;
}

export function portableSuite(lib: Core, fixtures: Fixtures, options: SuiteOptions): TestCase[] {
  const cases: TestCase[] = [];
  const add = (name: string, fn: () => Promise<void> | void) => cases.push({ name, fn });

  add("the runtime takes the expected crypto path", () => {
    const auto = lib.createTempID({ secret: SECRET_A });
    equal(auto.cryptoEngine, options.expectNativeCrypto ? "node" : "webcrypto", "cryptoEngine with crypto: auto");
    equal(lib.createTempID({ secret: SECRET_A, crypto: "webcrypto" }).cryptoEngine, "webcrypto", "cryptoEngine with crypto: webcrypto");
  });

  const engines: Engine[] = options.expectNativeCrypto ? ["auto", "webcrypto"] : ["webcrypto"];
  for (const engine of engines) engineCases(lib, fixtures, engine, (name, fn) => add(`[${engine === "auto" ? "node crypto" : "webcrypto"}] ${name}`, fn));
  if (options.expectNativeCrypto) crossEngineCases(lib, add);
  sharedCases(lib, add);
  return cases;
}

function engineCases(lib: Core, fx: Fixtures, engine: Engine, add: (name: string, fn: () => Promise<void> | void) => void): void {
  const make = (opts: Parameters<Core["createTempID"]>[0] = {}): Instance => lib.createTempID({ secret: SECRET_A, crypto: engine, ...opts });

  add("new + verify + fromString round trip (V3)", async () => {
    const clock = clockAt(NOW);
    const t = make({ clock: clock.read });
    equal(t.format, "v3", "instance format");
    const tid = await t.new("15m", { payload: { userId: 42 } });
    const text = tid.toString();
    match(text, /^TEMP-V3\.[0-9A-Z]+$/, "token text");
    match(tid.id, UUID_V4, "id");
    equal(tid.counterKey, tid.id, "counterKey");
    equal(tid.format, "v3", "format");
    equal(tid.expiresAt.getTime(), NOW + 15 * 60_000, "expiresAt");
    equal(tid.maxUses, 0, "maxUses");
    deepEqual(tid.payload, { userId: 42 }, "payload");
    equal(tid.toJSON(), text, "toJSON");
    equal(JSON.stringify({ link: tid }), JSON.stringify({ link: text }), "JSON.stringify");
    equal(tid.valid(), true, "valid()");
    equal(tid.expired(), false, "expired()");
    equal(tid.remaining(), "15m 0s", "remaining()");
    assert(tid instanceof lib.TempID, "new() returns a TempID");

    const back = await t.verify<{ userId: number }>(text);
    assert(back !== null, "verify returns the token");
    equal(back.id, tid.id, "verified id");
    equal(back.expiresAt.getTime(), tid.expiresAt.getTime(), "verified expiresAt");
    deepEqual(back.payload, { userId: 42 }, "verified payload");
    equal(back.toString(), text, "verified text");

    const parsed = await t.fromString(text);
    equal(parsed.id, tid.id, "fromString id");
    // Text is case-insensitive and dashes and surrounding whitespace are ignored.
    const sloppy = `  ${text.toLowerCase().slice(0, 12)}-${text.toLowerCase().slice(12)}\n`;
    equal((await t.verify(sloppy))?.toString(), text, "lower case, dashed, padded text verifies to the canonical token");
  });

  add("every token gets its own id", async () => {
    const t = make();
    const tokens = await Promise.all(Array.from({ length: 64 }, () => t.new("1m")));
    equal(new Set(tokens.map((x) => x.id)).size, 64, "distinct ids");
    equal(new Set(tokens.map((x) => x.toString())).size, 64, "distinct texts");
  });

  add("payloads: unicode survives exactly", async () => {
    const t = make();
    const payload = {
      emoji: "🔑✓😀👩‍👩‍👧",
      cjk: "漢字かなカナ",
      rtl: "שלום مرحبا",
      combining: "e\u0301 n\u0303",
      astral: "𝒳𝔜",
      control: "\u0000\u0007\t\n",
      quotes: `"'\\/`,
      lone: "\ud800",
      "ключ": "значение",
    };
    const back = await t.verify((await t.new("5m", { payload })).toString());
    deepEqual(back?.payload, payload, "unicode payload");
    for (const scalar of ["just a string ✓", [1, "two", { three: 3 }], 42.5, true]) {
      const tid = await t.new("5m", { payload: scalar });
      deepEqual((await t.verify(tid.toString()))?.payload, scalar, `payload ${JSON.stringify(scalar)}`);
    }
  });

  add("payloads: nested structures and numbers survive exactly", async () => {
    const t = make({ maxPayloadBytes: 2048 });
    let deep: JsonValue = { leaf: [null, false, 0] };
    for (let i = 0; i < 25; i++) deep = { level: i, child: deep, list: [i, { i }] };
    const payload = {
      deep,
      numbers: [0, -1, 1.5, -2.25e-7, 9007199254740991, -9007199254740991, 1e21],
      empty: { obj: {}, arr: [], str: "" },
      mixed: [{ a: [{ b: [{ c: "d" }] }] }],
    };
    const back = await t.verify((await t.new("5m", { payload })).toString());
    deepEqual(back?.payload, payload, "nested payload");
  });

  add("payloads: exactly at the byte limit pass, one byte over is refused", async () => {
    const t = make();
    const ascii = { d: randomAscii(512 - utf8Length('{"d":""}')) };
    equal(utf8Length(JSON.stringify(ascii)), 512, "test payload size");
    deepEqual((await t.verify((await t.new("5m", { payload: ascii })).toString()))?.payload, ascii, "512-byte payload");

    const over = { d: `${ascii.d}x` };
    const err = await throwsCode(() => t.new("5m", { payload: over }), "ERR_TEMPID_PAYLOAD_TOO_LARGE", "513-byte payload");
    assert(err instanceof lib.TempIDPayloadTooLargeError, "a TempIDPayloadTooLargeError");
    equal(err.size, 513, "reported size");
    equal(err.limit, 512, "reported limit");

    // The limit counts UTF-8 bytes, not characters: 252 × "é" (2 bytes each) + 8 bytes of JSON = 512.
    const accents = { d: "é".repeat(252) };
    deepEqual((await t.verify((await t.new("5m", { payload: accents })).toString()))?.payload, accents, "512 bytes of accents");
    await throwsCode(() => t.new("5m", { payload: { d: "é".repeat(253) } }), "ERR_TEMPID_PAYLOAD_TOO_LARGE", "514 bytes of accents");
  });

  add("payloads: the largest allowed payload makes a token that still verifies", async () => {
    const big = make({ maxPayloadBytes: 2048 });
    const payload = { d: randomAscii(2048 - utf8Length('{"d":""}')) };
    const tid = await big.new("5m", { payload });
    assert(tid.toString().length <= 4400, `token of ${tid.toString().length} characters fits the 4,400-character input limit`);
    deepEqual((await big.verify(tid.toString()))?.payload, payload, "2048-byte payload");
    // An instance with the default 512-byte limit does not inflate it.
    const small = make();
    equal(await small.verify(tid.toString()), null, "verify under a smaller limit");
    await throwsCode(() => small.fromString(tid.toString()), ["ERR_TEMPID_FORMAT", "ERR_TEMPID_PAYLOAD_TOO_LARGE"], "fromString under a smaller limit");
  });

  add("payloads: repetitive data is compressed inside the token", async () => {
    const t = make();
    const payload = { blob: "y".repeat(400), list: Array.from({ length: 8 }, () => "same") };
    const tid = await t.new("5m", { payload });
    assert(tid.toString().length < JSON.stringify(payload).length, `token (${tid.toString().length} chars) is shorter than its JSON`);
    deepEqual((await t.verify(tid.toString()))?.payload, payload, "compressed payload");
  });

  add("payloads that are not plain JSON data are refused", async () => {
    const t = make();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad: Array<[string, unknown]> = [
      ["a Date", { at: new Date(0) }],
      ["undefined in an array", [1, undefined]],
      ["NaN", { n: Number.NaN }],
      ["Infinity", [Number.POSITIVE_INFINITY]],
      ["a function", { f: () => 1 }],
      ["a Map", { m: new Map() }],
      ["a bigint", { b: BigInt(1) }],
      ["a cycle", cyclic],
    ];
    for (const [what, payload] of bad) await throwsCode(() => t.new("5m", { payload: payload as never }), "ERR_TEMPID_PAYLOAD", what);
    // An undefined property is an absent optional one, left out as JSON leaves it out.
    const optional = await t.new("5m", { payload: { a: 1, b: undefined } as never });
    deepEqual((await t.verify(optional.toString()))?.payload, { a: 1 }, "undefined property left out");
  });

  add("max uses: the memory store grants exactly maxUses, then refuses", async () => {
    const store = new lib.MemoryStore();
    const t = make({ store });
    const tid = await t.new("1h", { maxUses: 3 });
    equal(tid.maxUses, 3, "maxUses");
    deepEqual(await tid.usesInfo(), { total: 3, used: 0, left: 3 }, "usesInfo before");
    const grants = [await tid.use(), await tid.use(), await tid.use(), await tid.use()];
    deepEqual(grants, [true, true, true, false], "use() results");
    deepEqual(await tid.usesInfo(), { total: 3, used: 3, left: 0 }, "usesInfo after");
    assert((await t.verify(tid.toString())) !== null, "verify without checkUses still accepts a used-up token");
    equal(await t.verify(tid.toString(), { checkUses: true }), null, "verify with checkUses");
    // A second object for the same token shares the count through the store.
    const again = await t.fromString(tid.toString());
    equal(await again.use(), false, "use() through another object of the same token");
    const other = await t.new("1h", { maxUses: 1 });
    equal(await other.use(), true, "another token has its own count");
  });

  add("max uses: concurrent use() calls grant exactly maxUses", async () => {
    const t = make({ store: new lib.MemoryStore() });
    const tid = await t.new("1h", { maxUses: 2 });
    const copies = await Promise.all(Array.from({ length: 10 }, () => t.fromString(tid.toString())));
    const results = await Promise.all(copies.map((c) => c.use()));
    equal(results.filter(Boolean).length, 2, "granted uses");
  });

  add("max uses: revoke ends a token everywhere; unlimited tokens never touch the store", async () => {
    const store = new lib.MemoryStore();
    const t = make({ store });
    const tid = await t.new("1h", { maxUses: 5 });
    equal(await tid.use(), true, "first use");
    await tid.revoke();
    equal(await tid.use(), false, "use after revoke");
    deepEqual(await tid.usesInfo(), { total: 5, used: 5, left: 0 }, "usesInfo after revoke");
    equal(await t.verify(tid.toString(), { checkUses: true }), null, "verify with checkUses after revoke");

    const before = store.size;
    const unlimited = await t.new("1h");
    equal(await unlimited.use(), true, "unlimited use()");
    equal(await unlimited.use(), true, "unlimited use() again");
    deepEqual(await unlimited.usesInfo(), { total: null, used: null, left: null }, "unlimited usesInfo");
    equal(store.size, before, "store untouched by unlimited tokens");
    await throwsCode(() => unlimited.revoke(), "ERR_TEMPID_UNSUPPORTED", "revoking an unlimited token");
  });

  add("max uses: an expired token is refused without a store call", async () => {
    const clock = clockAt(NOW);
    const store = new lib.MemoryStore();
    const t = make({ store, clock: clock.read });
    const tid = await t.new("1m", { maxUses: 3 });
    clock.now = NOW + 60_000;
    equal(await tid.use(), false, "use() once expired");
    equal(store.size, 0, "no counter created");
  });

  add("a failing store is an error, never a grant", async () => {
    const down = {
      consume: async () => {
        throw new Error("connection refused");
      },
      used: async () => 0,
      revoke: async () => {},
      close: async () => {},
    };
    const t = make({ store: down });
    const tid = await t.new("1h", { maxUses: 1 });
    const err = await throwsCode(() => tid.use(), "ERR_TEMPID_STORE", "use() with the store down");
    assert(err instanceof lib.TempIDStoreError, "a TempIDStoreError");
    const liar = { ...down, consume: async () => "yes" as unknown as boolean };
    await throwsCode(async () => (await make({ store: liar }).new("1h", { maxUses: 1 })).use(), "ERR_TEMPID_STORE", "use() with a store answering nonsense");
  });

  add("rotation (V3): the first secret mints, every listed secret verifies", async () => {
    const before = make({ secret: SECRET_A });
    const old = await before.new("1h", { payload: { v: "old" } });
    const rotated = make({ secret: [SECRET_B, SECRET_A] });
    deepEqual((await rotated.verify(old.toString()))?.payload, { v: "old" }, "old token after rotation");
    const fresh = await rotated.new("1h", { payload: { v: "new" } });
    deepEqual((await make({ secret: SECRET_B }).verify(fresh.toString()))?.payload, { v: "new" }, "new token under the new secret alone");
    equal(await before.verify(fresh.toString()), null, "new token under the old secret alone");
    await throwsCode(() => before.fromString(fresh.toString()), TOKEN_FAULT, "fromString under the retired secret");
    assert(lib.inspectToken(old.toString()).keyId !== lib.inspectToken(fresh.toString()).keyId, "each secret writes its own key id");
  });

  add("rotation (V2): the first secret mints, every listed secret verifies", async () => {
    const v2 = (secret: string | string[]) => lib.createTempID({ secret, format: "v2", accept: ["v2"], crypto: engine });
    const old = await v2("old-secret").new("1h", { payload: { v: 1 } });
    const rotated = v2(["new-secret", "old-secret"]);
    deepEqual((await rotated.verify(old.toString()))?.payload, { v: 1 }, "old V2 token after rotation");
    const fresh = await rotated.new("1h");
    equal(await v2("old-secret").verify(fresh.toString()), null, "new V2 token under the old secret");
    assert((await v2("new-secret").verify(fresh.toString())) !== null, "new V2 token under the new secret");
  });

  add("purpose: a token made for one purpose fails for any other", async () => {
    const t = make();
    const tid = await t.new("10m", { purpose: "password-reset" });
    assert((await t.verify(tid.toString(), { purpose: "password-reset" })) !== null, "same purpose");
    equal(await t.verify(tid.toString(), { purpose: "email-verify" }), null, "other purpose");
    equal(await t.verify(tid.toString()), null, "no purpose");
    await throwsCode(() => t.fromString(tid.toString()), "ERR_TEMPID_TAMPERED", "fromString without the purpose");
    equal(await t.verify((await t.new("10m")).toString(), { purpose: "password-reset" }), null, "made without purpose, checked with one");

    const scoped = make({ purpose: "login" });
    const login = await scoped.new("10m");
    assert((await scoped.verify(login.toString())) !== null, "instance purpose applies to new and verify");
    equal(await t.verify(login.toString()), null, "instance purpose is part of the token");
    assert((await t.verify(login.toString(), { purpose: "login" })) !== null, "explicit purpose matches instance purpose");
    await throwsCode(() => t.new("10m", { purpose: "" }), "ERR_TEMPID_ARGUMENT", "empty purpose");
  });

  add("bind: a token bound to a value verifies only with the same value", async () => {
    const t = make();
    const tid = await t.new("10m", { bind: "$argon2id$hash-1", payload: { user: 1 } });
    deepEqual((await t.verify(tid.toString(), { bind: "$argon2id$hash-1" }))?.payload, { user: 1 }, "same bind");
    equal(await t.verify(tid.toString(), { bind: "$argon2id$hash-2" }), null, "changed bind (e.g. password changed)");
    equal(await t.verify(tid.toString()), null, "no bind");
    const bytes = await t.new("10m", { bind: new Uint8Array([1, 2, 3]), purpose: "p" });
    assert((await t.verify(bytes.toString(), { bind: new Uint8Array([1, 2, 3]), purpose: "p" })) !== null, "same bytes");
    equal(await t.verify(bytes.toString(), { bind: new Uint8Array([1, 2, 4]), purpose: "p" }), null, "other bytes");
    equal(await t.verify(bytes.toString(), { bind: new Uint8Array([1, 2, 3]) }), null, "bytes without the purpose");
    await throwsCode(() => t.new("10m", { bind: 42 as never }), "ERR_TEMPID_ARGUMENT", "a number as bind");
  });

  add("purpose and bind do not exist in V2", async () => {
    const v2 = lib.createTempID({ secret: V2_SECRET, format: "v2", accept: ["v2"], crypto: engine });
    await throwsCode(() => v2.new("1h", { purpose: "x" }), "ERR_TEMPID_UNSUPPORTED", "V2 purpose");
    await throwsCode(() => v2.new("1h", { bind: "x" }), "ERR_TEMPID_UNSUPPORTED", "V2 bind");
    await throwsCode(() => lib.createTempID({ secret: V2_SECRET, format: "v2", accept: ["v2"], purpose: "p" }), "ERR_TEMPID_CONFIG", "V2 instance purpose");
    const tid = await v2.new("1h");
    // Only V2 accepted: a purpose could never match, so asking for one throws (it used to be null for every token).
    await throwsCode(() => v2.verify(tid.toString(), { purpose: "x" }), "ERR_TEMPID_UNSUPPORTED", "V2-only verify with a purpose");
    await throwsCode(() => v2.verify("garbage", { bind: "x" }), "ERR_TEMPID_UNSUPPORTED", "V2-only verify with a bind");
    // V3 accepted too: the V2 token is simply not one made for that purpose.
    const both = lib.createTempID({ secret: [SECRET_A, V2_SECRET], accept: ["v3", "v2"], crypto: engine });
    assert((await both.verify(tid.toString())) !== null, "a V2 token verifies without a purpose");
    equal(await both.verify(tid.toString(), { purpose: "x" }), null, "a V2 token checked with a purpose is refused");
  });

  add("expiry follows the injected clock, to the millisecond", async () => {
    const clock = clockAt(NOW);
    const t = make({ clock: clock.read });
    const tid = await t.new("10m");
    let fired = 0;
    tid.onExpire(() => fired++).onExpire(() => fired++);
    clock.now = NOW + 10 * 60_000 - 1;
    equal(tid.valid(), true, "valid 1 ms before expiry");
    equal(tid.remaining(), "1s", "remaining 1 ms before expiry");
    assert((await t.verify(tid.toString())) !== null, "verify 1 ms before expiry");
    equal(fired, 0, "onExpire not run while valid");
    clock.now = NOW + 10 * 60_000;
    equal(tid.valid(), false, "valid at expiry");
    equal(fired, 2, "both onExpire callbacks ran");
    equal(tid.expired(), true, "expired at expiry");
    equal(fired, 2, "onExpire runs once");
    equal(tid.remaining(), "expired", "remaining at expiry");
    equal(await t.verify(tid.toString()), null, "verify at expiry");
    const parsed = await t.fromString(tid.toString());
    equal(parsed.expired(), true, "fromString returns the expired token");
    equal(parsed.id, tid.id, "fromString id of the expired token");
    clock.now = NOW - 5_000;
    equal((await t.new(30)).expiresAt.getTime(), NOW - 5_000 + 30_000, "a number is seconds, from the clock's time");
  });

  add("clockTolerance extends acceptance by exactly its length", async () => {
    const clock = clockAt(NOW);
    const t = make({ clock: clock.read, clockTolerance: "30s" });
    const tid = await t.new("10m");
    clock.now = NOW + 10 * 60_000 + 29_999;
    assert((await t.verify(tid.toString())) !== null, "within tolerance");
    clock.now = NOW + 10 * 60_000 + 30_000;
    equal(await t.verify(tid.toString()), null, "past tolerance");
  });

  add("durations: units, numbers and bad values", async () => {
    const t = make({ clock: () => NOW });
    const cases: Array<[Parameters<Instance["new"]>[0], number]> = [
      ["30s", 30],
      ["10m", 600],
      ["2h", 7200],
      ["7d", 604800],
      [45, 45],
    ];
    for (const [d, seconds] of cases) equal((await t.new(d)).expiresAt.getTime(), NOW + seconds * 1000, `duration ${String(d)}`);
    for (const bad of ["abc", "10y", "", "1.5h", 0, -1, 1.5, Number.NaN, 10 ** 12]) {
      await throwsCode(() => t.new(bad as never), "ERR_TEMPID_DURATION", `duration ${String(bad)}`);
    }
    await throwsCode(() => t.new("1h", { maxUses: -1 }), "ERR_TEMPID_ARGUMENT", "maxUses -1");
    await throwsCode(() => t.new("1h", { maxUses: 1.5 }), "ERR_TEMPID_ARGUMENT", "maxUses 1.5");
  });

  add("Python V2 vectors: every valid token verifies to the Python fields", async () => {
    const v = fx.pythonV2;
    assert(v.valid.length > 0, "vectors present");
    for (const [i, vec] of v.valid.entries()) {
      const t = lib.createTempID({ secret: vec.secret, format: "v2", accept: ["v2"], clock: () => v.now * 1000, crypto: engine });
      const tid = await t.verify(vec.token);
      assert(tid !== null, `valid #${i} verifies`);
      equal(tid.format, "v2", `#${i} format`);
      equal(tid.expiresAt.getTime(), vec.expires_at * 1000, `#${i} expiresAt`);
      deepEqual(tid.payload, vec.payload, `#${i} payload`);
      equal(tid.maxUses, vec.max_uses, `#${i} maxUses`);
      equal(tid.counterKey, vec.counter_key, `#${i} counterKey`);
      equal(tid.toString(), vec.token.trim(), `#${i} text`);
    }
  });

  add("Python V2 vectors: expired tokens are refused by verify, returned expired by fromString", async () => {
    const v = fx.pythonV2;
    assert(v.expired.length > 0, "vectors present");
    for (const [i, vec] of v.expired.entries()) {
      const t = lib.createTempID({ secret: vec.secret, format: "v2", accept: ["v2"], clock: () => v.now * 1000, crypto: engine });
      equal(await t.verify(vec.token), null, `expired #${i} verify`);
      const tid = await t.fromString(vec.token);
      equal(tid.expired(), true, `expired #${i} expired()`);
      deepEqual(tid.payload, vec.payload, `expired #${i} payload`);
      equal(tid.counterKey, vec.counter_key, `expired #${i} counterKey`);
    }
  });

  add("Python V2 vectors: invalid tokens are refused with a format or tampering error", async () => {
    const v = fx.pythonV2;
    assert(v.invalid.length > 0, "vectors present");
    for (const vec of v.invalid) {
      const t = lib.createTempID({ secret: vec.secret, format: "v2", accept: ["v2"], clock: () => v.now * 1000, crypto: engine });
      equal(await t.verify(vec.token), null, `${vec.why}: verify`);
      await throwsCode(() => t.fromString(vec.token), TOKEN_FAULT, `${vec.why}: fromString`);
    }
  });

  add("V3 vectors: every valid token verifies to its fields", async () => {
    const v = fx.v3;
    assert(v.valid.length > 0, "vectors present");
    for (const [i, vec] of v.valid.entries()) {
      const t = lib.createTempID({ secret: vec.secret, clock: () => v.now * 1000, crypto: engine });
      const tid = await t.verify(vec.token, { purpose: vec.purpose ?? undefined, bind: vec.bind ?? undefined });
      assert(tid !== null, `valid #${i} verifies`);
      equal(tid.id, vec.id, `#${i} id`);
      equal(tid.expiresAt.getTime(), vec.expires_at * 1000, `#${i} expiresAt`);
      deepEqual(tid.payload, vec.payload, `#${i} payload`);
      equal(tid.maxUses, vec.max_uses, `#${i} maxUses`);
      equal(lib.inspectToken(vec.token).keyId, vec.key_id, `#${i} key id`);
    }
  });

  add("V3 vectors: expired and invalid tokens are refused", async () => {
    const v = fx.v3;
    assert(v.expired.length > 0 && v.invalid.length > 0, "vectors present");
    for (const [i, vec] of v.expired.entries()) {
      const t = lib.createTempID({ secret: vec.secret, clock: () => v.now * 1000, crypto: engine });
      equal(await t.verify(vec.token), null, `expired #${i} verify`);
      equal((await t.fromString(vec.token)).expired(), true, `expired #${i} fromString`);
    }
    for (const vec of v.invalid) {
      const t = lib.createTempID({ secret: vec.secret, clock: () => v.now * 1000, crypto: engine });
      const opts = { purpose: vec.purpose, bind: vec.bind };
      equal(await t.verify(vec.token, opts), null, `${vec.why}: verify`);
      await throwsCode(() => t.fromString(vec.token, opts), TOKEN_FAULT, `${vec.why}: fromString`);
    }
  });

  add("V2 minting: Python layout, verified by a V3 instance that also accepts V2", async () => {
    const v2 = lib.createTempID({ secret: SECRET_A, format: "v2", accept: ["v2"], clock: () => NOW, crypto: engine });
    const tid = await v2.new("15m", { payload: { user_id: 42, name: "Zoë" }, maxUses: 3 });
    const text = tid.toString();
    match(text, /^TEMP-V2\.[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{3}\.[A-Z2-7-]+\.[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}$/, "V2 text");
    equal(tid.counterKey, text.split(".").at(-1), "counterKey is the signature");
    const both = make({ accept: ["v3", "v2"], clock: () => NOW });
    const back = await both.verify(text);
    deepEqual(back?.payload, { user_id: 42, name: "Zoë" }, "payload through a mixed instance");
    equal(back?.format, "v2", "format");
    equal(back?.maxUses, 3, "maxUses");
  });

  add("tampering: every changed character of a V3 token is caught", async () => {
    const t = make();
    for (const tid of [await t.new("1h"), await t.new("1h", { payload: { user: 7, role: "admin" }, maxUses: 2 })]) {
      const text = tid.toString();
      const variants = [...mutations(text, V3_ALPHABET), text.slice(0, -1), `${text}0`, text.replace("TEMP-V3.", "TEMP-V3.0")];
      for (const bad of variants) {
        const got = await t.verify(bad);
        // A variant may only be accepted when it decodes to the very same token.
        if (got !== null) equal(got.toString(), text, `variant ${bad} accepted as another token`);
        else await throwsCode(() => t.fromString(bad), TOKEN_FAULT, `variant ${bad}`);
      }
    }
  });

  add("tampering: every changed character of a V2 token is caught", async () => {
    const t = lib.createTempID({ secret: V2_SECRET, format: "v2", accept: ["v2"], crypto: engine });
    for (const tid of [await t.new("1h", { maxUses: 4 }), await t.new("1h", { payload: { user_id: 7 } })]) {
      const text = tid.toString();
      for (const bad of [...mutations(text, V2_ALPHABET), text.slice(0, -1), `${text}A`]) {
        equal(await t.verify(bad), null, `variant ${bad}`);
        await throwsCode(() => t.fromString(bad), TOKEN_FAULT, `variant ${bad}`);
      }
    }
  });

  add("garbage and wrong formats are refused, never thrown from verify", async () => {
    const t = make();
    const v2only = lib.createTempID({ secret: V2_SECRET, format: "v2", accept: ["v2"], crypto: engine });
    const garbage: unknown[] = [
      "",
      " ",
      "TEMP-V3",
      "TEMP-V3.",
      "TEMP-V3.!!!!",
      "TEMP-V4.0123456789",
      "temp-v2.",
      "550e8400-e29b-41d4-a716-446655440000",
      "TEMP-V3.".padEnd(5000, "A"),
      "\u0000\u0001\u0002",
      "TEMP-V3.🔑🔑🔑🔑",
      123,
      null,
      undefined,
      {},
      ["TEMP-V3.AAAA"],
    ];
    for (const g of garbage) {
      equal(await t.verify(g as string), null, `verify ${JSON.stringify(g)}`);
      await throwsCode(() => t.fromString(g as string), "ERR_TEMPID_FORMAT", `fromString ${JSON.stringify(g)}`);
    }
    const v3 = (await t.new("1h")).toString();
    const v2 = (await v2only.new("1h")).toString();
    equal(await v2only.verify(v3), null, "a V3 token where only V2 is accepted");
    equal(await t.verify(v2), null, "a V2 token where only V3 is accepted");
    await throwsCode(() => t.fromString(v2), "ERR_TEMPID_FORMAT", "fromString of a V2 token where only V3 is accepted");
  });

  add("Standard Schema: payloads are checked on new and typed on verify", async () => {
    const schema = {
      "~standard": {
        version: 1 as const,
        vendor: "portable-suite",
        // Async on purpose: a schema may validate asynchronously.
        validate: async (value: unknown) => {
          const v = value as { userId?: unknown } | null;
          return typeof v === "object" && v !== null && typeof v.userId === "number"
            ? { value: { userId: v.userId, checked: true } }
            : { issues: [{ message: "userId must be a number", path: ["userId"] }] };
        },
        types: undefined as unknown as { input: { userId: number }; output: { userId: number; checked: boolean } },
      },
    };
    const t = make();
    const err = await throwsCode(() => t.new("5m", { payload: { userId: "7" } as never, schema }), "ERR_TEMPID_SCHEMA", "bad payload");
    assert(err instanceof lib.TempIDSchemaError && err.issues.length === 1, "one issue reported");
    const tid = await t.new("5m", { payload: { userId: 7 }, schema });
    deepEqual(tid.payload, { userId: 7, checked: true }, "new returns the schema's output");
    const back = await t.verify(tid.toString(), { schema });
    deepEqual(back?.payload, { userId: 7, checked: true }, "verify returns the schema's output");
    const plain = await t.new("5m", { payload: { userId: "not a number" } });
    equal(await t.verify(plain.toString(), { schema }), null, "verify refuses a payload the schema rejects");
    await throwsCode(() => t.fromString(plain.toString(), { schema }), "ERR_TEMPID_SCHEMA", "fromString with a rejecting schema");
  });

  add("the default instance: configure() then TempID.new / verify / fromString", async () => {
    const clock = clockAt(NOW);
    lib.configure({ secret: SECRET_B, clock: clock.read, crypto: engine });
    const tid = await lib.TempID.new("15m", { payload: { via: "default" } });
    deepEqual((await lib.TempID.verify(tid.toString()))?.payload, { via: "default" }, "TempID.verify");
    equal((await lib.TempID.fromString(tid.toString())).id, tid.id, "TempID.fromString");
    equal(await make({ secret: SECRET_A }).verify(tid.toString()), null, "another secret refuses it");
    clock.now = NOW + 15 * 60_000;
    equal(await lib.TempID.verify(tid.toString()), null, "the configured clock applies");
    await throwsCode(() => lib.configure({ secret: "too short" }), "ERR_TEMPID_CONFIG", "configure with a short secret");
  });
}

function crossEngineCases(lib: Core, add: (name: string, fn: () => Promise<void> | void) => void): void {
  add("[cross] tokens minted with Node's crypto verify with WebCrypto, and back", async () => {
    const native = lib.createTempID({ secret: SECRET_A, crypto: "auto" });
    const portable = lib.createTempID({ secret: SECRET_A, crypto: "webcrypto" });
    equal(native.cryptoEngine, "node", "native engine");
    equal(portable.cryptoEngine, "webcrypto", "portable engine");
    const payloads: Array<JsonValue | undefined> = [undefined, { user_id: 42 }, { blob: "z".repeat(300), unicode: "ünï🔑" }, { d: randomAscii(400) }];
    for (const [mint, check, dir] of [
      [native, portable, "node→webcrypto"],
      [portable, native, "webcrypto→node"],
    ] as const) {
      for (const payload of payloads) {
        const tid = await mint.new("1h", { payload, maxUses: 5, purpose: "p", bind: "b" });
        const back = await check.verify(tid.toString(), { purpose: "p", bind: "b" });
        assert(back !== null, `${dir}: verifies`);
        deepEqual(back.payload, payload ?? null, `${dir}: payload`);
        equal(back.id, tid.id, `${dir}: id`);
        equal(await check.verify(tid.toString(), { purpose: "p", bind: "c" }), null, `${dir}: wrong bind refused`);
      }
    }
  });

  add("[cross] V2 tokens minted with Node's crypto verify with WebCrypto, and back", async () => {
    const native = lib.createTempID({ secret: V2_SECRET, format: "v2", accept: ["v2"], crypto: "auto" });
    const portable = lib.createTempID({ secret: V2_SECRET, format: "v2", accept: ["v2"], crypto: "webcrypto" });
    for (const [mint, check, dir] of [
      [native, portable, "node→webcrypto"],
      [portable, native, "webcrypto→node"],
    ] as const) {
      for (const payload of [undefined, { user_id: 1 }, { blob: "q".repeat(300), name: "Zoë" }] as Array<JsonValue | undefined>) {
        const tid = await mint.new("1h", { payload, maxUses: 9 });
        const back = await check.verify(tid.toString());
        deepEqual(back?.payload, payload ?? null, `${dir}: payload`);
        equal(back?.counterKey, tid.counterKey, `${dir}: counterKey`);
      }
    }
  });
}

function sharedCases(lib: Core, add: (name: string, fn: () => Promise<void> | void) => void): void {
  add("error classes carry stable codes and names", () => {
    const table: Array<[Error & { code: string }, string, string]> = [
      [new lib.TempIDFormatError("x"), "ERR_TEMPID_FORMAT", "TempIDFormatError"],
      [new lib.TempIDTamperedError(), "ERR_TEMPID_TAMPERED", "TempIDTamperedError"],
      [new lib.TempIDPayloadError("x"), "ERR_TEMPID_PAYLOAD", "TempIDPayloadError"],
      [new lib.TempIDPayloadTooLargeError(600, 512), "ERR_TEMPID_PAYLOAD_TOO_LARGE", "TempIDPayloadTooLargeError"],
      [new lib.TempIDSchemaError([{ message: "m" }]), "ERR_TEMPID_SCHEMA", "TempIDSchemaError"],
      [new lib.TempIDDurationError("x"), "ERR_TEMPID_DURATION", "TempIDDurationError"],
      [new lib.TempIDArgumentError("x"), "ERR_TEMPID_ARGUMENT", "TempIDArgumentError"],
      [new lib.TempIDStoreError("x"), "ERR_TEMPID_STORE", "TempIDStoreError"],
      [new lib.TempIDConfigError("x"), "ERR_TEMPID_CONFIG", "TempIDConfigError"],
      [new lib.TempIDUnsupportedError("x"), "ERR_TEMPID_UNSUPPORTED", "TempIDUnsupportedError"],
    ];
    for (const [err, code, name] of table) {
      equal(err.code, code, `${name}.code`);
      equal(err.name, name, `${name}.name`);
      assert(err instanceof lib.TempIDError && err instanceof Error, `${name} is a TempIDError and an Error`);
    }
  });

  add("bad options are refused when the instance is created", async () => {
    const bad: Array<[string, Parameters<Core["createTempID"]>[0]]> = [
      ["a V3 secret under 32 bytes", { secret: "short" }],
      ["an empty secret list", { secret: [] }],
      ["a secret that is a number", { secret: 42 as never }],
      ["an unknown format", { secret: SECRET_A, format: "v4" as never }],
      ["an empty accept list", { secret: SECRET_A, accept: [] }],
      ["maxPayloadBytes 0", { secret: SECRET_A, maxPayloadBytes: 0 }],
      ["maxPayloadBytes over 2048", { secret: SECRET_A, maxPayloadBytes: 4096 }],
      ["a clock that is not a function", { secret: SECRET_A, clock: 5 as never }],
      ["a negative clockTolerance", { secret: SECRET_A, clockTolerance: -5 }],
      ["an unknown crypto engine", { secret: SECRET_A, crypto: "openssl" as never }],
      ["a store without the contract", { secret: SECRET_A, store: { consume: async () => true } as never }],
    ];
    for (const [what, opts] of bad) await throwsCode(() => lib.createTempID(opts), "ERR_TEMPID_CONFIG", what);
    // V2 takes any secret, as the Python package does.
    equal(lib.createTempID({ secret: "x", format: "v2", accept: ["v2"] }).format, "v2", "a one-character V2 secret");
    const long = lib.createTempID({ secret: new Uint8Array(32).fill(7) });
    assert((await long.verify((await long.new("1m")).toString())) !== null, "a 32-byte Uint8Array secret");
  });

  add("inspectToken reads the public fields without the secret", async () => {
    const t = lib.createTempID({ secret: SECRET_A, clock: () => NOW });
    const tid = await t.new("1h", { payload: { secret: "not readable" }, maxUses: 7 });
    const info = lib.inspectToken(tid.toString());
    equal(info.format, "v3", "format");
    equal(info.id, tid.id, "id");
    equal(info.maxUses, 7, "maxUses");
    equal(info.hasPayload, true, "hasPayload");
    equal(info.expiresAt.getTime(), NOW + 3_600_000, "expiresAt");
    assert(typeof info.keyId === "number", "keyId");
    assert(!JSON.stringify(info).includes("not readable"), "the payload stays sealed");
    await throwsCode(() => lib.inspectToken("nope"), "ERR_TEMPID_FORMAT", "inspectToken of garbage");
  });

  add("helpers: generateSecret, parseDuration, formatRemaining, store constants", async () => {
    const a = lib.generateSecret();
    const b = lib.generateSecret();
    match(a, /^[0-9a-f]{64}$/, "generateSecret");
    assert(a !== b, "two secrets differ");
    const t = lib.createTempID({ secret: a });
    assert((await t.verify((await t.new("1m")).toString())) !== null, "a generated secret works for V3");
    equal(lib.parseDuration("2h"), 7200, "parseDuration");
    equal(lib.formatRemaining(90 * 60_000), "1h 30m", "formatRemaining 90m");
    equal(lib.formatRemaining(45_000), "45s", "formatRemaining 45s");
    equal(lib.formatRemaining(3 * 86_400_000), "3d 0h", "formatRemaining 3d");
    equal(lib.REVOKED_COUNT, 2147483647, "REVOKED_COUNT");
    equal(lib.MAX_STORE_LIMIT, 2147483646, "MAX_STORE_LIMIT");
  });
}
