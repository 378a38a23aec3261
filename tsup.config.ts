import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as { version: string };

/** Every adapter is its own subpath export; each imports the core as "@tempid/core" so one copy of it is shared. */
export const adapters = ["sqlite", "postgres", "mysql", "redis", "mongodb", "upstash", "neon", "planetscale", "durable-object", "d1", "deno-kv", "idb"] as const;

export default defineConfig([
  {
    entry: {
      index: "src/index.ts",
      ...Object.fromEntries(adapters.map((name) => [name, `adapters/${name}.ts`])),
    },
    format: ["esm", "cjs"],
    dts: true,
    clean: true,
    sourcemap: false,
    treeshake: true,
    splitting: false,
    target: "es2022",
    platform: "neutral",
    external: ["@tempid/core", /^node:/, "better-sqlite3", "bun:sqlite", "pg", "postgres", "mysql2", "mysql2/promise", "redis", "ioredis", "mongodb", "@upstash/redis", "@neondatabase/serverless", "@planetscale/database", "idb-keyval"],
  },
  {
    entry: { cli: "cli/tempid.ts" },
    format: ["esm"],
    dts: false,
    clean: false,
    target: "node20",
    platform: "node",
    banner: { js: "#!/usr/bin/env node" },
    define: { __VERSION__: JSON.stringify(version) },
    external: ["@tempid/core", /^@tempid\/core\//],
  },
]);
