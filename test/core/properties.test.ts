import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createTempID, formatRemaining, parseDuration } from "@tempid/core";
import { base32Crockford } from "../../src/base32.js";
import { base32Rfc4648 } from "../../src/format-v2.js";
import { encodePayload } from "../../src/payload.js";
import { TempIDPayloadTooLargeError } from "../../src/errors.js";

const SECRET = "property-secret-0123456789abcdef0123";
const v3 = createTempID({ secret: SECRET, accept: ["v3", "v2"] });
const v2 = createTempID({ secret: SECRET, format: "v2", accept: ["v2", "v3"] });

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RFC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Strings that look like tokens: a real prefix followed by alphabet characters, dots and dashes. */
const tokenish = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.tuple(fc.constantFrom("TEMP-V3.", "temp-v3.", "TEMP-V2.", " TEMP-V3."), fc.stringMatching(/^[0-9A-Za-z.\-]{0,200}$/)).map(([p, s]) => p + s),
  fc.uint8Array({ minLength: 0, maxLength: 120 }).map((b) => "TEMP-V3." + base32Crockford.encode(b)),
  fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 2, maxLength: 3 }).map(
    (parts) => "TEMP-V2." + parts.map((b) => base32Rfc4648.encode(b).replace(/(.{5})(?=.)/g, "$1-")).join("."),
  ),
);

describe("verify on arbitrary input", () => {
  it("never throws and never accepts", async () => {
    await fc.assert(
      fc.asyncProperty(tokenish, async (s) => {
        expect(await v3.verify(s)).toBeNull();
        expect(await v2.verify(s)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });
});

function mutate(token: string, index: number, pick: number): string | undefined {
  const c = token[index]!;
  const alphabet = token.startsWith("TEMP-V3.") && index >= 8 ? CROCKFORD : token.startsWith("TEMP-V2.") && index >= 8 ? RFC + "-." : RFC + "0123456789.-";
  const options = [...alphabet, "!", " ", "~"].filter((x) => x.toUpperCase() !== c.toUpperCase() && !(index >= 8 && x === "-" && token.startsWith("TEMP-V3.")));
  if (c === "-" && token.startsWith("TEMP-V3.") && index >= 8) return undefined;
  const next = options[pick % options.length]!;
  return token.slice(0, index) + next + token.slice(index + 1);
}

describe("changing any single character of a valid token makes it fail", () => {
  for (const [name, instance] of [
    ["V3", v3],
    ["V2", v2],
  ] as const) {
    it(`${name}, with and without payload`, async () => {
      const tokens = await Promise.all([
        instance.new("1h"),
        instance.new("1h", { payload: { user_id: 42 }, maxUses: 3 }),
        instance.new("1h", { payload: { blob: "x".repeat(120), list: [1, 2, 3] } }),
      ]);
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...tokens.map(String)), fc.nat(), fc.nat(), async (token, i, pick) => {
          const changed = mutate(token, i % token.length, pick);
          fc.pre(changed !== undefined && changed.trim() !== token);
          expect(await instance.verify(changed!)).toBeNull();
        }),
        { numRuns: 1500 },
      );
    });
  }

  it("V2 tokens are case-sensitive (the Python package signs the text)", async () => {
    const token = String(await v2.new("1h"));
    expect(await v2.verify(token.toLowerCase())).toBeNull();
  });
});

describe("payloads survive the round trip", () => {
  it("any JSON value (V3) and any JSON object (V2)", async () => {
    const json = fc.jsonValue({ maxDepth: 3 }).filter((v) => v !== null && JSON.stringify(v).length < 400);
    await fc.assert(
      fc.asyncProperty(json, async (payload) => {
        const back = await v3.verify(String(await v3.new("5m", { payload: payload as never })));
        expect(JSON.stringify(back?.payload)).toBe(JSON.stringify(payload));
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }), async (payload) => {
        fc.pre(JSON.stringify(payload).length < 300);
        const back = await v2.verify(String(await v2.new("5m", { payload: payload as never })));
        expect(JSON.stringify(back?.payload)).toBe(JSON.stringify(payload));
      }),
      { numRuns: 200 },
    );
  });
});

describe("base32", () => {
  for (const [name, codec, alphabet] of [
    ["Crockford", base32Crockford, CROCKFORD],
    ["RFC 4648", base32Rfc4648, RFC],
  ] as const) {
    it(`${name}: decode(encode(b)) = b, and only canonical text decodes`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
          const text = codec.encode(bytes);
          expect([...text].every((c) => alphabet.includes(c))).toBe(true);
          expect(codec.decode(text)).toEqual(bytes);
        }),
      );
      fc.assert(
        fc.property(fc.stringMatching(new RegExp(`^[${alphabet}]{0,40}$`)), (text) => {
          const bytes = codec.decode(text);
          if (bytes !== undefined) expect(codec.encode(bytes)).toBe(text);
        }),
      );
    });
  }
});

describe("durations", () => {
  it("n + unit parses to n × unit seconds, and remaining() of that many seconds reads back", () => {
    const units = { s: 1, m: 60, h: 3600, d: 86400 } as const;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 36500 }), fc.constantFrom("s", "m", "h", "d"), (n, u) => {
        const seconds = parseDuration(`${n}${u}` as never);
        expect(seconds).toBe(n * units[u as keyof typeof units]);
        const text = formatRemaining(seconds * 1000);
        if (seconds < 60) expect(text).toBe(`${seconds}s`);
        else expect(text).toMatch(/^\d+[mhd] \d+[smh]$/);
      }),
    );
  });
});

describe("payload size", () => {
  it("the early size bound never refuses JSON within the limit: exactly the limit passes, one byte less fails", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.boolean(), (value, v2) => {
        // JSON.parse(JSON.stringify(·)) turns -0 into 0, the value encodePayload would write anyway.
        const json = JSON.parse(JSON.stringify(value)) as unknown;
        const rewrite = v2 ? (t: string) => t.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : undefined;
        const exact = encodePayload(json, 1_000_000, rewrite).length;
        expect(encodePayload(json, exact, rewrite).length).toBe(exact);
        expect(() => encodePayload(json, exact - 1, rewrite)).toThrow(TempIDPayloadTooLargeError);
      }),
      { numRuns: 500 },
    );
  });

  it("a payload far over the limit is refused before it is walked: deep nesting, millions of keys", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    // Used to overflow the stack (an untyped RangeError).
    expect(() => encodePayload(deep, 512)).toThrow(TempIDPayloadTooLargeError);
    expect(() => encodePayload(deep, 512)).toThrow(/^payload is at least 51\d bytes of JSON, over the limit of 512 bytes$/);
    const wide = Object.fromEntries(Array.from({ length: 1_000_000 }, (_, i) => [`k${i}`, i]));
    let read = 0;
    const counting = new Proxy(wide, { get: (t, k) => (read++, Reflect.get(t, k)) });
    expect(() => encodePayload(counting, 2048)).toThrow(TempIDPayloadTooLargeError);
    // Each key costs at least its quotes, colon and one byte of value: a few hundred reads reach 2048 bytes.
    expect(read).toBeLessThan(400);
  });
});
