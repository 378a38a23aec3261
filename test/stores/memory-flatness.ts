/**
 * Measures that a long run of short-lived tokens leaves memory / table size flat (not a vitest test:
 * numbers, not assertions). Run: node --expose-gc --import tsx test/stores/memory-flatness.ts [steps]
 *
 * A simulated clock advances 10 ms per use; every use is a new token living 5 s, so about 500 counters
 * are live at any moment. A store that never forgets grows by one counter per use.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rmSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import { MemoryStore, type UseStore } from "@tempid/core";
import { sqliteStore } from "@tempid/core/sqlite";
import { postgresStore } from "@tempid/core/postgres";
import { serviceUrls, uniqueName } from "../support/services.js";

const steps = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
const heapMiB = () => {
  gc?.();
  return (process.memoryUsage().heapUsed / 2 ** 20).toFixed(1);
};

async function run(name: string, store: UseStore, total: number, size: () => Promise<number> | number, extra = () => "") {
  const start = 1_800_000_000_000;
  console.log(`\n${name}: ${total.toLocaleString()} uses of fresh 5-second tokens, 10 ms apart`);
  console.log("    uses   counters-held  heap-MiB  " + extra.name);
  for (let i = 1; i <= total; i++) {
    const now = start + i * 10;
    if (!(await store.consume(`t${i}`, 1, Math.floor(now / 1000) + 5, now))) throw new Error("refused a fresh token");
    if (i % (total / 10) === 0) console.log(`${String(i).padStart(8)}  ${String(await size()).padStart(14)}  ${heapMiB().padStart(8)}  ${extra()}`);
  }
}

const memory = new MemoryStore();
await run("MemoryStore", memory, steps, () => memory.size);

const file = join(tmpdir(), `tempid-flat-${process.pid}.db`);
const sqlite = sqliteStore(file);
const raw = new Database(file);
const fileSize = () => `db+wal KiB ${Math.round((statSync(file).size + statSync(file + "-wal", { throwIfNoEntry: false })?.size! || 0) / 1024)}`;
await run("sqliteStore (file, WAL, default purgeEvery 100 / batch 1000)", sqlite, Math.min(steps, 200_000), () =>
  (raw.prepare("SELECT COUNT(*) AS n FROM tempid_uses").get() as { n: number }).n, fileSize);
raw.close();
await sqlite.close();
for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });

const pool = new pg.Pool({ connectionString: serviceUrls.postgres, max: 4 });
const table = uniqueName("flat");
try {
  const store = postgresStore(pool, { table });
  await run("postgresStore (pg Pool)", store, Math.min(steps, 50_000), async () => Number((await pool.query(`SELECT COUNT(*) AS n FROM "${table}"`)).rows[0].n));
  await store.close();
} catch (err) {
  console.log(`postgres skipped: ${(err as Error).message}`);
} finally {
  await pool.query(`DROP TABLE IF EXISTS "${table}"`).catch(() => undefined);
  await pool.end();
}
