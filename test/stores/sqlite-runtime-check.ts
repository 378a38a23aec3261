/**
 * Run by sqlite-runtimes.test.ts under Bun (bun:sqlite) and Deno (node:sqlite): the SQLite store opened
 * from a path on that runtime's own driver. Prints one JSON line.
 */
import { sqliteStore } from "../../adapters/sqlite.ts";

const path = (globalThis as { process?: { argv: string[] } }).process?.argv.at(-1) ?? "";
const exp = Math.floor(Date.now() / 1000) + 60;
const store = sqliteStore(path);
const results: boolean[] = [];
for (let i = 0; i < 3; i++) results.push(await store.consume("k", 2, exp, Date.now()));
const used = await store.used("k", Date.now());
await store.close();
const reopened = sqliteStore(path);
const afterReopen = await reopened.used("k", Date.now());
await reopened.close();
console.log(JSON.stringify({ results, used, afterReopen }));
