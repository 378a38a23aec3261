/**
 * The Durable Object store under Miniflare (workerd): `TempIDCounter` bound as a namespace, the store
 * calling it. The conformance suite runs from Node through `mf.getDurableObjectNamespace("COUNTERS")`;
 * then concurrent uses inside the worker and from many requests, revoke, expiry through the platform's
 * alarm (Miniflare runs alarms at their time: the test waits for the real alarm, it does not call the
 * handler), the JSON protocol's checks on both sides, and corrupt records. Skips with the reason when
 * workerd cannot start here (fails under TEMPID_REQUIRE_SERVICES=1).
 */
import { fileURLToPath } from "node:url";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REVOKED_COUNT, TempIDConfigError, TempIDStoreError, createTempID } from "@tempid/core";
import {
  type CounterResponseLike,
  type DurableObjectNamespaceLike,
  durableObjectStore,
} from "@tempid/core/durable-object";
import { describeStore } from "./conformance.js";
import { checkCorruptCounts, checkCountAboveRevoked } from "./corrupt-counts.js";
import {
  type RawNamespace,
  COMPATIBILITY_DATE,
  bundleWorker,
  durableObjectHarness,
  inspectCounter,
  mintAndRedeem,
  putCounter,
  startDurableObjectWorker,
  workerdStatus,
} from "../support/cloudflare-harness.js";

const status = await workerdStatus();
describeStore(durableObjectHarness(), status);

const run = status.available ? describe : describe.skip;
const tag = () => Math.random().toString(36).slice(2, 10);

for (const useSQLite of [true, false]) {
  run(`durable-object store in a worker (${useSQLite ? "SQLite-backed" : "key-value"} storage)`, () => {
    let mf: Miniflare;
    let ns: DurableObjectNamespaceLike & RawNamespace;
    beforeAll(async () => {
      mf = await startDurableObjectWorker(useSQLite);
      ns = (await mf.getDurableObjectNamespace("COUNTERS")) as unknown as DurableObjectNamespaceLike & RawNamespace;
    }, 60_000);
    afterAll(async () => {
      await mf?.dispose();
    });
    const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
    const get = async (path: string) => {
      const res = await mf.dispatchFetch(`http://worker.test${path}`);
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
      return res.json() as Promise<Record<string, unknown>>;
    };

    for (const limit of [1, 50, 499]) {
      it(`500 uses at once inside one request, maxUses ${limit}: exactly ${limit} granted; the object stores ${limit}`, async () => {
        const key = `race-${limit}-${tag()}`;
        const exp = inAnHour();
        expect(await get(`/race?key=${key}&limit=${limit}&exp=${exp}&n=500`)).toEqual({ granted: limit, used: limit });
        const stored = await inspectCounter(ns, `tempid:${key}`);
        expect(stored).toEqual({ entries: { counter: { count: limit, expiresAt: exp } }, alarm: exp * 1000 });
      });
    }

    it("200 concurrent requests, each one use of a maxUses 13 counter: exactly 13 granted", async () => {
      const key = `requests-${tag()}`;
      const exp = inAnHour();
      const replies = await Promise.all(Array.from({ length: 200 }, () => get(`/use?key=${key}&limit=13&exp=${exp}`)));
      expect(replies.filter((r) => r["granted"] === true).length).toBe(13);
      expect(replies.filter((r) => r["granted"] === false).length).toBe(187);
      // A store in Node on the same namespace sees the same count.
      expect(await durableObjectStore(ns).used(key, Date.now())).toBe(13);
    });

    it("revoke: REVOKED_COUNT stored (even for a counter never used), every later use refused", async () => {
      const exp = inAnHour();
      const used = `rev-${tag()}`;
      expect(await get(`/use?key=${used}&limit=5&exp=${exp}`)).toEqual({ granted: true });
      expect(await get(`/revoke?key=${used}&exp=${exp}`)).toEqual({ used: REVOKED_COUNT });
      expect(await get(`/race?key=${used}&limit=${REVOKED_COUNT - 1}&exp=${exp}&n=20`)).toEqual({ granted: 0, used: REVOKED_COUNT });
      const unseen = `rev-new-${tag()}`;
      expect(await get(`/revoke?key=${unseen}&exp=${exp}`)).toEqual({ used: REVOKED_COUNT });
      expect((await inspectCounter(ns, `tempid:${unseen}`)).entries).toEqual({ counter: { count: REVOKED_COUNT, expiresAt: exp } });
    });

    it("expiry: the alarm at the counter's expiry deletes the object's storage (waits for Miniflare's real alarm)", async () => {
      const store = durableObjectStore(ns, { prefix: "exp:" });
      const key = `exp-${tag()}`;
      const soon = Math.floor(Date.now() / 1000) + 2;
      expect(await store.consume(key, 3, soon, Date.now())).toBe(true);
      const before = await inspectCounter(ns, `exp:${key}`);
      expect(before).toEqual({ entries: { counter: { count: 1, expiresAt: soon } }, alarm: soon * 1000 });
      // Poll (bounded) until the alarm has run; no timing is asserted, only the end state.
      let after = before;
      for (let i = 0; i < 80 && Object.keys(after.entries).length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = await inspectCounter(ns, `exp:${key}`);
      }
      expect(after).toEqual({ entries: {}, alarm: null });
      // Gone, so a later token under the same key starts afresh.
      expect(await store.used(key, Date.now())).toBe(0);
      expect(await store.consume(key, 1, inAnHour(), Date.now())).toBe(true);
    });

    it("a counter restarted with a later expiry moves its alarm; used() never writes or sets an alarm", async () => {
      const store = durableObjectStore(ns, { prefix: "move:" });
      const key = `move-${tag()}`;
      const first = inAnHour();
      const now = Date.now();
      expect(await store.used(key, now)).toBe(0);
      expect(await inspectCounter(ns, `move:${key}`)).toEqual({ entries: {}, alarm: null });
      expect(await store.consume(key, 1, first, now)).toBe(true);
      expect(await store.consume(key, 1, first, now)).toBe(false);
      // By the caller's clock the counter has expired: a use restarts it, with the new expiry and alarm.
      const second = first + 7200;
      expect(await store.consume(key, 1, second, first * 1000)).toBe(true);
      expect(await inspectCounter(ns, `move:${key}`)).toEqual({ entries: { counter: { count: 1, expiresAt: second } }, alarm: second * 1000 });
    });
  });
}

