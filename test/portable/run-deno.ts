/**
 * Deno runner: `deno test --allow-read=test/fixtures --allow-env=TEMPID_SECRET test/portable/run-deno.ts`
 * from the repository root. `@tempid/core` resolves through deno.json's import map to the .ts sources, as
 * a JSR user gets them. Every portable case is its own Deno test; the closing line counts them all.
 */
import * as lib from "@tempid/core";
import { closingLine, runProblem, type Tally } from "./harness.js";
import { type Fixtures, portableSuite } from "./suite.js";

/** The few Deno APIs this runner uses, typed here so the file also type-checks under tsc. */
interface DenoApi {
  test: ((name: string, fn: () => Promise<void>) => void) & { afterAll(fn: () => void): void };
  readTextFile(path: URL): Promise<string>;
  env: { set(name: string, value: string): void };
}
const D = (globalThis as unknown as { Deno: DenoApi }).Deno;

const readJson = async (path: string) => JSON.parse(await D.readTextFile(new URL(path, import.meta.url)));
const fixtures: Fixtures = {
  pythonV2: await readJson("../fixtures/python-v2.json"),
  v3: await readJson("../fixtures/v3-vectors.json"),
};

const tally: Tally = { passed: 0, failed: 0 };
const register = (name: string, fn: () => Promise<void> | void) =>
  D.test(name, async () => {
    try {
      await fn();
      tally.passed++;
    } catch (err) {
      tally.failed++;
      throw err;
    }
  });

const cases = portableSuite(lib, fixtures, { expectNativeCrypto: true });
for (const c of cases) register(c.name, c.fn);

// The Deno quick start of the README (Runtimes), as written: the secret reaches it through the environment.
register("example: examples/runtimes/deno.ts serves and checks links", async () => {
  D.env.set("TEMPID_SECRET", "deno-example-secret-0123456789abcdef0123");
  const { default: server } = await import("../../examples/runtimes/deno.js");
  const minted = await server.fetch(new Request("http://localhost/link?email=ada%40example.com"));
  const { link } = (await minted.json()) as { link: string };
  const opened = await server.fetch(new Request(link));
  if (opened.status !== 200) throw new Error(`opening the link gave ${opened.status}`);
  const body = (await opened.json()) as { email: string };
  if (body.email !== "ada@example.com") throw new Error(`payload came back as ${JSON.stringify(body)}`);
  const forged = await server.fetch(new Request(link.slice(0, -1) + (link.endsWith("0") ? "1" : "0")));
  if (forged.status !== 401) throw new Error(`a forged link gave ${forged.status}`);
});

D.test.afterAll(() => {
  console.log(closingLine("deno", tally));
  const problem = runProblem(tally, cases.length + 1);
  if (problem !== undefined) throw new Error(`deno runner: ${problem}`);
});
