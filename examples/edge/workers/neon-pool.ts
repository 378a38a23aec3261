// examples/edge/workers/neon-pool.ts — Cloudflare Worker, Neon over its WebSocket Pool. On Workers a
// Pool lives for one request: create it inside the handler and end it once the response is ready.
import { Pool } from "@neondatabase/serverless";
import { createTempID } from "@tempid/core";
import { neonStore } from "@tempid/core/neon";

export interface Env {
  DATABASE_URL: string;
  TEMPID_SECRET: string;
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const pool = new Pool({ connectionString: env.DATABASE_URL });
    pool.on("error", (err: Error) => console.error("neon pool", err));
    try {
      const tempid = createTempID({ secret: env.TEMPID_SECRET, store: neonStore(pool) });
      const tid = await tempid.verify(new URL(request.url).searchParams.get("token") ?? "");
      if (tid === null) return new Response("invalid or expired", { status: 401 });
      if (!(await tid.use())) return new Response("already used", { status: 410 });
      return new Response("welcome");
    } finally {
      ctx.waitUntil(pool.end());
    }
  },
};
