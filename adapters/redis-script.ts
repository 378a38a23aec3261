/**
 * The Lua scripts of the Redis use-count store, shared by every Redis client (node-redis, ioredis, Upstash).
 * Their SHA-1s are precomputed so a call is one `EVALSHA`; `EVAL` is sent only after a `NOSCRIPT` reply
 * (never after a timeout, which may already have counted). A test recomputes the hashes.
 *
 * Layout (the Python package's): the counter of key K is the integer string at `tempid:K`, expiring at
 * the token's expiry (`PEXPIREAT` expires_at*1000, set on the first use). Redis drops it then by itself.
 */

/**
 * KEYS[1] counter, ARGV[1] limit, ARGV[2] expiry in unix ms → 1 granted, 0 refused, below 0 corrupt.
 * INCR first, then compare: a grant is one Redis call inside the script (GET-then-INCR was two), which is
 * what a use costs the server under load. A refusal undoes its INCR with DECR before the script returns;
 * Redis runs a script atomically, so no reader (usesInfo, the Python package, another process) ever sees
 * the count past the limit, and a refused use leaves the count as it was. (The refusal now writes the key
 * and back, so it is replicated and, on a server out of memory, fails with an error instead of refusing:
 * an error is never a grant.) With a limit below 1 (the adapters never send one) the key INCR created is
 * deleted again, so no counter without an expiry is left behind.
 * A counter that held a negative count (corrupt: no tempid writer makes one) is put back as it was and
 * answers that count (below 0), which the adapter reports as an error: counting on from it would grant past the limit.
 * A PEXPIREAT in the past deletes the key at once: the token has expired by the server's clock, so the
 * use is refused rather than counted on a key that no longer exists.
 */
export const CONSUME_SCRIPT = `local n = redis.call('INCR', KEYS[1])
if n < 1 then
  return redis.call('DECR', KEYS[1])
end
if n > tonumber(ARGV[1]) then
  if n == 1 then redis.call('DEL', KEYS[1]) else redis.call('DECR', KEYS[1]) end
  return 0
end
if n == 1 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
end
return 1`;

export const CONSUME_SHA1 = "f62745d62ba2d789dfa100905d80c3b003333d6f";

/** KEYS[1] counter, ARGV[1] the revoked count, ARGV[2] expiry in unix ms. (SET … PXAT would need Redis 6.2.) */
export const REVOKE_SCRIPT = `redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`;

export const REVOKE_SHA1 = "43a31248452c1aaeef4a50867eb3bbd8fe2e779a";

export const DEFAULT_PREFIX = "tempid:";

/** True for Redis's "unknown script" reply, the one case where EVAL follows EVALSHA. */
export function isNoScript(err: unknown): boolean {
  const message = err instanceof Error ? err.message : typeof err === "string" ? err : "";
  return message.startsWith("NOSCRIPT") || message.includes("NOSCRIPT No matching script");
}

/** Parses a counter's value (GET reply): missing → 0. */
export function parseCount(value: unknown): number {
  if (value === null || value === undefined) return 0;
  // A number, or decimal text: Number(String([8])) is 8 and Number("0x1") is 1, neither a counter's value.
  const n = typeof value === "number" ? value : typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`unexpected counter value ${String(value)}`);
  return n;
}
