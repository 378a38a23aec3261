/**
 * The Worker examples (examples/edge/workers/) running inside workerd (Miniflare) against the bridges:
 * bundled for the Workers runtime with no Node built-ins available (a `node:` import would fail the
 * build), given their secrets as env bindings, and redeeming tokens over real HTTP / WebSocket to the
 * bridges and from there to the real databases.
 */
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { createTempID } from "../../src/index.js";
import { bundleWorker } from "../support/cloudflare-harness.js";
import { startNeonBridge, type NeonBridge } from "../support/bridges/neon.js";
import { startPlanetScaleBridge, type PlanetScaleBridge } from "../support/bridges/planetscale.js";
import { startUpstashBridge, type UpstashBridge } from "../support/bridges/upstash.js";
import { neonStore } from "../../adapters/neon.js";
import { neon, neonConfig } from "@neondatabase/serverless";
import { connect } from "@planetscale/database";
import { planetscaleStore } from "../../adapters/planetscale.js";
import { createClient } from "redis";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SECRET = "workerd-test-secret-" + "x".repeat(24);

async function worker(script: string, bindings: Record<string, string>): Promise<Miniflare> {
  const mf = new Miniflare({ modules: true, script, compatibilityDate: "2024-11-11", cf: false, bindings: { TEMPID_SECRET: SECRET, ...bindings } });
  await mf.ready;
  return mf;
}

/** Mints outside the worker (same secret), redeems inside it. */
async function mint(maxUses: number): Promise<string> {
  const tempid = createTempID({ secret: SECRET });
  return (await tempid.new("10m", { maxUses })).toString();
}

async function redeem(mf: Miniflare, token: string): Promise<number> {
  const res = await mf.dispatchFetch(`http://worker.test/redeem?token=${encodeURIComponent(token)}`);
  await res.text();
  return res.status;
}

async function redeemConcurrently(mf: Miniflare, token: string, calls: number): Promise<number[]> {
  return Promise.all(Array.from({ length: calls }, () => redeem(mf, token)));
}

describe("workerd (Miniflare): Upstash example", () => {
  let bridge: UpstashBridge;
  let mf: Miniflare;
  const raw = createClient({ url: "redis://127.0.0.1:6379" });
  const keys: string[] = [];
  beforeAll(async () => {
    bridge = await startUpstashBridge();
    await raw.connect();
    mf = await worker(await bundleWorker({ path: `${ROOT}examples/edge/workers/upstash.ts` }), {
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridge.token,
    });
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
    if (keys.length > 0) await raw.del(keys);
    await raw.quit();
    await bridge?.close();
  });

  it("mints and redeems inside workerd: once, then 410; 100 concurrent redeems of a maxUses 5 token grant 5", async () => {
    const res = await mf.dispatchFetch("http://worker.test/mint");
    const token = await res.text();
    const tid = await createTempID({ secret: SECRET }).fromString(token);
    keys.push(`tempid:${tid.counterKey}`);
    expect([await redeem(mf, token), await redeem(mf, token)]).toEqual([200, 410]);

    const five = await mint(5);
    keys.push(`tempid:${(await createTempID({ secret: SECRET }).fromString(five)).counterKey}`);
    const statuses = await redeemConcurrently(mf, five, 100);
    expect(statuses.filter((s) => s === 200).length).toBe(5);
    expect(statuses.filter((s) => s === 410).length).toBe(95);
    expect(await raw.get(keys[1]!)).toBe("5");
  }, 60_000);
});

describe.each(["neon-http", "neon-pool"] as const)("workerd (Miniflare): %s example", (kind) => {
  let bridge: NeonBridge;
  let mf: Miniflare;
  const table = "tempid_uses";
  beforeAll(async () => {
    bridge = await startNeonBridge();
    // The examples use the default table: make sure it exists (the documented deploy step), from Node.
    neonConfig.fetchEndpoint = () => bridge.fetchEndpoint;
    await neonStore(neon(bridge.connectionString)).migrate();
    const port = new URL(bridge.fetchEndpoint).port;
    // Test-only entry: point the Neon client at the bridge (its documented settings), then the example.
    const entry = `
      import { neonConfig } from "@neondatabase/serverless";
      neonConfig.fetchEndpoint = () => ${JSON.stringify(bridge.fetchEndpoint)};
      neonConfig.wsProxy = (host, port) => "127.0.0.1:${port}/v1?address=" + host + ":" + port;
      neonConfig.useSecureWebSocket = false;
      neonConfig.pipelineConnect = false;
      export { default } from ${JSON.stringify(`${ROOT}examples/edge/workers/${kind}.ts`)};
    `;
    mf = await worker(await bundleWorker({ contents: entry }), { DATABASE_URL: bridge.connectionString });
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
    await bridge?.close();
  });

  it("redeems inside workerd: once, then 410; 50 concurrent redeems of a maxUses 5 token grant 5", async () => {
    const once = await mint(1);
    expect([await redeem(mf, once), await redeem(mf, once)]).toEqual([200, 410]);
    const five = await mint(5);
    const statuses = await redeemConcurrently(mf, five, 50);
    expect(statuses.filter((s) => s === 200).length).toBe(5);
    expect(statuses.filter((s) => s === 410).length).toBe(45);
    const key = (await createTempID({ secret: SECRET }).fromString(five)).counterKey;
    const rows = (await neon(bridge.connectionString)`SELECT count FROM tempid_uses WHERE token_id = ${key}`) as Array<{ count: number }>;
    expect(rows).toEqual([{ count: 5 }]);
    await neon(bridge.connectionString).query(`DELETE FROM ${table} WHERE token_id = ANY($1)`, [
      [key, (await createTempID({ secret: SECRET }).fromString(once)).counterKey],
    ]);
  }, 60_000);
});

describe("workerd (Miniflare): PlanetScale example", () => {
  let bridge: PlanetScaleBridge;
  let mf: Miniflare;
  beforeAll(async () => {
    bridge = await startPlanetScaleBridge();
    await planetscaleStore(connect({ url: bridge.url })).migrate();
    mf = await worker(await bundleWorker({ path: `${ROOT}examples/edge/workers/planetscale.ts` }), { DATABASE_URL: bridge.url });
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
    await bridge?.close();
  });

  it("mints and redeems inside workerd: once, then 410; 50 concurrent redeems of a maxUses 5 token grant 5", async () => {
    const res = await mf.dispatchFetch("http://worker.test/mint");
    const once = await res.text();
    expect([await redeem(mf, once), await redeem(mf, once)]).toEqual([200, 410]);
    const five = await mint(5);
    const statuses = await redeemConcurrently(mf, five, 50);
    expect(statuses.filter((s) => s === 200).length).toBe(5);
    const conn = connect({ url: bridge.url });
    const key = (await createTempID({ secret: SECRET }).fromString(five)).counterKey;
    expect((await conn.execute("SELECT count FROM tempid_uses WHERE token_id = ?", [key])).rows).toEqual([{ count: 5 }]);
    const onceKey = (await createTempID({ secret: SECRET }).fromString(once)).counterKey;
    await conn.execute("DELETE FROM tempid_uses WHERE token_id IN (?)", [[key, onceKey]]);
  }, 60_000);
});
