import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import mysql from "mysql2/promise";
import Redis from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { TempIDConfigError, TempIDStoreError } from "@tempid/core";
import { openStore } from "../../cli/store-url.js";
import { deadPort, detectService, serviceUrls } from "../support/services.js";

// openStore uses the default layout (tempid_uses, tempid:*), shared with other test runs: unique keys only.
const key = `store-url-${process.pid}-${Math.random().toString(36).slice(2)}`;
const exp = Math.floor(Date.now() / 1000) + 120;
const [pgUp, myUp, redisUp] = await Promise.all([detectService("postgres"), detectService("mysql"), detectService("redis")]);

async function roundTrip(url: string) {
  const store = await openStore(url);
  try {
    expect(await store.consume(key, 2, exp, Date.now())).toBe(true);
    expect(await store.consume(key, 2, exp, Date.now())).toBe(true);
    expect(await store.consume(key, 2, exp, Date.now())).toBe(false);
    expect(await store.used(key, Date.now())).toBe(2);
  } finally {
    await store.close();
  }
}

describe("openStore(url)", () => {
  const dir = mkdtempSync(join(tmpdir(), "tempid-url-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("sqlite:<path> opens (and creates) the file", async () => {
    await roundTrip(`sqlite:${join(dir, "a.db")}`);
    const again = await openStore(`sqlite:${join(dir, "a.db")}`);
    expect(await again.used(key, Date.now())).toBe(2);
    await again.close();
  });

  it.skipIf(!pgUp.available)("postgres:// and postgresql://", async () => {
    await roundTrip(serviceUrls.postgres);
    const pool = new pg.Pool({ connectionString: serviceUrls.postgres });
    try {
      expect((await pool.query("SELECT count FROM tempid_uses WHERE token_id = $1", [key])).rows).toEqual([{ count: 2 }]);
      await pool.query("DELETE FROM tempid_uses WHERE token_id = $1", [key]);
      await roundTrip(serviceUrls.postgres.replace(/^postgres:/, "postgresql:"));
      await pool.query("DELETE FROM tempid_uses WHERE token_id = $1", [key]);
    } finally {
      await pool.end();
    }
  });

  it.skipIf(!myUp.available)("mysql:// and mariadb://", async () => {
    await roundTrip(serviceUrls.mysql);
    const pool = mysql.createPool({ uri: serviceUrls.mysql });
    try {
      await pool.query("DELETE FROM tempid_uses WHERE token_id = ?", [key]);
      await roundTrip(serviceUrls.mysql.replace(/^mysql:/, "mariadb:"));
      await pool.query("DELETE FROM tempid_uses WHERE token_id = ?", [key]);
    } finally {
      await pool.end();
    }
  });

  it.skipIf(!redisUp.available)("redis://", async () => {
    await roundTrip(serviceUrls.redis);
    const raw = new Redis(serviceUrls.redis);
    try {
      expect(await raw.get(`tempid:${key}`)).toBe("2");
      await raw.del(`tempid:${key}`);
    } finally {
      raw.disconnect();
    }
  });

  it("a dead server is a TempIDStoreError, not a grant", async () => {
    const port = await deadPort();
    await expect(openStore(`redis://127.0.0.1:${port}`)).rejects.toBeInstanceOf(TempIDStoreError);
    const store = await openStore(`postgres://postgres@127.0.0.1:${port}/test`);
    await expect(store.consume(key, 1, exp, Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
    await store.close();
  });

  it("an unknown scheme or an empty path is a TempIDConfigError", async () => {
    await expect(openStore("memcached://127.0.0.1")).rejects.toBeInstanceOf(TempIDConfigError);
    await expect(openStore("./tempid.db")).rejects.toBeInstanceOf(TempIDConfigError);
    await expect(openStore("sqlite:")).rejects.toBeInstanceOf(TempIDConfigError);
  });
});
