// examples/edge/workers/neon-http.ts — Cloudflare Worker, Neon over HTTPS (one request per use),
// plus a Cron Trigger that deletes expired counters (wrangler.toml: [triggers] crons = ["0 * * * *"]).
import { neon } from "@neondatabase/serverless";
import { createTempID } from "@tempid/core";
import { neonStore } from "@tempid/core/neon";

export interface Env {
  DATABASE_URL: string;
  TEMPID_SECRET: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const store = neonStore(neon(env.DATABASE_URL), { timeoutMs: 3000 });
    const tempid = createTempID({ secret: env.TEMPID_SECRET, store });
    const url = new URL(request.url);

    if (url.pathname === "/mint") {
      const tid = await tempid.new("15m", { maxUses: 1 });
      return new Response(tid.toString());
    }
    const tid = await tempid.verify(url.searchParams.get("token") ?? "");
    if (tid === null) return new Response("invalid or expired", { status: 401 });
    if (!(await tid.use())) return new Response("already used", { status: 410 });
    return new Response("welcome");
  },

  async scheduled(_controller: ScheduledController, env: Env): Promise<void> {
    await neonStore(neon(env.DATABASE_URL)).purgeExpired();
  },
};
