/**
 * The stores section of README.md: every code block is the start of the example file named in its marker, and every
 * example runs (those needing a server that is absent are skipped, as the store suites are).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { readmeSection } from "../support/readme-section.js";
import { type ServiceName, detectService } from "../support/services.js";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
const doc = readmeSection("stores");

const blocks: { marker: string | undefined; code: string; line: number }[] = [];
const lines = doc.split("\n");
for (let i = 0; i < lines.length; i++) {
  if (!/^```\w*\s*$/.test(lines[i]!)) continue;
  const start = i;
  const body: string[] = [];
  for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
  blocks.push({ marker: /^<!-- example: (.+) -->$/.exec(lines[start - 1] ?? "")?.[1], code: body.join("\n"), line: start + 1 });
}

function needs(code: string): ServiceName | undefined {
  if (code.includes("127.0.0.1:1/")) return undefined; // the dead-server example
  if (/from "(pg|postgres)"/.test(code)) return "postgres";
  if (code.includes('from "mysql2/promise"')) return "mysql";
  if (/from "(redis|ioredis)"/.test(code)) return "redis";
  return undefined; // SQLite, and MongoDB (whose example handles an absent server)
}

describe("README.md, stores section", () => {
  it("has blocks, each naming its example file", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    for (const block of blocks) expect(block.marker, `README stores section, line ${block.line}`).toBeDefined();
  });

  for (const block of blocks.filter((b) => b.marker !== undefined)) {
    const file = block.marker!;
    const content = readFileSync(join(root, file), "utf8");
    const service = needs(content);
    it(`line ${block.line}: ${file} starts with the block, and runs`, async (ctx) => {
      expect(content.startsWith(block.code + "\n")).toBe(true);
      if (service !== undefined) {
        const status = await detectService(service);
        if (!status.available) {
          if (status.required) throw new Error(status.reason);
          ctx.skip(status.reason);
        }
      }
      const cwd = mkdtempSync(join(tmpdir(), "tempid-docs-"));
      try {
        const env = { ...process.env, TEMPID_SECRET: "docs-test-secret-0123456789abcdef0123", NODE_ENV: "test", TSX_TSCONFIG_PATH: join(root, "tsconfig.json") };
        // Browser examples (IndexedDB) run in Node with fake-indexeddb standing in for the browser's IndexedDB.
        const preload = content.includes('from "idb-keyval"') ? ["--import", join(root, "node_modules/fake-indexeddb/auto/index.mjs")] : [];
        // Deno examples name their command on their first line (`// deno run <flags> examples/…`).
        const denoRun = /^\/\/ deno run (.*?) examples\/\S+\.ts$/.exec(content.split("\n", 1)[0]!);
        const { stdout } = denoRun
          ? await run(join(root, "node_modules/.bin/deno"), ["run", ...denoRun[1]!.split(" "), join(root, file)], { cwd, env, timeout: 60_000 })
          : await run(join(root, "node_modules/.bin/tsx"), [...preload, join(root, file)], { cwd, env, timeout: 60_000 });
        expect(stdout.trim().split("\n")[0]).toMatch(/^(true|purged \d+ expired rows|ERR_TEMPID_STORE - |no MongoDB server reachable: )/);
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    }, 70_000);
  }
});
