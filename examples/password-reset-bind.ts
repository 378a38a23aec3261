import { createTempID } from "@tempid/core";

const tempid = createTempID({ secret: process.env.TEMPID_SECRET });
const user = { id: 42, passwordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$b2xkLWhhc2g" };

// Bind the reset token to the current password hash: once the password changes,
// every reset link issued before stops working. No table, no cleanup.
const tid = await tempid.new("15m", { payload: { userId: user.id }, purpose: "password-reset", bind: user.passwordHash });

const ok = await tempid.verify(String(tid), { purpose: "password-reset", bind: user.passwordHash });
console.log(ok !== null); // true

user.passwordHash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$bmV3LWhhc2g"; // the user reset the password
console.log(await tempid.verify(String(tid), { purpose: "password-reset", bind: user.passwordHash })); // null

// A token made for one purpose never passes as another.
console.log(await tempid.verify(String(tid), { purpose: "email-verify", bind: user.passwordHash })); // null
