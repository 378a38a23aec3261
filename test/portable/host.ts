/**
 * Node-side helpers for the runners that drive another runtime (workerd, Chromium): bundling an entry the
 * way a user's bundler would (the built package through its exports map, never the sources), reading the
 * vectors, and printing results with the closing line. Not part of the portable suite itself.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
import { type CaseResult, closingLine, runProblem, tally } from "./harness.js";
import type { Fixtures } from "./suite.js";

export const root = fileURLToPath(new URL("../../", import.meta.url));

export function readFixtures(): Fixtures {
  const read = (name: string) => JSON.parse(readFileSync(`${root}test/fixtures/${name}`, "utf8"));
  return { pythonV2: read("python-v2.json"), v3: read("v3-vectors.json") };
}

/**
 * Bundles `entry` to one ES module for a non-Node platform. Throws when the bundle takes in anything from
 * src/ (it must use the built package) or any Node built-in.
 */
export async function bundle(entry: string, platform: "browser" | "neutral", conditions: string[] = []): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    entryPoints: [`${root}${entry}`],
    bundle: true,
    write: false,
    format: "esm",
    platform,
    target: "es2022",
    conditions,
    mainFields: ["module", "main"],
    metafile: true,
    logLevel: "silent",
    absWorkingDir: root,
  });
  const inputs = Object.keys((result.metafile as Metafile).inputs);
  const fromSources = inputs.filter((p) => p.startsWith("src/") || p.startsWith("adapters/"));
  if (fromSources.length > 0) throw new Error(`${entry}: the bundle took the sources, not the built package: ${fromSources.join(", ")}`);
  if (!inputs.includes("dist/index.js")) throw new Error(`${entry}: the bundle does not contain dist/index.js (inputs: ${inputs.join(", ")})`);
  const builtins = inputs.filter((p) => p.startsWith("node:") || p.includes("(disabled)"));
  if (builtins.length > 0) throw new Error(`${entry}: the bundle pulls Node built-ins: ${builtins.join(", ")}`);
  return { code: result.outputFiles[0]!.text, inputs };
}

export class Reporter {
  readonly #runtime: string;
  readonly #results: CaseResult[] = [];
  expected = 0;

  constructor(runtime: string) {
    this.#runtime = runtime;
  }

  add(result: CaseResult): void {
    this.#results.push(result);
    console.log(`${result.ok ? "ok" : "not ok"} - [${this.#runtime}] ${result.name}`);
    if (!result.ok) console.log(`  ${(result.error ?? "").split("\n").join("\n  ")}`);
  }

  /** Runs a host-side check (starting a runtime, an example) as one more case. */
  async check(name: string, fn: () => Promise<void>): Promise<void> {
    this.expected++;
    try {
      await fn();
      this.add({ name, ok: true });
    } catch (err) {
      this.add({ name, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  }

  /** Prints the closing line; the exit code is 1 when anything failed, fewer cases ran than expected, or none. */
  finish(): number {
    const t = tally(this.#results);
    const problem = runProblem(t, this.expected);
    if (problem !== undefined) console.log(`${this.#runtime} runner: ${problem}`);
    console.log(closingLine(this.#runtime, t));
    return problem === undefined ? 0 : 1;
  }
}
