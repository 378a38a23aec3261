/** Error `code`s: one closed union, the same on every error class, so a `switch` can be exhaustive. */
import {
  TempIDConfigError,
  TempIDError,
  type TempIDErrorCode,
  TempIDFormatError,
  TempIDPayloadTooLargeError,
  TempIDSchemaError,
  TempIDStoreError,
} from "@tempid/core";
import { type Equal, expectType } from "./assert.js";

expectType<
  Equal<
    TempIDErrorCode,
    | "ERR_TEMPID_FORMAT"
    | "ERR_TEMPID_TAMPERED"
    | "ERR_TEMPID_PAYLOAD"
    | "ERR_TEMPID_PAYLOAD_TOO_LARGE"
    | "ERR_TEMPID_SCHEMA"
    | "ERR_TEMPID_DURATION"
    | "ERR_TEMPID_ARGUMENT"
    | "ERR_TEMPID_STORE"
    | "ERR_TEMPID_CONFIG"
    | "ERR_TEMPID_UNSUPPORTED"
  >
>(true);
expectType<Equal<TempIDError["code"], TempIDErrorCode>>(true);
expectType<Equal<TempIDFormatError["code"], TempIDErrorCode>>(true);

/** Compiles only while the switch covers every code: a new code breaks it on purpose. */
export function describe(err: TempIDError): string {
  switch (err.code) {
    case "ERR_TEMPID_FORMAT":
    case "ERR_TEMPID_TAMPERED":
      return "bad token";
    case "ERR_TEMPID_PAYLOAD":
    case "ERR_TEMPID_PAYLOAD_TOO_LARGE":
    case "ERR_TEMPID_SCHEMA":
      return "bad payload";
    case "ERR_TEMPID_DURATION":
    case "ERR_TEMPID_ARGUMENT":
    case "ERR_TEMPID_UNSUPPORTED":
      return "bad call";
    case "ERR_TEMPID_STORE":
      return "store down";
    case "ERR_TEMPID_CONFIG":
      return "misconfigured";
    default: {
      const unreachable: never = err.code;
      return unreachable;
    }
  }
}

export function narrowing(err: unknown) {
  if (err instanceof TempIDPayloadTooLargeError) {
    expectType<Equal<typeof err.size, number>>(true);
    expectType<Equal<typeof err.limit, number>>(true);
  }
  if (err instanceof TempIDSchemaError) {
    const first = err.issues[0];
    expectType<Equal<typeof first, { readonly message: string; readonly path?: ReadonlyArray<unknown> } | undefined>>(true);
  }
  if (err instanceof TempIDError) {
    // @ts-expect-error not a code tempid ever uses
    if (err.code === "ERR_TEMPID_EXPIRED") return;
  }
  const store = new TempIDStoreError("down", { cause: err });
  expectType<Equal<typeof store.code, TempIDErrorCode>>(true);
  // @ts-expect-error codes are read-only
  store.code = "ERR_TEMPID_STORE";
  return new TempIDConfigError("x");
}
