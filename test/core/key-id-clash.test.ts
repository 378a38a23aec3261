/**
 * Two distinct secrets whose V3 key ids clash (16 bits: one pair in 65,536). Rotating from one to the other
 * used to fail every new() and verify() with a TempIDConfigError, found only once the rotation was deployed.
 * Now a token with a shared key id is tried against each secret that has it.
 */
import { hkdfSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createTempID } from "@tempid/core";

/** The first pair of secrets of the form `clash-<n>` whose key ids are equal (the spec's HKDF, docs/FORMAT.md). */
function clashingPair(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const secret = `clash-secret-${String(i).padStart(24, "0")}`;
    const kid = Buffer.from(hkdfSync("sha256", Buffer.from(secret), Buffer.from("tempid/v3"), Buffer.from("tempid/v3/kid"), 2)).readUInt16BE(0);
    const other = seen.get(kid);
    if (other !== undefined) return [other, secret];
    seen.set(kid, secret);
  }
}

describe.each(["auto", "webcrypto"] as const)("secrets sharing a key id (crypto: %s)", (crypto) => {
  const [a, b] = clashingPair();

  it("the pair really shares a key id: tokens of each carry the same id bytes", async () => {
    const ta = String(await createTempID({ secret: a, crypto }).new("5m"));
    const tb = String(await createTempID({ secret: b, crypto }).new("5m"));
    // flags (1 byte) + kid (2 bytes) = the first 24 bits: 5 base32 characters after the prefix, minus a bit.
    const bits = (t: string) => [...t.slice(8, 13)].map((c) => "0123456789ABCDEFGHJKMNPQRSTVWXYZ".indexOf(c).toString(2).padStart(5, "0")).join("").slice(8, 24);
    expect(bits(ta)).toBe(bits(tb));
  });

  it("rotation works both ways, with and without a payload, and a tampered token is still refused", async () => {
    const oldOnly = createTempID({ secret: a, crypto });
    const rotated = createTempID({ secret: [b, a], crypto });
    const both = createTempID({ secret: [a, b], crypto });
    for (const payload of [undefined, { user_id: 42 }]) {
      const old = await oldOnly.new("5m", { payload });
      const fresh = await rotated.new("5m", { payload });
      expect((await rotated.verify(String(old)))?.id).toBe(old.id);
      expect((await rotated.verify(String(fresh)))?.payload).toEqual(payload ?? null);
      expect((await both.verify(String(fresh)))?.id).toBe(fresh.id);
      expect((await both.fromString(String(old))).payload).toEqual(payload ?? null);
      // Neither secret alone accepts the other's token, though the key id matches.
      expect(await oldOnly.verify(String(fresh))).toBeNull();
      await expect(oldOnly.fromString(String(fresh))).rejects.toMatchObject({ code: "ERR_TEMPID_TAMPERED" });
      const text = String(fresh);
      const last = text.at(-1) === "0" ? "1" : "0";
      expect(await rotated.verify(text.slice(0, -1) + last)).toBeNull();
    }
    expect(await rotated.verify("garbage")).toBeNull();
  });
});
