/**
 * Cloudflare stores (D1, Durable Objects) under Miniflare 4, i.e. inside a real workerd process on this
 * machine: a bundler for module workers (the adapters from source, no Node built-in reachable), a probe
 * that says whether workerd can start here, and the two conformance harnesses, which reach the bindings
 * from Node through Miniflare (`getD1Database`, `getDurableObjectNamespace`).
 *
 * No worker-process harness (`worker`): a D1 database or a Durable Object lives inside one workerd
 * process, so 4 Node processes cannot share one; the in-worker concurrency tests cover that ground.
 */
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { d1Store, type D1DatabaseLike, type D1PreparedStatementLike } from "../../adapters/d1.js";
import { durableObjectStore, type DurableObjectNamespaceLike } from "../../adapters/durable-object.js";
import type { HarnessStore, RawCounter, StoreHarness } from "./store-harness.js";
import { type ServiceName, type ServiceStatus, servicesRequired } from "./services.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const COMPATIBILITY_DATE = "2025-09-01";

/**
 * Bundles a module worker as wrangler would for workerd, with `@tempid/core` and `@tempid/core/<adapter>`
 * taken from the sources. Platform "neutral": a `node:` import fails the build.
 */
export async function bundleWorker(entry: { path: string } | { contents: string }): Promise<string> {
  const result = await build({
    ...("path" in entry
      ? { entryPoints: [entry.path] }
      : { stdin: { contents: entry.contents, resolveDir: ROOT, loader: "ts" as const } }),
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["browser", "module", "main"],
    alias: { "@tempid/core": `${ROOT}src/index.ts` },
    plugins: [
      {
        name: "tempid-adapters",
        setup(b) {
          b.onResolve({ filter: /^@tempid\/core\/.+/ }, (args) => ({
            path: `${ROOT}adapters/${args.path.slice("@tempid/core/".length)}.ts`,
          }));
        },
      },
    ],
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

let probed: Promise<ServiceStatus> | undefined;

/** Whether workerd starts here (Miniflare's bundled binary). Skips, or fails under TEMPID_REQUIRE_SERVICES=1. */
export function workerdStatus(): Promise<ServiceStatus> {
  const name = "workerd (Miniflare)" as ServiceName;
  probed ??= (async () => {
    let mf: Miniflare | undefined;
    try {
      mf = new Miniflare({ modules: true, script: "export default { fetch() { return new Response('ok') } }", compatibilityDate: COMPATIBILITY_DATE });
      const res = await mf.dispatchFetch("http://probe.test/");
      if ((await res.text()) !== "ok") throw new Error(`the probe worker answered ${res.status}`);
      return { name, available: true, required: servicesRequired() };
    } catch (err) {
      return { name, available: false, required: servicesRequired(), reason: `workerd could not start: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      await mf?.dispose().catch(() => undefined);
    }
  })();
  return probed;
}

/** A Miniflare started on first use and disposed by the harness. */
function lazyMiniflare(options: () => Promise<ConstructorParameters<typeof Miniflare>[0]>) {
  let mf: Promise<Miniflare> | undefined;
  return {
    get(): Promise<Miniflare> {
      mf ??= options().then(async (o) => {
        const m = new Miniflare(o);
        await m.ready;
        return m;
      });
      return mf;
    },
    async dispose(): Promise<void> {
      const m = mf;
      mf = undefined;
      await (await m?.catch(() => undefined))?.dispose();
    },
  };
}

type D1Like = Awaited<ReturnType<Miniflare["getD1Database"]>>;

/**
 * A worker that runs one D1 statement per request on its binding and answers D1's own result object as
 * JSON (or the error's message with status 500).
 */
const D1_RELAY = `
export default {
  async fetch(request, env) {
    const { sql, args, mode } = await request.json();
    try {
      const statement = env.DB.prepare(sql).bind(...args);
      return Response.json(mode === "all" ? await statement.all() : await statement.run());
    } catch (err) {
      return Response.json({ error: String(err && err.message || err) }, { status: 500 });
    }
  },
};
`;

/**
 * The D1 binding as the store sees it, each statement relayed to the binding inside workerd by one
 * `dispatchFetch`. Miniflare's own Node proxy (`getD1Database`) makes `prepare()` and `bind()` synchronous
 * round trips that hold Node's event loop: 1,000 concurrent uses took 17-25 s through it (measured), so
 * the suite's concurrency tests could not run within their budget. The relay is one asynchronous request
 * per statement; the database, its SQLite engine and its result objects are the same.
 */
function relayedD1(mf: Miniflare): D1DatabaseLike {
  const send = async (sql: string, args: unknown[], mode: "all" | "run") => {
    const res = await mf.dispatchFetch("http://d1-relay.test/", { method: "POST", body: JSON.stringify({ sql, args, mode }) });
    const body = (await res.json()) as { error?: string; results?: unknown[]; meta?: { changes?: number } };
    if (res.status !== 200) throw new Error(body.error ?? `the relay answered ${res.status}`);
    return body;
  };
  return {
    prepare(sql) {
      const statement = (args: unknown[]): D1PreparedStatementLike => ({
        bind: (...values) => statement(values),
        all: () => send(sql, args, "all"),
        run: () => send(sql, args, "run"),
      });
      return statement([]);
    },
  };
}

/** D1 through Miniflare's local D1. One table per namespace, in one database. */
export function d1Harness(): StoreHarness {
  const mf = lazyMiniflare(async () => ({
    modules: true,
    script: D1_RELAY,
    compatibilityDate: COMPATIBILITY_DATE,
    d1Databases: ["DB"],
  }));
  // Reads for the checks go through Miniflare's own binding proxy.
  const db = async (): Promise<D1Like> => (await mf.get()).getD1Database("DB");
  return {
    name: "d1 (Miniflare local D1; store in Node, statements relayed to the binding)",
    persistent: true,
    async open(ns, options) {
      // The edge default is autoMigrate false (run migrate() at deploy); the suite opens fresh tables.
      // Miniflare's local D1 runs a few ms per statement, one at a time: 1,000 concurrent uses take
      // seconds, past the 5 s default bound.
      return d1Store(relayedD1(await mf.get()), { table: ns, autoMigrate: true, timeoutMs: 25_000, ...options });
    },
    async inspect(ns, key): Promise<RawCounter | null> {
      const row = await (await db()).prepare(`SELECT count, expires_at FROM "${ns}" WHERE token_id = ?`).bind(key).first<{ count: number; expires_at: number }>();
      return row === null ? null : { count: row.count, expiresAt: row.expires_at };
    },
    async size(ns) {
      const row = await (await db()).prepare(`SELECT COUNT(*) AS n FROM "${ns}"`).first<{ n: number }>();
      return Number(row?.n);
    },
    async drop(ns) {
      await (await db()).prepare(`DROP TABLE IF EXISTS "${ns}"`).run();
    },
    async openDead() {
      // Miniflare's binding of a workerd process that has stopped: every statement fails.
      const dead = new Miniflare({ modules: true, script: D1_RELAY, compatibilityDate: COMPATIBILITY_DATE, d1Databases: ["DB"] });
      const store = d1Store(await dead.getD1Database("DB"), { table: "tempid_dead", timeoutMs: 2000, autoMigrate: true });
      await dead.dispose();
      return store;
    },
    dispose: () => mf.dispose(),
  };
}

/**
 * The Worker the Durable Object harness and tests run: `TempIDCounter` as shipped, subclassed only to add
 * two test routes (`/__inspect` reads the object's storage and alarm, `/__put` writes a raw record); every
 * other request goes to the shipped class unchanged. Its default export uses `durableObjectStore` inside
 * the worker (`/race`, `/redeem`).
 */
export const DO_WORKER = `
import { TempIDCounter, durableObjectStore } from "@tempid/core/durable-object";

export class TestCounter extends TempIDCounter {
  constructor(state, env) {
    super(state, env);
    this.testState = state;
  }
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/__inspect") {
      const entries = Object.fromEntries(await this.testState.storage.list());
      return Response.json({ entries, alarm: await this.testState.storage.getAlarm() });
    }
    if (path === "/__put") {
      await this.testState.storage.put("counter", await request.json());
      return Response.json({ ok: true });
    }
    return super.fetch(request);
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const store = durableObjectStore(env.COUNTERS, { prefix: url.searchParams.get("prefix") ?? "tempid:" });
    const key = url.searchParams.get("key");
    const limit = Number(url.searchParams.get("limit"));
    const exp = Number(url.searchParams.get("exp"));
    if (url.pathname === "/race") {
      // n uses at once from inside one request of the worker.
      const n = Number(url.searchParams.get("n"));
      const results = await Promise.all(Array.from({ length: n }, () => store.consume(key, limit, exp, Date.now())));
      return Response.json({ granted: results.filter(Boolean).length, used: await store.used(key, Date.now()) });
    }
    if (url.pathname === "/use") {
      return Response.json({ granted: await store.consume(key, limit, exp, Date.now()) });
    }
    if (url.pathname === "/revoke") {
      await store.revoke(key, exp, Date.now());
      return Response.json({ used: await store.used(key, Date.now()) });
    }
    return new Response("not found", { status: 404 });
  },
};
`;

/** Starts workerd with the Durable Object test worker: `COUNTERS` bound to `TestCounter`. */
export async function startDurableObjectWorker(useSQLite: boolean): Promise<Miniflare> {
  const mf = new Miniflare({
    modules: true,
    script: await bundleWorker({ contents: DO_WORKER }),
    compatibilityDate: COMPATIBILITY_DATE,
    durableObjects: { COUNTERS: { className: "TestCounter", useSQLite } },
  });
  await mf.ready;
  return mf;
}

/** What `/__inspect` answers: the object's raw storage and its alarm (ms, or null). */
export interface CounterStorage {
  entries: Record<string, unknown>;
  alarm: number | null;
}

/** A namespace as Miniflare hands it to Node, for the test routes. */
export interface RawNamespace {
  idFromName(name: string): unknown;
  get(id: any): { fetch(url: string, init?: { method: string; body?: string }): Promise<{ status: number; text(): Promise<string> }> };
}

/** Reads the raw storage of the object named `name` (the store's prefix + key). */
export async function inspectCounter(namespace: RawNamespace, name: string): Promise<CounterStorage> {
  const res = await namespace.get(namespace.idFromName(name)).fetch("http://counter.test/__inspect");
  if (res.status !== 200) throw new Error(`inspect answered ${res.status}: ${await res.text()}`);
  return JSON.parse(await res.text()) as CounterStorage;
}

/** Writes a raw record into the object named `name`, behind its back (as a faulty writer would). */
export async function putCounter(namespace: RawNamespace, name: string, record: unknown): Promise<void> {
  const res = await namespace.get(namespace.idFromName(name)).fetch("http://counter.test/__put", { method: "POST", body: JSON.stringify(record) });
  if (res.status !== 200) throw new Error(`put answered ${res.status}: ${await res.text()}`);
}

/** Durable Objects (SQLite-backed) through Miniflare's namespace, reached from Node. Namespace = key prefix. */
export function durableObjectHarness(): StoreHarness {
  let mf: Promise<Miniflare> | undefined;
  let memo: Promise<DurableObjectNamespaceLike & RawNamespace> | undefined;
  const namespace = () =>
    (memo ??= (async () => {
      const real = (await (await (mf ??= startDurableObjectWorker(true))).getDurableObjectNamespace("COUNTERS")) as unknown as RawNamespace;
      // Miniflare's Node proxy makes idFromName() and get() synchronous round trips into workerd, which hold
      // Node's event loop (1,000 concurrent uses took 7-11 s, mostly there). The stub of each name is made
      // once; every request still goes to the object through it.
      const stubs = new Map<string, ReturnType<RawNamespace["get"]>>();
      return {
        idFromName: (name: string) => name,
        get(name: string) {
          let stub = stubs.get(name);
          if (stub === undefined) stubs.set(name, (stub = real.get(real.idFromName(name))));
          return stub;
        },
      } as DurableObjectNamespaceLike & RawNamespace;
    })());
  return {
    name: "durable-object (Miniflare, SQLite-backed, from Node)",
    persistent: true,
    // Expired counters are deleted by each object's alarm at the expiry (the platform's clock), not by the
    // store's traffic; the suite's injected clock runs ahead of that, so it checks reads only.
    reclaimsInTraffic: false,
    async open(ns, options): Promise<HarnessStore> {
      return durableObjectStore(await namespace(), { prefix: `${ns}:`, timeoutMs: options?.timeoutMs ?? 25_000 });
    },
    async inspect(ns, key): Promise<RawCounter | null> {
      const { entries } = await inspectCounter(await namespace(), `${ns}:${key}`);
      const counter = entries["counter"] as { count: number; expiresAt: number } | undefined;
      if (Object.keys(entries).length > (counter === undefined ? 0 : 1)) throw new Error(`unexpected storage ${JSON.stringify(entries)}`);
      return counter === undefined ? null : { count: counter.count, expiresAt: counter.expiresAt };
    },
    async drop() {
      // Objects are not listable; they vanish with the Miniflare instance (in-memory storage).
    },
    async openDead() {
      // A namespace of a workerd process that has stopped: every call fails.
      const dead = await startDurableObjectWorker(true);
      const store = durableObjectStore((await dead.getDurableObjectNamespace("COUNTERS")) as unknown as DurableObjectNamespaceLike, { timeoutMs: 2000 });
      await dead.dispose();
      return store;
    },
    async dispose() {
      const m = mf;
      mf = undefined;
      memo = undefined;
      await (await m?.catch(() => undefined))?.dispose();
    },
  };
}

/**
 * The Worker examples' flow, run in workerd: mint one token (`/mint`), then `n` concurrent redeems of it
 * (`/redeem?token=…`); returns the token and the redeem statuses, and checks a forged token is a 401.
 */
export async function mintAndRedeem(mf: Pick<Miniflare, "dispatchFetch">, n: number): Promise<{ token: string; statuses: number[] }> {
  const token = await (await mf.dispatchFetch("http://worker.test/mint")).text();
  const statuses = await Promise.all(
    Array.from({ length: n }, async () => {
      const res = await mf.dispatchFetch(`http://worker.test/redeem?token=${encodeURIComponent(token)}`);
      await res.text();
      return res.status;
    }),
  );
  const forged = await mf.dispatchFetch("http://worker.test/redeem?token=forged");
  await forged.text();
  if (forged.status !== 401) throw new Error(`a forged token answered ${forged.status}, not 401`);
  return { token, statuses };
}

