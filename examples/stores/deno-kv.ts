// deno run --unstable-kv --allow-env=TEMPID_SECRET --allow-read=. --allow-write=. examples/stores/deno-kv.ts
import { createTempID } from "@tempid/core";
import { denoKvStore } from "@tempid/core/deno-kv";

// A local file under the Deno CLI: every handle and process that opens it counts together.
// On Deno Deploy, Deno.openKv() with no argument opens the project's managed database.
const kv = await Deno.openKv("./tempid-kv.sqlite3");
const tempid = createTempID({ store: denoKvStore(kv) });

const tid = await tempid.new("15m", { maxUses: 2 });
console.log(await tid.use()); // true
console.log(await tid.use()); // true
console.log(await tid.use()); // false: both uses spent, recorded in Deno KV
console.log(await tid.usesInfo()); // { total: 2, used: 2, left: 0 }
kv.close(); // the handle is yours: the store never closes it (unless created with closeClient: true)
