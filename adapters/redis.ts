/**
 * Redis use-count store over the user's own client: node-redis (`redis` v4/v5) or ioredis.
 *
 * Consume is one Lua script (EVALSHA, EVAL only on NOSCRIPT): Redis runs scripts one at a time, so it is
 * exact across connections, processes and servers. Counters expire by themselves (PEXPIREAT). A single-use
 * token (limit 1, the commonest case) needs no script: one `SET key 1 NX PX ttl` (see `#claimOnce`).
 */
import { type UseStore, REVOKED_COUNT, TempIDConfigError, TempIDStoreError } from "@tempid/core";
import { CONSUME_SCRIPT, CONSUME_SHA1, DEFAULT_PREFIX, REVOKE_SCRIPT, REVOKE_SHA1, isNoScript, parseCount } from "./redis-script.js";
import { type BoundedCall, DEFAULT_TIMEOUT_MS, type OptionKeys, bounded, checkBoolean, checkOptionKeys, checkPositiveInt, closedError, corruptCount, tokenExpired } from "./store-kit.js";

/** All the store needs from node-redis (v4/v5 client). */
export interface NodeRedisLike {
  sendCommand(args: string[]): Promise<unknown>;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
}

/** All the store needs from ioredis (Redis or Cluster). */
export interface IoredisLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  quit?(): Promise<unknown>;
}

export interface RedisStoreOptions {
  /** Key prefix. Default `tempid:`, the Python package's. */
  prefix?: string;
  /** Bound on each store call in ms; past it the call rejects with a TempIDStoreError. Default 5000. */
  timeoutMs?: number;
  /** Close the client when the store closes. Default false: the client is yours. */
  closeClient?: boolean;
}

/** The keys of `RedisStoreOptions`: anything else is refused as a misspelling. */
const REDIS_STORE_OPTION_KEYS: OptionKeys<RedisStoreOptions> = { prefix: true, timeoutMs: true, closeClient: true };

