/**
 * The use-count store contract. Only tokens with `maxUses` touch a store; everything else is stateless.
 *
 * Every adapter (memory, SQLite, PostgreSQL, MySQL, Redis, MongoDB, Upstash, Neon, PlanetScale, …) implements
 * these four methods and passes the one conformance suite in `test/stores/`. Keys arrive bare (a V3 token's
 * UUID, or a V2 token's signature text); an adapter adds its own prefix or table.
 *
 * Units: `expiresAtSec` is unix seconds (what the token carries and what the Python package writes);
 * `nowMs` is unix milliseconds from the instance's clock.
 */
export interface UseStore {
  /**
   * Spends one use of `key` if fewer than `limit` have been spent, in one atomic step (a single conditional
   * statement, script or document update: never read-then-write). The first spend creates the counter and
   * makes it expire at `expiresAtSec`. Resolves `true` when the use is granted, `false` when refused
   * (limit reached or revoked). Rejects with a `TempIDStoreError` when the store fails; a store must never
   * retry a consume that may already have counted (a timeout), and never fall back to another store.
   * `limit` is at least 1 and below `REVOKED_COUNT`.
   */
  consume(key: string, limit: number, expiresAtSec: number, nowMs: number): Promise<boolean>;

  /**
   * How many uses `key` has spent: 0 when unknown or expired, `REVOKED_COUNT` once revoked. Read-only: it
   * never creates, extends or changes a counter.
   */
  used(key: string, nowMs: number): Promise<number>;

  /**
   * Revokes `key`: sets its count to `REVOKED_COUNT` (creating the counter if needed, expiring at
   * `expiresAtSec`), so that every later `consume` is refused, whatever the token's limit.
   */
  revoke(key: string, expiresAtSec: number, nowMs: number): Promise<void>;

  /** Releases what the store itself opened. A client the user passed in is left open: it is theirs. */
  close(): Promise<void>;
}

/**
 * The count a revoked counter holds. It is the largest signed 32-bit integer, so it fits the Python
 * package's `INTEGER` columns, and any Python service sharing the store sees the token as used up.
 * Limits are clamped below it, so `count < limit` is false for a revoked counter.
 */
export const REVOKED_COUNT = 2147483647;

/**
 * How long past the last moment a token is accepted (its expiry plus the instance's clock tolerance) its
 * counter is kept: the expiry `use()` and `revoke()` hand to a store. Servers whose clocks differ, or
 * instances whose tolerances differ, by less than this never see a spent token's counter vanish (and restart
 * at zero) while one of them still accepts the token.
 */
export const COUNTER_GRACE_SECONDS = 600;

/** The highest limit passed to a store (tokens may say more; a store counts at most this many uses). */
export const MAX_STORE_LIMIT = REVOKED_COUNT - 1;
