import pg from "pg";
import { postgresStore } from "@tempid/core/postgres";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test" });

// At deploy time: create the table and its index (idempotent; safe if several instances run it at once).
await postgresStore(pool).migrate();

// In the app: skip the first-use check, since the table is known to exist.
const store = postgresStore(pool, { autoMigrate: false });

// Expired rows are deleted a batch at a time by normal traffic; a cron job may also purge them all.
console.log("purged", await store.purgeExpired(), "expired rows");
await pool.end();
