import { describe, expect, it } from "vitest";
import { REVOKED_COUNT } from "@tempid/core";
import { DEFAULT_TABLE, UseTableSql, mysqlCorruptCount, mysqlGranted } from "../../adapters/sql-dialect.js";

describe("shared SQL statements", () => {
  it("default to the Python package's table", () => {
    expect(DEFAULT_TABLE).toBe("tempid_uses");
  });

  it("PostgreSQL: numbered, typed parameters, one per value, reused where the value repeats", () => {
    const sql = new UseTableSql("postgres", "uses");
    const consume = sql.consume("key", 5, 2000, 1000);
    expect(consume.args).toEqual(["key", 2000, 1000, 5]);
    expect(consume.sql).toContain("VALUES ($1::text, 1, $2::bigint)");
    expect(consume.sql).toContain("WHERE u.expires_at <= $3::bigint OR u.count < $4::integer RETURNING count");
    expect(consume.returnsRows).toBe(true);
    expect(sql.revoke("key", 2000).sql).toContain(`VALUES ($1::text, ${REVOKED_COUNT}, $2::bigint)`);
    expect(sql.used("key", 7)).toEqual({ sql: 'SELECT count FROM "uses" WHERE token_id = $1::text AND expires_at > $2::bigint', args: ["key", 7], returnsRows: true });
  });

  it("SQLite: the same statement with positional parameters, repeated values repeated", () => {
    const consume = new UseTableSql("sqlite", "uses").consume("key", 5, 2000, 1000);
    expect(consume.args).toEqual(["key", 2000, 1000, 1000, 1000, 5]);
    expect(consume.sql).not.toContain("$");
    expect(consume.sql).not.toContain("::");
  });

  it("MySQL: one INSERT … ON DUPLICATE KEY UPDATE, read from the OK packet", () => {
    const sql = new UseTableSql("mysql", "uses");
    const consume = sql.consume("key", 5, 2000, 1000);
    expect(consume.sql.startsWith("INSERT INTO `uses`")).toBe(true);
    expect(consume.args).toEqual(["key", 2000, 1000, 1000, 5, 1000]);
    expect(consume.returnsRows).toBe(false);
    expect(sql.purge(1000, 500)).toEqual({ sql: "DELETE FROM `uses` WHERE expires_at <= ? LIMIT 500", args: [1000], returnsRows: false });
    // insert → 1 row, id 0; granted update → 2 rows; refusal → 0 rows, or 1 row with the count as id.
    expect(mysqlGranted(1, 0)).toBe(true);
    expect(mysqlGranted(2, 3)).toBe(true);
    expect(mysqlGranted(0, 5)).toBe(false);
    expect(mysqlGranted(1, 5)).toBe(false);
    expect(mysqlGranted(1, "5")).toBe(false);
  });

  it("a live row with a negative count is never bumped: PostgreSQL/SQLite keep and return it, MySQL reports it in the insert id", () => {
    expect(new UseTableSql("postgres", "uses").consume("key", 5, 2000, 1000).sql).toContain("WHEN u.count < 0 THEN u.count ELSE u.count + 1 END");
    expect(new UseTableSql("sqlite", "uses").consume("key", 5, 2000, 1000).sql).toContain("WHEN u.count < 0 THEN u.count ELSE u.count + 1 END");
    expect(new UseTableSql("sqlite", "uses").consumeLive("key", 5, 2000, 1000)!.sql).toContain("u.count >= 0 AND u.count < ?");
    expect(new UseTableSql("mysql", "uses").consume("key", 5, 2000, 1000).sql).toContain("IF(expires_at > ? AND count < 0, IF(LAST_INSERT_ID(2147483648 - count) > 0, count, count),");
    // The insert id of a corrupt row is 2^31 - count: above REVOKED_COUNT, which a refusal can report.
    expect(mysqlCorruptCount(2147483649)).toBe(-1);
    expect(mysqlCorruptCount("2147483653")).toBe(-5);
    expect(mysqlCorruptCount(4294967296)).toBe(-2147483648);
    expect(mysqlCorruptCount(REVOKED_COUNT)).toBeUndefined();
    expect(mysqlCorruptCount(0)).toBeUndefined();
    expect(mysqlCorruptCount(3)).toBeUndefined();
  });

  it("never splices a purge batch that is not a positive integer", () => {
    expect(() => new UseTableSql("postgres", "uses").purge(1, 1.5)).toThrow(RangeError);
    expect(() => new UseTableSql("mysql", "uses").purge(1, 0)).toThrow(RangeError);
  });
});
