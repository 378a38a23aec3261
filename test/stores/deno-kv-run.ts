/**
 * The Deno KV store inside Deno (the conformance suite runs under vitest in Node, where there is no Deno KV).
 * Run from the repository root with `deno run --unstable-kv`; test/stores/deno-kv.test.ts does, and asserts
 * each property separately on the values printed here.
 *
 *   deno run --unstable-kv --allow-read --allow-write test/stores/deno-kv-run.ts suite <dir>
 *     runs every check (KV files go in <dir>) and prints one JSON line: { <check>: <observed values> | { error } }
 *   deno run --unstable-kv --allow-read --allow-write test/stores/deno-kv-run.ts worker <file> <jobs>
 *     opens <file>, prints "ready", waits for a line on stdin, runs the jobs' consumes concurrently and
 *     prints { granted: { key: n }, errors: [...] }
 *   deno run --unstable-kv --allow-read --allow-write test/stores/deno-kv-run.ts read <file> <keys>
 *     prints { key: used } for each key.
 *
 * Typed without Deno's global types (tsc checks this file too): the few Deno APIs used are declared below.
 */
import { REVOKED_COUNT, TempIDConfigError, TempIDStoreError, createTempID } from "@tempid/core";
import {
  type DenoKvAtomicLike,
  type DenoKvCounter,
  type DenoKvEntryLike,
  type DenoKvKey,
  type DenoKvLike,
  type DenoKvStoreOptions,
  type DenoKvUseStore,
  denoKvStore,
} from "../../adapters/deno-kv.js";

interface Kv extends DenoKvLike {
  set(key: readonly unknown[], value: unknown, options?: { expireIn?: number }): Promise<unknown>;
}
interface DenoApi {
  openKv(path?: string): Promise<Kv>;
  readonly args: string[];
  readonly stdin: { readonly readable: ReadableStream<Uint8Array> };
  exit(code: number): never;
}
const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

const SECRET = "deno-kv-test-secret-0123456789abcdef0123";
const now = Date.now();
const inAnHour = Math.floor(now / 1000) + 3600;
let n = 0;
const key = (label: string) => `${label}-${++n}-${Math.random().toString(36).slice(2, 8)}`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The raw entry behind a counter, as stored. */
async function raw(kv: Kv, k: string, prefix = "tempid"): Promise<DenoKvCounter | null> {
  return (await kv.get([prefix, k])).value as DenoKvCounter | null;
}

/** What a promise settled to: its value, or the error's class and message. */
async function outcome<T>(p: Promise<T>): Promise<{ value: T } | { error: string; message: string; cause?: string }> {
  try {
    return { value: await p };
  } catch (err) {
    const e = err as Error & { cause?: unknown };
    const error = e instanceof TempIDStoreError ? "TempIDStoreError" : e instanceof TempIDConfigError ? "TempIDConfigError" : String(e?.name);
    const result: { error: string; message: string; cause?: string } = { error, message: String(e?.message) };
    if (e?.cause instanceof Error) result.cause = e.cause.name;
    return result;
  }
}

/** A handle whose calls are observed (and optionally delayed, failed or interleaved) on their way to `kv`. */
function spy(
  kv: DenoKvLike,
  hooks: {
    beforeGet?: () => Promise<void> | void;
    beforeCommit?: (index: number) => Promise<void> | void;
    commitResult?: (index: number) => { ok: boolean } | undefined;
  } = {},
) {
  const log = { gets: 0, commits: 0, refused: 0, locked: 0, sets: [] as { key: DenoKvKey; value: unknown; expireIn: number | undefined }[] };
  const handle: DenoKvLike = {
    async get(k: DenoKvKey): Promise<DenoKvEntryLike> {
      log.gets++;
      await hooks.beforeGet?.();
      return kv.get(k);
    },
    atomic(): DenoKvAtomicLike {
      const op = kv.atomic();
      const wrapped: DenoKvAtomicLike = {
        check: (...checks) => (op.check(...checks), wrapped),
        set: (k, value, options) => {
          log.sets.push({ key: k, value, expireIn: options?.expireIn });
          op.set(k, value, options);
          return wrapped;
        },
        commit: async () => {
          const index = log.commits++;
          await hooks.beforeCommit?.(index);
          const forced = hooks.commitResult?.(index);
          try {
            const result = forced ?? (await op.commit());
            if (!result.ok) log.refused++;
            return result;
          } catch (err) {
            if (/database is locked/.test(String(err))) log.locked++;
            throw err;
          }
        },
      };
      return wrapped;
    },
    close: () => kv.close(),
  };
  return { handle, log };
}

