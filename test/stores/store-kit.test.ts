import { describe, expect, it } from "vitest";
import { TempIDStoreError } from "@tempid/core";
import { mongoStore } from "@tempid/core/mongodb";
import { type SqlRunner, SqlUseStore } from "../../adapters/sql-store.js";
import { bounded } from "../../adapters/store-kit.js";
import { FakeMongoCollection } from "../support/fake-mongo.js";

const never = () => new Promise<never>(() => undefined);

async function timeoutMessage(call: Promise<unknown>): Promise<string> {
  const err = await call.then(
    (value) => new Error(`resolved with ${String(value)}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TempIDStoreError);
  return (err as Error).message;
}

// Found by the breaker: every timeout said "it may still have counted", even for used() and close().
describe("a timed-out store call says what is true of that operation", () => {
  it("consume may still count once, later; used, revoke, close, migrate and purges never count", async () => {
    expect(await timeoutMessage(bounded("consume", 10, never))).toBe(
      "consume timed out after 10 ms (not retried; it may still count once, later: that use is lost, never granted)",
    );
    expect(await timeoutMessage(bounded("used", 10, never))).toBe("used timed out after 10 ms (not retried; a read, it changed nothing)");
    expect(await timeoutMessage(bounded("revoke", 10, never))).toBe(
      "revoke timed out after 10 ms (not retried; the revocation may still land later, or not at all: revoking again is safe)",
    );
    expect(await timeoutMessage(bounded("close", 10, never))).toBe(
      "close timed out after 10 ms (the store refuses further calls; closing its client may still finish in the background)",
    );
    for (const what of ["used", "revoke", "close", "migrate", "purge", "purgeExpired"]) {
      expect(await timeoutMessage(bounded(what, 10, never))).not.toMatch(/count(ed)? once|have counted/);
    }
    // An operation without a note of its own gets a neutral one, never a claim about counting.
    expect(await timeoutMessage(bounded("toString", 10, never))).toBe("toString timed out after 10 ms (not retried; it may still complete on the server)");
  });

  it("through a SQL store: each method's timeout carries its own wording", async () => {
    const runner: SqlRunner = { run: never, ddl: never, alreadyExists: () => false, closeOwned: never };
    const store = new SqlUseStore("postgres", runner, { timeoutMs: 20, autoMigrate: false });
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(await timeoutMessage(store.consume("k", 1, exp, Date.now()))).toMatch(/^consume timed out .*may still count once, later/);
    expect(await timeoutMessage(store.used("k", Date.now()))).toMatch(/^used timed out .*it changed nothing\)$/);
    expect(await timeoutMessage(store.revoke("k", exp, Date.now()))).toMatch(/^revoke timed out .*revoking again is safe\)$/);
    expect(await timeoutMessage(store.migrate())).toMatch(/^migrate timed out .*migrate\(\) again is safe\)$/);
    expect(await timeoutMessage(store.close())).toMatch(/^close timed out .*the store refuses further calls/);
    await expect(store.used("k", Date.now())).rejects.toThrow("this store is closed");
  });

  it("through the MongoDB store: used() on a hung server changed nothing", async () => {
    const c = new FakeMongoCollection();
    c.hang = true;
    const store = mongoStore(c, { autoMigrate: false, timeoutMs: 20 });
    expect(await timeoutMessage(store.used("k", Date.now()))).toBe("used timed out after 20 ms (not retried; a read, it changed nothing)");
  });

  it("a consume abandoned during a slow first migration sends no statement afterwards", async () => {
    let release!: () => void;
    const slowDdl = new Promise<void>((resolve) => (release = resolve));
    const sent: string[] = [];
    const runner: SqlRunner = {
      run: (statement) => (sent.push(statement.sql), { rows: [{ count: 1 }], affectedRows: 1 }),
      ddl: () => slowDdl,
      alreadyExists: () => false,
    };
    const store = new SqlUseStore("postgres", runner, { timeoutMs: 20 });
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(await timeoutMessage(store.consume("k", 1, exp, Date.now()))).toMatch(/^consume timed out/);
    release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent).toEqual([]);
  });
});
