/**
 * Bun runner: `bun test ./test/portable/run-bun.ts` from the repository root. `@tempid/core` resolves as a
 * user's import would, through package.json's exports map to the built dist/ (this folder's tsconfig.json
 * has no `paths`, so Bun does not map it to the sources). Every portable case is its own Bun test.
 */
import * as lib from "@tempid/core";
import { closingLine, runProblem, type Tally } from "./harness.js";
import { type Fixtures, portableSuite } from "./suite.js";

/** The few bun:test and Bun APIs used, typed here so the file also type-checks under tsc. */
interface BunTest {
  test(name: string, fn: () => Promise<void>): void;
  afterAll(fn: () => void): void;
}
interface BunApi {
  file(path: URL): { json(): Promise<unknown> };
  resolveSync(specifier: string, from: string): string;
}
const bunTestModule = "bun:test";
const { test, afterAll } = (await import(bunTestModule)) as BunTest;
const B = (globalThis as unknown as { Bun: BunApi }).Bun;

const fixtures = {
  pythonV2: await B.file(new URL("../fixtures/python-v2.json", import.meta.url)).json(),
  v3: await B.file(new URL("../fixtures/v3-vectors.json", import.meta.url)).json(),
} as Fixtures;

const tally: Tally = { passed: 0, failed: 0 };
const register = (name: string, fn: () => Promise<void> | void) =>
  test(name, async () => {
    try {
      await fn();
      tally.passed++;
    } catch (err) {
      tally.failed++;
      throw err;
    }
  });

register("the runner loads the built package, not the sources", () => {
  const here = new URL(".", import.meta.url).pathname;
  for (const from of [here, new URL("../../examples/runtimes/", import.meta.url).pathname]) {
    const resolved = B.resolveSync("@tempid/core", from);
    if (!resolved.endsWith("/dist/index.js")) throw new Error(`@tempid/core resolves to ${resolved} from ${from}`);
  }
});

const cases = portableSuite(lib, fixtures, { expectNativeCrypto: true });
for (const c of cases) register(c.name, c.fn);

// The Bun quick start of the README (Runtimes), as written: the secret reaches it through process.env.
register("example: examples/runtimes/bun.ts mints and checks a one-time link", async () => {
  process.env.TEMPID_SECRET = "bun-example-secret-0123456789abcdef01234";
  const { default: server } = await import("../../examples/runtimes/bun.js");
  const minted = await server.fetch(new Request("http://localhost/invite?team=7"));
  const { url } = (await minted.json()) as { url: string };
  const first = await server.fetch(new Request(url));
  const second = await server.fetch(new Request(url));
  if (first.status !== 200 || second.status !== 410) throw new Error(`statuses ${first.status}, ${second.status}: want 200 then 410`);
  const body = (await first.json()) as { team: number };
  if (body.team !== 7) throw new Error(`payload came back as ${JSON.stringify(body)}`);
});

afterAll(() => {
  console.log(closingLine("bun", tally));
  const problem = runProblem(tally, cases.length + 2);
  if (problem !== undefined) throw new Error(`bun runner: ${problem}`);
});