async function race(store: DenoKvUseStore, limit: number, count = 1000) {
  const k = key(`race${limit}`);
  const results = await Promise.all(Array.from({ length: count }, () => store.consume(k, limit, inAnHour, now)));
  return { key: k, granted: results.filter(Boolean).length };
}

async function suite(dir: string): Promise<Record<string, unknown>> {
  const mem = await Deno.openKv(":memory:");
  const filePath = `${dir}/counts.sqlite3`;
  const file = await Deno.openKv(filePath);
  const store = denoKvStore(mem);
  const fileStore = denoKvStore(file);
  const checks: Record<string, () => Promise<unknown>> = {
    async limit() {
      const k = key("limit");
      const results: boolean[] = [];
      for (let i = 0; i < 5; i++) results.push(await store.consume(k, 3, inAnHour, now));
      return { results, used: await store.used(k, now), raw: await raw(mem, k), expected: { count: 3, expiresAt: inAnHour } };
    },

    async keysApart() {
      const a = key("a");
      const b = key("b");
      return [
        await store.consume(a, 1, inAnHour, now),
        await store.consume(b, 1, inAnHour, now),
        await store.consume(a, 1, inAnHour, now),
        await store.used(b, now),
      ];
    },

    async keyVerbatim() {
      const k = `${key("inj")}'"); DROP TABLE tempid_uses; -- \\ $1 ? %s \u0000 ["tempid"]`;
      return {
        first: await store.consume(k, 1, inAnHour, now),
        second: await store.consume(k, 1, inAnHour, now),
        used: await store.used(k, now),
        rawCount: (await raw(mem, k))?.count,
      };
    },

    async usedReadOnly() {
      const k = key("ro");
      const before = [await store.used(k, now), await store.used(k, now), await raw(mem, k)];
      await store.consume(k, 2, inAnHour, now);
      const reads = [await store.used(k, now), await store.used(k, now), await store.used(k, now)];
      return { before, reads, after: [await store.consume(k, 2, inAnHour, now), await store.consume(k, 2, inAnHour, now)] };
    },

    async revoke() {
      const spent = key("rev");
      const first = await store.consume(spent, 10, inAnHour, now);
      await store.revoke(spent, inAnHour, now);
      const unseen = key("rev-new");
      await store.revoke(unseen, inAnHour, now);
      return {
        first,
        afterRevoke: [await store.consume(spent, 10, inAnHour, now), await store.consume(spent, REVOKED_COUNT - 1, inAnHour, now)],
        used: await store.used(spent, now),
        unseen: [await store.consume(unseen, 1, inAnHour, now), await store.used(unseen, now)],
        rawUnseen: await raw(mem, unseen),
        expected: { count: REVOKED_COUNT, expiresAt: inAnHour },
      };
    },

    async expiredToken() {
      const k = key("dead");
      const past = Math.floor(now / 1000) - 1;
      const consumed = await store.consume(k, 5, past, now);
      await store.revoke(k, past, now);
      return { consumed, used: await store.used(k, now), raw: await raw(mem, k) };
    },

    async expiry() {
      const k = key("exp");
      const first = [await store.consume(k, 1, inAnHour, now), await store.consume(k, 1, inAnHour, now)];
      const after = inAnHour * 1000; // expiresAt <= now: expired, whether or not Deno KV has deleted it yet
      const usedBefore = await store.used(k, after - 1);
      const usedAt = await store.used(k, after);
      const stillStored = (await raw(mem, k))?.count; // the entry is still there: KV deletes it later
      const renewed = inAnHour + 3600;
      const restarted = await store.consume(k, 1, renewed, after);
      const r = key("exp-rev");
      await store.revoke(r, inAnHour, now);
      return {
        first,
        usedBefore,
        usedAt,
        stillStored,
        restarted,
        usedRestarted: await store.used(k, after),
        raw: await raw(mem, k),
        expected: { count: 1, expiresAt: renewed },
        revokedExpired: await store.used(r, after),
      };
    },

    async expireIn() {
      const { handle, log } = spy(mem);
      const s = denoKvStore(handle);
      const k = key("ttl");
      await s.consume(k, 3, inAnHour, now);
      await s.consume(k, 3, inAnHour + 999, now + 5000); // a live counter keeps its expiry
      await s.revoke(k, inAnHour + 60, now + 6000);
      return { now, inAnHour, writes: log.sets.map((w) => ({ key: w.key, value: w.value, expireIn: w.expireIn })), key: k };
    },

    async race() {
      const out: Record<string, unknown> = {};
      for (const [name, s, kv] of [["memory", store, mem], ["file", fileStore, file]] as const) {
        for (const limit of [1, 50, 999]) {
          const { key: k, granted } = await race(s, limit);
          out[`${name}:${limit}`] = { granted, used: await s.used(k, now), rawCount: (await raw(kv, k))?.count };
        }
      }
      return out;
    },

    async oneCommitPerRound() {
      // 1,000 concurrent consumes of one key in one store: one read and one commit settle all of them.
      const { handle, log } = spy(mem);
      const s = denoKvStore(handle);
      const { granted } = await race(s, 50);
      return { granted, gets: log.gets, commits: log.commits };
    },

    async twoHandles() {
      // Two handles on one file: each store batches its own calls; they meet in Deno KV's check.
      const a = await Deno.openKv(filePath);
      const b = await Deno.openKv(filePath);
      const sa = spy(a);
      const sb = spy(b);
      const storeA = denoKvStore(sa.handle);
      const storeB = denoKvStore(sb.handle);
      const out: Record<string, unknown> = {};
      try {
        for (const limit of [1, 50, 999]) {
          const k = key(`two${limit}`);
          const calls = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? storeA : storeB).consume(k, limit, inAnHour, now));
          const settled = await Promise.allSettled(calls);
          out[limit] = {
            granted: settled.filter((r) => r.status === "fulfilled" && r.value).length,
            errors: settled.filter((r) => r.status === "rejected").length,
            usedA: await storeA.used(k, now),
            usedB: await storeB.used(k, now),
          };
        }
        // Informational (not asserted): how often the other handle got in between.
        out.lostRounds = { refusedChecks: sa.log.refused + sb.log.refused, locked: sa.log.locked + sb.log.locked };
      } finally {
        a.close();
        b.close();
      }
      return out;
    },

    async twoHandlesOneByOne() {
      // Two handles each sending one consume at a time (no batching to hide behind): nearly every round
      // races the other handle, so failed checks and file-lock retries happen throughout. 1,200 calls, limit 999.
      const a = await Deno.openKv(filePath);
      const b = await Deno.openKv(filePath);
      const sa = spy(a);
      const sb = spy(b);
      const stores = [denoKvStore(sa.handle), denoKvStore(sb.handle)];
      const k = key("one-by-one");
      const tally = { granted: 0, refused: 0, errors: 0 };
      try {
        await Promise.all(
          stores.map(async (s) => {
            for (let i = 0; i < 600; i++) {
              await s.consume(k, 999, inAnHour, now).then(
                (ok) => void (ok ? tally.granted++ : tally.refused++),
                () => void tally.errors++,
              );
            }
          }),
        );
        return {
          ...tally,
          used: await stores[0]!.used(k, now),
          lostRounds: { refusedChecks: sa.log.refused + sb.log.refused, locked: sa.log.locked + sb.log.locked },
        };
      } finally {
        a.close();
        b.close();
      }
    },

    async checkConflict() {
      // Deterministic lost race: between A's read and A's commit, B counts a use. A's check must fail, and A
      // must read again and count on from B's write (2, not 1).
      const b = denoKvStore(file);
      const k = key("conflict");
      const { handle, log } = spy(file, {
        beforeCommit: async (index) => {
          if (index === 0) await b.consume(k, 5, inAnHour, now);
        },
      });
      const a = denoKvStore(handle);
      const granted = await a.consume(k, 5, inAnHour, now);
      return { granted, commits: log.commits, refused: log.refused, gets: log.gets, used: await a.used(k, now) };
    },

    async checkConflictAtLimit() {
      // Same, at limit 1: B takes the only use between A's read and commit; A re-reads and refuses.
      const b = denoKvStore(file);
      const k = key("conflict1");
      const { handle, log } = spy(file, {
        beforeCommit: async (index) => {
          if (index === 0) await b.consume(k, 1, inAnHour, now);
        },
      });
      const a = denoKvStore(handle);
      const granted = await a.consume(k, 1, inAnHour, now);
      return { granted, commits: log.commits, refused: log.refused, used: await a.used(k, now) };
    },

    async contention() {
      // Every commit refused (another writer always first): bounded attempts, then an error; nothing counted.
      const { handle, log } = spy(mem, { commitResult: () => ({ ok: false }) });
      const s = denoKvStore(handle, { maxAttempts: 4 });
      const k = key("busy");
      const results = await Promise.all([outcome(s.consume(k, 5, inAnHour, now)), outcome(s.consume(k, 5, inAnHour, now))]);
      return { results: results.map((r) => ("error" in r ? r.error : r.value)), message: "message" in results[0]! ? results[0].message : "", commits: log.commits, raw: await raw(mem, k) };
    },

    async corrupt() {
      const out: Record<string, unknown> = {};
      for (const count of [-1, -5, -2147483648]) {
        const k = key(`neg${count}`);
        await mem.set(["tempid", k], { count, expiresAt: inAnHour });
        const consumes = [];
        for (const limit of [1, 3, REVOKED_COUNT - 1]) consumes.push(await outcome(store.consume(k, limit, inAnHour, now)));
        out[count] = {
          consumes: consumes.map((c) => ("error" in c ? `${c.error}: ${/negative count \(-?\d+\)/.exec(c.message)?.[0]} ${/Deno KV/.test(c.message)}` : c.value)),
          used: await outcome(store.used(k, now)).then((c) => ("error" in c ? `${c.error}: ${/negative count \(-?\d+\)/.exec(c.message)?.[0]}` : c.value)),
          raw: await raw(mem, k),
        };
      }
      // Through the core.
      const tempid = createTempID({ secret: SECRET, store, clock: () => now });
      const tid = await tempid.new("10m", { maxUses: 2 });
      await mem.set(["tempid", tid.counterKey], { count: -1, expiresAt: inAnHour });
      out.core = {
        use: "error" in (await outcome(tid.use())),
        usesInfo: await outcome(tid.usesInfo()).then((c) => ("error" in c ? c.error : c.value)),
        verify: await outcome(tempid.verify(tid.toString(), { checkUses: true })).then((c) => ("error" in c ? c.error : c.value)),
      };
      // An expired negative counter counts as absent; revoke overwrites a negative one.
      const stale = key("neg-expired");
      await mem.set(["tempid", stale], { count: -3, expiresAt: inAnHour });
      const after = (inAnHour + 1) * 1000;
      out.expired = [await store.used(stale, after), await store.consume(stale, 1, inAnHour + 60, after), await store.consume(stale, 1, inAnHour + 60, after), (await raw(mem, stale))?.count];
      const revoked = key("neg-revoked");
      await mem.set(["tempid", revoked], { count: -1, expiresAt: inAnHour });
      await store.revoke(revoked, inAnHour, now);
      out.revoked = [await store.used(revoked, now), await store.consume(revoked, 5, inAnHour, now)];
      // A value this store never writes (a bare number, a string, a fractional count): an error, never a grant.
      const shapes: unknown[] = [7, "3", { count: 1.5, expiresAt: inAnHour }, { count: 1 }];
      out.malformed = [];
      for (const value of shapes) {
        const k = key("shape");
        await mem.set(["tempid", k], value);
        const c = await outcome(store.consume(k, 10, inAnHour, now));
        const u = await outcome(store.used(k, now));
        (out.malformed as unknown[]).push(["error" in c ? c.error : c.value, "error" in u ? u.error : u.value, "message" in c && /unexpected value/.test(c.message)]);
      }
      return out;
    },

    async close() {
      const kv = await Deno.openKv(":memory:");
      const mine = denoKvStore(kv);
      await mine.consume("k", 3, inAnHour, now);
      await mine.close();
      const afterClose = await Promise.all([
        outcome(mine.consume("k", 3, inAnHour, now)),
        outcome(mine.used("k", now)),
        outcome(mine.revoke("k", inAnHour, now)),
      ]);
      const handleStillOpen = ((await kv.get(["tempid", "k"])).value as DenoKvCounter).count;
      await mine.close(); // twice: fine

      const owned = denoKvStore(kv, { closeClient: true });
      await owned.consume("j", 3, inAnHour, now);
      await owned.close();
      const handleClosed = await outcome(kv.get(["tempid", "j"]));

      // The user closes the handle under an open store: calls reject with TempIDStoreError, cause kept.
      const kv2 = await Deno.openKv(":memory:");
      const orphan = denoKvStore(kv2);
      kv2.close();
      const onClosedHandle = await Promise.all([outcome(orphan.consume("x", 3, inAnHour, now)), outcome(orphan.used("x", now)), outcome(orphan.revoke("x", inAnHour, now))]);
      return {
        afterClose: afterClose.map((o) => ("error" in o ? `${o.error}: ${o.message}` : o.value)),
        handleStillOpen,
        handleClosed: "error" in handleClosed,
        onClosedHandle: onClosedHandle.map((o) => ("error" in o ? `${o.error} (cause ${o.cause})` : o.value)),
      };
    },

    async closeWaitsForRound() {
      // close() with a consume in flight: the round finishes (granted), then the handle is closed.
      const kv = await Deno.openKv(":memory:");
      const { handle } = spy(kv, { beforeCommit: () => sleep(50) });
      const s = denoKvStore(handle, { closeClient: true });
      const pending = s.consume("w", 2, inAnHour, now);
      await sleep(10);
      await s.close();
      return { inFlight: await outcome(pending).then((o) => ("error" in o ? o.error : o.value)), handleClosed: "error" in (await outcome(kv.get(["tempid", "w"]))) };
    },

    async persist() {
      const path = `${dir}/persist.sqlite3`;
      const k = key("persist");
      const first = await Deno.openKv(path);
      const s1 = denoKvStore(first, { closeClient: true });
      const before = [await s1.consume(k, 3, inAnHour, now), await s1.consume(k, 3, inAnHour, now)];
      await s1.close();
      const s2 = denoKvStore(await Deno.openKv(path), { closeClient: true });
      const after = [await s2.used(k, now), await s2.consume(k, 3, inAnHour, now), await s2.consume(k, 3, inAnHour, now)];
      await s2.close();
      return { before, after };
    },

    async timeouts() {
      const hang = new Promise<never>(() => undefined);
      const stuck: DenoKvLike = {
        get: () => hang,
        atomic: () => {
          const op: DenoKvAtomicLike = { check: () => op, set: () => op, commit: () => hang };
          return op;
        },
        close: () => undefined,
      };
      const s = denoKvStore(stuck, { timeoutMs: 50 });
      const calls = await Promise.all([outcome(s.consume(key("t"), 3, inAnHour, now)), outcome(s.used(key("t"), now)), outcome(s.revoke(key("t"), inAnHour, now))]);

      // A consume still waiting for its read at the deadline is dropped: the late read writes nothing.
      const slow = spy(mem, { beforeGet: () => sleep(150) });
      const late = denoKvStore(slow.handle, { timeoutMs: 50 });
      const k = key("late");
      const lateResult = await outcome(late.consume(k, 3, inAnHour, now));
      await sleep(250);
      return {
        calls: calls.map((o) => ("error" in o ? `${o.error}: ${/timed out after 50 ms/.test(o.message)}` : o.value)),
        late: "error" in lateResult ? lateResult.error : lateResult.value,
        lateCommits: slow.log.commits,
        lateRaw: await raw(mem, k),
      };
    },

    async options() {
      const k = key("prefix");
      const custom = denoKvStore(mem, { prefix: "app-uses" });
      await custom.consume(k, 2, inAnHour, now);
      const bad = (opts: DenoKvStoreOptions, kv: unknown = mem) => {
        try {
          denoKvStore(kv as DenoKvLike, opts);
          return "accepted";
        } catch (err) {
          return err instanceof TempIDConfigError ? "TempIDConfigError" : String(err);
        }
      };
      return {
        custom: await raw(mem, k, "app-uses"),
        defaultPrefix: await raw(mem, k),
        prefixProperty: [store.prefix, custom.prefix],
        rejected: [bad({ prefix: "" }), bad({ timeoutMs: 0 }), bad({ maxAttempts: 0 }), bad({}, {}), bad({}, null)],
      };
    },

    async core() {
      const tempid = createTempID({ secret: SECRET, store: fileStore, clock: () => now });
      const tid = await tempid.new("10m", { maxUses: 3 });
      const uses: boolean[] = [];
      for (let i = 0; i < 4; i++) uses.push(await tid.use());
      const spent = { info: await tid.usesInfo(), verify: await tempid.verify(tid.toString(), { checkUses: true }) };

      const other = await tempid.new("10m", { maxUses: 3 });
      const once = await other.use();
      const mid = { info: await other.usesInfo(), verifies: (await tempid.verify(other.toString(), { checkUses: true })) !== null };
      await other.revoke();
      const revoked = {
        info: await other.usesInfo(),
        verify: await tempid.verify(other.toString(), { checkUses: true }),
        use: await other.use(),
        rawCount: (await raw(file, other.counterKey))?.count,
      };
      // Many concurrent use() of one token through the core: exactly maxUses.
      const hot = await tempid.new("10m", { maxUses: 7 });
      const hotResults = await Promise.all(Array.from({ length: 200 }, () => hot.use()));
      return { uses, spent, once, mid, revoked, hot: { granted: hotResults.filter(Boolean).length, info: await hot.usesInfo() } };
    },
  };

  const out: Record<string, unknown> = {};
  for (const [name, check] of Object.entries(checks)) {
    try {
      out[name] = await check();
    } catch (err) {
      out[name] = { failed: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  }
  mem.close();
  file.close();
  return out;
}

interface Job {
  key: string;
  limit: number;
  calls: number;
}

async function firstLine(): Promise<void> {
  const reader = Deno.stdin.readable.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  reader.releaseLock();
}

async function worker(path: string, jobs: Job[]): Promise<unknown> {
  const kv = await Deno.openKv(path);
  const store = denoKvStore(kv, { closeClient: true });
  await store.used("warm-up", now); // the file is open and readable before the race starts
  console.log("ready");
  await firstLine();
  const granted: Record<string, number> = {};
  const errors: string[] = [];
  await Promise.all(
    jobs.flatMap((job) =>
      Array.from({ length: job.calls }, () =>
        store.consume(job.key, job.limit, inAnHour, Date.now()).then(
          (ok) => {
            if (ok) granted[job.key] = (granted[job.key] ?? 0) + 1;
          },
          (err: unknown) => void errors.push(String(err)),
        ),
      ),
    ),
  );
  await store.close();
  return { granted, errors };
}

async function read(path: string, keys: string[]): Promise<unknown> {
  const store = denoKvStore(await Deno.openKv(path), { closeClient: true });
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = await store.used(k, Date.now());
  await store.close();
  return out;
}

const [mode, arg1 = "", arg2 = "[]"] = Deno.args;
let result: unknown;
if (mode === "worker") result = await worker(arg1, JSON.parse(arg2) as Job[]);
else if (mode === "read") result = await read(arg1, JSON.parse(arg2) as string[]);
else result = await suite(arg1);
console.log(JSON.stringify(result));
