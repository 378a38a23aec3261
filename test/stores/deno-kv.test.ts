/**
 * The Deno KV store, run inside Deno (node_modules/.bin/deno, `--unstable-kv`): Deno KV exists only there, so
 * the shared conformance suite (which runs in Node) cannot reach it. test/stores/deno-kv-run.ts runs the
 * same properties against `Deno.openKv(":memory:")` and a file, and prints what it observed; each property
 * is asserted here on those values. Two Deno processes on one file race from here, as the conformance
 * suite's worker processes do. No deno binary → skipped with the reason (failed when TEMPID_REQUIRE_SERVICES=1).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REVOKED_COUNT } from "@tempid/core";
import { servicesRequired } from "../support/services.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
// TEMPID_DENO points at another deno binary (default: the devDependency).
const DENO = process.env.TEMPID_DENO ?? join(ROOT, "node_modules/.bin/deno");
const RUNNER = "test/stores/deno-kv-run.ts";
const EXAMPLE = "examples/stores/deno-kv.ts";
const KV_FLAGS = ["--unstable-kv", "--allow-read", "--allow-write"];

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function deno(args: string[], options: { cwd?: string; env?: Record<string, string>; stdin?: (child: ReturnType<typeof spawn>, out: () => string) => void } = {}): Promise<Run> {
  const child = spawn(DENO, args, { cwd: options.cwd ?? ROOT, env: { ...process.env, NO_COLOR: "1", ...options.env } });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  options.stdin?.(child, () => out);
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    }),
  );
}

function lastJson(run: Run): any {
  if (run.code !== 0) throw new Error(`deno exited with ${run.code}: ${run.err.slice(0, 2000)}`);
  return JSON.parse(run.out.trim().split("\n").pop()!);
}

const missing = existsSync(DENO) ? undefined : `deno not found at ${DENO} (npm install, or set TEMPID_DENO)`;

if (missing !== undefined) {
  if (servicesRequired()) {
    describe("store: Deno KV (in Deno)", () => {
      it("needs deno (TEMPID_REQUIRE_SERVICES=1)", () => {
        throw new Error(missing);
      });
    });
  } else {
    console.warn(`[skipped] store Deno KV: ${missing}`);
    describe.skip(`store: Deno KV (in Deno) — skipped: ${missing}`, () => {
      it("conformance", () => undefined);
    });
  }
} else {
  describe("store: Deno KV (in Deno)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tempid-deno-kv-"));
    let r: Record<string, any>;

    beforeAll(async () => {
      r = lastJson(await deno(["run", ...KV_FLAGS, RUNNER, "suite", dir]));
    }, 90_000);

    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("grants exactly `limit` uses, then refuses; stores { count, expiresAt }", () => {
      expect(r.limit.results).toEqual([true, true, true, false, false]);
      expect(r.limit.used).toBe(3);
      expect(r.limit.raw).toEqual(r.limit.expected);
      expect(r.limit.raw.count).toBe(3);
    });

    it("keeps keys apart", () => {
      expect(r.keysApart).toEqual([true, true, false, 1]);
    });

    it("stores any key verbatim (quotes, SQL, NUL, a key-like suffix)", () => {
      expect(r.keyVerbatim).toEqual({ first: true, second: false, used: 1, rawCount: 1 });
    });

    it("used() is read-only: it never creates or changes a counter", () => {
      expect(r.usedReadOnly).toEqual({ before: [0, 0, null], reads: [1, 1, 1], after: [true, false] });
    });

    it("revoke() refuses every later use, whatever the limit; used() reports REVOKED_COUNT with the given expiry", () => {
      expect(r.revoke.first).toBe(true);
      expect(r.revoke.afterRevoke).toEqual([false, false]);
      expect(r.revoke.used).toBe(REVOKED_COUNT);
      expect(r.revoke.unseen).toEqual([false, REVOKED_COUNT]);
      expect(r.revoke.rawUnseen).toEqual(r.revoke.expected);
      expect(r.revoke.rawUnseen.count).toBe(REVOKED_COUNT);
    });

    it("an expired token is refused and writes nothing", () => {
      expect(r.expiredToken).toEqual({ consumed: false, used: 0, raw: null });
    });

    it("an entry past its expiry counts as absent (injected clock) before Deno KV deletes it; a use restarts it", () => {
      const e = r.expiry;
      expect(e.first).toEqual([true, false]);
      expect(e.usedBefore).toBe(1);
      expect(e.usedAt).toBe(0);
      expect(e.stillStored).toBe(1); // still in Deno KV: its expireIn lies an hour ahead by the real clock
      expect(e.restarted).toBe(true);
      expect(e.usedRestarted).toBe(1);
      expect(e.raw).toEqual(e.expected);
      expect(e.revokedExpired).toBe(0);
    });

    it("every write passes expireIn up to its expiry by the caller's clock (a live counter keeps the first expiry)", () => {
      const { now, inAnHour, key, writes } = r.expireIn;
      expect(writes).toEqual([
        { key: ["tempid", key], value: { count: 1, expiresAt: inAnHour }, expireIn: inAnHour * 1000 - now },
        { key: ["tempid", key], value: { count: 2, expiresAt: inAnHour }, expireIn: inAnHour * 1000 - (now + 5000) },
        { key: ["tempid", key], value: { count: REVOKED_COUNT, expiresAt: inAnHour + 60 }, expireIn: (inAnHour + 60) * 1000 - (now + 6000) },
      ]);
    });

    for (const kind of ["memory", "file"]) {
      for (const limit of [1, 50, 999]) {
        it(`1,000 concurrent uses (${kind === "memory" ? ":memory:" : "a file"}), maxUses ${limit}: exactly ${limit} granted and stored`, () => {
          expect(r.race[`${kind}:${limit}`]).toEqual({ granted: limit, used: limit, rawCount: limit });
        });
      }
    }

    it("1,000 concurrent uses of one key in one store: one read and one commit", () => {
      expect(r.oneCommitPerRound).toEqual({ granted: 50, gets: 1, commits: 1 });
    });

    for (const limit of [1, 50, 999]) {
      it(`two KV handles on one file, 500 concurrent uses each, maxUses ${limit}: exactly ${limit}`, () => {
        expect(r.twoHandles[limit]).toEqual({ granted: limit, errors: 0, usedA: limit, usedB: limit });
      });
    }

    it("two handles sending one use at a time (constant check/lock conflicts): exactly 999 of 1,200, the rest refused or errors", () => {
      const t = r.twoHandlesOneByOne;
      expect(t.granted).toBe(999);
      expect(t.used).toBe(999);
      expect(t.granted + t.refused + t.errors).toBe(1200);
      // How many rounds the other handle made it retry (t.lostRounds) depends on timing: not asserted.
    });

    it("a failed check (another handle wrote between read and commit) is retried from a fresh read", () => {
      expect(r.checkConflict).toEqual({ granted: true, commits: 2, refused: 1, gets: 2, used: 2 });
      expect(r.checkConflictAtLimit).toEqual({ granted: false, commits: 1, refused: 1, used: 1 });
    });

    it("checks failing every time: maxAttempts commits, then TempIDStoreError, nothing counted", () => {
      expect(r.contention.results).toEqual(["TempIDStoreError", "TempIDStoreError"]);
      expect(r.contention.message).toMatch(/kept changing.*4 commits refused.*nothing counted, no use granted/);
      expect(r.contention.commits).toBe(4);
      expect(r.contention.raw).toBeNull();
    });

    it("a negative (corrupt) count: TempIDStoreError on consume and used(), left as it is", () => {
      for (const count of [-1, -5, -2147483648]) {
        expect(r.corrupt[count]).toEqual({
          consumes: Array(3).fill(`TempIDStoreError: negative count (${count}) true`),
          used: `TempIDStoreError: negative count (${count})`,
          raw: { count, expiresAt: r.limit.expected.expiresAt },
        });
      }
      expect(r.corrupt.core).toEqual({ use: true, usesInfo: "TempIDStoreError", verify: "TempIDStoreError" });
      expect(r.corrupt.expired).toEqual([0, true, false, 1]);
      expect(r.corrupt.revoked).toEqual([REVOKED_COUNT, false]);
    });

    it("a value this store never writes: TempIDStoreError, never a grant", () => {
      expect(r.corrupt.malformed).toEqual(Array(4).fill(["TempIDStoreError", "TempIDStoreError", true]));
    });

    it("close(): later calls reject; the handle stays open unless closeClient: true", () => {
      expect(r.close).toEqual({
        afterClose: Array(3).fill("TempIDStoreError: this store is closed"),
        handleStillOpen: 1,
        handleClosed: true,
        onClosedHandle: Array(3).fill("TempIDStoreError (cause BadResource)"),
      });
      expect(r.closeWaitsForRound).toEqual({ inFlight: true, handleClosed: true });
    });

    it("a file keeps counts when its handle is closed and opened again", () => {
      expect(r.persist).toEqual({ before: [true, true], after: [2, true, false] });
    });

    it("calls past timeoutMs reject with TempIDStoreError; a consume timed out before its commit counts nothing", () => {
      expect(r.timeouts).toEqual({
        calls: Array(3).fill("TempIDStoreError: true"),
        late: "TempIDStoreError",
        lateCommits: 0,
        lateRaw: null,
      });
    });

    it("options: prefix (default 'tempid'), and bad options or a non-KV handle are TempIDConfigError", () => {
      expect(r.options.custom).toEqual({ count: 1, expiresAt: r.limit.expected.expiresAt });
      expect(r.options.defaultPrefix).toBeNull();
      expect(r.options.prefixProperty).toEqual(["tempid", "app-uses"]);
      expect(r.options.rejected).toEqual(Array(5).fill("TempIDConfigError"));
    });

    it("the core end to end: use(), usesInfo(), revoke(), verify with checkUses", () => {
      expect(r.core).toEqual({
        uses: [true, true, true, false],
        spent: { info: { total: 3, used: 3, left: 0 }, verify: null },
        once: true,
        mid: { info: { total: 3, used: 1, left: 2 }, verifies: true },
        revoked: { info: { total: 3, used: 3, left: 0 }, verify: null, use: false, rawCount: REVOKED_COUNT },
        hot: { granted: 7, info: { total: 7, used: 7, left: 0 } },
      });
    });

    it("1,000 uses from 2 Deno processes on one file at once: exactly maxUses granted (1, 50, 999)", async () => {
      const file = join(dir, "shared.sqlite3");
      const tag = Math.random().toString(36).slice(2, 8);
      const jobs = [1, 50, 999].map((limit) => ({ key: `proc${limit}-${tag}`, limit, calls: 500 }));
      // Both open the file (and report "ready"), then both get "go" at once.
      let release!: () => void;
      const go = new Promise<void>((resolve) => (release = resolve));
      let ready = 0;
      const workers = [0, 1].map(() =>
        deno(["run", ...KV_FLAGS, RUNNER, "worker", file, JSON.stringify(jobs)], {
          stdin: (child, out) => {
            const onData = () => {
              if (!out().includes("ready\n")) return;
              child.stdout!.off("data", onData);
              if (++ready === 2) release();
              void go.then(() => child.stdin!.end("go\n"));
            };
            child.stdout!.on("data", onData);
          },
        }),
      );
      const results = (await Promise.all(workers)).map(lastJson) as { granted: Record<string, number>; errors: string[] }[];
      expect(results.flatMap((w) => w.errors)).toEqual([]);
      const used = lastJson(await deno(["run", ...KV_FLAGS, RUNNER, "read", file, JSON.stringify(jobs.map((j) => j.key))]));
      for (const job of jobs) {
        expect(results.reduce((sum, w) => sum + (w.granted[job.key] ?? 0), 0), `granted for maxUses ${job.limit}`).toBe(job.limit);
        expect(used[job.key], `stored for maxUses ${job.limit}`).toBe(job.limit);
      }
    }, 60_000);

    it(`${EXAMPLE} type-checks against Deno's own types (Deno.Kv fits DenoKvLike) and runs`, async () => {
      // deno.json's exports do not list ./deno-kv here, so a config maps the two imports to the sources.
      const cwd = mkdtempSync(join(tmpdir(), "tempid-deno-kv-example-"));
      try {
        const config = join(cwd, "deno.json");
        writeFileSync(
          config,
          JSON.stringify({
            imports: { "@tempid/core": `file://${ROOT}src/index.ts`, "@tempid/core/deno-kv": `file://${ROOT}adapters/deno-kv.ts` },
            unstable: ["sloppy-imports", "kv"],
            lock: false,
          }),
        );
        const check = await deno(["check", "--config", config, join(ROOT, EXAMPLE), join(ROOT, "adapters/deno-kv.ts"), join(ROOT, RUNNER)], { cwd });
        expect(check.err.replace(/Check [^\n]+\n/g, "").trim()).toBe("");
        expect(check.code).toBe(0);
        const env = { TEMPID_SECRET: "docs-test-secret-0123456789abcdef0123" };
        const args = ["run", "--config", config, "--unstable-kv", "--allow-env=TEMPID_SECRET", "--allow-read=.", "--allow-write=.", join(ROOT, EXAMPLE)];
        for (let i = 0; i < 2; i++) {
          // Twice on the same file: each run mints its own token.
          const run = await deno(args, { cwd, env });
          expect(run.err).toBe("");
          expect(run.out).toBe("true\ntrue\nfalse\n{ total: 2, used: 2, left: 0 }\n");
        }
        expect(existsSync(join(cwd, "tempid-kv.sqlite3"))).toBe(true);
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    }, 60_000);
  });
}
