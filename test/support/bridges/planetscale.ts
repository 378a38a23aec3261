/**
 * Test-only PlanetScale bridge: speaks the HTTP API of `@planetscale/database` (`POST
 * /psdb.v1alpha1.Database/Execute` and `/CreateSession`, Basic auth, an opaque session echoed back) and
 * forwards every statement, as the client formatted it, to the real local MariaDB / MySQL.
 *
 * Rows go back the way Vitess sends them: each row's values concatenated and base64-encoded, with their
 * byte lengths (-1 for NULL), and fields typed with Vitess type names. A session that runs BEGIN keeps
 * one connection until COMMIT or ROLLBACK; other statements use the pool.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import mysql from "mysql2/promise";
import { FaultSwitch } from "./faults.js";
import { listenLocal, readBody, sendJson, withFaults } from "./http.js";

export interface PlanetScaleBridge {
  /** For `connect({ url })`: http keeps plain HTTP; the password is checked. */
  url: string;
  faults: FaultSwitch;
  /** Every statement text received, in order (to check the driver's `?` substitution). */
  statements: string[];
  close(): Promise<void>;
}

export interface PlanetScaleBridgeOptions {
  target?: { host: string; port: number; user: string; password?: string; database: string };
  username?: string;
  password?: string;
}

interface Session {
  id: string;
  conn?: mysql.PoolConnection;
}

const BINARY_CHARSET = 63;
const UNSIGNED_FLAG = 32;

/** MySQL column type codes to Vitess type names (signed, unsigned). */
const VITESS_TYPES: Record<number, [string, string?]> = {
  0: ["DECIMAL"],
  1: ["INT8", "UINT8"],
  2: ["INT16", "UINT16"],
  3: ["INT32", "UINT32"],
  4: ["FLOAT32"],
  5: ["FLOAT64"],
  6: ["NULL_TYPE"],
  7: ["TIMESTAMP"],
  8: ["INT64", "UINT64"],
  9: ["INT24", "UINT24"],
  10: ["DATE"],
  11: ["TIME"],
  12: ["DATETIME"],
  13: ["YEAR"],
  16: ["BIT"],
  245: ["JSON"],
  246: ["DECIMAL"],
  247: ["ENUM"],
  248: ["SET"],
};

function vitessType(columnType: number, flags: number, charset: number): string {
  const known = VITESS_TYPES[columnType];
  if (known) return (flags & UNSIGNED_FLAG) !== 0 && known[1] ? known[1] : known[0];
  const binary = charset === BINARY_CHARSET;
  if (columnType === 15 || columnType === 253) return binary ? "VARBINARY" : "VARCHAR";
  if (columnType === 254) return binary ? "BINARY" : "CHAR";
  if (columnType >= 249 && columnType <= 252) return binary ? "BLOB" : "TEXT";
  return "VARCHAR";
}

