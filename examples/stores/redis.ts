import { createClient } from "redis";
import { createTempID } from "@tempid/core";
import { redisStore } from "@tempid/core/redis";

// node-redis (v4/v5). Counters are keys tempid:<key> that Redis deletes by itself after the token expires.
const redis = await createClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" }).connect();
const tempid = createTempID({ store: redisStore(redis) });

const tid = await tempid.new("15m", { maxUses: 2 });
console.log(await tid.use()); // true
console.log(await tid.usesInfo()); // { total: 2, used: 1, left: 1 }
await redis.close();
