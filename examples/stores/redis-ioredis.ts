import { Redis } from "ioredis";
import { createTempID } from "@tempid/core";
import { redisStore } from "@tempid/core/redis";

// ioredis (a Redis or a Cluster). `prefix` changes the key prefix (default "tempid:").
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const tempid = createTempID({ store: redisStore(redis, { prefix: "myapp:uses:" }) });

const tid = await tempid.new("15m", { maxUses: 1 });
console.log(await tid.use()); // true
redis.disconnect();
