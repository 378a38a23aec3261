import { describe, expect, it } from "vitest";
import { TempIDConfigError, TempIDStoreError } from "@tempid/core";
import { d1Store } from "@tempid/core/d1";
import { denoKvStore } from "@tempid/core/deno-kv";
import { durableObjectStore } from "@tempid/core/durable-object";
import { idbStore } from "@tempid/core/idb";
import { mongoStore } from "@tempid/core/mongodb";
import { mysqlStore } from "@tempid/core/mysql";
import { neonStore } from "@tempid/core/neon";
import { planetscaleStore } from "@tempid/core/planetscale";
import { postgresStore } from "@tempid/core/postgres";
import { redisStore } from "@tempid/core/redis";
import { sqliteStore } from "@tempid/core/sqlite";
import { upstashStore } from "@tempid/core/upstash";
import { type SqlRunner, SqlUseStore } from "../../adapters/sql-store.js";
import { bounded, checkBoolean, checkOptionKeys, editDistance } from "../../adapters/store-kit.js";
import { FakeMongoCollection } from "../support/fake-mongo.js";

const never = () => new Promise<never>(() => undefined);

async function timeoutMessage(call: Promise<unknown>): Promise<string> {
  const err = await call.then(
    (value) => new Error(`resolved with ${String(value)}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TempIDStoreError);
  return (err as Error).message;
}

// Found by the breaker: every timeout said "it may still have counted", even for used() and close().
describe("a timed-out store call says what is true of that operation", () => {
  it("consume may still count once, later; used, revoke, close, migrate and purges never count", async () => {
    expect(await timeoutMessage(bounded("consume", 10, never))).toBe(
      "consume timed out after 10 ms (not retried; it may still count once, later: that use is lost, never granted)",
    );
    expect(await timeoutMessage(bounded("used", 10, never))).toBe("used timed out after 10 ms (not retried; a read, it changed nothing)");
    expect(await timeoutMessage(bounded("revoke", 10, never))).toBe(
      "revoke timed out after 10 ms (not retried; the revocation may still land later, or not at all: revoking again is safe)",
    );
    expect(await timeoutMessage(bounded("close", 10, never))).toBe(
      "close timed out after 10 ms (the store refuses further calls; closing its client may still finish in the background)",
    );
    for (const what of ["used", "revoke", "close", "migrate", "purge", "purgeExpired"]) {
      expect(await timeoutMessage(bounded(what, 10, never))).not.toMatch(/count(ed)? once|have counted/);
    }
    // An operation without a note of its own gets a neutral one, never a claim about counting.
    expect(await timeoutMessage(bounded("toString", 10, never))).toBe("toString timed out after 10 ms (not retried; it may still complete on the server)");
  });

  it("through a SQL store: each method's timeout carries its own wording", async () => {
    const runner: SqlRunner = { run: never, ddl: never, alreadyExists: () => false, closeOwned: never };
    const store = new SqlUseStore("postgres", runner, { timeoutMs: 20, autoMigrate: false });
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(await timeoutMessage(store.consume("k", 1, exp, Date.now()))).toMatch(/^consume timed out .*may still count once, later/);
    expect(await timeoutMessage(store.used("k", Date.now()))).toMatch(/^used timed out .*it changed nothing\)$/);
    expect(await timeoutMessage(store.revoke("k", exp, Date.now()))).toMatch(/^revoke timed out .*revoking again is safe\)$/);
    expect(await timeoutMessage(store.migrate())).toMatch(/^migrate timed out .*migrate\(\) again is safe\)$/);
    expect(await timeoutMessage(store.close())).toMatch(/^close timed out .*the store refuses further calls/);
    await expect(store.used("k", Date.now())).rejects.toThrow("this store is closed");
  });

  it("through the MongoDB store: used() on a hung server changed nothing", async () => {
    const c = new FakeMongoCollection();
    c.hang = true;
    const store = mongoStore(c, { autoMigrate: false, timeoutMs: 20 });
    expect(await timeoutMessage(store.used("k", Date.now()))).toBe("used timed out after 20 ms (not retried; a read, it changed nothing)");
  });

  it("a consume abandoned during a slow first migration sends no statement afterwards", async () => {
    let release!: () => void;
    const slowDdl = new Promise<void>((resolve) => (release = resolve));
    const sent: string[] = [];
    const runner: SqlRunner = {
      run: (statement) => (sent.push(statement.sql), { rows: [{ count: 1 }], affectedRows: 1 }),
      ddl: () => slowDdl,
      alreadyExists: () => false,
    };
    const store = new SqlUseStore("postgres", runner, { timeoutMs: 20 });
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(await timeoutMessage(store.consume("k", 1, exp, Date.now()))).toMatch(/^consume timed out/);
    release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent).toEqual([]);
  });
});

/** Every store factory, with a client it accepts (never contacted: construction sends nothing). */
const unused = () => Promise.reject(new Error("not contacted"));
const factories: {
  name: string;
  make: (options: unknown) => unknown;
  /** One misspelled option and the key it should suggest. */
  typo: [string, string];
  /** Every documented option, each with a valid value. */
  all: Record<string, unknown>;
  /** Its boolean options: each refuses anything but true or false. */
  booleans: string[];
}[] = [
  {
    name: "sqliteStore",
    make: (o) => sqliteStore({ prepare: () => ({ run: () => ({ changes: 0 }), all: () => [] }), exec: () => undefined }, o as never),
    typo: ["tabel", "table"],
    all: { table: "t_opts", timeoutMs: 1000, autoMigrate: false, purgeEvery: 0, purgeBatch: 10, busyTimeoutMs: 500 },
    booleans: ["autoMigrate"],
  },
  {
    name: "postgresStore",
    make: (o) => postgresStore({ query: unused }, o as never),
    typo: ["prepared", "prepare"],
    all: { table: "t_opts", timeoutMs: 1000, autoMigrate: false, purgeEvery: 0, purgeBatch: 10, closeClient: true, prepare: false },
    booleans: ["autoMigrate", "closeClient", "prepare"],
  },
  {
    name: "mysqlStore",
    make: (o) => mysqlStore({ execute: unused, query: unused }, o as never),
    typo: ["closeclient", "closeClient"],
    all: { table: "t_opts", timeoutMs: 1000, autoMigrate: false, purgeEvery: 0, purgeBatch: 10, closeClient: true },
    booleans: ["autoMigrate", "closeClient"],
  },
  {
    name: "redisStore",
    make: (o) => redisStore({ sendCommand: unused }, o as never),
    typo: ["prefx", "prefix"],
    all: { prefix: "p:", timeoutMs: 1000, closeClient: true },
    booleans: ["closeClient"],
  },
  {
    name: "mongoStore",
    make: (o) => mongoStore({ collection: () => ({ updateOne: unused, findOne: unused, deleteMany: unused, createIndex: unused }) }, o as never),
    typo: ["colection", "collection"],
    all: { collection: "c", database: "d", timeoutMs: 1000, autoMigrate: false, closeClient: true },
    booleans: ["autoMigrate", "closeClient"],
  },
  {
    name: "upstashStore",
    make: (o) => upstashStore({ evalsha: unused, eval: unused, get: unused, set: unused }, o as never),
    typo: ["allowClientRetires", "allowClientRetries"],
    all: { prefix: "p:", timeoutMs: 1000, allowClientRetries: true },
    booleans: ["allowClientRetries"],
  },
  {
    name: "neonStore",
    make: (o) => neonStore(Object.assign(async () => [], { query: unused }), o as never),
    typo: ["automigrate", "autoMigrate"],
    all: { table: "t_opts", timeoutMs: 1000, autoMigrate: true, purgeEvery: 0, purgeBatch: 10 },
    booleans: ["autoMigrate"],
  },
  {
    name: "planetscaleStore",
    make: (o) => planetscaleStore({ execute: unused }, o as never),
    typo: ["purgeEvry", "purgeEvery"],
    all: { table: "t_opts", timeoutMs: 1000, autoMigrate: true, purgeEvery: 0, purgeBatch: 10 },
    booleans: ["autoMigrate"],
  },
  {
    name: "d1Store",
    make: (o) => d1Store({ prepare: () => { throw new Error("not contacted"); } }, o as never),
    typo: ["timeout", "timeoutMs"],
    all: { table: "t_opts", timeoutMs: 1000, autoMigrate: true, purgeEvery: 0, purgeBatch: 10 },
    booleans: ["autoMigrate"],
  },
  {
    name: "durableObjectStore",
    make: (o) => durableObjectStore({ idFromName: (n) => n, get: () => ({ fetch: unused }) }, o as never),
    typo: ["prefixx", "prefix"],
    all: { prefix: "p:", timeoutMs: 1000 },
    booleans: [],
  },
  {
    name: "denoKvStore",
    make: (o) => denoKvStore({ get: unused, atomic: () => { throw new Error("not contacted"); }, close: () => undefined }, o as never),
    typo: ["maxAttempt", "maxAttempts"],
    all: { prefix: "p", timeoutMs: 1000, maxAttempts: 3, closeClient: true },
    booleans: ["closeClient"],
  },
  {
    name: "idbStore",
    make: (o) => idbStore(o as never),
    typo: ["purgeBatches", "purgeBatch"],
    all: { store: (_mode: unknown, _callback: unknown) => unused(), timeoutMs: 1000, purgeEvery: 0, purgeBatch: 10 },
    booleans: [],
  },
];

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(TempIDConfigError);
    return (err as Error).message;
  }
  throw new Error("did not throw");
}

// Found by a fresh-user test: `sqliteStore(db, { tabel: "x" })` was accepted, and the default table used.
describe("every store factory refuses an option it does not know", () => {
  for (const { name, make, typo, all, booleans } of factories) {
    const [wrong, right] = typo;
    it(`${name}: a misspelled option is a TempIDConfigError naming it and the closest known option`, () => {
      expect(configError(() => make({ [wrong]: all[right] }))).toBe(`${name}: unknown option "${wrong}" (did you mean "${right}"?)`);
    });

    it(`${name}: an option nothing is close to lists the known options`, () => {
      expect(configError(() => make({ ...all, zzzzzzzz: 1 }))).toBe(
        `${name}: unknown option "zzzzzzzz" (known options: ${Object.keys(all).join(", ")})`,
      );
    });

    it(`${name}: every documented option is accepted, alone and together; options may be omitted`, () => {
      expect(() => make(undefined)).not.toThrow();
      expect(() => make({})).not.toThrow();
      expect(() => make(all)).not.toThrow();
      for (const [key, value] of Object.entries(all)) expect(() => make({ [key]: value })).not.toThrow();
    });

    // Found by the breaker: d1Store({ autoMigrate: "false" }) (a string from an env var) turned table
    // creation on; denoKvStore({ closeClient: "true" }) was accepted and close() left the handle open.
    it(`${name}: every boolean option (${booleans.join(", ") || "none"}) refuses anything but true or false, naming the option and the type`, () => {
      for (const key of booleans) {
        expect(typeof all[key], `${key} is listed with a boolean value`).toBe("boolean");
        expect(() => make({ [key]: true })).not.toThrow();
        expect(() => make({ [key]: false })).not.toThrow();
        expect(configError(() => make({ [key]: "false" }))).toBe(`${key} must be true or false, not a string ("false")`);
        expect(configError(() => make({ [key]: "true" }))).toBe(`${key} must be true or false, not a string ("true")`);
        expect(configError(() => make({ [key]: 0 }))).toBe(`${key} must be true or false, not a number (0)`);
        expect(configError(() => make({ [key]: 1 }))).toBe(`${key} must be true or false, not a number (1)`);
        expect(configError(() => make({ [key]: null }))).toBe(`${key} must be true or false, not null`);
        expect(configError(() => make({ [key]: {} }))).toBe(`${key} must be true or false, not an object`);
      }
      // Every option given a boolean in the documented list is one of them: none is left unchecked.
      expect(Object.keys(all).filter((key) => typeof all[key] === "boolean")).toEqual(booleans);
    });

    it(`${name}: options that are not an object are a TempIDConfigError`, () => {
      for (const bad of [null, "table", 5, true, []]) {
        expect(configError(() => make(bad))).toMatch(new RegExp(`^${name}: options must be an object`));
      }
    });
  }
});

describe("checkOptionKeys", () => {
  const known = { table: true, timeoutMs: true, autoMigrate: true } as const;

  it("suggests within edit distance 2 (case ignored; a swap of neighbours is one edit), nothing further", () => {
    expect(configError(() => checkOptionKeys({ Table: "x" }, known, "f"))).toBe('f: unknown option "Table" (did you mean "table"?)');
    expect(configError(() => checkOptionKeys({ tiemoutMs: 1 }, known, "f"))).toBe('f: unknown option "tiemoutMs" (did you mean "timeoutMs"?)');
    expect(configError(() => checkOptionKeys({ tbl: "x" }, known, "f"))).toBe('f: unknown option "tbl" (did you mean "table"?)');
    expect(configError(() => checkOptionKeys({ tb: "x" }, known, "f"))).toBe('f: unknown option "tb" (known options: table, timeoutMs, autoMigrate)');
  });

  it("an unknown key is refused whatever its value, undefined included; inherited names are not options", () => {
    expect(() => checkOptionKeys({ tabel: undefined }, known, "f")).toThrow(TempIDConfigError);
    expect(() => checkOptionKeys({ toString: 1 }, known, "f")).toThrow(TempIDConfigError);
    expect(() => checkOptionKeys(JSON.parse('{"__proto__": 1}'), known, "f")).toThrow(TempIDConfigError);
    expect(() => checkOptionKeys({ table: undefined, timeoutMs: 5 }, known, "f")).not.toThrow();
  });

  it("editDistance counts insertions, deletions, substitutions and adjacent swaps", () => {
    expect(editDistance("table", "table")).toBe(0);
    expect(editDistance("tabel", "table")).toBe(1);
    expect(editDistance("tale", "table")).toBe(1);
    expect(editDistance("tablex", "table")).toBe(1);
    expect(editDistance("cable", "table")).toBe(1);
    expect(editDistance("", "ab")).toBe(2);
    expect(editDistance("prefix", "table")).toBeGreaterThan(2);
  });
});

// The breaker's repros, end to end: the refused value never reaches the behaviour it would have changed.
describe("a boolean option given as a string is refused, not read as truthy", () => {
  it('d1Store({ autoMigrate: "false" }) is a TempIDConfigError; no statement (CREATE TABLE included) is sent', () => {
    const sent: string[] = [];
    const db = {
      prepare(sql: string) {
        sent.push(sql);
        const statement = {
          bind: () => statement,
          all: async () => ({ results: [{ count: 1 }], meta: { changes: 1 } }),
          run: async () => ({ meta: { changes: 0 } }),
        };
        return statement;
      },
    };
    expect(configError(() => d1Store(db, { autoMigrate: "false" as never }))).toBe('autoMigrate must be true or false, not a string ("false")');
    expect(sent).toEqual([]);
  });

  it('denoKvStore({ closeClient: "true" }) is a TempIDConfigError (it was accepted, and close() left the handle open)', async () => {
    let closed = false;
    const kv = { get: unused, atomic: () => { throw new Error("not contacted"); }, close: () => { closed = true; } };
    expect(configError(() => denoKvStore(kv as never, { closeClient: "true" as never }))).toBe('closeClient must be true or false, not a string ("true")');
    await denoKvStore(kv as never, { closeClient: true }).close();
    expect(closed).toBe(true);
  });
});

describe("checkBoolean", () => {
  it("undefined is the default; true and false are themselves; anything else is refused", () => {
    expect(checkBoolean(undefined, "x", true)).toBe(true);
    expect(checkBoolean(undefined, "x", false)).toBe(false);
    expect(checkBoolean(false, "x", true)).toBe(false);
    expect(checkBoolean(true, "x", false)).toBe(true);
    expect(configError(() => checkBoolean("a long string that goes on and on", "x", true))).toBe('x must be true or false, not a string ("a long string that g…")');
    expect(configError(() => checkBoolean([], "x", true))).toBe("x must be true or false, not an array");
    expect(configError(() => checkBoolean(1n, "x", true))).toBe("x must be true or false, not a bigint (1)");
    expect(configError(() => checkBoolean(() => true, "x", true))).toBe("x must be true or false, not a function");
  });
});
