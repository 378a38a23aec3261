import { createTempID } from "@tempid/core";

// One instance per app, with its secret (from TEMPID_SECRET here) and, without a store option, the
// process's default MemoryStore.
const tempid = createTempID();

// A magic login link: works once, for 10 minutes, and only as a login link.
export async function sendMagicLink(email: string): Promise<string> {
  const tid = await tempid.new("10m", { payload: { email }, maxUses: 1, purpose: "magic-login" });
  return `https://app.example.com/login?token=${tid}`;
}

// The handler the link points to, with web-standard Request/Response (Workers, Deno, Bun, Node 20+).
export async function handleLogin(request: Request): Promise<Response> {
  const token = new URL(request.url).searchParams.get("token") ?? "";
  const tid = await tempid.verify<{ email: string }>(token, { purpose: "magic-login", checkUses: true });
  if (tid === null || !(await tid.use())) {
    return new Response("This link has expired or was already used.", { status: 400 });
  }
  return new Response(`Welcome back, ${tid.payload?.email}`);
}

const link = await sendMagicLink("person@example.com");
console.log((await handleLogin(new Request(link))).status); // 200
console.log((await handleLogin(new Request(link))).status); // 400: already used
