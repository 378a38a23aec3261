/**
 * Test-only Neon bridge, two protocols on one 127.0.0.1 port, both forwarding to the real local PostgreSQL:
 * - SQL over HTTP (`neon()`): `POST /sql`, one query or a batch run in one transaction, values as
 *   Postgres text so the client parses them by type OID, errors as HTTP 400 with the Postgres fields.
 * - WebSocket (`Pool` / `Client`): `/v1?address=host:port`, the raw Postgres wire protocol in binary
 *   frames, piped to a TCP connection to the real server.
 * The host named by the client is ignored: everything goes to `target`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect as tcpConnect, type Socket } from "node:net";
import pg from "pg";
import { WebSocketServer, type WebSocket } from "ws";
import { FaultSwitch } from "./faults.js";
import { listenLocal, readBody, sendJson, withFaults } from "./http.js";

export interface NeonBridge {
  /** For `neonConfig.fetchEndpoint`. */
  fetchEndpoint: string;
  /** For `neonConfig.wsProxy`: `(host, port) => wsProxy(host, port)`. */
  wsProxy: (host: string, port: number | string) => string;
  /** A connection string the clients accept; its host is a placeholder the bridge ignores. */
  connectionString: string;
  /** Faults of the HTTP endpoint. */
  faults: FaultSwitch;
  /** Faults of the WebSocket tunnel (applied per client frame). */
  wsFaults: FaultSwitch;
  close(): Promise<void>;
}

export interface NeonBridgeOptions {
  target?: { host: string; port: number; user: string; database: string };
}

interface QueryIn {
  query: string;
  params?: unknown[];
}

const ISOLATION: Record<string, string> = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

