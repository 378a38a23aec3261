/**
 * Standard Schema v1 (https://standardschema.dev), the interface zod 4, valibot, arktype and others
 * implement. Written from the published spec so the core has no dependency; only what tempid reads.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

export interface StandardIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

export type InferInput<S extends StandardSchemaV1> = NonNullable<S["~standard"]["types"]>["input"];
export type InferOutput<S extends StandardSchemaV1> = NonNullable<S["~standard"]["types"]>["output"];

/** Validates with a Standard Schema: the output value, or the schema's issues. */
export async function validateWith(
  schema: StandardSchemaV1,
  value: unknown,
): Promise<{ ok: true; value: unknown } | { ok: false; issues: ReadonlyArray<StandardIssue> }> {
  const result = await schema["~standard"].validate(value);
  return result.issues ? { ok: false, issues: result.issues } : { ok: true, value: result.value };
}

export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return typeof value === "object" && value !== null && typeof (value as StandardSchemaV1)["~standard"]?.validate === "function";
}
