import { readdirSync, readFileSync, rmSync } from "node:fs";
import { defineConfig } from "tsup";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as { version: string };

/** Every adapter is its own subpath export; each imports the core as "@tempid/core" so one copy of it is shared. */
export const adapters = ["sqlite", "postgres", "mysql", "redis", "mongodb", "upstash", "neon", "planetscale", "durable-object", "d1", "deno-kv", "idb"] as const;

const entries = {
  index: "src/index.ts",
  ...Object.fromEntries(adapters.map((name) => [name, `adapters/${name}.ts`])),
};

/** Every source module of the core and the adapters, by file name (no two share one): dist/ is flat. */
const modules = Object.fromEntries(
  ["src", "adapters"].flatMap((dir) =>
    readdirSync(new URL(`./${dir}/`, import.meta.url))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => [f.slice(0, -3), `${dir}/${f}`]),
  ),
);

const common = {
  sourcemap: false,
  target: "es2022",
  platform: "neutral",
  external: ["@tempid/core", /^node:/, "better-sqlite3", "bun:sqlite", "pg", "postgres", "mysql2", "mysql2/promise", "redis", "ioredis", "mongodb", "@upstash/redis", "@neondatabase/serverless", "@planetscale/database", "idb-keyval"],
  clean: false,
} as const;

// The builds below run at once, and tsup's `clean` of one would delete another's output (its .d.cts files
// included): dist/ is emptied once, here, before any starts.
rmSync(new URL("./dist", import.meta.url), { recursive: true, force: true });

export default defineConfig([
  // ESM: one module per source file, as written (nothing bundled). An application's bundler then sees the
  // core's real module graph: it keeps out of the code that mints and verifies whatever only an import()
  // reaches (the V2 format, deflate, Node's native engine, the default MemoryStore, a token's store
  // calls), which a bundle made here would have merged with the code that every call runs.
  { ...common, entry: modules, format: ["esm"], bundle: false, dts: false },
  // Types for ESM: one .d.ts per entry point.
  { ...common, entry: entries, format: ["esm"], dts: { only: true } },
  // CJS is for Node's require(): one bundled file (and .d.cts) per entry, the on-demand modules inside it
  // (which makes esbuild turn their classes into expressions: keepNames keeps the classes' names).
  { ...common, entry: entries, format: ["cjs"], dts: true, splitting: false, treeshake: true, keepNames: true },
  {
    entry: { cli: "cli/tempid.ts" },
    format: ["esm"],
    dts: false,
    target: "node20",
    platform: "node",
    banner: { js: "#!/usr/bin/env node" },
    define: { __VERSION__: JSON.stringify(version) },
    external: ["@tempid/core", /^@tempid\/core\//],
  },
]);