/** A use-count store on Redis. */
export class RedisUseStore implements UseStore {
  readonly prefix: string;
  readonly #send: (args: string[]) => Promise<unknown>;
  readonly #close: (() => Promise<unknown>) | undefined;
  readonly #timeoutMs: number;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(client: NodeRedisLike | IoredisLike, options: RedisStoreOptions = {}) {
    const c = client as Partial<NodeRedisLike & IoredisLike> | null;
    if (typeof c !== "object" || c === null) throw new TempIDConfigError("redisStore takes a node-redis or ioredis client");
    // ioredis first: it also has a sendCommand, taking a Command object rather than an array.
    if (typeof c.call === "function") {
      const call = c.call.bind(c);
      this.#send = ([command, ...args]) => call(command as string, ...args);
    } else if (typeof c.sendCommand === "function") {
      this.#send = c.sendCommand.bind(c) as (args: string[]) => Promise<unknown>;
    } else {
      throw new TempIDConfigError("redisStore takes a node-redis or ioredis client");
    }
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== "string" || prefix.length > 200) throw new TempIDConfigError("prefix must be a string of at most 200 characters");
    this.prefix = prefix;
    this.#timeoutMs = checkPositiveInt(options.timeoutMs, "timeoutMs", DEFAULT_TIMEOUT_MS);
    const closeClient = checkBoolean(options.closeClient, "closeClient", false);
    const end = typeof c.close === "function" ? c.close : c.quit;
    this.#close = closeClient && typeof end === "function" ? end.bind(c) : undefined;
  }

  async consume(key: string, limit: number, expiresAtSec: number, nowMs: number): Promise<boolean> {
    const expiresAtMs = redisExpiryMs("consume", expiresAtSec, nowMs);
    if (tokenExpired(expiresAtSec, nowMs) || limit < 1) return false;
    if (limit === 1) return this.#claimOnce(key, expiresAtMs - nowMs);
    const reply = await this.#script("consume", CONSUME_SHA1, CONSUME_SCRIPT, key, [String(limit), String(expiresAtMs)]);
    if (typeof reply === "number" && Number.isSafeInteger(reply) && reply < 0) throw corruptCount(reply, `Redis (${this.prefix}*)`);
    if (reply !== 1 && reply !== 0) throw new TempIDStoreError(`consume got an unexpected reply from Redis: ${String(reply)}`);
    return reply === 1;
  }

  async used(key: string, _nowMs: number): Promise<number> {
    // Redis deletes the key at its expiry, so a present key is live (by the server's clock).
    return this.#call("used", async () => {
      const count = parseCount(await this.#send(["GET", this.prefix + key]));
      if (count < 0) throw corruptCount(count, `Redis (${this.prefix}*)`);
      return count;
    });
  }

  async revoke(key: string, expiresAtSec: number, nowMs: number): Promise<void> {
    const expiresAtMs = redisExpiryMs("revoke", expiresAtSec, nowMs);
    if (tokenExpired(expiresAtSec, nowMs)) return;
    await this.#script("revoke", REVOKE_SHA1, REVOKE_SCRIPT, key, [String(REVOKED_COUNT), String(expiresAtMs)]);
  }

  close(): Promise<void> {
    // A second close() is the first one's promise: it must not report closed while the first still waits.
    return (this.#closing ??= (async () => {
      this.#closed = true;
      const close = this.#close;
      if (close !== undefined) await bounded("close", this.#timeoutMs, () => close());
    })());
  }

  /**
   * The first and only use of a single-use token: `SET <prefix><key> 1 NX PX <ttl>`, one plain command
   * instead of a script call (which costs the server more than the command itself). "OK" → granted; nil →
   * refused: the key exists, so the use was spent (count 1) or revoked (REVOKED_COUNT). The key left behind
   * is the script's layout, the Python package's: the integer count 1 at `<prefix><key>`. A Python service's
   * script on it INCRs 1 → 2 > 1 and refuses; usesInfo (GET) reads 1; a later script call with a higher
   * limit would count on from 1 and keep this expiry.
   *
   * Only the expiry differs: relative (`PX expiresAtSec*1000 - nowMs`, by the app's clock), where the script
   * sets an absolute `PEXPIREAT`. They differ by the app/server clock skew (plus the request's transit),
   * which COUNTER_GRACE_SECONDS covers. Relative on purpose: `SET … NX PXAT <t>` with t already past by the
   * server's clock answers OK and deletes the key, a grant that leaves no trace, so a second use would be
   * granted too. A relative ttl is always in the future once `ttlMs > 0`, which the caller has checked
   * (expired by the app's clock → refused without touching Redis). Never retried, like the script.
   */
  async #claimOnce(key: string, ttlMs: number): Promise<boolean> {
    // Whole milliseconds, at least 1 (an injected clock may read fractions; PX takes an integer > 0).
    const px = String(Math.ceil(ttlMs));
    const reply = await this.#call("consume", () => this.#send(["SET", this.prefix + key, "1", "NX", "PX", px]));
    if (reply === "OK") return true;
    if (reply === null) return false;
    throw new TempIDStoreError(`consume got an unexpected reply from Redis: ${String(reply)}`);
  }

  #script(what: string, sha: string, script: string, key: string, args: string[]): Promise<unknown> {
    return this.#call(what, async (call) => {
      const keyed = ["1", this.prefix + key, ...args];
      try {
        return await this.#send(["EVALSHA", sha, ...keyed]);
      } catch (err) {
        // Only an unknown script is re-sent (as EVAL, which also caches it); anything else may have run.
        // Not after a timeout: the caller has been told it failed, so nothing may count for it later.
        // Nor once the store is closed: a closed store sends nothing more.
        if (!isNoScript(err) || call.timedOut) throw err;
        if (this.#closed) throw closedError();
        return await this.#send(["EVAL", script, ...keyed]);
      }
    });
  }

  #call<T>(what: string, run: (call: BoundedCall) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    return bounded(what, this.#timeoutMs, run);
  }
}

/**
 * The expiry as the whole unix milliseconds (rounded up) sent to Redis, checked before anything is sent.
 * The scripts write first (INCR, or the revoke's SET) and set the expiry after: an expiry Redis refuses
 * (not an integer, or past 2^53 where String() stops writing digits) would fail the script half-way and
 * leave a counter that never expires, which later uses would count on. A clock reading that is not a
 * finite number is refused too: it would make every token look unexpired.
 */
function redisExpiryMs(what: string, expiresAtSec: number, nowMs: number): number {
  const ms = Math.ceil(expiresAtSec * 1000);
  if (!Number.isSafeInteger(ms) || !Number.isFinite(nowMs)) {
    throw new TempIDStoreError(
      `${what}: the expiry (${String(expiresAtSec)} s) or the clock (${String(nowMs)} ms) is not a time Redis can take; nothing was sent`,
    );
  }
  return ms;
}

/** A use-count store on Redis through a node-redis or ioredis client. */
export function redisStore(client: NodeRedisLike | IoredisLike, options: RedisStoreOptions = {}): RedisUseStore {
  checkOptionKeys(options, REDIS_STORE_OPTION_KEYS, "redisStore");
  return new RedisUseStore(client, options);
}
