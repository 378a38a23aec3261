/**
 * Node runner of the portable suite: the built package as Node loads it, once through its ESM entry and once
 * through its CommonJS entry (`require("@tempid/core")`, resolved by Node's own resolver through the exports
 * map). vitest's alias of `@tempid/core` to src/ is bypassed on purpose: this file tests dist/.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { closingLine, runProblem, type Tally } from "./harness.js";
import { type Fixtures, portableSuite } from "./suite.js";

type Core = typeof import("@tempid/core");

const root = new URL("../../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { exports: Record<string, { import: { default: string } }> };
const esmEntry = fileURLToPath(new URL(pkg.exports["."]!.import.default, root));

/** Fails collection with a clear message when dist/ is missing or older than the sources it is built from. */
function assertBuilt(): void {
  let built: number;
  try {
    built = statSync(esmEntry).mtimeMs;
  } catch {
    throw new Error(`${esmEntry} is missing: run \`npm run build\` before the portable suite (it tests the built package)`);
  }
  for (const name of readdirSync(new URL("src/", root))) {
    const file = fileURLToPath(new URL(`src/${name}`, root));
    if (statSync(file).mtimeMs > built) throw new Error(`dist/ is older than src/${name}: run \`npm run build\` before the portable suite`);
  }
}
assertBuilt();

const fixtures: Fixtures = {
  pythonV2: JSON.parse(readFileSync(new URL("test/fixtures/python-v2.json", root), "utf8")),
  v3: JSON.parse(readFileSync(new URL("test/fixtures/v3-vectors.json", root), "utf8")),
};

const requireFromRoot = createRequire(new URL("package.json", root));
const cjsEntry = requireFromRoot.resolve("@tempid/core");
const builds: Array<[string, Core]> = [
  ["esm", (await import(pathToFileURL(esmEntry).href)) as Core],
  ["cjs", requireFromRoot("@tempid/core") as Core],
];

const tally: Tally = { passed: 0, failed: 0 };
let expected = 0;

test("the runner loads the built package, not the sources", () => {
  expect(esmEntry.endsWith("/dist/index.js")).toBe(true);
  expect(cjsEntry).toBe(fileURLToPath(new URL("dist/index.cjs", root)));
  // Two builds, two copies of the classes: proof that neither is vitest's alias to src/.
  expect(builds[0]![1].TempID).not.toBe(builds[1]![1].TempID);
});

for (const [label, lib] of builds) {
  const cases = portableSuite(lib, fixtures, { expectNativeCrypto: true });
  expected += cases.length;
  describe(label, () => {
    for (const c of cases) {
      test(c.name, async () => {
        try {
          await c.fn();
          tally.passed++;
        } catch (err) {
          tally.failed++;
          throw err;
        }
      });
    }
  });
}

afterAll(() => {
  console.log(closingLine("node", tally));
  const problem = runProblem(tally, expected);
  if (problem !== undefined) throw new Error(`node runner: ${problem}`);
});
