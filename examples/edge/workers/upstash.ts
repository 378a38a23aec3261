// examples/edge/workers/upstash.ts — Cloudflare Worker, Upstash Redis over REST.
import { Redis } from "@upstash/redis/cloudflare";
import { createTempID } from "@tempid/core";
import { upstashStore } from "@tempid/core/upstash";

export interface Env {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  TEMPID_SECRET: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    // No client retries: a re-sent request could count one use twice (the store refuses such a client).
    const redis = Redis.fromEnv(env, { retry: { retries: 0 } });
    const tempid = createTempID({ secret: env.TEMPID_SECRET, store: upstashStore(redis) });
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
