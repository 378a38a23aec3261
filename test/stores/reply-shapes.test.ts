/**
 * Found by a breaker pass on the stores: replies that are not exactly what the protocol says were read as
 * numbers (`Number("")`, `Number("0x1")`, `Number(String([8]))`), so a garbled refusal could read as a grant;
 * a second close() resolved while the first still waited; a timeoutMs of 2^31 ms or more timed every call
 * out after 1 ms (each use spent); pg re-sent a statement after close() had begun.
 */
import { describe, expect, it } from "vitest";
import { TempIDConfigError, TempIDStoreError } from "@tempid/core";
import { postgresStore } from "@tempid/core/postgres";
import { sqliteStore } from "@tempid/core/sqlite";
import { mysqlCorruptCount, mysqlGranted, toCount } from "../../adapters/sql-dialect.js";
import { parseCount } from "../../adapters/redis-script.js";

const FAR = Math.floor(Date.now() / 1000) + 3600;

describe("counts and insert ids are read exactly", () => {
  it("a SQL count is a whole number or its decimal text; anything else is an error, never a number", () => {
    expect(toCount(5)).toBe(5);
    expect(toCount("5")).toBe(5);
    expect(toCount("-3")).toBe(-3); // a corrupt count, reported by the store as such
    expect(toCount(7n)).toBe(7);
    for (const bad of [" 1 ", "0x1", "1e0", "1.0", "", "+1", true, null, {}, [1], 1.5]) {
      expect(() => toCount(bad), JSON.stringify(bad)).toThrow(/unexpected count value/);
    }
  });

  it("a MySQL insert id is a whole number or its decimal text: a garbled one is an error, not 0 (a grant)", () => {
    expect(mysqlGranted(1, "0")).toBe(true);
    expect(mysqlGranted(1, 0)).toBe(true);
    expect(mysqlGranted(1, 0n)).toBe(true);
    expect(mysqlGranted(1, "3")).toBe(false); // refused: the insert id is the count
    expect(mysqlGranted(2, 0)).toBe(true);
    for (const bad of ["", null, false, [], " ", "0x0", "-0", "1.0", -1]) {
      expect(() => mysqlGranted(1, bad as never), JSON.stringify(bad)).toThrow(/unexpected insert id/);
      expect(() => mysqlCorruptCount(bad as never), JSON.stringify(bad)).toThrow(/unexpected insert id/);
    }
  });

  it("a Redis counter is an integer, its decimal text, or nil (0)", () => {
    expect(parseCount(8)).toBe(8);
    expect(parseCount("8")).toBe(8);
    expect(parseCount(null)).toBe(0);
    for (const bad of [[8], ["OK"], true, "0x1", " 1", "1e0", {}, 1.5]) {
      expect(() => parseCount(bad), JSON.stringify(bad)).toThrow(/unexpected counter value/);
    }
  });
});

describe("store options and close()", () => {
  it("timeoutMs above 2^31-1 ms is refused (a timer that long fires at once: every use timed out, and spent)", () => {
    expect(() => sqliteStore(":memory:", { timeoutMs: 2 ** 31 })).toThrow(TempIDConfigError);
    expect(() => sqliteStore(":memory:", { timeoutMs: 2 ** 31 })).toThrow(/at most 2147483647/);
    expect(() => sqliteStore(":memory:", { timeoutMs: 2 ** 31 - 1 })).not.toThrow();
  });

  it("a second close() is the first one's promise: it never reports closed while the first still waits", async () => {
    const store = sqliteStore(":memory:");
    expect(await store.consume("k", 1, FAR, Date.now())).toBe(true);
    const first = store.close();
    const second = store.close();
    expect(second).toBe(first);
    await first;
    await expect(store.consume("k2", 1, FAR, Date.now())).rejects.toThrow(TempIDStoreError);
  });

  it("pg: a named statement refused before it ran is not sent again once close() has begun", async () => {
    // A client whose named statement is refused with 26000 (DEALLOCATE ALL on the connection) just after
    // close() begins: the unnamed re-send went out anyway, and the use resolved true.
    const sent: { name?: string; text: string }[] = [];
    let refuse!: (err: unknown) => void;
    const client = {
      query(config: { name?: string; text: string }) {
        sent.push({ ...(config.name === undefined ? {} : { name: config.name }), text: config.text });
        if (config.name !== undefined) return new Promise((_, reject) => (refuse = reject));
        return Promise.resolve({ rows: [{ count: 1 }], rowCount: 1 });
      },
    };
    const store = postgresStore(client as never, { autoMigrate: false });
    const use = store.consume("k", 1, FAR, Date.now());
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sent).toHaveLength(1);
    const closing = store.close();
    refuse(Object.assign(new Error('prepared statement "tempid_x" does not exist'), { code: "26000" }));
    await expect(use).rejects.toThrow(TempIDStoreError);
    await closing;
    expect(sent).toHaveLength(1);
  });
});
