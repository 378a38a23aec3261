// examples/edge/workers/d1.ts — Cloudflare Worker counting uses in D1. wrangler.toml:
//   name = "tempid-d1"
//   main = "d1.ts"
//   compatibility_date = "2025-09-01"
//   [[d1_databases]]
//   binding = "DB"
//   database_name = "tempid"
//   database_id = "<id from `wrangler d1 create tempid`>"
// Create the table once, with migrations/0001_tempid.sql from the README's D1 section as a D1 migration
// (`wrangler d1 migrations create tempid init`, then `wrangler d1 migrations apply tempid --local` for
// `wrangler dev` and `--remote` for production): the store sends no DDL unless `autoMigrate: true`.
import type { D1Database } from "@cloudflare/workers-types";
import { createTempID } from "@tempid/core";
import { d1Store } from "@tempid/core/d1";

export interface Env {
  DB: D1Database;
  TEMPID_SECRET: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const tempid = createTempID({ secret: env.TEMPID_SECRET, store: d1Store(env.DB, { timeoutMs: 3000 }) });
    const url = new URL(request.url);

    if (url.pathname === "/mint") {
      const tid = await tempid.new("15m", { maxUses: 3 });
      return new Response(tid.toString());
    }
    const tid = await tempid.verify(url.searchParams.get("token") ?? "");
    if (tid === null) return new Response("invalid or expired", { status: 401 });
    if (!(await tid.use())) return new Response("used up", { status: 410 });
    return new Response("welcome");
  },
};
