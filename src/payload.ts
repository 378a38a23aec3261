import { TempIDPayloadError, TempIDPayloadTooLargeError } from "./errors.js";

/** Plain JSON data: what a payload may hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * `T` itself when it is JSON data, with `never` wherever it holds something JSON would drop or change
 * (functions, Dates, Maps, bigints…). Unlike `JsonValue` it accepts interfaces, which have no index signature.
 * Checked 8 levels deep (recursive types stop there), and at run time in full.
 */
export type JsonCompatible<T, Depth extends unknown[] = []> = Depth["length"] extends 8
  ? T
  : T extends string | number | boolean | null
    ? T
    : T extends undefined | bigint | symbol | ((...args: never[]) => unknown) | Date | RegExp | Map<unknown, unknown> | Set<unknown>
      ? never
      : T extends readonly unknown[]
        ? { [I in keyof T]: JsonCompatible<T[I], [...Depth, 0]> }
        : T extends object
          ? { [K in keyof T]: JsonCompatible<T[K], [...Depth, 0]> }
          : never;

/** The payload size limit of the Python package, and our default. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 512;
/** The largest `maxPayloadBytes` accepted: tokens are for links and codes, not for data. */
export const MAX_PAYLOAD_BYTES_LIMIT = 2048;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Checks that a value is plain JSON data that survives a round trip unchanged. JSON.stringify silently drops
 * `undefined` and functions, turns NaN into null and Dates into strings; any of those would lose data, so
 * they are refused here instead.
 */
function assertJson(value: unknown, depth: number, seen: Set<object>, size: { min: number; max: number }): void {
  // Messages name the kind of value and its depth, never a key or a value: they must not leak the payload.
  const where = depth === 0 ? "payload" : `a value at depth ${depth} of the payload`;
  // What the JSON text is at least (a string's characters and quotes, a key's quotes and colon, brackets, a
  // byte per number or literal): past the limit, stop here, before walking a huge or deeply nested value
  // (a stack overflow, or seconds spent on an object of millions of keys the limit refuses anyway).
  size.min += typeof value === "string" ? value.length + 2 : typeof value === "object" && value ? 2 : 1;
  if (size.min > size.max) throw new TempIDPayloadTooLargeError(size.min, size.max, true);
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) throw new TempIDPayloadError(`${where} is ${String(value)}, which JSON cannot hold`);
      return;
    case "object": {
      if (value === null) return;
      if (seen.has(value)) throw new TempIDPayloadError(`${where} is a circular reference`);
      seen.add(value);
      if (Object.getOwnPropertySymbols(value).length > 0) throw new TempIDPayloadError(`${where} has symbol keys, which JSON drops`);
      if (Array.isArray(value)) {
        if (Object.keys(value).length !== value.length) throw new TempIDPayloadError(`${where} is an array with extra properties or holes, which JSON drops`);
        for (let i = 0; i < value.length; i++) assertJson(value[i], depth + 1, seen, size);
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          const name = (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
          throw new TempIDPayloadError(`${where} is a ${name}, not plain JSON data (convert it first)`);
        }
        for (const key of Object.keys(value)) {
          const item = (value as Record<string, unknown>)[key];
          // An undefined property is an absent optional one: JSON leaves it out, and so does the token.
          if (item !== undefined) {
            size.min += key.length + 3;
            assertJson(item, depth + 1, seen, size);
          }
        }
      }
      seen.delete(value);
      return;
    }
    default:
      throw new TempIDPayloadError(`${where} is ${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}, which JSON cannot hold`);
  }
}

/**
 * Serializes a payload to compact JSON bytes, refusing non-JSON data and anything over `maxBytes`.
 * `rewrite` adjusts the JSON text first (V2 tokens escape non-ASCII, as the Python package writes them).
 */
export function encodePayload(value: unknown, maxBytes: number, rewrite?: (json: string) => string): Uint8Array<ArrayBuffer> {
  assertJson(value, 0, new Set(), { min: 0, max: maxBytes });
  let json = JSON.stringify(value);
  if (rewrite) json = rewrite(json);
  const bytes = encoder.encode(json);
  if (bytes.length > maxBytes) throw new TempIDPayloadTooLargeError(bytes.length, maxBytes);
  return bytes;
}

/** Parses payload bytes that passed authentication; undefined when they are not UTF-8 JSON. */
export function decodePayload(bytes: Uint8Array<ArrayBuffer>): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
}
