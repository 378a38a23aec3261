// examples/edge/vercel/upstash.ts — Vercel Edge Function (e.g. app/api/redeem/route.ts in Next.js).
import { Redis } from "@upstash/redis";
import { createTempID } from "@tempid/core";
import { upstashStore } from "@tempid/core/upstash";

export const runtime = "edge";

// Reads UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN; no client retries (see "Create the client with retry" above).
const redis = Redis.fromEnv({ retry: { retries: 0 } });
const tempid = createTempID({ store: upstashStore(redis) });

export async function GET(request: Request): Promise<Response> {
  const tid = await tempid.verify(new URL(request.url).searchParams.get("token") ?? "");
  if (tid === null) return new Response("invalid or expired", { status: 401 });
  if (!(await tid.use())) return new Response("already used", { status: 410 });
  return new Response("welcome");
}
