/**
 * workerd runner: `npx tsx test/portable/run-workerd.ts`. Bundles a module worker around the portable suite
 * (with the built package, as wrangler would) and runs it in workerd through Miniflare twice: as a plain
 * worker (WebCrypto only) and with nodejs_compat (where Node's crypto is offered too). Then runs the
 * Workers and Vercel Edge quick starts of the README (Runtimes) with their secrets passed as bindings.
 */
import { Miniflare } from "miniflare";
import type { CaseResult } from "./harness.js";
import { bundle, readFixtures, Reporter } from "./host.js";

const COMPATIBILITY_DATE = "2025-09-01";
const reporter = new Reporter("workerd");
const fixtures = readFixtures();

async function withWorker<T>(options: ConstructorParameters<typeof Miniflare>[0], use: (mf: Miniflare) => Promise<T>): Promise<T> {
  const mf = new Miniflare(options);
  try {
    await mf.ready;
    return await use(mf);
  } finally {
    await mf.dispose();
  }
}

const suite = await bundle("test/portable/workerd-entry.ts", "neutral", ["workerd", "worker", "browser"]);
for (const [label, flags, native] of [
  ["plain", [] as string[], false],
  ["nodejs_compat", ["nodejs_compat"], true],
] as const) {
  await reporter.check(`suite in a ${label} worker`, async () => {
    await withWorker(
      {
        modules: true,
        script: suite.code,
        compatibilityDate: COMPATIBILITY_DATE,
        compatibilityFlags: [...flags],
        bindings: { FIXTURES: fixtures as never, EXPECT_NATIVE: native ? "1" : "0" },
      },
      async (mf) => {
        const response = await mf.dispatchFetch("http://localhost/");
        if (response.status !== 200) throw new Error(`the worker answered ${response.status}: ${(await response.text()).slice(0, 2000)}`);
        const { expected, results } = (await response.json()) as { expected: number; results: CaseResult[] };
        reporter.expected += expected;
        for (const r of results) reporter.add({ ...r, name: `${label}: ${r.name}` });
      },
    );
  });
}

const SECRET = "workers-example-secret-0123456789abcdef012";

await reporter.check("example: examples/runtimes/workers.ts (secret from an env binding)", async () => {
  const worker = await bundle("examples/runtimes/workers.ts", "neutral", ["workerd", "worker", "browser"]);
  await withWorker(
    { modules: true, script: worker.code, compatibilityDate: COMPATIBILITY_DATE, bindings: { TEMPID_SECRET: SECRET } },
    async (mf) => {
      const minted = await mf.dispatchFetch("http://localhost/reset?user=42");
      const { link } = (await minted.json()) as { link: string };
      const opened = await mf.dispatchFetch(link);
      const body = (await opened.json()) as { userId: number };
      if (opened.status !== 200 || body.userId !== 42) throw new Error(`opening the link gave ${opened.status} ${JSON.stringify(body)}`);
      const other = await withWorker(
        { modules: true, script: worker.code, compatibilityDate: COMPATIBILITY_DATE, bindings: { TEMPID_SECRET: `${SECRET}-other` } },
        (mf2) => mf2.dispatchFetch(link),
      );
      if (other.status !== 401) throw new Error(`a worker with another secret answered ${other.status}`);
    },
  );
});

await reporter.check("example: examples/runtimes/vercel-edge.ts (secret from process.env)", async () => {
  const edge = await bundle("test/portable/vercel-edge-shim.ts", "neutral", ["edge-light", "worker", "browser"]);
  // Vercel Edge exposes environment variables as process.env; workerd does the same with these flags.
  await withWorker(
    {
      modules: true,
      script: edge.code,
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: ["nodejs_compat", "nodejs_compat_populate_process_env"],
      bindings: { TEMPID_SECRET: SECRET },
    },
    async (mf) => {
      const minted = await mf.dispatchFetch("http://localhost/api/download?file=report.pdf");
      const { url } = (await minted.json()) as { url: string };
      const opened = await mf.dispatchFetch(url);
      const body = (await opened.json()) as { file: string; expiresIn: string };
      if (opened.status !== 200 || body.file !== "report.pdf" || body.expiresIn !== "10m 0s" && !/^9m \d+s$/.test(body.expiresIn)) {
        throw new Error(`opening the link gave ${opened.status} ${JSON.stringify(body)}`);
      }
      const forged = await mf.dispatchFetch(url.replace(/.$/, (c) => (c === "0" ? "1" : "0")));
      if (forged.status !== 403) throw new Error(`a forged link gave ${forged.status}`);
    },
  );
});

process.exitCode = reporter.finish();
