// examples/edge/workers/durable-object.ts — Cloudflare Worker counting uses in Durable Objects, one object per
// token. wrangler.toml:
//   name = "tempid-do"
//   main = "durable-object.ts"
//   compatibility_date = "2025-09-01"
//   [[durable_objects.bindings]]
//   name = "TEMPID_COUNTERS"
//   class_name = "TempIDCounter"
//
//   [[migrations]]
//   tag = "tempid-v1"
//   new_sqlite_classes = ["TempIDCounter"]
import type { DurableObjectNamespace } from "@cloudflare/workers-types";
import { createTempID } from "@tempid/core";
import { durableObjectStore } from "@tempid/core/durable-object";

// The class the binding names: the platform creates one object per counter and runs its alarm at expiry.
export { TempIDCounter } from "@tempid/core/durable-object";

export interface Env {
  TEMPID_COUNTERS: DurableObjectNamespace;
  TEMPID_SECRET: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const tempid = createTempID({ secret: env.TEMPID_SECRET, store: durableObjectStore(env.TEMPID_COUNTERS) });
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
