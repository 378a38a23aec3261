/**
 * Test-only Upstash Redis REST bridge: speaks the REST protocol the official `@upstash/redis` client uses
 * and forwards every command to the real local Redis. Endpoints: `POST /` (one command), `POST /pipeline`
 * and `POST /multi-exec` (MULTI/EXEC on a dedicated connection), bearer-token auth, optional
 * `Upstash-Encoding: base64` replies.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createClient, RESP_TYPES } from "redis";
import { FaultSwitch } from "./faults.js";
import { listenLocal, readBody, sendJson, withFaults } from "./http.js";

export interface UpstashBridge {
  url: string;
  token: string;
  faults: FaultSwitch;
  /** Commands forwarded, by name (upper case): e.g. EVALSHA and EVAL counts for the NOSCRIPT tests. */
  commands: Map<string, number>;
  close(): Promise<void>;
}

export interface UpstashBridgeOptions {
  redisUrl?: string;
  token?: string;
}

type Reply = null | number | string | Buffer | Reply[] | { [key: string]: Reply };

export async function startUpstashBridge(options: UpstashBridgeOptions = {}): Promise<UpstashBridge> {
  const token = options.token ?? "bridge-token-" + Math.random().toString(36).slice(2);
  const redisUrl = options.redisUrl ?? "redis://127.0.0.1:6379";
  // Bulk strings as Buffers so binary values survive; simple strings ("OK", "QUEUED") stay strings.
  const base = createClient({ url: redisUrl, RESP: 2 });
  base.on("error", () => {});
  await base.connect();
  const redis = base.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const faults = new FaultSwitch();
  const commands = new Map<string, number>();

  const note = (cmd: string[]) => {
    const name = (cmd[0] ?? "").toUpperCase();
    commands.set(name, (commands.get(name) ?? 0) + 1);
  };

  const run = async (cmd: string[]): Promise<{ result?: Reply; error?: string }> => {
    note(cmd);
    try {
      return { result: (await redis.sendCommand(cmd)) as Reply };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  };

  const runMulti = async (cmds: string[][]): Promise<Array<{ result?: Reply; error?: string }>> => {
    // A connection of its own: MULTI state must not mix with other requests' commands.
    const conn = base.duplicate();
    conn.on("error", () => {});
    await conn.connect();
    try {
      const multi = conn.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).multi();
      for (const cmd of cmds) {
        note(cmd);
        multi.addCommand(cmd);
      }
      const replies = (await multi.exec()) as unknown as Reply[];
      return replies.map((reply) => (reply instanceof Error ? { error: reply.message } : { result: reply }));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return cmds.map(() => ({ error: message }));
    } finally {
      await conn.quit().catch(() => conn.destroy());
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const raw = await readBody(req);
      if (req.method !== "POST") return sendJson(res, 405, { error: "method not allowed" });
      if (req.headers.authorization !== `Bearer ${token}`) return sendJson(res, 401, { error: "Unauthorized" });
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return sendJson(res, 400, { error: "ERR failed to parse command" });
      }
      const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
      const encode = (reply: Reply | undefined) => encodeReply(reply, base64);
      const path = (req.url ?? "/").split("?")[0];
      const headers = { "upstash-sync-token": "" };

      await withFaults(faults, req, res, async () => {
        if (path === "/" || path === "") {
          const cmd = toCommand(body);
          if (cmd === undefined) return { status: 400, body: { error: "ERR bad command" }, headers };
          const { result, error } = await run(cmd);
          if (error !== undefined) return { status: 400, body: { error }, headers };
          return { status: 200, body: { result: encode(result) }, headers };
        }
        if (path === "/pipeline" || path === "/multi-exec") {
          const cmds = Array.isArray(body) ? body.map(toCommand) : undefined;
          if (cmds === undefined || cmds.some((c) => c === undefined)) {
            return { status: 400, body: { error: "ERR bad pipeline" }, headers };
          }
          const list = cmds as string[][];
          const replies = path === "/pipeline" ? await Promise.all(list.map(run)) : await runMulti(list);
          return {
            status: 200,
            body: replies.map((r) => (r.error !== undefined ? { error: r.error } : { result: encode(r.result) })),
            headers,
          };
        }
        return { status: 404, body: { error: `unknown endpoint ${path}` }, headers };
      });
    })().catch((err) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.destroy();
    });
  };

  const http = await listenLocal(handler);
  return {
    url: `http://127.0.0.1:${http.port}`,
    token,
    faults,
    commands,
    async close() {
      faults.release();
      await http.close();
      await base.quit().catch(() => base.destroy());
    },
  };
}

/** Arguments may arrive as JSON numbers or booleans: Redis wants strings. */
function toCommand(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const out: string[] = [];
  for (const arg of value) {
    if (typeof arg === "string") out.push(arg);
    else if (typeof arg === "number" || typeof arg === "boolean") out.push(String(arg));
    else return undefined;
  }
  return out;
}

/** Strings (also nested) go back base64-encoded when asked; integers, null and the literal "OK" as they are. */
function encodeReply(reply: Reply | undefined, base64: boolean): unknown {
  if (reply === null || reply === undefined || typeof reply === "number") return reply ?? null;
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8");
  if (typeof reply === "string") {
    if (!base64 || reply === "OK") return reply;
    return Buffer.from(reply, "utf8").toString("base64");
  }
  if (Array.isArray(reply)) return reply.map((r) => encodeReply(r, base64));
  return Object.fromEntries(Object.entries(reply).map(([k, v]) => [k, encodeReply(v, base64)]));
}
