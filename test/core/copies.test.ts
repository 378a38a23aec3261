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

  it("both copies count in the one default store of the process: a single-use token is granted once", async () => {
    const tid = await createTempID({ secret: SECRET }).new("5m", { maxUses: 1 });
    vi.resetModules();
    const other = (await import("@tempid/core")) as typeof import("@tempid/core");
    expect(other.createTempID).not.toBe(createTempID);
    const there = await other.createTempID({ secret: SECRET }).verify(String(tid));
    expect(await tid.use()).toBe(true);
    // Each copy used to keep its own map of default stores: the other copy granted the use again.
    expect(await there!.use()).toBe(false);
    expect(await there!.usesInfo()).toEqual({ total: 1, used: 1, left: 0 });
  });
});
