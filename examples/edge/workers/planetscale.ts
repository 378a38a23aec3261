// examples/edge/workers/planetscale.ts — Cloudflare Worker, PlanetScale over HTTPS.
import { connect } from "@planetscale/database";
import { createTempID } from "@tempid/core";
import { planetscaleStore } from "@tempid/core/planetscale";

export interface Env {
  DATABASE_URL: string; // mysql://user:password@aws.connect.psdb.cloud
  TEMPID_SECRET: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const store = planetscaleStore(connect({ url: env.DATABASE_URL }), { timeoutMs: 3000 });
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
};
