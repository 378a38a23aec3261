import { createTempID } from "@tempid/core";

const tempid = createTempID(); // the secret comes from TEMPID_SECRET
const users = new Map([[42, { id: 42, passwordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$b2xkLWhhc2g" }]]);

// Bind the reset token to the current password hash: once the password changes, every reset link issued
// before stops working. No table, no cleanup. Verifying needs the hash, so the link carries the user id
// beside the token (the token's tag covers the id in the payload, so a swapped uid fails).
async function resetLink(userId: number): Promise<string> {
  const user = users.get(userId)!;
  const tid = await tempid.new("15m", { payload: { userId }, purpose: "password-reset", bind: user.passwordHash });
  return `https://app.example.com/reset?uid=${userId}&token=${tid}`;
}

async function checkResetLink(link: string): Promise<number | null> {
  const params = new URL(link).searchParams;
  const user = users.get(Number(params.get("uid")));
  if (user === undefined) return null;
  const tid = await tempid.verify<{ userId: number }>(params.get("token") ?? "", {
    purpose: "password-reset",
    bind: user.passwordHash,
  });
  return tid !== null && tid.payload?.userId === user.id ? user.id : null;
}

const link = await resetLink(42);
console.log(await checkResetLink(link)); // 42

users.get(42)!.passwordHash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$bmV3LWhhc2g"; // the password was reset
console.log(await checkResetLink(link)); // null: the old link died with the old password
console.log(await checkResetLink(link.replace("uid=42", "uid=7"))); // null
