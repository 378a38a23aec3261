/**
 * The edge stores section of README.md shows only code that exists under examples/edge/ (each block names its file on its
 * first line and must equal it), and those files type-check: the Workers ones against
 * @cloudflare/workers-types and the library's emitted declarations (what a user compiles against), the
 * Vercel Edge and Node ones against Node's types.
 */
import { execFile } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { readmeSection } from "../support/readme-section.js";
import { UseTableSql } from "../../adapters/sql-dialect.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DOC = readmeSection("edge-stores");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

function codeBlocks(markdown: string, lang: string): string[] {
  const blocks: string[] = [];
  const fence = new RegExp("^```" + lang + "\\n([\\s\\S]*?)^```$", "gm");
  for (const match of markdown.matchAll(fence)) blocks.push(match[1]!);
  return blocks;
}

function exampleFiles(dir = join(ROOT, "examples/edge")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return exampleFiles(path);
    return entry.name.endsWith(".ts") ? [path.slice(ROOT.length)] : [];
  });
}

describe("README.md, edge stores section", () => {
  const blocks = codeBlocks(DOC, "ts");

  it("every TypeScript block is a file under examples/edge/, verbatim", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    for (const block of blocks) {
      const path = /^\/\/ (examples\/edge\/\S+\.ts)/.exec(block)?.[1];
      expect(path, `block without its file name:\n${block.slice(0, 120)}`).toBeDefined();
      expect(block).toBe(readFileSync(join(ROOT, path!), "utf8"));
    }
  });

  it("every example file is shown in the doc", () => {
    const shown = new Set(blocks.map((b) => /^\/\/ (\S+)/.exec(b)?.[1]));
    expect(exampleFiles().filter((f) => !shown.has(f))).toEqual([]);
  });

  it("the PlanetScale DDL quoted for deploy requests is the MySQL adapter's", () => {
    const quoted = /\(`(CREATE TABLE tempid_uses [^`]+)`\)/.exec(DOC)?.[1];
    const normalize = (sql: string) => sql.replace(/`/g, "").replace(/IF NOT EXISTS /, "").replace(/\s+/g, " ").trim();
    expect(quoted).toBeDefined();
    expect(normalize(quoted!)).toBe(normalize(new UseTableSql("mysql", "tempid_uses").migrate()[0]!));
  });
});

describe("examples/edge type-check", () => {
  it("Workers examples, against @cloudflare/workers-types and the emitted declarations", async () => {
    const out = join(ROOT, ".tmp/edge-decl");
    rmSync(out, { recursive: true, force: true });
    await run(process.execPath, [TSC, "-p", "tsconfig.json", "--noEmit", "false", "--emitDeclarationOnly", "--outDir", out], { cwd: ROOT });
    const result = await run(process.execPath, [TSC, "--noEmit", "-p", "examples/edge/tsconfig.workers.json"], { cwd: ROOT }).then(
      () => "",
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
    expect(result).toBe("");
  }, 120_000);

  it("Vercel Edge and Node examples, against Node's types", async () => {
    const result = await run(process.execPath, [TSC, "--noEmit", "-p", "examples/edge/tsconfig.node.json"], { cwd: ROOT }).then(
      () => "",
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
    expect(result).toBe("");
  }, 120_000);
});
