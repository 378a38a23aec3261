/**
 * Every code block in the README runs: each is marked with what checks it, and this file does the checking.
 *   <!-- example: examples/x.ts -->    the block is the start of that file, which is run here (tsx or bash);
 *   <!-- file: examples/sub/x.ts -->   files in a sub-folder (stores, edge, runtimes) are run by the suite of
 *                                      that part, which reads its README section (test/support/readme-section.ts)
 *   <!-- ci -->                        every command line of the block is in .ci/run, which CI runs
 *   <!-- install -->                   `npm install` lines: every package named is one this repository installs
 *   <!-- check: lines-in src/x.ts -->  every line of the block stands in that file (signatures kept in sync)
 * A block without a marker fails the test.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;
const readme = readFileSync(join(root, "README.md"), "utf8");
const ci = readFileSync(join(root, ".ci/run"), "utf8");

interface Block {
  marker: string | undefined;
  lang: string;
  code: string;
  line: number;
}

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
    const prev = lines[start - 1] ?? "";
    const marker = /^<!-- (.+) -->$/.exec(prev)?.[1];
    out.push({ marker, lang: open[1]!, code: body.join("\n"), line: start + 1 });
  }
  return out;
}

const all = blocks(readme);
const secret = "readme-test-secret-0123456789abcdef0123";

describe("README code blocks", () => {
  it("has blocks, each with a marker", () => {
    expect(all.length).toBeGreaterThan(8);
    for (const block of all) expect(block.marker, `README line ${block.line}`).toBeDefined();
  });

  const examples = all.filter((b) => /^(example|file): /.test(b.marker ?? ""));
  for (const block of examples.filter((b) => b.marker!.split(": ")[1]!.split("/").length > 2)) {
    const file = block.marker!.split(": ")[1]!;
    it(`line ${block.line}: ${file} starts with the block (its part's suite runs it)`, () => {
      expect(readFileSync(join(root, file), "utf8").startsWith(block.code + "\n")).toBe(true);
    });
  }

  for (const block of all.filter((b) => b.marker === "install")) {
    it(`line ${block.line}: installs only packages this repository installs`, () => {
      const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
      const known = new Set([pkg.name, ...Object.keys(pkg.devDependencies), ...Object.keys(pkg.peerDependencies ?? {})]);
      for (const line of block.code.split("\n").filter(Boolean)) {
        const words = line.replace(/#.*$/, "").trim().split(/\s+/);
        expect(words.slice(0, 2), line).toEqual(["npm", "install"]);
        for (const name of words.slice(2).filter((w) => !w.startsWith("-"))) expect(known.has(name.replace(/(?<=.)@.*$/, "")), name).toBe(true);
      }
    });
  }

  for (const block of examples.filter((b) => b.marker!.split(": ")[1]!.split("/").length === 2)) {
    const file = block.marker!.split(": ")[1]!;
    it(`line ${block.line}: ${file} starts with the block, and runs`, async () => {
      const content = readFileSync(join(root, file), "utf8");
      expect(content.startsWith(block.code + "\n")).toBe(true);
      const cwd = mkdtempSync(join(tmpdir(), "tempid-readme-"));
      try {
        const env = { ...process.env, TEMPID_SECRET: secret, NODE_ENV: "test", npm_config_yes: "true" };
        if (file.endsWith(".sh")) {
          // Shell examples run in a scratch project laid out as after `npm install @tempid/core`.
          mkdirSync(join(cwd, "node_modules/.bin"), { recursive: true });
          mkdirSync(join(cwd, "node_modules/@tempid"));
          symlinkSync(root, join(cwd, "node_modules/@tempid/core"));
          symlinkSync(join(root, "dist/cli.js"), join(cwd, "node_modules/.bin/tempid"));
          const { stdout } = await run("bash", ["-euo", "pipefail", join(root, file)], { cwd, env });
          expect(typeof stdout).toBe("string");
        } else {
          const { stdout } = await run(join(root, "node_modules/.bin/tsx"), [join(root, file)], { cwd: root, env });
          expect(stdout.length).toBeGreaterThan(0);
        }
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    });
  }

  for (const block of all.filter((b) => b.marker === "ci")) {
    it(`line ${block.line}: every command is run by .ci/run`, () => {
      for (const command of block.code.split("\n").map((l) => l.replace(/#.*$/, "").trim()).filter(Boolean)) {
        expect(ci, command).toContain(command);
      }
    });
  }

  for (const block of all.filter((b) => b.marker?.startsWith("check: lines-in "))) {
    const file = block.marker!.slice("check: lines-in ".length);
    it(`line ${block.line}: every line stands in ${file}`, () => {
      const content = readFileSync(join(root, file), "utf8");
      for (const line of block.code.split("\n").map((l) => l.trim()).filter((l) => l.length > 1)) {
        expect(content, line).toContain(line.replace(/^interface /, "export interface "));
      }
    });
  }
});
