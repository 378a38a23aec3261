/**
 * A token's context (purpose and bind, src/context.ts): the checks behind the instance's default purpose
 * and behind a call's own purpose and bind value.
 */
import { describe, expect, it } from "vitest";
import { configure, createTempID, TempIDArgumentError, TempIDConfigError } from "@tempid/core";

const SECRET = "context-secret-0123456789abcdef0123456789";

describe("the instance's purpose is an option: a bad one is a TempIDConfigError (README: options)", () => {
  for (const [label, purpose] of [
    ["empty", ""],
    ["too long", "p".repeat(1025)],
    ["a lone surrogate", "reset\ud800"],
    ["null", null],
    ["not text", 42],
  ] as const) {
    it(`${label}: createTempID() and configure() both refuse it with TempIDConfigError`, () => {
      expect(() => createTempID({ secret: SECRET, purpose: purpose as never })).toThrow(TempIDConfigError);
      expect(() => configure({ secret: SECRET, purpose: purpose as never })).toThrow(TempIDConfigError);
      expect(() => createTempID({ secret: SECRET, purpose: purpose as never })).toThrow(/^purpose (must be|is not well-formed|is null)/);
    });
  }

  it("a call's own bad purpose is still a TempIDArgumentError (it is an argument, not an option)", async () => {
    const t = createTempID({ secret: SECRET, purpose: "login" });
    await expect(t.new("1m", { purpose: "" })).rejects.toThrow(TempIDArgumentError);
    const token = String(await t.new("1m"));
    await expect(t.verify(token, { purpose: "x\udc00" })).rejects.toThrow(TempIDArgumentError);
  });
});

describe("a call's purpose and bind after the move to context.ts", () => {
  it("a call's purpose replaces the instance's; left out, the instance's applies", async () => {
    const t = createTempID({ secret: SECRET, purpose: "login" });
    const token = String(await t.new("1m"));
    expect(await t.verify(token)).not.toBeNull();
    expect(await t.verify(token, { purpose: "login" })).not.toBeNull();
    expect(await t.verify(token, { purpose: "reset" })).toBeNull();
    expect(await createTempID({ secret: SECRET }).verify(token)).toBeNull();
  });

  it("a Uint8Array view binds to its own bytes, not its buffer's", async () => {
    const t = createTempID({ secret: SECRET });
    const whole = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const token = String(await t.new("1m", { bind: whole.subarray(2, 5) }));
    expect(await t.verify(token, { bind: new Uint8Array([1, 2, 3]) })).not.toBeNull();
    expect(await t.verify(token, { bind: whole })).toBeNull();
    await expect(t.new("1m", { bind: whole.subarray(6) })).rejects.toThrow(/bind is empty/);
  });

  it("each option is read once: the purpose checked is the purpose the tag covers", async () => {
    const t = createTempID({ secret: SECRET, purpose: "login" });
    // An options object whose getter answers differently on each read (a Proxy, a lazy getter): the first
    // answer is the one used. Read twice, its second answer (null) became "no purpose" and so the instance's.
    const answers = ["reset", null];
    const options = {
      get purpose() {
        return answers.shift() as string;
      },
    };
    const token = String(await t.new("1m", options));
    expect(await t.verify(token, { purpose: "reset" })).not.toBeNull();
    expect(await t.verify(token)).toBeNull();
  });
});
