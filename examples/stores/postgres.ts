import pg from "pg";
import { createTempID } from "@tempid/core";
import { postgresStore } from "@tempid/core/postgres";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test" });
// The table tempid_uses is created on first use (or by `await store.migrate()` at deploy time).
const store = postgresStore(pool);
const tempid = createTempID({ store });

const invite = await tempid.new("7d", { maxUses: 5 });
console.log(await invite.use()); // true: counted in PostgreSQL, shared by every server
console.log(await invite.usesInfo()); // { total: 5, used: 1, left: 4 }
await pool.end(); // the pool is yours: the store never closes it
