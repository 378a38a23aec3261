/**
 * `TempID<P>`: the payload type follows the schema (input for new, output for verify, and never an unchecked
 * null: `Validated<S>`), or the type argument.
 */
import { createTempID, type JsonValue, TempID, type Validated } from "@tempid/core";
import { z } from "zod";
import { type Equal, expectType } from "./assert.js";

const tempid = createTempID({ secret: "0123456789abcdef0123456789abcdef" });

const User = z.object({ userId: z.number(), role: z.enum(["admin", "member"]) });

export async function withSchema(text: string) {
  const tid = await tempid.new("15m", { payload: { userId: 1, role: "admin" }, schema: User });
  expectType<Equal<typeof tid, Validated<typeof User>>>(true);
  expectType<Equal<typeof tid.payload, { userId: number; role: "admin" | "member" }>>(true);
  const asToken: TempID<{ userId: number; role: "admin" | "member" }> = tid;

  // @ts-expect-error the payload must match the schema's input
  await tempid.new("15m", { payload: { userId: "1", role: "admin" }, schema: User });
  // @ts-expect-error an enum value outside the schema
  await tempid.new("15m", { payload: { userId: 1, role: "owner" }, schema: User });

  const checked = await tempid.verify(text, { schema: User });
  expectType<Equal<typeof checked, Validated<typeof User> | null>>(true);
  const parsed = await tempid.fromString(text, { schema: User, purpose: "login" });
  expectType<Equal<typeof parsed.payload, { userId: number; role: "admin" | "member" }>>(true);
  return asToken;
}

/** A transforming schema: new takes its input type, verify gives its output type. */
const Stamped = z.object({ at: z.string().transform((s) => new Date(s)) });

export async function withTransform(text: string) {
  const tid = await tempid.new("1h", { payload: { at: "2030-01-01T00:00:00Z" }, schema: Stamped });
  expectType<Equal<typeof tid.payload, { at: Date }>>(true);
  const back = await tempid.verify(text, { schema: Stamped });
  expectType<Equal<NonNullable<typeof back>["payload"], { at: Date }>>(true);
}

export async function withoutSchema(text: string) {
  const tid = await tempid.new("10m", { payload: { userId: 42, tags: ["a"] } });
  expectType<Equal<typeof tid.payload, { userId: number; tags: string[] } | null>>(true);

  const unlimited = await tempid.new("10m");
  expectType<Equal<typeof unlimited, TempID<JsonValue>>>(true);

  // @ts-expect-error a Date is not JSON data
  await tempid.new("10m", { payload: { at: new Date() } });
  // @ts-expect-error functions are not JSON data
  await tempid.new("10m", { payload: { f: () => 1 } });

  const unknownPayload = await tempid.verify(text);
  expectType<Equal<typeof unknownPayload, TempID<unknown> | null>>(true);
  const typed = await tempid.verify<{ userId: number }>(text);
  expectType<Equal<typeof typed, TempID<{ userId: number }> | null>>(true);

  const statics = await TempID.new("5m", { payload: { n: 1 }, schema: z.object({ n: z.number().int() }) });
  expectType<Equal<typeof statics.payload, { n: number }>>(true);
}

export async function members(tid: TempID<{ userId: number }>) {
  expectType<Equal<typeof tid.id, string>>(true);
  expectType<Equal<typeof tid.expiresAt, Date>>(true);
  expectType<Equal<typeof tid.format, "v3" | "v2">>(true);
  expectType<Equal<Awaited<ReturnType<typeof tid.use>>, boolean>>(true);
  expectType<Equal<Awaited<ReturnType<typeof tid.usesInfo>>, { total: number | null; used: number | null; left: number | null }>>(true);
  // @ts-expect-error payload is read-only
  tid.payload = null;
}

export function options() {
  createTempID({ secret: ["new-secret-0123456789abcdef0123456789", "old-secret-0123456789abcdef0123456789"], accept: ["v3", "v2"] });
  createTempID({ secret: new Uint8Array(32), clockTolerance: "30s", clock: () => 0 });
  // @ts-expect-error unknown format
  createTempID({ format: "v4" });
  // @ts-expect-error a clock returns milliseconds, not a Date
  createTempID({ clock: () => new Date() });
  // @ts-expect-error durations are "<n>s|m|h|d" or seconds
  void tempid.new("15 minutes");
  // @ts-expect-error "y" is not a unit
  void tempid.new("1y");
}
