/**
 * The HTTP stores inside Deno, against bridges the Node test process started (their addresses arrive in
 * TEMPID_DENO_BRIDGES). Run from the repository root (deno.json maps @tempid/core to the sources; the
 * clients come from node_modules):
 *   deno run --allow-net=127.0.0.1 --allow-env --allow-read test/http-stores/deno-run.ts
 * Prints one JSON line: for each store, the results of 4 sequential uses (limit 3) and how many of 100
 * concurrent uses (limit 7) were granted.
 */
import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import { connect } from "@planetscale/database";
import { Redis } from "@upstash/redis";
import type { UseStore } from "@tempid/core";
import { neonStore } from "../../adapters/neon.js";
import { planetscaleStore } from "../../adapters/planetscale.js";
import { upstashStore } from "../../adapters/upstash.js";

interface Bridges {
  upstash: { url: string; token: string; prefix: string };
  neon: { fetchEndpoint: string; wsBase: string; connectionString: string; table: string };
  planetscale: { url: string; table: string };
}
const env = (globalThis as unknown as { Deno: { env: { get(name: string): string | undefined } } }).Deno.env;
const bridges = JSON.parse(env.get("TEMPID_DENO_BRIDGES") ?? "{}") as Bridges;

neonConfig.fetchEndpoint = () => bridges.neon.fetchEndpoint;
neonConfig.wsProxy = (host, port) => `${bridges.neon.wsBase}?address=${host}:${port}`;
neonConfig.useSecureWebSocket = false;
neonConfig.pipelineConnect = false;

const pool = new Pool({ connectionString: bridges.neon.connectionString, max: 5 });
pool.on("error", () => undefined); // an idle connection closing at the end is not a failure
const stores: Record<string, UseStore> = {
  upstash: upstashStore(new Redis({ url: bridges.upstash.url, token: bridges.upstash.token, retry: { retries: 0 }, enableTelemetry: false }), {
    prefix: bridges.upstash.prefix,
  }),
  "neon-http": neonStore(neon(bridges.neon.connectionString), { table: bridges.neon.table }),
  "neon-pool": neonStore(pool, { table: bridges.neon.table }),
  planetscale: planetscaleStore(connect({ url: bridges.planetscale.url }), { table: bridges.planetscale.table }),
};

const exp = Math.floor(Date.now() / 1000) + 600;
const out: Record<string, { sequential: boolean[]; concurrentGranted: number; used: number }> = {};
for (const [name, store] of Object.entries(stores)) {
  const key = `deno-${name}-${crypto.randomUUID()}`;
  const sequential: boolean[] = [];
  for (let i = 0; i < 4; i++) sequential.push(await store.consume(key, 3, exp, Date.now()));
  const race = `${key}-race`;
  const results = await Promise.all(Array.from({ length: 100 }, () => store.consume(race, 7, exp, Date.now())));
  out[name] = { sequential, concurrentGranted: results.filter(Boolean).length, used: await store.used(race, Date.now()) };
}
await pool.end();
console.log(JSON.stringify(out));
