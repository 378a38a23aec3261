import { configure, MemoryStore, TempID } from "@tempid/core";

// maxUses needs a store to count in. MemoryStore is the default (one process only);
// see "Stores" for SQLite, Redis, PostgreSQL, MySQL, MongoDB, Upstash, Neon, PlanetScale, D1,
// Durable Objects, Deno KV and IndexedDB.
configure({ store: new MemoryStore() });

const invite = await TempID.new("7d", { payload: { teamId: 7 }, maxUses: 2 });

console.log(await invite.use()); // true
console.log(await invite.use()); // true
console.log(await invite.use()); // false: the limit is reached
console.log(await invite.usesInfo()); // { total: 2, used: 2, left: 0 }

// checkUses: refuse a spent token without spending a use (read-only).
console.log(await TempID.verify(String(invite), { checkUses: true })); // null
