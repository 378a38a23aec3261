/**
 * The HTTP stores run inside Deno (test/http-stores/deno-run.ts) against bridges started here, each store
 * on its own table / key prefix; the counts are then read back from the real servers.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { neon, neonConfig } from "@neondatabase/serverless";
import { connect } from "@planetscale/database";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { neonStore } from "../../adapters/neon.js";
import { planetscaleStore } from "../../adapters/planetscale.js";
import { startNeonBridge, type NeonBridge } from "../support/bridges/neon.js";
import { startPlanetScaleBridge, type PlanetScaleBridge } from "../support/bridges/planetscale.js";
import { startUpstashBridge, type UpstashBridge } from "../support/bridges/upstash.js";
import { uniqueName } from "../support/services.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = `${ROOT}node_modules/.bin/deno`;

describe.skipIf(!existsSync(DENO))("Deno: the HTTP stores against the bridges", () => {
  let upstash: UpstashBridge;
  let neonBridge: NeonBridge;
  let planetscale: PlanetScaleBridge;
  const prefix = `${uniqueName("deno")}:`;
  const table = uniqueName("deno");
  const raw = createClient({ url: "redis://127.0.0.1:6379" });

  beforeAll(async () => {
    [upstash, neonBridge, planetscale] = await Promise.all([startUpstashBridge(), startNeonBridge(), startPlanetScaleBridge()]);
    neonConfig.fetchEndpoint = () => neonBridge.fetchEndpoint;
    await neonStore(neon(neonBridge.connectionString), { table }).migrate();
    await planetscaleStore(connect({ url: planetscale.url }), { table }).migrate();
    await raw.connect();
  }, 60_000);

  afterAll(async () => {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(keys);
    await raw.quit();
    await neon(neonBridge.connectionString).query(`DROP TABLE IF EXISTS "${table}"`);
    await connect({ url: planetscale.url }).execute(`DROP TABLE IF EXISTS \`${table}\``);
    await Promise.all([upstash?.close(), neonBridge?.close(), planetscale?.close()]);
  });

  it("each store: 3 of 4 sequential uses, exactly 7 of 100 concurrent ones, in Deno", async () => {
    const info = {
      upstash: { url: upstash.url, token: upstash.token, prefix },
      neon: {
        fetchEndpoint: neonBridge.fetchEndpoint,
        wsBase: neonBridge.wsProxy("x", 0).split("?")[0],
        connectionString: neonBridge.connectionString,
        table,
      },
      planetscale: { url: planetscale.url, table },
    };
    const child = spawn(DENO, ["run", "--allow-net=127.0.0.1", "--allow-env", "--allow-read", "test/http-stores/deno-run.ts"], {
      cwd: ROOT,
      env: { ...process.env, TEMPID_DENO_BRIDGES: JSON.stringify(info), NO_COLOR: "1" },
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(err.includes("error:") ? err.slice(0, 2000) : "").toBe("");
    expect(code).toBe(0);
    const results = JSON.parse(out.trim().split("\n").pop()!) as Record<string, { sequential: boolean[]; concurrentGranted: number; used: number }>;
    for (const name of ["upstash", "neon-http", "neon-pool", "planetscale"]) {
      expect(results[name], name).toEqual({ sequential: [true, true, true, false], concurrentGranted: 7, used: 7 });
    }
    // And the real servers hold those counts: 2 counters per store on each.
    expect((await raw.keys(`${prefix}*`)).length).toBe(2);
    const pgRows = (await neon(neonBridge.connectionString).query(`SELECT count FROM "${table}" ORDER BY count`)) as Array<{ count: number }>;
    expect(pgRows.map((r) => r.count)).toEqual([3, 3, 7, 7]);
    const myRows = await connect({ url: planetscale.url }).execute(`SELECT count FROM \`${table}\` ORDER BY count`);
    expect(myRows.rows.map((r) => (r as { count: number }).count)).toEqual([3, 7]);
  }, 120_000);
});
