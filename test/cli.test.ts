import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const cli = join(root, "dist/cli.js");
const SECRET = "cli-test-secret-0123456789abcdef0123456789";
const v2 = JSON.parse(readFileSync(join(root, "test/fixtures/python-v2.json"), "utf8"));
let dir: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function tempid(args: string[], env: Record<string, string> = {}, input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [cli, ...args],
      { cwd: dir, env: { ...process.env, TEMPID_SECRET: SECRET, NODE_ENV: "test", ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

beforeAll(() => {
  // `npm test` builds first; a direct `vitest run` builds here when the CLI is missing.
  if (!existsSync(cli)) execFileSync(join(root, "node_modules/.bin/tsup"), ["--silent"], { cwd: root });
  dir = mkdtempSync(join(tmpdir(), "tempid-cli-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("tempid CLI", () => {
  it("secret prints 32 random bytes as hex", async () => {
    const a = await tempid(["secret"]);
    const b = await tempid(["secret"]);
    expect(a.code).toBe(0);
    expect(a.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(a.stdout).not.toBe(b.stdout);
  });

  it("new, verify and inspect a token with payload and max uses", async () => {
    const made = await tempid(["new", "15m", "--payload", '{"userId":42}', "--max-uses", "3"]);
    expect(made.code).toBe(0);
    const token = made.stdout.trim();
    expect(token).toMatch(/^TEMP-V3\.[0-9A-Z]+$/);

    const verified = await tempid(["verify", token, "--json"]);
    expect(verified.code).toBe(0);
    const info = JSON.parse(verified.stdout);
    expect(info).toMatchObject({ token, format: "v3", maxUses: 3, payload: { userId: 42 } });
    expect(info.remaining).toMatch(/^(15m 0s|14m [1-5]?[0-9]s)$/);

    const inspected = await tempid(["inspect", token, "--json"], { TEMPID_SECRET: "" });
    expect(inspected.code).toBe(0);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ format: "v3", id: info.id, maxUses: 3, hasPayload: true, verified: false });
    expect(JSON.parse(inspected.stdout).remaining).toMatch(/^1[45]m \d+s$/);

    const fromStdin = await tempid(["verify", "-"], {}, `${token}\n`);
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toContain(info.id);
  });

  it("verify exits 1 for garbage, tampering, another secret and a wrong purpose", async () => {
    const token = (await tempid(["new", "5m", "--purpose", "password-reset"])).stdout.trim();
    const altered = token.slice(0, 20) + (token[20] === "A" ? "B" : "A") + token.slice(21);
    for (const [args, env] of [
      [["verify", "this-is-not-a-real-token"], {}],
      [["verify", altered, "--purpose", "password-reset"], {}],
      [["verify", token, "--purpose", "password-reset"], { TEMPID_SECRET: "some-other-secret-0123456789abcdef0123" }],
      [["verify", token, "--purpose", "email-verify"], {}],
      [["verify", token], {}],
    ] as const) {
      const r = await tempid([...args], env);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).not.toContain("    at ");
    }
    expect((await tempid(["verify", token, "--purpose", "password-reset"])).code).toBe(0);
  });

  it("verifies Python V2 tokens (format detected), and says when one expired", async () => {
    const vec = v2.valid.find((v: { payload: unknown; secret: string }) => v.payload !== null && v.secret === "s3cret");
    const ok = await tempid(["verify", vec.token, "--json"], { TEMPID_SECRET: "s3cret" });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ format: "v2", payload: vec.payload, id: vec.counter_key });
    const old = v2.expired.find((v: { secret: string }) => v.secret === "s3cret");
    const expired = await tempid(["verify", old.token], { TEMPID_SECRET: "s3cret" });
    expect(expired.code).toBe(1);
    expect(expired.stderr).toContain("expired");
    const minted = await tempid(["new", "1h", "--format", "v2", "--max-uses", "2"], { TEMPID_SECRET: "s3cret" });
    expect(minted.stdout).toMatch(/^TEMP-V2\./);
  });

  it("use / uses / verify --check-uses count in a SQLite store, with exit codes 0 then 1", async () => {
    const store = `sqlite:${join(dir, "uses.db")}`;
    const token = (await tempid(["new", "1h", "--max-uses", "2"])).stdout.trim();
    const first = await tempid(["use", token, "--store", store]);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain("used 1 of 2");
    expect((await tempid(["verify", token, "--check-uses", "--store", store])).code).toBe(0);
    expect((await tempid(["use", token, "--store", store])).code).toBe(0);
    const third = await tempid(["use", token, "--store", store, "--json"]);
    expect(third.code).toBe(1);
    expect(JSON.parse(third.stdout)).toMatchObject({ ok: false });
    expect((await tempid(["verify", token, "--check-uses", "--store", store])).code).toBe(1);
    const uses = await tempid(["uses", token, "--store", store, "--json"]);
    expect(JSON.parse(uses.stdout)).toMatchObject({ total: 2, used: 2, left: 0 });
  });

  it("--store-table / --store-prefix say where the counters live; used with the wrong store, or without --store, exit 2", async () => {
    const file = join(dir, "named.db");
    const store = `sqlite:${file}`;
    const token = (await tempid(["new", "1h", "--max-uses", "1"])).stdout.trim();
    expect((await tempid(["use", token, "--store", store, "--store-table", "login_uses"])).code).toBe(0);
    expect((await tempid(["use", token, "--store", store, "--store-table", "login_uses"])).code).toBe(1);
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(file, { readonly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
      expect(tables).toEqual([{ name: "login_uses" }]);
      expect(db.prepare("SELECT count FROM login_uses").all()).toEqual([{ count: 1 }]);
    } finally {
      db.close();
    }
    // The default table knows nothing of that use.
    expect((await tempid(["use", token, "--store", store])).code).toBe(0);

    for (const [args, message] of [
      [["use", token, "--store", store, "--store-prefix", "app:"], "--store-prefix is for redis:// stores"],
      [["use", token, "--store", "redis://127.0.0.1:1", "--store-table", "t"], "--store-table is for SQL stores"],
      [["verify", token, "--store-table", "t"], "--store-prefix and --store-table go with --store URL"],
      [["use", token, "--store", store, "--store-table", "no spaces"], "table must be a name"],
    ] as const) {
      const result = await tempid([...args]);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("bad usage and store errors exit 2 with one line on stderr and no stack trace", async () => {
    const token = (await tempid(["new", "1h", "--max-uses", "1"])).stdout.trim();
    for (const args of [
      ["new", "15x"],
      ["new", "15m", "--payload", "{nope"],
      ["new", "15m", "--max-uses", "-1"],
      ["new"],
      ["frobnicate"],
      ["use", token],
      ["verify"],
      ["inspect", "garbage"],
      ["new", "15m", "--no-such-flag"],
      ["use", token, "--store", "carrier-pigeon://x"],
      ["use", token, "--store", "redis://127.0.0.1:1"],
    ]) {
      const r = await tempid(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(/^tempid: /);
      expect(r.stderr, args.join(" ")).not.toContain("    at ");
    }
  });

  it("found by the breaker: nothing silently ignored, one line on stderr, JSON errors on stdout, no password shown", async () => {
    const token = (await tempid(["new", "1h", "--max-uses", "1"])).stdout.trim();
    for (const args of [
      ["verify", token, "--store", `sqlite:${join(dir, "x.db")}`], // --store without --check-uses
      ["new", "15m", "extra"],
      ["secret", "extra"],
      ["use", token, "--store", "sqlite::memory:"],
      ["new", "15m", "--max-uses", "-1"], // parseArgs' three-line message
    ]) {
      const r = await tempid(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trimEnd().split("\n"), args.join(" ")).toHaveLength(1);
    }
    const json = await tempid(["use", token, "--store", "carrier-pigeon://x", "--json"]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, code: "ERR_TEMPID_CONFIG" });
    const secretive = await tempid(["use", token, "--store", "redis://:p@ss/word@127.0.0.1:1"]);
    expect(secretive.code).toBe(2);
    expect(secretive.stderr).not.toMatch(/p@ss|word/);
  });

  it("found by the fourth breaker: each command takes only the flags its usage lists; --accept never changes what new mints", async () => {
    const token = (await tempid(["new", "1h", "--max-uses", "1"])).stdout.trim();
    for (const [args, flag] of [
      [["new", "10m", "--accept", "v2"], "--accept"],
      [["new", "10m", "--check-uses"], "--check-uses"],
      [["new", "10m", "--store", "sqlite::memory:"], "--store"],
      [["verify", token, "--max-uses", "5"], "--max-uses"],
      [["verify", token, "--payload", '{"x":1}'], "--payload"],
      [["verify", token, "--format", "v2"], "--format"],
      [["use", token, "--store", `sqlite:${join(dir, "f.db")}`, "--format", "v3"], "--format"],
      [["inspect", token, "--purpose", "wrong"], "--purpose"],
      [["inspect", token, "--bind", "x"], "--bind"],
      [["inspect", token, "--accept", "v2"], "--accept"],
      [["inspect", token, "--insecure"], "--insecure"],
      [["secret", "--payload", "{}"], "--payload"],
      [["demo", "--json"], "--json"],
    ] as const) {
      const r = await tempid([...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toContain(`takes no ${flag}`);
      expect(r.stdout, args.join(" ")).not.toMatch(/TEMP-V/);
    }
    // The flags each usage line lists still work.
    expect((await tempid(["new", "10m", "--format", "v2"])).stdout).toMatch(/^TEMP-V2\./);
    expect((await tempid(["verify", token, "--accept", "v3"])).code).toBe(0);
    expect((await tempid(["inspect", token, "--json"])).code).toBe(0);
  });

  it("secret --json prints JSON; an empty token is bad usage (exit 2), not a refused token", async () => {
    const secret = await tempid(["secret", "--json"]);
    expect(secret.code).toBe(0);
    const { secret: value } = JSON.parse(secret.stdout);
    expect(value).toMatch(/^[0-9a-f]{64}$/);
    const plain = (await tempid(["secret"])).stdout.trim();
    expect(plain).toMatch(/^[0-9a-f]{64}$/);
    for (const [args, input] of [
      [["verify", ""], undefined],
      [["verify", "   "], undefined],
      [["use", "", "--store", `sqlite:${join(dir, "e.db")}`], undefined],
      [["inspect", ""], undefined],
      [["verify", "-"], ""],
    ] as const) {
      const r = await tempid([...args], {}, input);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toContain("empty token");
    }
  });

  it("found by a fresh user: a server that accepts and never answers is a store error (exit 2), never a hang; closing never masks it", async () => {
    // A TCP server on 127.0.0.1 that takes connections and never says a word: a stalled or wrong endpoint.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("data", () => {});
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const token = (await tempid(["new", "1h", "--max-uses", "2"])).stdout.trim();
      // Redis held the command forever in its handshake; MySQL's store error was replaced by the pool's
      // end() failing ("error: connect ETIMEDOUT", no store error named).
      const [redis, mysql] = await Promise.all([
        tempid(["use", token, "--store", `redis://127.0.0.1:${port}`]),
        tempid(["use", token, "--store", `mysql://root@127.0.0.1:${port}/test`]),
      ]);
      for (const r of [redis, mysql]) {
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/^tempid: TempIDStoreError \(ERR_TEMPID_STORE\): /);
        expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      }
      expect(redis.stderr).toContain(`cannot connect to redis://127.0.0.1:${port}`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 60_000);

  it("found by the fifth breaker: a server that answers the handshake and then falls silent ends the command (exit 2), not the close", async () => {
    // Answers the client's first packet (node-redis's CLIENT SETINFO pipeline) with +OK each, then nothing:
    // the store's call times out, and the client's close() would wait for that command forever.
    const sockets = new Set<Socket>();
    const mute = createServer((socket) => {
      sockets.add(socket);
      let first = true;
      socket.on("error", () => {});
      socket.on("data", (data) => {
        if (!first) return;
        first = false;
        socket.write("+OK\r\n".repeat((data.toString().match(/\*\d+\r\n/g) ?? []).length));
      });
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => mute.listen(0, "127.0.0.1", resolve));
    const port = (mute.address() as AddressInfo).port;
    try {
      const token = (await tempid(["new", "1h", "--max-uses", "1"])).stdout.trim();
      const r = await tempid(["use", token, "--store", `redis://127.0.0.1:${port}`, "--json"]);
      expect(r.code, r.stderr).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: "ERR_TEMPID_STORE" });
      expect(r.stderr).toMatch(/timed out after 5000 ms/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => mute.close(resolve));
    }
  }, 60_000);

  it("found by the fifth breaker: no spelling of an in-memory SQLite database is taken (each run would grant a single-use token again)", async () => {
    const token = (await tempid(["new", "1h", "--max-uses", "1"])).stdout.trim();
    for (const url of ["sqlite: :memory:", "sqlite: ", "sqlite::memory:\n", "SQLITE::memory:", "sqlite:///:memory:", "sqlite:file::memory:?cache=shared", "sqlite:file:x?mode=memory"]) {
      const r = await tempid(["use", token, "--store", url]);
      expect(r.code, JSON.stringify(url)).toBe(2);
      expect(r.stderr, JSON.stringify(url)).toContain("needs a file path");
    }
  });

  it("found by the fifth breaker: a bad --bind or --purpose is bad usage (exit 2) on every command, not a refused token", async () => {
    const token = (await tempid(["new", "1h", "--bind", "h", "--max-uses", "1"])).stdout.trim();
    const store = `sqlite:${join(dir, "bind.db")}`;
    for (const args of [
      ["verify", token, "--bind="],
      ["verify", token, "--purpose="],
      ["verify", token, "--purpose", "p".repeat(1025)],
      ["use", token, "--bind=", "--store", store],
      ["uses", token, "--purpose=", "--store", store],
      ["revoke", token, "--bind=", "--store", store],
    ]) {
      const r = await tempid(args);
      expect(r.code, args.slice(0, 1).concat(args.slice(2, 3)).join(" ")).toBe(2);
      expect(r.stderr).toContain("ERR_TEMPID_ARGUMENT");
    }
    // The token is unspent: none of the above was a use.
    expect((await tempid(["use", token, "--bind", "h", "--store", store])).code).toBe(0);
  });

  it("--json holds for help, --version and a missing command too", async () => {
    const help = await tempid(["help", "--json"]);
    expect(help.code).toBe(0);
    expect(JSON.parse(help.stdout).usage).toContain("tempid new <duration>");
    const version = await tempid(["--version", "--json"]);
    expect(version.code).toBe(0);
    expect(typeof JSON.parse(version.stdout).version).toBe("string");
    const none = await tempid(["--json"]);
    expect(none.code).toBe(2);
    expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, code: "ERR_TEMPID_USAGE" });
    const plain = await tempid([]);
    expect(plain.code).toBe(2);
    expect(plain.stdout).toContain("usage:");
  });

  it("negative numbers and unknown commands get a plain reason, the help hint once", async () => {
    for (const [args, reason] of [
      [["new", "-5"], "-5 is negative"],
      [["new", "5m", "--max-uses", "-1"], "-1 is negative"], // was parseArgs' "argument is ambiguous"
      [["nosuch"], 'unknown command "nosuch"'],
    ] as const) {
      const r = await tempid([...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toContain(reason);
      expect(r.stderr.match(/tempid --help/g), args.join(" ")).toHaveLength(1);
    }
  });

  it("a reader that goes away (tempid demo | head) is not a crash", async () => {
    const r = await new Promise<Result>((resolve) => {
      execFile("bash", ["-o", "pipefail", "-c", `node ${cli} demo | head -c 10 >/dev/null`], { cwd: dir, env: { ...process.env, TEMPID_SECRET: SECRET } }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
      );
    });
    expect(r.stderr).not.toContain("Unhandled");
    expect(r.stderr).not.toContain("    at ");
    expect(r.code).toBe(0);
  });

  it("revoke: later uses are refused; an unlimited token cannot be revoked", async () => {
    const store = `sqlite:${join(dir, "revoke.db")}`;
    const token = (await tempid(["new", "1h", "--max-uses", "5"])).stdout.trim();
    expect((await tempid(["use", token, "--store", store])).code).toBe(0);
    const revoked = await tempid(["revoke", token, "--store", store, "--json"]);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ ok: true, revoked: true });
    expect((await tempid(["use", token, "--store", store])).code).toBe(1);
    expect((await tempid(["verify", token, "--check-uses", "--store", store])).code).toBe(1);
    const unlimited = (await tempid(["new", "1h"])).stdout.trim();
    const r = await tempid(["revoke", unlimited, "--store", store]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ERR_TEMPID_UNSUPPORTED");
  });

  it("without TEMPID_SECRET the CLI refuses, unless --insecure asks for the public fallback", async () => {
    const refused = await tempid(["new", "15m"], { TEMPID_SECRET: "" });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("no secret");
    // It says what a command line can do about it: the environment variable, or --insecure.
    expect(refused.stderr).toContain("TEMPID_SECRET");
    expect(refused.stderr).toContain("--insecure");
    const insecure = await tempid(["new", "15m", "--insecure"], { TEMPID_SECRET: "" });
    expect(insecure.code).toBe(0);
    expect(insecure.stdout).toMatch(/^TEMP-V3\./);
  });

  it("refuses to run without a secret in production", async () => {
    const r = await tempid(["new", "15m"], { TEMPID_SECRET: "", NODE_ENV: "production" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ERR_TEMPID_CONFIG");
    // --insecure does not lift it; the message speaks of what a command line can do, not of { secret }.
    const insecure = await tempid(["new", "15m", "--insecure"], { TEMPID_SECRET: "", NODE_ENV: "production" });
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toContain("TEMPID_SECRET");
    expect(insecure.stderr).toContain("NODE_ENV=production");
    expect(insecure.stderr).not.toContain("{ secret }");
  });

  it("demo walks through every feature", async () => {
    const r = await tempid(["demo"], { TEMPID_SECRET: "" });
    expect(r.code).toBe(0);
    for (const expected of [
      "TempID('TEMP-V3.",
      'await TempID.verify("this-is-not-a-real-token")\nnull',
      "TempIDFormatError (ERR_TEMPID_FORMAT)",
      '{"userId":42,"email":"demo@example.com"}',
      '{"total":2,"used":2,"left":0}',
      "This token just expired!\nfalse",
      "> await invite.revoke(); await invite.use()\nfalse",
      'await TempID.verify(String(reset), { purpose: "email-verify", bind: user.passwordHash })\nnull',
      "the strict parse returns expired tokens too\nTempID('TEMP-V3.",
    ]) {
      expect(r.stdout).toContain(expected);
    }
    // Fresh tokens read their full duration, or a second less if a clock second ticked in between.
    expect(r.stdout).toMatch(/"45s"\)\)\.remaining\(\)\n4[45]s\n/);
    expect(r.stdout).toMatch(/"90m"\)\)\.remaining\(\)\n(1h 30m|1h 29m)\n/);
    expect(r.stdout).toMatch(/"3d"\)\)\.remaining\(\)\n(3d 0h|2d 23h)\n/);
    expect(r.stdout.match(/> await limited\.use\(\)\n(true|false)/g)).toEqual([
      "> await limited.use()\ntrue",
      "> await limited.use()\ntrue",
      "> await limited.use()\nfalse",
    ]);
  });
});
