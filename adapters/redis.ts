/**
 * Redis use-count store over the user's own client: node-redis (`redis` v4/v5) or ioredis.
 *
 * Consume is one Lua script (EVALSHA, EVAL only on NOSCRIPT): Redis runs scripts one at a time, so it is
 * exact across connections, processes and servers. Counters expire by themselves (PEXPIREAT).
 */
import { type UseStore, REVOKED_COUNT, TempIDConfigError, TempIDStoreError } from "@tempid/core";
import { CONSUME_SCRIPT, CONSUME_SHA1, DEFAULT_PREFIX, REVOKE_SCRIPT, REVOKE_SHA1, isNoScript, parseCount } from "./redis-script.js";
import { type BoundedCall, DEFAULT_TIMEOUT_MS, bounded, checkPositiveInt, tokenExpired } from "./store-kit.js";

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

/** A use-count store on Redis. */
export class RedisUseStore implements UseStore {
  readonly prefix: string;
  readonly #send: (args: string[]) => Promise<unknown>;
  readonly #close: (() => Promise<unknown>) | undefined;
  readonly #timeoutMs: number;
  #closed = false;

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
    const end = typeof c.close === "function" ? c.close : c.quit;
    this.#close = options.closeClient === true && typeof end === "function" ? end.bind(c) : undefined;
  }

  async consume(key: string, limit: number, expiresAtSec: number, nowMs: number): Promise<boolean> {
    if (tokenExpired(expiresAtSec, nowMs) || limit < 1) return false;
    const reply = await this.#script("consume", CONSUME_SHA1, CONSUME_SCRIPT, key, [String(limit), String(expiresAtSec * 1000)]);
    if (reply !== 1 && reply !== 0) throw new TempIDStoreError(`consume got an unexpected reply from Redis: ${String(reply)}`);
    return reply === 1;
  }

  async used(key: string, _nowMs: number): Promise<number> {
    // Redis deletes the key at its expiry, so a present key is live (by the server's clock).
    return this.#call("used", async () => parseCount(await this.#send(["GET", this.prefix + key])));
  }

  async revoke(key: string, expiresAtSec: number, nowMs: number): Promise<void> {
    if (tokenExpired(expiresAtSec, nowMs)) return;
    await this.#script("revoke", REVOKE_SHA1, REVOKE_SCRIPT, key, [String(REVOKED_COUNT), String(expiresAtSec * 1000)]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const close = this.#close;
    if (close !== undefined) await bounded("close", this.#timeoutMs, () => close());
  }

  #script(what: string, sha: string, script: string, key: string, args: string[]): Promise<unknown> {
    return this.#call(what, async (call) => {
      const keyed = ["1", this.prefix + key, ...args];
      try {
        return await this.#send(["EVALSHA", sha, ...keyed]);
      } catch (err) {
        // Only an unknown script is re-sent (as EVAL, which also caches it); anything else may have run.
        // Not after a timeout: the caller has been told it failed, so nothing may count for it later.
        if (!isNoScript(err) || call.timedOut) throw err;
        return await this.#send(["EVAL", script, ...keyed]);
      }
    });
  }

  #call<T>(what: string, run: (call: BoundedCall) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new TempIDStoreError("this store is closed"));
    return bounded(what, this.#timeoutMs, run);
  }
}

/** A use-count store on Redis through a node-redis or ioredis client. */
export function redisStore(client: NodeRedisLike | IoredisLike, options: RedisStoreOptions = {}): RedisUseStore {
  return new RedisUseStore(client, options);
}
