// Payloads typed with an interface (no index signature) are accepted; one holding a Date is not.
import { createTempID, type TempID } from "@tempid/core";
import { type Equal, expectType } from "./assert.js";

const tempid = createTempID({ secret: "type-test-secret-0123456789abcdef01" });

interface User {
  id: number;
  email: string;
  tags?: string[];
  nested: { ok: boolean };
}

export async function interfacePayloads(user: User) {
  const tid = await tempid.new("15m", { payload: user });
  expectType<Equal<typeof tid, TempID<User>>>(true);
  const literal = await tempid.new("15m", { payload: { userId: 42 } });
  expectType<Equal<typeof literal.payload, { userId: number } | null>>(true);
  // @ts-expect-error a Date inside an interface is not JSON data
  await tempid.new("15m", { payload: { when: new Date() } as { when: Date } });
}
