/**
 * sqliteStore(path) on the other runtimes' drivers: bun:sqlite under Bun, node:sqlite under Deno
 * (which cannot load better-sqlite3's addon). node:sqlite on Node needs Node >= 22.5, absent here.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
const script = join(root, "test/stores/sqlite-runtime-check.ts");
const bin = (name: string) => join(root, "node_modules/.bin", name);

describe("sqliteStore(path) on Bun and Deno", () => {
  const dir = mkdtempSync(join(tmpdir(), "tempid-rt-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const expected = { results: [true, true, false], used: 2, afterReopen: 2 };

  it.skipIf(!existsSync(bin("bun")))("Bun opens it with bun:sqlite", async () => {
    const { stdout } = await run(bin("bun"), [script, join(dir, "bun.db")], { cwd: root, timeout: 60_000 });
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual(expected);
  }, 70_000);

  it.skipIf(!existsSync(bin("deno")))("Deno opens it with node:sqlite", async () => {
    const { stdout } = await run(bin("deno"), ["run", "-A", script, join(dir, "deno.db")], { cwd: root, timeout: 60_000 });
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual(expected);
  }, 70_000);
});