export async function startPlanetScaleBridge(options: PlanetScaleBridgeOptions = {}): Promise<PlanetScaleBridge> {
  const target = options.target ?? { host: "127.0.0.1", port: 3306, user: "root", database: "test" };
  const username = options.username ?? "bridge";
  const password = options.password ?? "pscale_pw_" + Math.random().toString(36).slice(2);
  const expectedAuth = "Basic " + Buffer.from(`${username}:${password}`).toString("base64");
  // typeCast false: every value comes back as the raw bytes MySQL sent, which is what Vitess forwards.
  const pool = mysql.createPool({
    ...target,
    connectionLimit: 20,
    typeCast: false,
    rowsAsArray: true,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    multipleStatements: false,
  });
  const sessions = new Map<string, Session>();
  let nextSession = 1;
  const faults = new FaultSwitch();
  const statements: string[] = [];

  const sessionOf = (value: unknown): Session => {
    const id = typeof value === "object" && value !== null && typeof (value as { id?: unknown }).id === "string"
      ? (value as { id: string }).id
      : undefined;
    const known = id !== undefined ? sessions.get(id) : undefined;
    if (known) return known;
    const fresh: Session = { id: `s${nextSession++}` };
    sessions.set(fresh.id, fresh);
    return fresh;
  };

  const execute = async (session: Session, query: string) => {
    statements.push(query);
    const verb = query.trim().split(/\s+/, 1)[0]?.toUpperCase() ?? "";
    const begins = verb === "BEGIN" || /^START\s+TRANSACTION/i.test(query.trim());
    const ends = verb === "COMMIT" || verb === "ROLLBACK";
    if (begins && !session.conn) session.conn = await pool.getConnection();
    const runner = session.conn ?? pool;
    try {
      const [rows, fields] = await runner.query({ sql: query, rowsAsArray: true });
      return shapeResult(rows, fields);
    } finally {
      if (ends && session.conn) {
        session.conn.release();
        session.conn = undefined;
      }
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const raw = await readBody(req);
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "POST") return sendJson(res, 405, { message: "method not allowed" });
      if (req.headers.authorization !== expectedAuth) {
        return sendJson(res, 401, { code: "unauthenticated", message: "invalid username or password" });
      }
      let body: { query?: unknown; session?: unknown };
      try {
        body = raw.length > 0 ? JSON.parse(raw) : {};
      } catch {
        return sendJson(res, 400, { code: "invalid_argument", message: "body is not JSON" });
      }
      const session = sessionOf(body.session);
      const sessionOut = { id: session.id };
      if (path === "/psdb.v1alpha1.Database/CreateSession") {
        return sendJson(res, 200, { session: sessionOut });
      }
      if (path !== "/psdb.v1alpha1.Database/Execute") return sendJson(res, 404, { code: "not_found", message: path });
      if (typeof body.query !== "string") {
        return sendJson(res, 200, { session: sessionOut, error: { code: "INVALID_ARGUMENT", message: "no query" } });
      }
      const query = body.query;
      await withFaults(faults, req, res, async () => {
        const started = performance.now();
        try {
          const result = await execute(session, query);
          return { status: 200, body: { session: sessionOut, result, timing: (performance.now() - started) / 1000 } };
        } catch (err) {
          return { status: 200, body: { session: sessionOut, error: { code: "UNKNOWN", message: vitessMessage(err) } } };
        }
      });
    })().catch((err) => {
      if (!res.headersSent) sendJson(res, 500, { message: String(err) });
      else res.destroy();
    });
  };

  const http = await listenLocal(handler);
  return {
    url: `http://${username}:${password}@127.0.0.1:${http.port}`,
    faults,
    statements,
    async close() {
      faults.release();
      await http.close();
      for (const s of sessions.values()) s.conn?.release();
      sessions.clear();
      await pool.end();
    },
  };
}

/** Vitess appends the MySQL error number and SQL state to the message: clients match on them. */
function vitessMessage(err: unknown): string {
  const e = err as { message?: string; errno?: number; sqlState?: string };
  const message = e.message ?? String(err);
  return e.errno !== undefined ? `${message} (errno ${e.errno}) (sqlstate ${e.sqlState ?? "HY000"})` : message;
}

function shapeResult(rows: unknown, fields: unknown): Record<string, unknown> {
  if (!Array.isArray(rows)) {
    // An OK packet (INSERT/UPDATE/DDL): no fields, no rows.
    const ok = rows as { affectedRows?: number; insertId?: number | string };
    return { rowsAffected: String(ok.affectedRows ?? 0), insertId: String(ok.insertId ?? 0) };
  }
  const defs = (fields ?? []) as Array<{
    name: string;
    table?: string;
    orgTable?: string;
    db?: string;
    orgName?: string;
    columnType?: number;
    columnLength?: number;
    characterSet?: number;
    decimals?: number;
    flags: number | string[];
  }>;
  const outFields = defs.map((f) => {
    const flags = typeof f.flags === "number" ? f.flags : 0;
    const charset = f.characterSet ?? 0;
    return {
      name: f.name,
      type: vitessType(f.columnType ?? 253, flags, charset),
      table: f.table ?? "",
      orgTable: f.orgTable ?? "",
      database: f.db ?? "",
      orgName: f.orgName ?? "",
      columnLength: f.columnLength ?? 0,
      charset,
      decimals: f.decimals ?? 0,
      flags,
    };
  });
  const outRows = (rows as unknown[][]).map((row) => {
    const parts: Buffer[] = [];
    const lengths = row.map((value) => {
      if (value === null || value === undefined) return "-1";
      const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), "utf8");
      parts.push(bytes);
      return String(bytes.length);
    });
    return { lengths, values: Buffer.concat(parts).toString("base64") };
  });
  return { fields: outFields, rows: outRows, rowsAffected: "0", insertId: "0" };
}
