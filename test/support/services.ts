/**
 * Finds the local database servers the store tests run against. A missing server makes its tests skip
 * with the reason in the test name, unless TEMPID_REQUIRE_SERVICES=1 (set by CI), where it fails them.
 * MongoDB is never required: no MongoDB server can be installed on these machines.
 *
 * URLs: TEMPID_PG_URL, TEMPID_MYSQL_URL, TEMPID_REDIS_URL, TEMPID_MONGO_URL (defaults: the local servers).
 */
import { createServer, Socket } from "node:net";
import { randomBytes } from "node:crypto";

export type ServiceName = "postgres" | "mysql" | "redis" | "mongodb";

export const serviceUrls: Record<ServiceName, string> = {
  postgres: process.env.TEMPID_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  mysql: process.env.TEMPID_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test",
  redis: process.env.TEMPID_REDIS_URL ?? "redis://127.0.0.1:6379",
  mongodb: process.env.TEMPID_MONGO_URL ?? "mongodb://127.0.0.1:27017",
};

export interface ServiceStatus {
  readonly name: ServiceName;
  readonly available: boolean;
  /** Why it is unavailable. */
  readonly reason?: string;
  /** Absence fails the tests (TEMPID_REQUIRE_SERVICES=1), rather than skipping them. */
  readonly required: boolean;
}

export function servicesRequired(): boolean {
  return process.env.TEMPID_REQUIRE_SERVICES === "1";
}

const cache = new Map<ServiceName, Promise<ServiceStatus>>();

/** Whether `name` answers a real query (not just a TCP accept), within about 3 seconds. Memoised. */
export function detectService(name: ServiceName): Promise<ServiceStatus> {
  let found = cache.get(name);
  if (found === undefined) {
    found = probe(name).then(
      () => ({ name, available: true, required: required(name) }),
      (err: unknown) => ({
        name,
        available: false,
        required: required(name),
        reason: `${name} not reachable at ${redact(serviceUrls[name])}: ${err instanceof Error ? err.message : String(err)}`,
      }),
    );
    cache.set(name, found);
  }
  return found;
}

function required(name: ServiceName): boolean {
  return name !== "mongodb" && servicesRequired();
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

async function probe(name: ServiceName): Promise<void> {
  const url = new URL(serviceUrls[name]);
  await tcpConnect(url.hostname, Number(url.port), 1500);
  const deadline = <T>(p: Promise<T>) =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer within 3 s")), 3000).unref())]);
  switch (name) {
    case "postgres": {
      const { default: pg } = await import("pg");
      const client = new pg.Client({ connectionString: serviceUrls.postgres, connectionTimeoutMillis: 2000 });
      try {
        await deadline(client.connect().then(() => client.query("SELECT 1")));
      } finally {
        await client.end().catch(() => undefined);
      }
      return;
    }
    case "mysql": {
      const mysql = await import("mysql2/promise");
      const conn = await deadline(mysql.createConnection({ uri: serviceUrls.mysql, connectTimeout: 2000 }));
      try {
        await deadline(conn.query("SELECT 1"));
      } finally {
        await conn.end().catch(() => undefined);
      }
      return;
    }
    case "redis": {
      const { default: Redis } = await import("ioredis");
      const client = new Redis(serviceUrls.redis, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await deadline(client.connect().then(() => client.ping()));
      } finally {
        client.disconnect();
      }
      return;
    }
    case "mongodb": {
      const { MongoClient } = await import("mongodb");
      const client = new MongoClient(serviceUrls.mongodb, { serverSelectionTimeoutMS: 1500 });
      try {
        await deadline(client.connect().then(() => client.db("admin").command({ ping: 1 })));
      } finally {
        await client.close().catch(() => undefined);
      }
      return;
    }
  }
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const done = (err?: Error) => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no TCP answer within ${timeoutMs} ms`)));
    socket.once("error", (err) => done(err));
    socket.connect(port, host, () => done());
  });
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A table name / key prefix unique to this run, so tests running at the same time never share counters. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
}