export async function startNeonBridge(options: NeonBridgeOptions = {}): Promise<NeonBridge> {
  const target = options.target ?? { host: "127.0.0.1", port: 5432, user: "postgres", database: "test" };
  // Identity parsers: values leave as Postgres text, exactly what the HTTP endpoint returns.
  const identity = { getTypeParser: () => (value: string) => value };
  const pool = new pg.Pool({ ...target, max: 20, types: identity as unknown as pg.CustomTypesConfig });
  pool.on("error", () => {});
  const faults = new FaultSwitch();
  const wsFaults = new FaultSwitch();

  const runOne = async (client: pg.PoolClient | pg.Pool, q: QueryIn) => {
    const result = await client.query({ text: q.query, values: q.params ?? [], rowMode: "array" });
    return {
      fields: result.fields.map((f) => ({
        name: f.name,
        dataTypeID: f.dataTypeID,
        tableID: f.tableID,
        columnID: f.columnID,
        dataTypeSize: f.dataTypeSize,
        dataTypeModifier: f.dataTypeModifier,
        format: "text",
      })),
      rows: result.rows,
      command: result.command,
      rowCount: result.rowCount,
      rowAsArray: true,
    };
  };

  const handleSql = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    if (req.method !== "POST") return sendJson(res, 405, { message: "method not allowed" });
    if (typeof req.headers["neon-connection-string"] !== "string") {
      return sendJson(res, 400, { message: "missing Neon-Connection-String header" });
    }
    let body: { query?: string; params?: unknown[]; queries?: QueryIn[] };
    try {
      body = JSON.parse(raw);
    } catch {
      return sendJson(res, 400, { message: "request body is not JSON" });
    }
    await withFaults(faults, req, res, async () => {
      try {
        if (Array.isArray(body.queries)) {
          const client = await pool.connect();
          let broken = false;
          try {
            const level = ISOLATION[String(req.headers["neon-batch-isolation-level"] ?? "")];
            const readOnly = req.headers["neon-batch-read-only"] === "true";
            const deferrable = req.headers["neon-batch-deferrable"] === "true";
            await client.query(
              "BEGIN" + (level ? ` ISOLATION LEVEL ${level}` : "") + (readOnly ? " READ ONLY" : "") +
                (deferrable ? " DEFERRABLE" : ""),
            );
            try {
              const results = [];
              for (const q of body.queries) results.push(await runOne(client, q));
              await client.query("COMMIT");
              return { status: 200, body: { results } };
            } catch (err) {
              await client.query("ROLLBACK").catch(() => (broken = true));
              throw err;
            }
          } finally {
            client.release(broken);
          }
        }
        if (typeof body.query !== "string") return { status: 400, body: { message: "no query" } };
        return { status: 200, body: await runOne(pool, { query: body.query, params: body.params ?? [] }) };
      } catch (err) {
        return { status: 400, body: pgErrorBody(err) };
      }
    });
  };

  const http = await listenLocal((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const work = path === "/sql" ? handleSql(req, res) : Promise.resolve(sendJson(res, 404, { message: "not found" }));
    work.catch((err) => {
      if (!res.headersSent) sendJson(res, 500, { message: String(err) });
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  const tunnels = new Set<{ ws: WebSocket; tcp: Socket }>();
  http.server.on("upgrade", (req, socket, head) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/v1") {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => tunnel(ws));
  });

  const tunnel = (ws: WebSocket) => {
    const tcp = tcpConnect({ host: target.host, port: target.port });
    const pair = { ws, tcp };
    tunnels.add(pair);
    let dropAfterReply = false;
    // Client frames go through the fault switch one at a time, in order.
    let chain = Promise.resolve();
    const end = () => {
      tunnels.delete(pair);
      tcp.destroy();
      ws.terminate();
    };
    const replies = new ReadyForQueryScanner();
    tcp.on("data", (data) => {
      // drop-after: hold back the server's answer until ReadyForQuery (the statement has run and, outside
      // a transaction, committed), then cut the connection without passing the answer on.
      if (dropAfterReply) {
        if (replies.push(data)) end();
        return;
      }
      if (ws.readyState === ws.OPEN) ws.send(data);
    });
    tcp.on("error", end);
    tcp.on("close", end);
    ws.on("error", end);
    ws.on("close", end);
    ws.on("message", (data: Buffer) => {
      const done = wsFaults.begin();
      chain = chain.then(async () => {
        try {
          const fault = await wsFaults.gate();
          if (ws.readyState !== ws.OPEN || tcp.destroyed) return; // gave up while held: never forwarded
          if (fault === "drop-before" || fault === "status500") return end();
          wsFaults.forwarded++;
          if (fault === "drop-after") dropAfterReply = true;
          await new Promise<void>((resolve) => tcp.write(data, () => resolve()));
        } finally {
          done();
        }
      });
    });
  };

  return {
    fetchEndpoint: `http://127.0.0.1:${http.port}/sql`,
    wsProxy: (host, port) => `127.0.0.1:${http.port}/v1?address=${host}:${port}`,
    connectionString: `postgresql://${target.user}@bridge.neon.invalid/${target.database}`,
    faults,
    wsFaults,
    async close() {
      faults.release();
      wsFaults.release();
      for (const { ws, tcp } of tunnels) {
        tcp.destroy();
        ws.terminate();
      }
      wss.close();
      await http.close();
      await pool.end();
    },
  };
}

/** Finds a ReadyForQuery ('Z') message in a stream of backend messages (type byte, int32 length). */
class ReadyForQueryScanner {
  #buffer = Buffer.alloc(0);
  push(data: Buffer): boolean {
    this.#buffer = Buffer.concat([this.#buffer, data]);
    let seen = false;
    while (this.#buffer.length >= 5) {
      const length = this.#buffer.readInt32BE(1);
      if (this.#buffer.length < 1 + length) break;
      if (this.#buffer[0] === 0x5a) seen = true;
      this.#buffer = this.#buffer.subarray(1 + length);
    }
    return seen;
  }
}

/** The Postgres error fields the HTTP endpoint returns with status 400. */
function pgErrorBody(err: unknown): Record<string, unknown> {
  const e = err as Record<string, unknown>;
  const body: Record<string, unknown> = { message: err instanceof Error ? err.message : String(err) };
  for (const key of [
    "code", "severity", "detail", "hint", "position", "internalPosition", "internalQuery", "where",
    "schema", "table", "column", "dataType", "constraint", "file", "line", "routine",
  ]) {
    if (e[key] !== undefined) body[key] = e[key];
  }
  return body;
}
