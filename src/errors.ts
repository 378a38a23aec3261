/**
 * Errors. One base class with a stable `code`, so callers can `switch (err.code)` even when two copies of
 * the library end up in one bundle (where `instanceof` would fail). Messages never contain the secret or
 * the payload.
 */

export type TempIDErrorCode =
  | "ERR_TEMPID_FORMAT"
  | "ERR_TEMPID_TAMPERED"
  | "ERR_TEMPID_PAYLOAD"
  | "ERR_TEMPID_PAYLOAD_TOO_LARGE"
  | "ERR_TEMPID_SCHEMA"
  | "ERR_TEMPID_DURATION"
  | "ERR_TEMPID_ARGUMENT"
  | "ERR_TEMPID_STORE"
  | "ERR_TEMPID_CONFIG"
  | "ERR_TEMPID_UNSUPPORTED";

export class TempIDError extends Error {
  readonly code: TempIDErrorCode;
  constructor(code: TempIDErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // Each of tempid's classes carries its name, since a minifier renames classes; a subclass of your own
    // is named after its class, as with any Error.
    this.name = Object.hasOwn(new.target, "errorName") ? (new.target as unknown as { errorName: string }).errorName : new.target.name;
  }

  /** @internal */
  static readonly errorName: string = "TempIDError";
}

/** The text is not a token of an accepted format (wrong prefix, bad characters, bad length or layout). */
export class TempIDFormatError extends TempIDError {
  /** @internal */
  static override readonly errorName: string = "TempIDFormatError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_TEMPID_FORMAT", message, options);
  }
}

/** The token is well formed but its tag does not match: altered, or made with another secret, purpose or bind value. */
export class TempIDTamperedError extends TempIDError {
  /** @internal */
  static override readonly errorName: string = "TempIDTamperedError";
  constructor(message = "token signature does not match (altered, or made with another secret, purpose or bind value)") {
    super("ERR_TEMPID_TAMPERED", message);
  }
}

/** The payload is not plain JSON data (functions, undefined, NaN, Dates, class instances, cycles…). */
export class TempIDPayloadError extends TempIDError {
  /** @internal */
  static override readonly errorName: string = "TempIDPayloadError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_TEMPID_PAYLOAD", message, options);
  }
}

/** The serialized payload is larger than `maxPayloadBytes`. */
export class TempIDPayloadTooLargeError extends TempIDError {
  /** @internal */
  static override readonly errorName: string = "TempIDPayloadTooLargeError";
  /** The JSON's length in bytes, or (`atLeast`) a lower bound: the check stops once it is past the limit. */
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number, atLeast = false) {
    super("ERR_TEMPID_PAYLOAD_TOO_LARGE", `payload is ${atLeast ? "at least " : ""}${size} bytes of JSON, over the limit of ${limit} bytes`);
    this.size = size;
    this.limit = limit;
  }
}

/** A Standard Schema rejected the payload. `issues` are the schema's own issues (they may quote payload values). */
export class TempIDSchemaError extends TempIDError {
  /** @internal */
  static override readonly errorName: string = "TempIDSchemaError";
  readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<unknown> }>;
  constructor(issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<unknown> }>) {
    // Neither the issues' paths nor their messages: a path can be a payload key (z.record) and a schema's
    // message can quote the payload (zod names unrecognized keys), and messages never hold the payload.
    super("ERR_TEMPID_SCHEMA", `payload does not match the schema (${issues.length} issue${issues.length === 1 ? "" : "s"}: see the error's issues)`);
    this.issues = issues;
  }
}

/** A duration that is not `"30s"`/`"10m"`/`"2h"`/`"7d"` or a positive number of seconds up to 100 years. */
export class TempIDDurationError extends TempIDError {
  /** @internal */
  static override readonly errorName: string = "TempIDDurationError";
  constructor(message: string) {
    super("ERR_TEMPID_DURATION", message);
  }
}

/** A bad argument: maxUses out of range, a bind value that is not text or bytes, an unknown option value. */
export class TempIDArgumentError extends TempIDError {
  /** @internal */
  static override readonly errorName: string = "TempIDArgumentError";
  constructor(message: string) {
    super("ERR_TEMPID_ARGUMENT", message);
  }
}

/** The use-count store failed (down, refused, timed out, bad reply). Never turned into a grant. */
export class TempIDStoreError extends TempIDError {
  /** @internal */
  static override readonly errorName: string = "TempIDStoreError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_TEMPID_STORE", message, options);
  }
}

/** Misconfiguration: no secret in production, a short secret, a bad option. */
export class TempIDConfigError extends TempIDError {
  /** @internal */
  static override readonly errorName: string = "TempIDConfigError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_TEMPID_CONFIG", message, options);
  }
}

/** The operation does not exist for this token or format (purpose/bind with V2, revoking an unlimited token). */
export class TempIDUnsupportedError extends TempIDError {
  /** @internal */
  static override readonly errorName: string = "TempIDUnsupportedError";
  constructor(message = "purpose and bind do not exist in the V2 format") {
    super("ERR_TEMPID_UNSUPPORTED", message);
  }
}

/** Wraps anything a store threw into a TempIDStoreError (keeping it as `cause`), leaving TempIDStoreErrors as they are. */
export function toStoreError(err: unknown, what: string): TempIDStoreError {
  if (err instanceof TempIDStoreError) return err;
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new TempIDStoreError(`${what} failed: ${detail}`, { cause: err });
}
