/**
 * Chromium runner: `npx tsx test/portable/run-browser.ts` (needs /usr/bin/chromium: scripts/install-chromium.sh).
 * Bundles the page script for the browser platform (the built package, no Node built-ins), serves it from
 * 127.0.0.1 so the page is a secure context, and drives Debian's headless Chromium with playwright-core.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { CaseResult } from "./harness.js";
import { bundle, readFixtures, Reporter } from "./host.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const reporter = new Reporter("chromium");

const page = await bundle("test/portable/browser-entry.ts", "browser");
const files: Record<string, [string, string]> = {
  "/": ["text/html; charset=utf-8", '<!doctype html><meta charset="utf-8"><title>tempid portable suite</title><script type="module" src="/entry.js"></script>'],
  "/entry.js": ["text/javascript; charset=utf-8", page.code],
  "/fixtures.json": ["application/json", JSON.stringify(readFixtures())],
};
const server = createServer((req, res) => {
  const file = files[req.url ?? ""];
  res.writeHead(file ? 200 : 404, { "content-type": file?.[0] ?? "text/plain" });
  res.end(file?.[1] ?? "not found");
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const profile = mkdtempSync(join(tmpdir(), "tempid-chromium-"));

try {
  await reporter.check("suite in headless Chromium", async () => {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const tab = await context.newPage();
      const errors: string[] = [];
      tab.on("pageerror", (err) => errors.push(err.message));
      await tab.goto(`${origin}/`);
      await tab.waitForFunction(() => window.__tempid !== undefined, undefined, { timeout: 240_000 });
      const outcome = (await tab.evaluate(() => window.__tempid)) as { expected: number; results: CaseResult[] } | { error: string };
      if ("error" in outcome) throw new Error(`the page failed: ${outcome.error}`);
      if (errors.length > 0) throw new Error(`page errors: ${errors.join("; ")}`);
      console.log(`# ${await tab.evaluate(() => navigator.userAgent)}`);
      reporter.expected += outcome.expected;
      for (const r of outcome.results) reporter.add(r);
    } finally {
      await context.close();
    }
  });
} finally {
  server.close();
  rmSync(profile, { recursive: true, force: true });
}

process.exitCode = reporter.finish();
