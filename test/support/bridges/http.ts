/**
 * The small HTTP plumbing the bridges share: a server on 127.0.0.1 (never beyond), JSON bodies, fault
 * handling around one forwarded request, and a close() that also ends open keep-alive sockets.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { FaultSwitch } from "./faults.js";

export interface Listening {
  server: Server;
  port: number;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

export async function listenLocal(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> {
  const server = createServer(handler);
  // 1,000 requests at once from each of 4 processes, each on a fresh connection: keep the accept queue
  // deep enough (the kernel caps it at somaxconn), and idle keep-alive sockets open while the burst queues,
  // so the server never closes one the client is about to reuse.
  server.maxConnections = 8192;
  server.keepAliveTimeout = 60_000;
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    sockets,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** True when the client has gone (aborted, or its socket closed while the request was held). */
export function clientGone(req: IncomingMessage, res: ServerResponse): boolean {
  return req.socket.destroyed || res.destroyed || res.writableEnded;
}

/**
 * Runs `forward` under the fault switch and sends its answer. `forward` talks to the real server and
 * returns the HTTP status and JSON body to send.
 */
export async function withFaults(
  faults: FaultSwitch,
  req: IncomingMessage,
  res: ServerResponse,
  forward: () => Promise<{ status: number; body: unknown; headers?: Record<string, string> }>,
): Promise<void> {
  const done = faults.begin();
  try {
    const fault = await faults.gate();
    if (clientGone(req, res)) return; // gave up while held: never reaches the database
    if (fault === "status500") {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("bridge: injected internal server error");
      return;
    }
    if (fault === "drop-before") {
      req.socket.destroy();
      return;
    }
    faults.forwarded++;
    const answer = await forward();
    if (fault === "drop-after") {
      req.socket.destroy();
      return;
    }
    if (clientGone(req, res)) return;
    sendJson(res, answer.status, answer.body, answer.headers);
  } finally {
    done();
  }
}
