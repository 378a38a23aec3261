import { TempIDArgumentError, type TempIDError } from "./errors.js";
import { encodeContext } from "./format-v3.js";

/**
 * A token's context: the purpose and bind value it was made for. Neither is written in a V3 token; both are
 * authenticated with it (docs/FORMAT.md), so a token made for one purpose or subject fails for another.
 */

/** A value a token is bound to: text (as UTF-8) or bytes. */
export type Bind = string | Uint8Array;

export interface ContextOptions {
  purpose?: string | undefined;
  bind?: Bind | undefined;
}

const encoder = new TextEncoder();

/** A call's purpose is an argument (TempIDArgumentError); the instance's is an option (config.ts passes TempIDConfigError). */
export function assertPurpose(purpose: unknown, Err: new (message: string) => TempIDError = TempIDArgumentError): asserts purpose is string {
  if (typeof purpose !== "string" || purpose.length === 0 || purpose.length > 1024) {
    throw new Err("purpose must be a non-empty string of at most 1024 characters");
  }
  assertWellFormed(purpose, "purpose", Err);
}

/**
 * Refuses text with lone surrogates: UTF-8 encoding would turn each into U+FFFD, so two different strings
 * would authenticate alike.
 */
export function assertWellFormed(text: string, what: string, Err: new (message: string) => TempIDError = TempIDArgumentError): void {
  if (!/^(?:[^\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/.test(text)) {
    throw new Err(`${what} is not well-formed Unicode (it has a lone surrogate)`);
  }
}

/** An empty bind value would bind every user without one (`user.passwordHash ?? ""`) to the same value. */
const EMPTY_BIND = "bind is empty: bind to a value that differs per subject, or leave bind out";

export function bindBytes(bind: Bind | undefined): Uint8Array<ArrayBuffer> | undefined {
  if (bind === undefined) return undefined;
  if (typeof bind === "string") {
    assertWellFormed(bind, "bind");
    if (bind === "") throw new TempIDArgumentError(EMPTY_BIND);
    return encoder.encode(bind);
  }
  if (bind instanceof Uint8Array && bind.length === 0) throw new TempIDArgumentError(EMPTY_BIND);
  if (bind instanceof Uint8Array) return new Uint8Array(bind);
  throw new TempIDArgumentError("bind must be a string or a Uint8Array");
}

/** The bytes a token's tag covers besides the token itself: `purpose` (or the instance's) and `bind`. */
export function contextBytes(ctx: ContextOptions, defaultPurpose: string | undefined): Uint8Array<ArrayBuffer> {
  // Each option is read once: the value checked is the value encoded (an options object may have getters).
  // (null is refused with the other call options, before this; here it would fail the type checks below.)
  const { purpose, bind } = ctx;
  if (purpose !== undefined) assertPurpose(purpose);
  return encodeContext(purpose ?? defaultPurpose, bindBytes(bind));
}
