import { MongoClient } from "mongodb";
import { createTempID, TempIDStoreError } from "@tempid/core";
import { mongoStore } from "@tempid/core/mongodb";

// Database "tempid", collection "uses" by default (the Python package's); a Db or a Collection works too.
const client = new MongoClient(process.env.MONGO_URL ?? "mongodb://127.0.0.1:27017", { serverSelectionTimeoutMS: 3000 });
const tempid = createTempID({ store: mongoStore(client) });

try {
  const tid = await tempid.new("15m", { maxUses: 1 });
  console.log(await tid.use()); // true
} catch (err) {
  if (!(err instanceof TempIDStoreError)) throw err;
  console.log("no MongoDB server reachable:", err.message); // never a silent grant
} finally {
  await client.close();
}
