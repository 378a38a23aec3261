import { createTempID } from "@tempid/core";

// Share tokens with a Python service running tempid 2.x: same secret, format "v2".
// (V2 takes the secret as the Python package does, whatever its length: this one is 9 bytes.)
const shared = createTempID({ secret: "py-secret", format: "v2" });

const tid = await shared.new("15m", { payload: { user_id: 42 }, maxUses: 1 });
console.log(String(tid)); // TEMP-V2.…  the Python package verifies this
console.log(tid.counterKey); // the key both languages count uses under

// Accept both while you migrate: mint V3 with a secret of 32 bytes or more, still take the Python
// service's V2 tokens with its secret (listed after the first, it may be shorter: it serves V2 only).
const migrating = createTempID({
  secret: ["a-secret-of-at-least-32-bytes-for-v3-tokens!", "py-secret"],
  accept: ["v3", "v2"],
});
console.log((await migrating.new("5m")).format); // "v3"
console.log((await migrating.verify(String(tid)))?.payload); // { user_id: 42 }
