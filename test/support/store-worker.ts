/**
 * A child process of the multi-process conformance test:
 *   node --import tsx test/support/store-worker.ts <harness module> <export> <namespace> <jobs JSON>
 * It opens the store, prints "ready", waits for "go" on stdin, then fires every consume at once and
 * prints {"granted": {key: n, …}} on one line.
 */
import { createInterface } from "node:readline";
import type { StoreHarness } from "./store-harness.js";

interface Job {
  key: string;
  limit: number;
  expiresAtSec: number;
  calls: number;
}

const [module, exportName, ns, jobsJson] = process.argv.slice(2);
if (!module || !exportName || !ns || !jobsJson) throw new Error("usage: store-worker <module> <export> <ns> <jobs>");
const jobs = JSON.parse(jobsJson) as Job[];
const harness = ((await import(module)) as Record<string, () => StoreHarness>)[exportName]!();
// 750 calls at once queue behind a pool of a few connections on a 2-core machine: allow for the queue.
const store = await harness.open(ns, { timeoutMs: 60_000 });
await store.used("warm-up", Date.now()); // connects and creates the table before the start line

const lines = createInterface({ input: process.stdin });
process.stdout.write("ready\n");
for await (const line of lines) if (line.trim() === "go") break;
lines.close();

const nowMs = Date.now();
const granted: Record<string, number> = {};
const errors: string[] = [];
await Promise.all(
  jobs.flatMap((job) =>
    Array.from({ length: job.calls }, () =>
      store.consume(job.key, job.limit, job.expiresAtSec, nowMs).then(
        (ok) => {
          if (ok) granted[job.key] = (granted[job.key] ?? 0) + 1;
        },
        (err: unknown) => void errors.push(String(err)),
      ),
    ),
  ),
);
process.stdout.write(JSON.stringify({ granted, errors: errors.slice(0, 3), errorCount: errors.length }) + "\n");
await store.close();
await harness.dispose();
process.exit(0);
