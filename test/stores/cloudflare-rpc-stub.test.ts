/**
 * durableObjectStore() and d1Store() refuse a Cloudflare RPC stub at construction. Found by the breaker:
 * a Durable Object stub (`env.NS.get(id)`) or a service binding answers every property with a function,
 * so the structural checks passed and every later call failed with a DataCloneError blamed on the store.
 * Runs inside workerd (Miniflare), where the stubs are real; skips with the reason when workerd cannot
 * start here (fails under TEMPID_REQUIRE_SERVICES=1).
 */
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempIDConfigError } from "@tempid/core";
import { d1Store } from "@tempid/core/d1";
import { durableObjectStore } from "@tempid/core/durable-object";
import { isRpcStub } from "../../adapters/store-kit.js";
import { COMPATIBILITY_DATE, bundleWorker, workerdStatus } from "../support/cloudflare-harness.js";

const status = await workerdStatus();
const run = status.available ? describe : describe.skip;

/** Each probe: the constructor's error name and message, or what the first consume did. */
const WORKER = `
import { TempIDCounter, durableObjectStore } from "@tempid/core/durable-object";
import { d1Store } from "@tempid/core/d1";
export { TempIDCounter };
export default {
  async fetch(request, env) {
    const out = {};
    const probe = async (name, make) => {
      try {
        const store = make();
        const exp = Math.floor(Date.now() / 1000) + 60;
        out[name] = { constructed: true, consume: await store.consume("k", 1, exp, Date.now()).then(String, (e) => e.name) };
      } catch (e) {
        out[name] = { name: e.name, message: e.message };
      }
    };
    await probe("durableObjectStore(stub)", () => durableObjectStore(env.COUNTERS.get(env.COUNTERS.idFromName("x"))));
    await probe("durableObjectStore(service binding)", () => durableObjectStore(env.SELF));
    await probe("durableObjectStore(env.DB)", () => durableObjectStore(env.DB));
    await probe("d1Store(service binding)", () => d1Store(env.SELF));
    await probe("d1Store(stub)", () => d1Store(env.COUNTERS.get(env.COUNTERS.idFromName("x"))));
    await probe("durableObjectStore(env.COUNTERS)", () => durableObjectStore(env.COUNTERS));
    await probe("d1Store(env.DB)", () => d1Store(env.DB, { autoMigrate: true }));
    await probe("d1Store(env.DB.withSession())", () => d1Store(env.DB.withSession(), { autoMigrate: true }));
    return Response.json(out);
  },
};`;

run("Cloudflare RPC stubs in place of a binding (workerd, Miniflare)", () => {
  let mf: Miniflare;
  let out: Record<string, { name?: string; message?: string; constructed?: boolean; consume?: string }>;
  beforeAll(async () => {
    const { Miniflare } = await import("miniflare");
    mf = new Miniflare({
      modules: true,
      script: await bundleWorker({ contents: WORKER }),
      compatibilityDate: COMPATIBILITY_DATE,
      d1Databases: ["DB"],
      durableObjects: { COUNTERS: { className: "TempIDCounter", useSQLite: true } },
      serviceBindings: { SELF: () => new Response("self") },
    });
    out = (await (await mf.dispatchFetch("http://x.test/")).json()) as typeof out;
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
  });

  it("a Durable Object stub or a service binding given to durableObjectStore(): TempIDConfigError naming the namespace to pass", () => {
    for (const probe of ["durableObjectStore(stub)", "durableObjectStore(service binding)"]) {
      expect(out[probe]?.name, probe).toBe("TempIDConfigError");
      expect(out[probe]?.message, probe).toMatch(/namespace binding itself \(env\.TEMPID_COUNTERS, bound to TempIDCounter\), not a stub from env\.TEMPID_COUNTERS\.get\(id\) nor a service binding/);
    }
    expect(out["durableObjectStore(env.DB)"]?.name).toBe("TempIDConfigError");
  });

  it("a service binding or a Durable Object stub given to d1Store(): TempIDConfigError naming env.DB", () => {
    for (const probe of ["d1Store(service binding)", "d1Store(stub)"]) {
      expect(out[probe]?.name, probe).toBe("TempIDConfigError");
      expect(out[probe]?.message, probe).toMatch(/^d1Store takes a D1 database binding \(env\.DB\) or a session from env\.DB\.withSession\(\), not a service binding or a Durable Object stub/);
    }
  });

  it("the real bindings, and a D1 session, are still accepted and count", () => {
    expect(out["durableObjectStore(env.COUNTERS)"]).toEqual({ constructed: true, consume: "true" });
    expect(out["d1Store(env.DB)"]).toEqual({ constructed: true, consume: "true" });
    expect(out["d1Store(env.DB.withSession())"]?.constructed).toBe(true);
  });

  it("from Node, Miniflare's proxies of the real bindings are not taken for stubs", async () => {
    const db = await mf.getD1Database("DB");
    const ns = await mf.getDurableObjectNamespace("COUNTERS");
    expect(isRpcStub(db)).toBe(false);
    expect(isRpcStub(ns)).toBe(false);
    expect(() => d1Store(db as never)).not.toThrow();
    expect(() => durableObjectStore(ns as never)).not.toThrow();
  });
});

describe("isRpcStub", () => {
  it("a plain object is no stub; an object answering every property with a function is; a throwing read is", () => {
    expect(isRpcStub({ prepare: () => undefined })).toBe(false);
    expect(isRpcStub(new Proxy({}, { get: () => () => undefined }))).toBe(true);
    expect(isRpcStub(new Proxy({}, { get: () => { throw new TypeError("no RPC"); } }))).toBe(true);
    expect(() => durableObjectStore(new Proxy({}, { get: () => () => undefined }) as never)).toThrow(TempIDConfigError);
    expect(() => d1Store(new Proxy({}, { get: () => () => undefined }) as never)).toThrow(TempIDConfigError);
  });
});