run("durable-object store: examples/edge/workers/durable-object.ts runs in workerd", () => {
  let mf: Miniflare;
  const SECRET = "durable-object-example-secret-0123456789ab";
  beforeAll(async () => {
    const { Miniflare } = await import("miniflare");
    mf = new Miniflare({
      modules: true,
      script: await bundleWorker({ path: fileURLToPath(new URL("../../examples/edge/workers/durable-object.ts", import.meta.url)) }),
      compatibilityDate: COMPATIBILITY_DATE,
      // The re-exported class itself, bound as wrangler.toml in the example says.
      durableObjects: { TEMPID_COUNTERS: { className: "TempIDCounter", useSQLite: true } },
      bindings: { TEMPID_SECRET: SECRET },
    });
    await mf.ready;
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
  });

  it("mints a maxUses 3 token; 20 concurrent redeems: 3 welcomed, 17 refused; the object holds 3 until its alarm", async () => {
    const { token, statuses } = await mintAndRedeem(mf, 20);
    expect(statuses.filter((s) => s === 200).length).toBe(3);
    expect(statuses.filter((s) => s === 410).length).toBe(17);
    const tid = await createTempID({ secret: SECRET }).fromString(token);
    const ns = (await mf.getDurableObjectNamespace("TEMPID_COUNTERS")) as unknown as DurableObjectNamespaceLike;
    expect(await durableObjectStore(ns).used(tid.counterKey, Date.now())).toBe(3);
  });
});

