/** What bench/run.js hands the benchmark: the bundled core and the store adapters that built. */
export type Core = typeof import("../src/index.js");

export interface Lib {
  core: Core;
  /** adapter name → its module (sqliteStore, postgresStore, …) */
  adapters: Record<string, Record<string, unknown>>;
}

export interface RunContext {
  lib: Lib;
  /** adapters not benchmarked, and why */
  skipped: Record<string, string>;
  root: string;
  /** the core source measured: root/src unless TEMPID_BENCH_SRC names another copy */
  src: string;
  argv: string[];
}
