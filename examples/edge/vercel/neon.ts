// examples/edge/vercel/neon.ts — Vercel Edge Function, Neon over HTTPS.
import { neon } from "@neondatabase/serverless";
import { createTempID } from "@tempid/core";
import { neonStore } from "@tempid/core/neon";

export const runtime = "edge";

const sql = neon(process.env.DATABASE_URL!);
const tempid = createTempID({ store: neonStore(sql) });

export async function GET(request: Request): Promise<Response> {
  const tid = await tempid.verify(new URL(request.url).searchParams.get("token") ?? "");
  if (tid === null) return new Response("invalid or expired", { status: 401 });
  if (!(await tid.use())) return new Response("already used", { status: 410 });
  return new Response("welcome");
}
