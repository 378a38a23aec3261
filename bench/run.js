#!/usr/bin/env node
// Entry point of `npm run bench` (add `--quick` for the short CI run). The benchmark is TypeScript and
// measures the core as it ships: esbuild (what tsup uses) bundles src/ and the store adapters into one
// ES2022 module, as the published build does, then the benchmark imports that bundle.
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// TEMPID_BENCH_SRC=<dir> measures another copy of src/ (a proposed change) against the same peers and floors.
const src = process.env.TEMPID_BENCH_SRC ?? join(root, "src");
const out = join(root, "bench", ".build");
mkdirSync(out, { recursive: true });

const STORE_ADAPTERS = ["sqlite", "postgres", "mysql", "redis"];

async function bundle(entryPoints, outdir, extra = {}) {
  await build({
    entryPoints,
    outdir,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    splitting: true,
    packages: "external",
    alias: { "@tempid/core": join(src, "index.ts") },
    logLevel: "silent",
    ...extra,
  });
}

// The core and every adapter that builds: one shared copy of the core, as with "@tempid/core" installed.
// Adapters land while this benchmark is written; one that is missing or does not build yet is skipped.
let adapters = STORE_ADAPTERS.filter((name) => existsSync(join(root, "adapters", `${name}.ts`)));
const skipped = {};
for (;;) {
  const entries = { core: join(src, "index.ts") };
  for (const name of adapters) entries[name] = join(root, "adapters", `${name}.ts`);
  try {
    await bundle(entries, join(out, "lib"));
    break;
  } catch (err) {
    const broken = adapters.find((name) => String(err.message).includes(`adapters/${name}.ts`)) ?? adapters.at(-1);
    if (broken === undefined) throw err;
    skipped[broken] = "does not build yet";
    adapters = adapters.filter((name) => name !== broken);
  }
}
for (const name of STORE_ADAPTERS) if (!adapters.includes(name) && !skipped[name]) skipped[name] = "not in adapters/ yet";

await bundle({ main: join(root, "bench", "main.ts") }, out, { splitting: false });
const lib = { core: await import(pathToFileURL(join(out, "lib", "core.js")).href), adapters: {} };
for (const name of adapters) lib.adapters[name] = await import(pathToFileURL(join(out, "lib", `${name}.js`)).href);
const { main } = await import(pathToFileURL(join(out, "main.js")).href);
await main({ lib, skipped, root, src, argv: process.argv.slice(2) });
