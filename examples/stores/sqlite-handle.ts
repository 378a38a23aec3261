import Database from "better-sqlite3";
import { createTempID } from "@tempid/core";
import { sqliteStore } from "@tempid/core/sqlite";

// Or hand it your own database (better-sqlite3, bun:sqlite or node:sqlite): it stays yours to close.
const db = new Database("./app.db");
const tempid = createTempID({ store: sqliteStore(db, { table: "login_link_uses" }) });

const link = await tempid.new("10m", { maxUses: 1 });
console.log(await link.use()); // true
db.close();
