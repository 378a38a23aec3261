import mysql from "mysql2/promise";
import { createTempID } from "@tempid/core";
import { mysqlStore } from "@tempid/core/mysql";

// MySQL or MariaDB, through a mysql2 promise pool (or connection).
const pool = mysql.createPool(process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test");
const tempid = createTempID({ store: mysqlStore(pool) });

const reset = await tempid.new("30m", { maxUses: 1 });
console.log(await reset.use()); // true
console.log(await reset.use()); // false
await pool.end();
