import postgres from "postgres";
import { createTempID } from "@tempid/core";
import { postgresStore } from "@tempid/core/postgres";

// postgres.js works the same way.
const sql = postgres(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test");
const tempid = createTempID({ store: postgresStore(sql) });

const tid = await tempid.new("1h", { maxUses: 3 });
console.log(await tid.use()); // true
await sql.end();