run("durable-object store: protocol checks, corrupt records", () => {
  let mf: Miniflare;
  let ns: DurableObjectNamespaceLike & RawNamespace;
  const exp = Math.floor(Date.now() / 1000) + 3600;
  beforeAll(async () => {
    mf = await startDurableObjectWorker(true);
    ns = (await mf.getDurableObjectNamespace("COUNTERS")) as unknown as DurableObjectNamespaceLike & RawNamespace;
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
  });

  it("the object answers 400 to a malformed request or another protocol version, and writes nothing", async () => {
    const raw: RawNamespace = ns;
    const stub = raw.get(raw.idFromName(`proto-${tag()}`));
    const cases: [string, string][] = [
      ["not json", "the body is not JSON"],
      [JSON.stringify({ v: 2, op: "consume", limit: 1, exp, now: Date.now() }), "unsupported protocol version 2"],
      [JSON.stringify({ v: 1, op: "drop", now: Date.now() }), "unknown op"],
      [JSON.stringify({ v: 1, op: "consume", limit: 0, exp, now: Date.now() }), "limit must be"],
      [JSON.stringify({ v: 1, op: "consume", limit: REVOKED_COUNT, exp, now: Date.now() }), "limit must be"],
      [JSON.stringify({ v: 1, op: "consume", limit: 1, exp: "soon", now: Date.now() }), "exp must be"],
      [JSON.stringify({ v: 1, op: "used" }), "now must be"],
    ];
    for (const [body, message] of cases) {
      const res = await stub.fetch("http://counter.test/", { method: "POST", body });
      expect(res.status, body).toBe(400);
      expect(JSON.parse(await res.text()).error).toContain(message);
    }
    const get = await stub.fetch("http://counter.test/");
    expect(get.status).toBe(405);
  });

  it("a fractional clock reading (performance.timeOrigin + performance.now(), which the core accepts) is served like any other", async () => {
    const store = durableObjectStore(ns, { prefix: "frac:" });
    const key = `frac-${tag()}`;
    const now = () => Date.now() + 0.5;
    expect(await store.consume(key, 2, exp, now())).toBe(true);
    expect(await store.consume(key, 2, exp, now())).toBe(true);
    expect(await store.consume(key, 2, exp, now())).toBe(false);
    expect(await store.used(key, now())).toBe(2);
    await store.revoke(key, exp, now());
    expect(await store.used(key, now())).toBe(REVOKED_COUNT);
    // Liveness in whole seconds, as every store: alive until exp * 1000, gone from there on.
    const soon = `frac-exp-${tag()}`;
    expect(await store.consume(soon, 5, exp, exp * 1000 - 0.5)).toBe(true);
    expect(await store.used(soon, exp * 1000 - 1000.5)).toBe(1);
    expect(await store.used(soon, exp * 1000 + 0.5)).toBe(0);
    // Through the core, with that clock.
    const tempid = createTempID({ secret: "durable-object-fractional-clock-secret-0123", store, clock: () => performance.timeOrigin + performance.now() });
    const token = await tempid.new("1h", { maxUses: 1 });
    expect(await token.use()).toBe(true);
    expect(await token.use()).toBe(false);
  });

  it("a negative count is refused naming the value, never granted; expired ones restart; revoke overwrites", async () => {
    const store = durableObjectStore(ns, { prefix: "neg:" });
    await checkCorruptCounts(
      store,
      {
        write: (key, count, expiresAt) => putCounter(ns, `neg:${key}`, { count, expiresAt }),
        async read(key) {
          const counter = (await inspectCounter(ns, `neg:${key}`)).entries["counter"] as { count: number; expiresAt: number } | undefined;
          return counter ?? null;
        },
      },
      /TempIDCounter Durable Object/,
    );
  });

  // Found by the breaker: use() refused, but usesInfo() and verify(…, { checkUses: true }) threw a
  // TempIDStoreError blaming the binding; IndexedDB and Deno KV read the same value as used up.
  it("a count above REVOKED_COUNT (3e9) reads as used up: use() false, usesInfo() { left: 0 }, checkUses null", async () => {
    const store = durableObjectStore(ns, { prefix: "big:" });
    await checkCountAboveRevoked(store, {
      write: (key, count, expiresAt) => putCounter(ns, `big:${key}`, { count, expiresAt }),
      async read(key) {
        const counter = (await inspectCounter(ns, `big:${key}`)).entries["counter"] as { count: number; expiresAt: number } | undefined;
        return counter ?? null;
      },
    });
  });

  it("an unreadable record is an error for consume and used, never a grant; revoke overwrites it", async () => {
    const store = durableObjectStore(ns, { prefix: "bad:" });
    const key = `bad-${tag()}`;
    await putCounter(ns, `bad:${key}`, { count: "3", expiresAt: exp });
    await expect(store.consume(key, 5, exp, Date.now())).rejects.toThrow(/unreadable counter record/);
    await expect(store.used(key, Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
    await store.revoke(key, exp, Date.now());
    expect(await store.used(key, Date.now())).toBe(REVOKED_COUNT);
  });
});

run("durable-object store: a namespace bound to another class (workerd)", () => {
  let mf: Miniflare | undefined;
  afterAll(async () => {
    await mf?.dispose();
  });

  it("fails every call with TempIDStoreError asking whether the namespace is bound to TempIDCounter", async () => {
    const { Miniflare } = await import("miniflare");
    mf = new Miniflare({
      modules: true,
      script: [
        "export class Other { fetch() { return new Response('hello from Other'); } }",
        "export default { fetch() { return new Response(''); } };",
      ].join("\n"),
      compatibilityDate: COMPATIBILITY_DATE,
      durableObjects: { WRONG: "Other" },
    });
    const ns = (await mf.getDurableObjectNamespace("WRONG")) as unknown as DurableObjectNamespaceLike;
    const store = durableObjectStore(ns);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const hint = "is the namespace bound to the TempIDCounter class exported from your Worker?";
    await expect(store.consume("k", 1, exp, Date.now())).rejects.toThrow(
      `consume failed: Error: the counter object answered 200 with a body that is not JSON: hello from Other; ${hint}`,
    );
    await expect(store.used("k", Date.now())).rejects.toThrow(hint);
    await expect(store.revoke("k", exp, Date.now())).rejects.toThrow(hint);
  }, 60_000);
});

describe("durable-object store: replies are checked (a fake namespace, no workerd)", () => {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const answering = (answer: (body: Record<string, unknown>) => CounterResponseLike | Promise<CounterResponseLike>) => {
    const sent: Record<string, unknown>[] = [];
    const namespace: DurableObjectNamespaceLike = {
      idFromName: (name) => ({ name }),
      get: (id: { name: string }) => ({
        fetch: async (_url, init) => {
          const body = { name: id.name, ...(JSON.parse(init.body) as Record<string, unknown>) };
          sent.push(body);
          return answer(body);
        },
      }),
    };
    return { namespace, sent };
  };
  const text = (status: number, body: string): CounterResponseLike => ({ status, text: async () => body });

  it("sends { v: 1, op, … } to the object named prefix + key", async () => {
    const { namespace, sent } = answering((b) => text(200, JSON.stringify(b["op"] === "used" ? { count: 2 } : b["op"] === "revoke" ? { ok: true } : { granted: true })));
    const store = durableObjectStore(namespace, { prefix: "app:" });
    const now = Date.now();
    expect(await store.consume("k", 3, exp, now)).toBe(true);
    expect(await store.used("k", now)).toBe(2);
    await store.revoke("k", exp, now);
    expect(sent).toEqual([
      { name: "app:k", v: 1, op: "consume", limit: 3, exp, now },
      { name: "app:k", v: 1, op: "used", now },
      { name: "app:k", v: 1, op: "revoke", exp, now },
    ]);
  });

  it("an expired token, or a closed store, sends nothing", async () => {
    const { namespace, sent } = answering(() => text(200, '{"granted":true}'));
    const store = durableObjectStore(namespace);
    const now = Date.now();
    expect(await store.consume("k", 1, Math.floor(now / 1000) - 1, now)).toBe(false);
    await store.revoke("k", Math.floor(now / 1000) - 1, now);
    await store.close();
    await expect(store.consume("k", 1, exp, now)).rejects.toBeInstanceOf(TempIDStoreError);
    expect(sent).toEqual([]);
  });

  for (const [label, reply] of [
    ["granted not a boolean", text(200, '{"granted":"yes"}')],
    ["a reply for another op", text(200, '{"count":1}')],
    ["not JSON", text(200, "<html>hello</html>")],
    ["a JSON array", text(200, "[true]")],
    ["status 500 with an error", text(500, '{"error":"storage exploded"}')],
    ["status 404 from something else", text(404, "not found")],
  ] as const) {
    it(`${label}: consume rejects with TempIDStoreError, never a grant`, async () => {
      const store = durableObjectStore(answering(() => reply).namespace);
      const err = await store.consume("k", 5, exp, Date.now()).then(
        (granted) => new Error(`resolved ${String(granted)}`),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TempIDStoreError);
      expect((err as Error).message).toMatch(/^consume failed/);
    });
  }

  // Found by a fresh-user test: a namespace bound to another class answered non-JSON, and the error said only that.
  it("a body that is not JSON (another class's object) asks whether the namespace is bound to TempIDCounter", async () => {
    const store = durableObjectStore(answering(() => text(200, "hello from Other")).namespace);
    await expect(store.consume("k", 5, exp, Date.now())).rejects.toThrow(
      "consume failed: Error: the counter object answered 200 with a body that is not JSON: hello from Other; " +
        "is the namespace bound to the TempIDCounter class exported from your Worker?",
    );
    const wrongShape = durableObjectStore(answering(() => text(200, '{"hello":"from Other"}')).namespace);
    await expect(wrongShape.used("k", Date.now())).rejects.toThrow(
      'used failed: unexpected reply from the counter object: {"hello":"from Other"}; is the namespace bound to the TempIDCounter class exported from your Worker?',
    );
  });

  it("used() refuses a count that is not a non-negative integer (one above REVOKED_COUNT is passed on: used up); revoke() refuses a reply without ok: true", async () => {
    await expect(durableObjectStore(answering(() => text(200, '{"count":-1}')).namespace).used("k", Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
    await expect(durableObjectStore(answering(() => text(200, '{"count":1.5}')).namespace).used("k", Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
    await expect(durableObjectStore(answering(() => text(200, '{"count":"3"}')).namespace).used("k", Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
    expect(await durableObjectStore(answering(() => text(200, `{"count":${REVOKED_COUNT + 1}}`)).namespace).used("k", Date.now())).toBe(REVOKED_COUNT + 1);
    await expect(durableObjectStore(answering(() => text(200, '{"ok":1}')).namespace).revoke("k", exp, Date.now())).rejects.toBeInstanceOf(TempIDStoreError);
  });

  it("a stub that rejects, or never answers, is a TempIDStoreError (the latter at timeoutMs)", async () => {
    const refused = durableObjectStore(answering(() => Promise.reject(new Error("Network connection lost."))).namespace);
    await expect(refused.consume("k", 1, exp, Date.now())).rejects.toThrow(/consume failed: Error: Network connection lost/);
    const hung = durableObjectStore(answering(() => new Promise<never>(() => undefined)).namespace, { timeoutMs: 50 });
    await expect(hung.consume("k", 1, exp, Date.now())).rejects.toThrow(/consume timed out after 50 ms/);
  });

  it("refuses what is not a namespace, and bad options, with TempIDConfigError", () => {
    expect(() => durableObjectStore({} as DurableObjectNamespaceLike)).toThrow(TempIDConfigError);
    const { namespace } = answering(() => text(200, "{}"));
    expect(() => durableObjectStore(namespace, { timeoutMs: -1 })).toThrow(TempIDConfigError);
    expect(() => durableObjectStore(namespace, { prefix: 3 as unknown as string })).toThrow(TempIDConfigError);
  });
});
