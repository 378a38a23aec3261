/**
 * Faults between an HTTP store and its service: the bridge answers 500, hangs, or drops the connection
 * before or after the statement ran. Every case must end in a TempIDStoreError (never a grant), bounded by
 * the store's `timeoutMs`, and the real database must not count more than the one attempt, ever: no
 * retries, no duplicate delivered later.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempIDStoreError } from "../../src/index.js";
import { HTTP_KINDS, openTarget, type HttpKind, type HttpTarget } from "./targets.js";

const TIMEOUT_MS = 400;
const future = () => Math.floor(Date.now() / 1000) + 600;
let n = 0;
const freshKey = () => `fault-${process.pid}-${++n}-${Math.random().toString(36).slice(2)}`;

/**
 * What a hung consume leaves in the database after the bridge lets held requests go. Neon can cancel
 * (fetch abort; the Pool connection is destroyed), so nothing arrives. Upstash's and PlanetScale's
 * clients cannot cancel a request, so the abandoned one is delivered once, late (a use lost, not granted).
 */
const COUNT_AFTER_HANG: Record<HttpKind, number> = {
  upstash: 1,
  "neon-http": 0,
  "neon-pool": 0,
  planetscale: 1,
};

describe.each(HTTP_KINDS)("%s faults", (kind) => {
  let target: HttpTarget;
  beforeAll(async () => {
    target = await openTarget(kind);
  });
  afterAll(async () => {
    target.faults.release();
    await target?.close();
  });

  /** One successful use first, so pooled connections exist and the fault hits the consume itself. */
  async function warmStore() {
    const store = target.store({ timeoutMs: TIMEOUT_MS });
    const warm = freshKey();
    expect(await store.consume(warm, 5, future(), Date.now())).toBe(true);
    return store;
  }

  async function expectStoreError(promise: Promise<unknown>) {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TempIDStoreError);
    expect((err as TempIDStoreError).code).toBe("ERR_TEMPID_STORE");
  }

  it("a 500 from the service rejects with TempIDStoreError and counts nothing", async () => {
    const store = await warmStore();
    const key = freshKey();
    target.faults.set("status500");
    await expectStoreError(store.consume(key, 3, future(), Date.now()));
    target.faults.release();
    await target.faults.settled();
    expect(await target.realCount(key)).toBe(0);
    // Healthy again: the next use is the first one.
    expect(await store.consume(key, 3, future(), Date.now())).toBe(true);
    expect(await target.realCount(key)).toBe(1);
  });

  it("a connection dropped before the statement ran rejects and counts nothing", async () => {
    const store = await warmStore();
    const key = freshKey();
    target.faults.set("drop-before");
    await expectStoreError(store.consume(key, 3, future(), Date.now()));
    target.faults.release();
    await target.faults.settled();
    expect(await target.realCount(key)).toBe(0);
  });

  it("a connection dropped after the statement ran rejects and counts exactly once (never re-sent)", async () => {
    const store = await warmStore();
    const key = freshKey();
    const forwardedBefore = target.faults.forwarded;
    target.faults.set("drop-after");
    await expectStoreError(store.consume(key, 3, future(), Date.now()));
    target.faults.release();
    await target.faults.settled();
    expect(target.faults.forwarded - forwardedBefore).toBe(1);
    expect(await target.realCount(key)).toBe(1);
    // The lost use stays spent: two more, then refused.
    expect(await store.consume(key, 3, future(), Date.now())).toBe(true);
    expect(await store.consume(key, 3, future(), Date.now())).toBe(true);
    expect(await store.consume(key, 3, future(), Date.now())).toBe(false);
    expect(await target.realCount(key)).toBe(3);
  });

  it("a hung service: TempIDStoreError at the store's deadline, and no extra use once it recovers", async () => {
    const store = await warmStore();
    const key = freshKey();
    target.faults.set("hang");
    await expectStoreError(store.consume(key, 3, future(), Date.now()));
    // The store gave up while the bridge still held the request: the bound is the store's own deadline.
    expect(target.faults.heldCount).toBe(1);
    // The service recovers a little later (long enough for a cancelled request's socket to close).
    await new Promise((resolve) => setTimeout(resolve, 150));
    target.faults.release();
    await target.faults.settled();
    expect(await target.realCount(key)).toBe(COUNT_AFTER_HANG[kind]);
    // Later traffic counts exactly one per use on top of that.
    expect(await store.consume(key, 3, future(), Date.now())).toBe(true);
    expect(await target.realCount(key)).toBe(COUNT_AFTER_HANG[kind] + 1);
  });

  it("used() and revoke() fail the same way (a read is never mistaken for 0 uses)", async () => {
    const store = await warmStore();
    const key = freshKey();
    expect(await store.consume(key, 3, future(), Date.now())).toBe(true);
    target.faults.set("status500");
    await expectStoreError(store.used(key, Date.now()));
    await expectStoreError(store.revoke(key, future(), Date.now()));
    target.faults.release();
    await target.faults.settled();
    expect(await store.used(key, Date.now())).toBe(1);
  });
});
