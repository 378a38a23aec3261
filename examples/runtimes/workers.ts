// Cloudflare Workers: `wrangler secret put TEMPID_SECRET`, then the secret arrives as a binding on `env`.
import { createTempID } from "@tempid/core";

interface Env {
  TEMPID_SECRET: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    // An instance per request is cheap: keys derived from a secret are cached for the isolate.
    const tempid = createTempID({ secret: env.TEMPID_SECRET });
    const url = new URL(request.url);
    if (url.pathname === "/reset") {
      const userId = Number(url.searchParams.get("user"));
      const tid = await tempid.new("30m", { payload: { userId }, purpose: "password-reset" });
      return Response.json({ link: `${url.origin}/reset/confirm?token=${tid}` });
    }
    const token = url.searchParams.get("token") ?? "";
    const tid = await tempid.verify<{ userId: number }>(token, { purpose: "password-reset" });
    if (tid === null) return new Response("invalid or expired link", { status: 401 });
    return Response.json({ userId: tid.payload?.userId });
  },
};
