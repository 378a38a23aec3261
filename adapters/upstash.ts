/**
 * Upstash Redis use-count store for edge and serverless code, through `@upstash/redis` (REST over HTTPS;
 * pass `Redis.fromEnv(...)` or your own instance). Keys, expiry and Lua scripts are the Redis adapter's
 * (redis-script.ts), so a server on TCP Redis, an edge function on Upstash and the Python package can share
 * one database: one `EVALSHA` per consume, `EVAL` only after a `NOSCRIPT` reply; a single-use token's
 * consume is one `SET key 1 NX PX ttl` instead (the Redis adapter's fast path, no script).
 *
 * Needs no Node API. Every call is bounded by `timeoutMs` and never retried by this store. The client's
 * own retries are the catch: @upstash/redis re-sends a request after a network error (5 times by default),
 * and a connection that drops after the script ran would then count one use several times. So the store
 * refuses a client that retries, unless told otherwise (`allowClientRetries`).
 */
import { TempIDConfigError } from "@tempid/core";
import { type RedisStoreOptions, RedisUseStore } from "./redis.js";
import { type OptionKeys, checkBoolean, checkOptionKeys } from "./store-kit.js";

/** All we need from an `@upstash/redis` client (`Redis` from the Node, Cloudflare or Fastly entry). */
export interface UpstashRedisLike {
  evalsha(sha1: string, keys: string[], args: string[]): Promise<unknown>;
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  get(key: string): Promise<unknown>;
  /** `SET key value NX PX ms`: the single-use fast path. Resolves "OK" when set, null when the key exists. */
  set(key: string, value: string, opts: { nx: true; px: number }): Promise<unknown>;
}

export interface UpstashStoreOptions {
  /** Key prefix. Default `tempid:`, the Python package's and the Redis adapter's. */
  prefix?: string;
  /** Bound on each call in ms (default 5,000). A consume past it is abandoned, never re-sent. */
  timeoutMs?: number;
  /**
   * Accept a client configured to retry after network errors. Default false: such a retry may run the
   * consume script twice for one use. Create the client with `retry: { retries: 0 }` instead
   * (`retry: false` still retries once in @upstash/redis 1.x).
   */
  allowClientRetries?: boolean;
}

/** The keys of `UpstashStoreOptions`: anything else is refused as a misspelling. */
const UPSTASH_STORE_OPTION_KEYS: OptionKeys<UpstashStoreOptions> = { prefix: true, timeoutMs: true, allowClientRetries: true };

/** A use-count store on Upstash Redis. */
export function upstashStore(redis: UpstashRedisLike, options: UpstashStoreOptions = {}): RedisUseStore {
  checkOptionKeys(options, UPSTASH_STORE_OPTION_KEYS, "upstashStore");
  const allowClientRetries = checkBoolean(options.allowClientRetries, "allowClientRetries", false);
  if (
    typeof redis !== "object" ||
    redis === null ||
    typeof redis.evalsha !== "function" ||
    typeof redis.eval !== "function" ||
    typeof redis.set !== "function"
  ) {
    throw new TempIDConfigError("upstashStore takes a Redis client from @upstash/redis");
  }
  const retries = clientRetries(redis);
  if (retries > 0 && !allowClientRetries) {
    throw new TempIDConfigError(
      `this @upstash/redis client re-sends requests after network errors (retry attempts: ${retries}), which can count one use ` +
        "twice; create it with `retry: { retries: 0 }`, e.g. Redis.fromEnv({ retry: { retries: 0 } })",
    );
  }
  const storeOptions: RedisStoreOptions = { closeClient: false };
  if (options.prefix !== undefined) storeOptions.prefix = options.prefix;
  if (options.timeoutMs !== undefined) storeOptions.timeoutMs = options.timeoutMs;
  return new RedisUseStore({ sendCommand: (args) => send(redis, args) }, storeOptions);
}

/**
 * Maps the Redis adapter's few commands onto the client's typed methods (which auto-pipelining batches:
 * concurrent uses share one HTTP request, each still one atomic script).
 */
function send(redis: UpstashRedisLike, args: string[]): Promise<unknown> {
  const [command, ...rest] = args;
  switch (command) {
    case "EVALSHA":
    case "EVAL": {
      const [body, numKeys, ...tail] = rest;
      const n = Number(numKeys);
      const keys = tail.slice(0, n);
      const argv = tail.slice(n);
      return command === "EVALSHA" ? redis.evalsha(body as string, keys, argv) : redis.eval(body as string, keys, argv);
    }
    case "GET":
      return redis.get(rest[0] as string);
    case "SET": {
      // Only the Redis adapter's `SET key value NX PX ms`.
      const [key, value, nx, px, ms] = rest;
      if (nx !== "NX" || px !== "PX") return Promise.reject(new Error("upstash store: unsupported SET form"));
      return redis.set(key as string, value as string, { nx: true, px: Number(ms) });
    }
    default:
      return Promise.reject(new Error(`upstash store: unsupported command ${String(command)}`));
  }
}

/**
 * How many times the client re-sends a failed request. @upstash/redis keeps this on its HTTP client
 * (`retry.attempts`, where 0 means one try); a custom requester without it is trusted to send once.
 */
function clientRetries(redis: UpstashRedisLike): number {
  const attempts = (redis as { client?: { retry?: { attempts?: unknown } } }).client?.retry?.attempts;
  return typeof attempts === "number" && attempts > 0 ? attempts : 0;
}
