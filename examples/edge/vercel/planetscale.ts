// examples/edge/vercel/planetscale.ts — Vercel Edge Function, PlanetScale over HTTPS.
import { connect } from "@planetscale/database";
import { createTempID } from "@tempid/core";
import { planetscaleStore } from "@tempid/core/planetscale";

export const runtime = "edge";

const conn = connect({ url: process.env.DATABASE_URL });
const tempid = createTempID({ store: planetscaleStore(conn) });

export async function GET(request: Request): Promise<Response> {
  const tid = await tempid.verify(new URL(request.url).searchParams.get("token") ?? "");
  if (tid === null) return new Response("invalid or expired", { status: 401 });
  if (!(await tid.use())) return new Response("already used", { status: 410 });
  return new Response("welcome");
}
