import { createTempID } from "@tempid/core";
import { sqliteStore } from "@tempid/core/sqlite";

// One file for every process on this machine; counts survive restarts.
// Opens it with better-sqlite3 (Node), bun:sqlite (Bun) or node:sqlite (Node >= 22.5).
const store = sqliteStore("./tempid.db");
const tempid = createTempID({ store });

const tid = await tempid.new("15m", { maxUses: 1 });
console.log(await tid.use()); // true
console.log(await tid.use()); // false: spent, and recorded in ./tempid.db
await store.close(); // closes the file it opened
