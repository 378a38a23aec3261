import { createStore, get, update } from "idb-keyval";
import { createTempID, generateSecret } from "@tempid/core";
import { idbStore } from "@tempid/core/idb";

// Browser code (a page, a PWA, an extension, a worker). Counts live in this browser profile's IndexedDB
// (database "tempid", object store "uses"): every tab of the origin shares them; other devices,
// browsers and profiles do not, and clearing site data resets them.
const store = idbStore();

// The secret lives on this device too (one per profile, created once even if two tabs race), so these
// limits stop double clicks and replays inside the app, not a user who opens the devtools.
const keys = createStore("my-app", "keys");
await update<string>("tempid-secret", (old) => old ?? generateSecret(), keys);
const tempid = createTempID({ secret: (await get<string>("tempid-secret", keys))!, store });

const tid = await tempid.new("15m", { maxUses: 1 });
console.log(await tid.use()); // true
console.log(await tid.use()); // false: spent, in every tab of this origin
await store.close(); // closes the "tempid" database it opened
