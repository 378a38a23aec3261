import pg from "pg";
import { createTempID, TempIDStoreError } from "@tempid/core";
import { postgresStore } from "@tempid/core/postgres";

// A store that cannot answer fails the call: never a grant, never a silent fallback to memory.
const pool = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:1/test", connectionTimeoutMillis: 2000 });
const tempid = createTempID({ store: postgresStore(pool, { timeoutMs: 3000 }) });

const tid = await tempid.new("15m", { maxUses: 1 });
try {
  await tid.use();
} catch (err) {
  if (!(err instanceof TempIDStoreError)) throw err;
  console.log(err.code, "-", err.message); // ERR_TEMPID_STORE: answer 503 and let the client retry
}
await pool.end();
