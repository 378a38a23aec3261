/**
 * The SQL of the use-count table, shared by every SQL store: SQLite, PostgreSQL and MySQL/MariaDB here, and
 * their HTTP cousins (Neon speaks the PostgreSQL dialect, PlanetScale the MySQL one).
 *
 * Layout (the Python package's, so both share counts): `tempid_uses(token_id, count, expires_at)`, with
 * `expires_at` in unix seconds. We add an index on `expires_at` for the purge; Python ignores it.
 * `expires_at` is BIGINT on PostgreSQL/MySQL: tokens may expire after 2038, past a 32-bit INTEGER.
 *
 * Every value is bound as a parameter; only the table name (checked by `checkIdentifier`) and our own
 * integers are spliced into the text.
 */
import { REVOKED_COUNT } from "@tempid/core";

export type SqlDialect = "sqlite" | "postgres" | "mysql";

export const DEFAULT_TABLE = "tempid_uses";

/** Added to the negated count of a corrupt MySQL row to make the consume's insert id (above REVOKED_COUNT). */
const NEGATIVE_BASE = 2 ** 31;

/** One statement ready for a driver: text with the dialect's placeholders, and its arguments in order. */
export interface SqlStatement {
  readonly sql: string;
  readonly args: readonly (string | number)[];
  /** The statement returns a result set (SELECT, or INSERT … RETURNING). */
  readonly returnsRows: boolean;
}

interface Compiled {
  readonly sql: string;
  readonly names: readonly string[];
}

/**
 * Turns `{name}` / `{name:type}` markers into `$n` (PostgreSQL, with `::type` casts so untyped text
 * parameters and postgres.js's guesses land on the column types) or `?` (SQLite, MySQL).
 */
function compile(dialect: SqlDialect, text: string): Compiled {
  const names: string[] = [];
  const sql = text.replace(/\{(\w+)(?::(\w+))?\}/g, (_m, name: string, type: string | undefined) => {
    if (dialect === "postgres") {
      let index = names.indexOf(name);
      if (index === -1) index = names.push(name) - 1;
      return `$${index + 1}${type ? `::${type}` : ""}`;
    }
    names.push(name);
    return "?";
  });
  return { sql: sql.replace(/\s+/g, " ").trim(), names };
}

function bind(compiled: Compiled, values: Record<string, string | number>, returnsRows = false): SqlStatement {
  return { sql: compiled.sql, args: compiled.names.map((name) => values[name] as string | number), returnsRows };
}

/** The statements of one use-count table in one dialect. */
export class UseTableSql {
  readonly dialect: SqlDialect;
  readonly table: string;
  readonly #quoted: string;
  readonly #consume: Compiled;
  readonly #consumeLive: Compiled | undefined;
  readonly #used: Compiled;
  readonly #revoke: Compiled;
  readonly #purgeText: string;
  readonly #purge = new Map<number, Compiled>();

