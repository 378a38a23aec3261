import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createTempID, inspectToken, type TempIDOptions } from "@tempid/core";

const v2 = JSON.parse(readFileSync(new URL("../fixtures/python-v2.json", import.meta.url), "utf8"));
const v3 = JSON.parse(readFileSync(new URL("../fixtures/v3-vectors.json", import.meta.url), "utf8"));

// Every vector runs through both crypto paths: Node's native crypto and the portable WebCrypto one.
const engines: Array<TempIDOptions["crypto"]> = ["auto", "webcrypto"];

describe.each(engines)("Python TEMP-V2 vectors (crypto: %s)", (engine) => {
  const at = (secret: string) =>
    createTempID({ secret, format: "v2", accept: ["v2"], clock: () => v2.now * 1000, crypto: engine });

  it.each(v2.valid.map((v: unknown, i: number) => [i, v]) as Array<[number, any]>)("valid #%i verifies to the Python fields", async (_i, vec) => {
    const tid = await at(vec.secret).verify(vec.token);
    expect(tid).not.toBeNull();
    expect(tid!.expiresAt.getTime()).toBe(vec.expires_at * 1000);
    expect(tid!.payload).toEqual(vec.payload);
    expect(tid!.maxUses).toBe(vec.max_uses);
    expect(tid!.counterKey).toBe(vec.counter_key);
    expect(tid!.format).toBe("v2");
    expect(tid!.toString()).toBe(vec.token.trim());
  });

  it.each(v2.expired.map((v: unknown, i: number) => [i, v]) as Array<[number, any]>)("expired #%i: verify gives null, fromString returns it expired", async (_i, vec) => {
    const t = at(vec.secret);
    expect(await t.verify(vec.token)).toBeNull();
    const tid = await t.fromString(vec.token);
    expect(tid.expired()).toBe(true);
    expect(tid.remaining()).toBe("expired");
    expect(tid.payload).toEqual(vec.payload);
    expect(tid.counterKey).toBe(vec.counter_key);
  });

  it.each(v2.invalid.map((v: { why: string }) => [v.why, v]) as Array<[string, any]>)("invalid (%s) is refused with a format or tampering error", async (_why, vec) => {
    const t = at(vec.secret);
    expect(await t.verify(vec.token)).toBeNull();
    const err = await t.fromString(vec.token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(["ERR_TEMPID_FORMAT", "ERR_TEMPID_TAMPERED"]).toContain((err as { code?: string }).code);
  });
});

describe("TEMP-V2 minting", () => {
  it("writes the Python layout: 11-byte header, version 2, expiry, max uses, and a 12-byte signature", async () => {
    const now = 1_800_000_000_000;
    const t = createTempID({ secret: "s3cret", format: "v2", accept: ["v2"], clock: () => now });
    const tid = await t.new("15m", { payload: { user_id: 42, name: "Zoë" }, maxUses: 3 });
    const text = tid.toString();
    expect(text).toMatch(/^TEMP-V2\.[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{3}\.[A-Z2-7-]+\.[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}$/);
    const info = inspectToken(text);
    expect(info).toMatchObject({ format: "v2", maxUses: 3, hasPayload: true, keyId: null });
    expect(info.expiresAt.getTime()).toBe((now / 1000 + 900) * 1000);
    expect(tid.counterKey).toBe(text.split(".").at(-1));
    const back = await t.verify(text);
    expect(back?.payload).toEqual({ user_id: 42, name: "Zoë" });
    expect(back?.maxUses).toBe(3);
  });

  it("refuses what V2 cannot express", async () => {
    const t = createTempID({ secret: "s3cret", format: "v2", accept: ["v2"] });
    await expect(t.new("1h", { maxUses: 256 })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
    await expect(t.new("1h", { purpose: "x" })).rejects.toMatchObject({ code: "ERR_TEMPID_UNSUPPORTED" });
    await expect(t.new("1h", { bind: "x" })).rejects.toMatchObject({ code: "ERR_TEMPID_UNSUPPORTED" });
    await expect(t.new("1h", { payload: [1, 2] as never })).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
    expect(() => createTempID({ secret: "s3cret", format: "v2", accept: ["v2"], purpose: "p" })).toThrow(/V2/);
  });

  it("a V2 token verified with a purpose is refused, not accepted without the check", async () => {
    const vec = v2.valid[0];
    const t = createTempID({ secret: vec.secret, format: "v2", accept: ["v2"], clock: () => v2.now * 1000 });
    // Only V2 accepted: a purpose can never match, so asking for one is a mistake, not a bad token.
    await expect(t.verify(vec.token, { purpose: "password-reset" })).rejects.toMatchObject({ code: "ERR_TEMPID_UNSUPPORTED" });
    // V3 accepted too (a secret of 32+ bytes first): the V2 token is simply not one made for that purpose.
    const both = createTempID({ secret: ["v3-secret-0123456789abcdef0123456789", vec.secret], accept: ["v3", "v2"], clock: () => v2.now * 1000 });
    expect((await both.verify(vec.token))?.id).toBeDefined();
    expect(await both.verify(vec.token, { purpose: "password-reset" })).toBeNull();
    await expect(t.fromString(vec.token, { bind: "x" })).rejects.toMatchObject({ code: "ERR_TEMPID_UNSUPPORTED" });
  });
});

describe.each(engines)("TEMP-V3 vectors (crypto: %s)", (engine) => {
  const at = (secret: string | string[]) => createTempID({ secret, clock: () => v3.now * 1000, crypto: engine });

  it.each(v3.valid.map((v: { note?: string }, i: number) => [i, v.note ?? "", v]) as Array<[number, string, any]>)("valid #%i %s", async (_i, _note, vec) => {
    const t = at(vec.secret);
    const tid = await t.verify(vec.token, { purpose: vec.purpose ?? undefined, bind: vec.bind ?? undefined });
    expect(tid).not.toBeNull();
    expect(tid!.id).toBe(vec.id);
    expect(tid!.counterKey).toBe(vec.id);
    expect(tid!.expiresAt.getTime()).toBe(vec.expires_at * 1000);
    expect(tid!.payload).toEqual(vec.payload);
    expect(tid!.maxUses).toBe(vec.max_uses);
    expect(tid!.toString()).toBe(vec.token.trim().toUpperCase().replace(/(?<=^TEMP-V3\..*)-/g, ""));
    expect(inspectToken(vec.token).keyId).toBe(vec.key_id);
  });

  it("a rotated-out secret still verifies when listed after the current one", async () => {
    const old = v3.valid.find((v: { payload: { minted_by?: string } | null }) => v.payload?.minted_by === "old key");
    const current = v3.valid[0].secret;
    expect(await at(current).verify(old.token)).toBeNull();
    expect((await at([current, old.secret]).verify(old.token))?.payload).toEqual({ minted_by: "old key" });
  });

  it.each(v3.expired.map((v: unknown, i: number) => [i, v]) as Array<[number, any]>)("expired #%i", async (_i, vec) => {
    const t = at(vec.secret);
    expect(await t.verify(vec.token)).toBeNull();
    const tid = await t.fromString(vec.token);
    expect(tid.expired()).toBe(true);
    expect(tid.payload).toEqual(vec.payload);
  });

  it.each(v3.invalid.map((v: { why: string }) => [v.why, v]) as Array<[string, any]>)("invalid: %s", async (_why, vec) => {
    const t = at(vec.secret);
    const opts = { purpose: vec.purpose, bind: vec.bind };
    expect(await t.verify(vec.token, opts)).toBeNull();
    const err = await t.fromString(vec.token, opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(["ERR_TEMPID_FORMAT", "ERR_TEMPID_TAMPERED"]).toContain((err as { code?: string }).code);
  });
});

describe("the two crypto paths agree", () => {
  it("tokens minted by one verify with the other, with and without payload", async () => {
    const secret = "0123456789abcdef0123456789abcdef";
    const native = createTempID({ secret });
    const portable = createTempID({ secret, crypto: "webcrypto" });
    expect(portable.cryptoEngine).toBe("webcrypto");
    for (const [mint, check] of [
      [native, portable],
      [portable, native],
    ] as const) {
      for (const payload of [undefined, { user_id: 42 }, { blob: "z".repeat(200) }]) {
        const tid = await mint.new("1h", { payload: payload as never, maxUses: 5, purpose: "p", bind: "b" });
        const back = await check.verify(tid.toString(), { purpose: "p", bind: "b" });
        expect(back?.payload).toEqual(payload ?? null);
        expect(back?.id).toBe(tid.id);
      }
    }
  });
});
