import { readClock } from "./clock.js";
import { TempIDStoreError, toStoreError } from "./errors.js";
import { COUNTER_GRACE_SECONDS, MAX_STORE_LIMIT, REVOKED_COUNT, type UseStore } from "./store.js";

/**
 * A token's store calls: `use()`, `usesInfo()`, `revoke()` and `verify`'s `checkUses`. Only tokens with
 * `maxUses` get here, and the token module loads this one the first time one does.
 */

/** What a token needs from the instance that made or read it. */
export interface TokenContext {
  readonly store: UseStore;
  readonly clock: () => number;
  readonly toleranceMs: number;
}

/** The counter outlives the token: its expiry, plus the clock tolerance, plus a grace for clock skew. */
function storeExpiry(expiresAtSec: number, ctx: TokenContext): number {
  return expiresAtSec + Math.ceil(ctx.toleranceMs / 1000) + COUNTER_GRACE_SECONDS;
}

/** The limit a store is given: tokens may say more, a store counts at most MAX_STORE_LIMIT uses. */
const storeLimit = (maxUses: number) => Math.min(maxUses, MAX_STORE_LIMIT);

/** Spends one use (the token checked it is live). A store failure rejects: it is never a grant. */
export async function spend(key: string, maxUses: number, expiresAtSec: number, ctx: TokenContext): Promise<boolean> {
  let granted: unknown;
  try {
    granted = await ctx.store.consume(key, storeLimit(maxUses), storeExpiry(expiresAtSec, ctx), readClock(ctx.clock));
  } catch (err) {
    throw toStoreError(err, "use()");
  }
  if (typeof granted !== "boolean") throw new TempIDStoreError("use() failed: the store answered neither true nor false");
  return granted;
}

/** The store's count, Infinity once revoked. Read-only. */
async function count(key: string, ctx: TokenContext, what: string): Promise<number> {
  let n: unknown;
  try {
    n = await ctx.store.used(key, readClock(ctx.clock));
  } catch (err) {
    throw toStoreError(err, what);
  }
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    throw new TempIDStoreError(`${what} failed: the store answered no count`);
  }
  return n >= REVOKED_COUNT ? Number.POSITIVE_INFINITY : n;
}

export async function usesInfo(key: string, maxUses: number, ctx: TokenContext): Promise<{ total: number; used: number; left: number }> {
  const used = Math.min(await count(key, ctx, "usesInfo()"), maxUses);
  return { total: maxUses, used, left: maxUses - used };
}

export async function hasUsesLeft(key: string, maxUses: number, ctx: TokenContext): Promise<boolean> {
  return (await count(key, ctx, "checkUses")) < storeLimit(maxUses);
}

export async function revoke(key: string, expiresAtSec: number, ctx: TokenContext): Promise<void> {
  try {
    await ctx.store.revoke(key, storeExpiry(expiresAtSec, ctx), readClock(ctx.clock));
  } catch (err) {
    throw toStoreError(err, "revoke()");
  }
}
