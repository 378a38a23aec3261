/**
 * The page script of the Chromium runner: runs the portable suite and the browser quick start, then leaves
 * the results on `window.__tempid` for the runner to collect.
 */
import * as lib from "@tempid/core";
import { describeLink, pageTokens } from "../../examples/runtimes/browser.js";
import { type CaseResult, runCases, type TestCase } from "./harness.js";
import { type Fixtures, portableSuite } from "./suite.js";

declare global {
  interface Window {
    __tempid?: { expected: number; results: CaseResult[] } | { error: string };
  }
}

async function main(): Promise<void> {
  const fixtures = (await (await fetch("/fixtures.json")).json()) as Fixtures;
  const cases: TestCase[] = [
    {
      name: "the page is a secure context with crypto.subtle",
      fn: () => {
        if (!window.isSecureContext || typeof crypto.subtle?.sign !== "function") throw new Error("no crypto.subtle here");
      },
    },
    ...portableSuite(lib, fixtures, { expectNativeCrypto: false }),
    {
      name: "example: examples/runtimes/browser.ts",
      fn: async () => {
        const server = lib.createTempID({ secret: "stands-in-for-the-server-secret-0123456789" });
        const link = await server.new("1h", { maxUses: 3 });
        const text = describeLink(link.toString());
        if (text !== `expires at ${link.expiresAt.toISOString()}, 3 use(s)`) throw new Error(`describeLink gave ${text}`);
        const confirm = await pageTokens.new("2m", { payload: { action: "delete-project" }, maxUses: 1 });
        const back = await pageTokens.verify<{ action: string }>(confirm.toString());
        if (back?.payload?.action !== "delete-project" || !(await back.use()) || (await back.use())) {
          throw new Error("page-made token did not verify once and only once");
        }
        if ((await server.verify(confirm.toString())) !== null) throw new Error("the page's token verified under another secret");
      },
    },
  ];
  const results = await runCases(cases, (r) => console.log(`${r.ok ? "ok" : "not ok"} - ${r.name}`));
  window.__tempid = { expected: cases.length, results };
}

main().catch((err: unknown) => {
  window.__tempid = { error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err) };
});
