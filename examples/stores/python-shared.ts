import { createClient } from "redis";
import { createTempID } from "@tempid/core";
import { redisStore } from "@tempid/core/redis";

// A Python service (tempid 2.x) and this one share tokens and use counts: same secret, format "v2",
// and the store's default layout, which is the Python package's.
const redis = await createClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" }).connect();
const tempid = createTempID({ secret: "the-secret-the-python-service-uses", format: "v2", store: redisStore(redis) });

const tid = await tempid.new("15m", { maxUses: 1 });
console.log(await tid.use()); // true
console.log(await redis.get(`tempid:${tid.counterKey}`)); // "1": the key and value Python reads
await redis.close();
