/**
 * What the store conformance suite (test/stores/conformance.ts) needs to know about one backend. A
 * harness opens stores on a namespace (a table name or key prefix unique to the test), and reads the
 * raw counter the way the Python package would. Worker processes load a harness by module path and
 * export name (see store-worker.ts), so it must not import vitest.
 */
import type { UseStore } from "@tempid/core";
import type { ServiceName } from "./services.js";

export type HarnessStore = UseStore & {
  purgeExpired?(nowMs?: number): Promise<number>;
  migrate?(): Promise<void>;
};

export interface RawCounter {
  count: number;
  /** unix seconds, as the Python package stores it */
  expiresAt: number;
}

export interface StoreHarness {
  /** Shown in test names. */
  readonly name: string;
  /** The server it needs; undefined for embedded stores. */
  readonly service?: ServiceName;
  /** Counts survive closing and reopening a store on the same namespace. */
  readonly persistent: boolean;
  /** Expiry follows the server's clock, not the injected `nowMs` (Redis). */
  readonly serverClock?: boolean;
  /**
   * A single-use counter (limit 1) expires a relative ttl (expiresAtSec*1000 - nowMs) after the server
   * received it, not at expiresAtSec itself (Redis `SET NX PX`): its expiry is later by the time between
   * the caller's `nowMs` and the write.
   */
  readonly relativeSingleUseExpiry?: boolean;
  /** Counts live inside one process (the memory store): the multi-process test does not apply. */
  readonly processLocal?: boolean;
  /**
   * False when expired counters are reclaimed by the server on its own schedule (MongoDB's TTL monitor,
   * every 60 s) rather than by the store's traffic; the suite then checks only purgeExpired().
   */
  readonly reclaimsInTraffic?: boolean;
  /** A store on namespace `ns`; the same `ns` reaches the same counters. */
  open(ns: string, options?: { purgeEvery?: number; purgeBatch?: number; timeoutMs?: number }): Promise<HarnessStore>;
  /** The raw counter the Python package would read for `key`, or null when there is none. */
  inspect?(ns: string, key: string): Promise<RawCounter | null>;
  /** Counters held in `ns`, expired ones not yet removed included. */
  size?(ns: string): Promise<number>;
  /** Removes `ns` (table, keys). */
  drop(ns: string): Promise<void>;
  /** A store whose server is unreachable (a dead port). */
  openDead?(): Promise<UseStore>;
  /** How worker processes load this harness: an absolute module path and the factory it exports. */
  readonly worker?: { module: string; export: string };
  /** Closes clients the harness opened. */
  dispose(): Promise<void>;
}
