// TEMPID_SECRET=… bun run examples/runtimes/bun.ts   (Bun serves the default export's fetch)
import { createTempID } from "@tempid/core";

// The secret comes from the environment (Bun loads .env files into process.env too).
const tempid = createTempID({ strict: true });

export default {
  port: 3000,
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/invite") {
      const tid = await tempid.new("7d", { payload: { team: Number(url.searchParams.get("team")) }, maxUses: 1 });
      return Response.json({ url: `${url.origin}/join?token=${tid}` });
    }
    const tid = await tempid.verify<{ team: number }>(url.searchParams.get("token") ?? "");
    if (tid === null) return new Response("invalid or expired invite", { status: 401 });
    if (!(await tid.use())) return new Response("invite already used", { status: 410 });
    return Response.json({ team: tid.payload?.team });
  },
};