  constructor(dialect: SqlDialect, table: string) {
    this.dialect = dialect;
    this.table = table;
    const q = dialect === "mysql" ? "`" : '"';
    const t = (this.#quoted = `${q}${table}${q}`);

    if (dialect === "mysql") {
      // No RETURNING on an upsert here. The outcome is read from the OK packet instead: a fresh insert
      // reports 1 affected row and insert id 0; a granted update changes the row (2 affected rows); a
      // refusal leaves it unchanged (0 rows, or 1 with the CLIENT_FOUND_ROWS flag mysql2 sets by default)
      // and LAST_INSERT_ID(count) makes its insert id the count, which is >= 1 — so never mistaken for an insert.
      // A live row with a negative count (corrupt: see `mysqlCorruptCount`) is left as it is, and its insert
      // id set to 2^31 - count, above REVOKED_COUNT, so the store can refuse it and name the value
      // (IF evaluates only the branch it takes, so one LAST_INSERT_ID runs).
      // Assignments run left to right: `count` is computed while `expires_at` still holds the old value.
      this.#consume = compile(
        dialect,
        `INSERT INTO ${t} (token_id, count, expires_at) VALUES ({key}, 1, {exp})
         ON DUPLICATE KEY UPDATE
           count = IF(expires_at > {now} AND count < 0,
             IF(LAST_INSERT_ID(${NEGATIVE_BASE} - count) > 0, count, count),
             LAST_INSERT_ID(IF(expires_at <= {now}, 1, IF(count < {limit}, count + 1, count)))),
           expires_at = IF(expires_at <= {now}, VALUES(expires_at), expires_at)`,
      );
      this.#revoke = compile(
        dialect,
        `INSERT INTO ${t} (token_id, count, expires_at) VALUES ({key}, ${REVOKED_COUNT}, {exp})
         ON DUPLICATE KEY UPDATE count = VALUES(count), expires_at = VALUES(expires_at)`,
      );
      this.#purgeText = `DELETE FROM ${t} WHERE expires_at <= {now} LIMIT {batch}`;
      this.#consumeLive = undefined;
    } else {
      // One statement: insert the first use, or bump a live row below the limit, or restart an expired
      // row; a refused use updates nothing and returns no row. A live row with a negative count (corrupt)
      // is rewritten unchanged and returned, so the store sees its count (< 1) and refuses with an error.
      this.#consume = compile(
        dialect,
        `INSERT INTO ${t} AS u (token_id, count, expires_at) VALUES ({key:text}, 1, {exp:bigint})
         ON CONFLICT (token_id) DO UPDATE SET
           count = CASE WHEN u.expires_at <= {now:bigint} THEN 1 WHEN u.count < 0 THEN u.count ELSE u.count + 1 END,
           expires_at = CASE WHEN u.expires_at <= {now:bigint} THEN excluded.expires_at ELSE u.expires_at END
         WHERE u.expires_at <= {now:bigint} OR u.count < {limit:integer}
         RETURNING count`,
      );
      // SQLite only: the common case (a first use, or a live row below the limit) without assigning
      // expires_at. SQLite rewrites the expires_at index entry of every row an UPDATE assigns that column,
      // even to the value it already holds; that was ~40% of a use (12 of 30 µs, measured). PostgreSQL
      // compares the values (a HOT update) and pays a round trip per statement, so it keeps the one
      // statement. When this grants nothing (expired row, or at the limit), `consume` decides.
      this.#consumeLive =
        dialect === "sqlite"
          ? compile(
              dialect,
              `INSERT INTO ${t} AS u (token_id, count, expires_at) VALUES ({key}, 1, {exp})
               ON CONFLICT (token_id) DO UPDATE SET count = u.count + 1
               WHERE u.expires_at > {now} AND u.count >= 0 AND u.count < {limit}
               RETURNING count`,
            )
          : undefined;
      this.#revoke = compile(
        dialect,
        `INSERT INTO ${t} AS u (token_id, count, expires_at) VALUES ({key:text}, ${REVOKED_COUNT}, {exp:bigint})
         ON CONFLICT (token_id) DO UPDATE SET count = excluded.count, expires_at = excluded.expires_at`,
      );
      // PostgreSQL and stock SQLite have no DELETE … LIMIT: bound the batch through a sub-select.
      this.#purgeText = `DELETE FROM ${t} WHERE token_id IN
           (SELECT token_id FROM ${t} WHERE expires_at <= {now:bigint} LIMIT {batch})`;
    }
    this.#used = compile(
      dialect,
      `SELECT count FROM ${t} WHERE token_id = {key:text} AND expires_at > {now:bigint}`,
    );
  }

  /** Idempotent DDL, in order. Concurrent runs from several processes are safe (see each adapter). */
  migrate(): string[] {
    const t = this.#quoted;
    const index = `${this.table}_expires_at_idx`;
    switch (this.dialect) {
      case "sqlite":
        return [
          `CREATE TABLE IF NOT EXISTS ${t} (token_id TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL DEFAULT 0)`,
          `CREATE INDEX IF NOT EXISTS "${index}" ON ${t} (expires_at)`,
        ];
      case "postgres":
        // Checked with to_regclass rather than IF NOT EXISTS, whose "already exists, skipping" NOTICE
        // postgres.js prints on every start. Two processes may both see it missing: the loser's
        // duplicate-object error is ignored by the adapter.
        return [
          `DO $$ BEGIN IF to_regclass('${t}') IS NULL THEN CREATE TABLE ${t} (token_id TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0, expires_at BIGINT NOT NULL DEFAULT 0); END IF; END $$`,
          `DO $$ BEGIN IF to_regclass('"${index}"') IS NULL THEN CREATE INDEX "${index}" ON ${t} (expires_at); END IF; END $$`,
        ];
      case "mysql":
        // ascii_bin: keys are ASCII and case matters (a default *_ci collation would fold them).
        // The second statement adds the index to a table the Python package created; the adapter
        // ignores "duplicate key name" (MySQL has no CREATE INDEX IF NOT EXISTS).
        return [
          `CREATE TABLE IF NOT EXISTS ${t} (token_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, count INT NOT NULL DEFAULT 0, expires_at BIGINT NOT NULL DEFAULT 0, INDEX \`${index}\` (expires_at))`,
          `CREATE INDEX \`${index}\` ON ${t} (expires_at)`,
        ];
    }
  }

  /**
   * MySQL only: counts AUTO_INCREMENT columns of the table. The MySQL consume reads a grant from the insert id
   * (see the statement), which such a column would fill: a table with one cannot be used.
   */
  autoIncrementColumns(): SqlStatement | undefined {
    if (this.dialect !== "mysql") return undefined;
    return bind(
      compile(
        "mysql",
        `SELECT COUNT(*) AS n FROM information_schema.columns
         WHERE table_schema = DATABASE() AND table_name = {table} AND extra LIKE '%auto_increment%'`,
      ),
      { table: this.table },
      true,
    );
  }

  /**
   * Spends one use. SQLite/PostgreSQL: granted when it returns a row, unless that row's count is below 1
   * (a corrupt negative count, left unchanged). MySQL: see `mysqlCorruptCount`, then `mysqlGranted`.
   */
  consume(key: string, limit: number, expiresAtSec: number, nowSec: number): SqlStatement {
    return bind(this.#consume, { key, limit, exp: expiresAtSec, now: nowSec }, this.dialect !== "mysql");
  }

  /**
   * SQLite only (undefined elsewhere): grants a first use or a use of a live row below the limit, without
   * touching `expires_at`; returns a row when granted. When it returns none, `consume` must run: the row
   * is expired (restart it) or at the limit (refuse). Each statement is atomic on its own and only the
   * one that changes the row grants, so the pair counts exactly as the single statement does.
   */
  consumeLive(key: string, limit: number, expiresAtSec: number, nowSec: number): SqlStatement | undefined {
    if (this.#consumeLive === undefined) return undefined;
    return bind(this.#consumeLive, { key, limit, exp: expiresAtSec, now: nowSec }, true);
  }

  /** The live count of `key` (no row when unknown or expired). Read-only. */
  used(key: string, nowSec: number): SqlStatement {
    return bind(this.#used, { key, now: nowSec }, true);
  }

  revoke(key: string, expiresAtSec: number): SqlStatement {
    return bind(this.#revoke, { key, exp: expiresAtSec });
  }

  /** Deletes at most `batch` expired rows; the driver's affected-row count says how many. */
  purge(nowSec: number, batch: number): SqlStatement {
    // The batch is our own checked integer, spliced in: a bound LIMIT trips up MySQL prepared statements.
    if (!Number.isSafeInteger(batch) || batch < 1) throw new RangeError("purge batch must be a positive integer");
    let compiled = this.#purge.get(batch);
    if (compiled === undefined) {
      compiled = compile(this.dialect, this.#purgeText.replace("{batch}", String(batch)));
      this.#purge.set(batch, compiled);
    }
    return bind(compiled, { now: nowSec });
  }
}

/**
 * Reads a MySQL consume's insert id for a live row with a negative count: the statement left such a row as
 * it was and set the insert id to 2^31 - count. Returns that count, or undefined for any other outcome
 * (an insert id of at most REVOKED_COUNT). Check it before `mysqlGranted`.
 */
export function mysqlCorruptCount(insertId: number | string | bigint): number | undefined {
  const id = mysqlInsertId(insertId);
  return id > REVOKED_COUNT ? NEGATIVE_BASE - id : undefined;
}

/** Reads a MySQL consume's OK packet (see the statement): granted on insert or on a changed row. */
export function mysqlGranted(affectedRows: number, insertId: number | string | bigint): boolean {
  if (affectedRows === 2) return true;
  return affectedRows === 1 && mysqlInsertId(insertId) === 0;
}

/**
 * An OK packet's insert id: a whole number, or its decimal text (PlanetScale's JSON). Anything else is an
 * error, never read as 0: `Number("")`, `Number(null)` and `Number("0x0")` are 0, and a refusal (insert id =
 * the count) read as 0 is a grant.
 */
function mysqlInsertId(value: unknown): number {
  const n = typeof value === "bigint" ? Number(value) : typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new Error(`unexpected insert id ${JSON.stringify(String(value))}`);
  return n;
}

/** MySQL error numbers the MySQL migration tolerates: the index already exists. */
export const MYSQL_DUPLICATE_KEY_NAME = 1061;

/** PostgreSQL error codes a concurrent `CREATE … IF NOT EXISTS` can raise although the object now exists. */
export const PG_CONCURRENT_CREATE_CODES: readonly string[] = ["23505", "42P07", "42710"];

/** A row's count as a number (drivers return INTEGER as number, bigint or string). */
export function toCount(value: unknown): number {
  // Decimal text only (an int8 from PostgreSQL): Number() also reads " 1 ", "0x1" and "1e0".
  const n = typeof value === "bigint" ? Number(value) : typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) throw new Error(`unexpected count value ${String(value)}`);
  return n;
}
