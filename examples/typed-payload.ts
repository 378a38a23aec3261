import { createTempID } from "@tempid/core";
import { z } from "zod";

const tempid = createTempID();

// Any Standard Schema (zod 4, valibot, arktype…) checks the payload when minting and when verifying,
// and types tid.payload.
const Download = z.object({ fileId: z.string(), userId: z.number().int() });

const tid = await tempid.new("1h", { payload: { fileId: "abc123", userId: 42 }, maxUses: 3, schema: Download });
const back = await tempid.verify(String(tid), { schema: Download });
if (back !== null) {
  const fileId: string = back.payload.fileId; // typed by the schema: { fileId: string; userId: number }
  console.log("serve", fileId);
}
