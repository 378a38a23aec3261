// Vercel Edge Function (api/download.ts): the secret is a project environment variable, read via process.env.
import { createTempID } from "@tempid/core";

export const config = { runtime: "edge" };

// strict: a deployment without TEMPID_SECRET fails loudly instead of using the insecure fallback.
const tempid = createTempID({ strict: true });

export default async function handler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const file = url.searchParams.get("file");
  if (file !== null) {
    const tid = await tempid.new("10m", { payload: { file }, purpose: "download" });
    return Response.json({ url: `${url.origin}${url.pathname}?token=${tid}` });
  }
  const tid = await tempid.verify<{ file: string }>(url.searchParams.get("token") ?? "", { purpose: "download" });
  if (tid === null) return new Response("link expired", { status: 403 });
  return Response.json({ file: tid.payload?.file, expiresIn: tid.remaining() });
}
