/**
 * Two copies of the package in one process (require() and import, or two versions): a TempID object of
 * one copy passed to the other is still recognised as a mistake. In a file of its own: it resets the module
 * registry, after which every module the core loads on demand would be yet another copy.
 */
import { describe, expect, it, vi } from "vitest";
import { createTempID, TempID } from "@tempid/core";

const SECRET = "misuse-secret-0123456789abcdef0123456789";

describe("another copy of the package", () => {
  it("a TempID object from the package's other copy (require() and import) is an argument error too", async () => {
    const tid = await createTempID({ secret: SECRET }).new("5m");
    vi.resetModules();
    const other = (await import("@tempid/core")) as typeof import("@tempid/core");
    expect(other.TempID).not.toBe(TempID);
    const t = other.createTempID({ secret: SECRET });
    await expect(t.verify(tid as never)).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
    await expect(t.fromString(tid as never)).rejects.toMatchObject({ code: "ERR_TEMPID_ARGUMENT" });
    expect((await t.verify(String(tid)))?.id).toBe(tid.id);
  });
});
