// deno serve --allow-env=TEMPID_SECRET examples/runtimes/deno.ts
import { createTempID } from "@tempid/core";

// No secret in code: tempid reads TEMPID_SECRET (Deno.env) and, with strict, refuses to start without it.
const tempid = createTempID({ strict: true });

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/link") {
      const tid = await tempid.new("15m", { payload: { email: url.searchParams.get("email") ?? "" }, maxUses: 1 });
      return Response.json({ link: `${url.origin}/open?token=${tid}` });
    }
    const tid = await tempid.verify<{ email: string }>(url.searchParams.get("token") ?? "");
    if (tid === null || !(await tid.use())) return new Response("link expired or invalid", { status: 401 });
    return Response.json({ email: tid.payload?.email });
  },
};
