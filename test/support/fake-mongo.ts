/**
 * A stand-in for a `mongodb` Collection, for the MongoDB store's tests on machines without a MongoDB
 * server. It records every call (so tests can check the exact filter and update documents sent) and
 * evaluates the few operators the store uses, with MongoDB's semantics as documented:
 *
 * - an update that matches an existing document applies atomically (document-level atomicity);
 * - an upsert that matches nothing inserts a document built from the filter's equality fields, and a
 *   unique index on token_id makes that insert fail with E11000 when the document exists by then. The
 *   fake yields between "matched nothing" and "insert" so concurrent upserts really can collide;
 * - inside one pipeline `$set` stage every "$field" reads the document as it was before the stage.
 *
 * It is not MongoDB: what it verifies is the adapter's logic, not the server's guarantees.
 */
type Doc = Record<string, unknown>;

export interface RecordedCall {
  method: string;
  args: unknown[];
}

export class FakeMongoCollection {
  readonly calls: RecordedCall[] = [];
  readonly docs = new Map<string, Doc>();
  /** Set to make every call reject (a server that is down). */
  failWith: Error | undefined;
  /** Set to make every call hang (a server that does not answer). */
  hang = false;
  duplicateKeyErrors = 0;

  async updateOne(filter: Doc, update: Doc | Doc[], options: Doc = {}) {
    this.#record("updateOne", [filter, update, options]);
    await this.#gate();
    const key = filter["token_id"] as string;
    const existing = this.docs.get(key);
    if (existing !== undefined && matches(existing, filter)) {
      const next = apply(existing, update);
      const modified = JSON.stringify(next) !== JSON.stringify(existing);
      this.docs.set(key, next);
      return { matchedCount: 1, modifiedCount: modified ? 1 : 0, upsertedCount: 0 };
    }
    if (options["upsert"] !== true) return { matchedCount: 0, modifiedCount: 0, upsertedCount: 0 };
    await new Promise((resolve) => setImmediate(resolve)); // the gap in which another upsert may insert
    if (this.docs.has(key)) {
      this.duplicateKeyErrors++;
      throw Object.assign(new Error(`E11000 duplicate key error collection: uses index: token_id_1 dup key: { token_id: "${key}" }`), { code: 11000 });
    }
    const seed: Doc = {};
    for (const [field, value] of Object.entries(filter)) if (!field.startsWith("$") && !isOperator(value)) seed[field] = value;
    this.docs.set(key, apply(seed, update));
    return { matchedCount: 0, modifiedCount: 0, upsertedCount: 1 };
  }

  async findOne(filter: Doc, options: Doc = {}) {
    this.#record("findOne", [filter, options]);
    await this.#gate();
    const doc = this.docs.get(filter["token_id"] as string);
    return doc === undefined || !matches(doc, filter) ? null : { ...doc };
  }

  async deleteMany(filter: Doc, options: Doc = {}) {
    this.#record("deleteMany", [filter, options]);
    await this.#gate();
    let deletedCount = 0;
    for (const [key, doc] of this.docs) {
      if (matches(doc, filter)) {
        this.docs.delete(key);
        deletedCount++;
      }
    }
    return { deletedCount };
  }

  async createIndex(spec: Doc, options: Doc = {}) {
    this.#record("createIndex", [spec, options]);
    await this.#gate();
    return Object.keys(spec).map((k) => `${k}_${String(spec[k])}`).join("_");
  }

  #record(method: string, args: unknown[]) {
    this.calls.push({ method, args: structuredClone(args) });
  }

  async #gate() {
    if (this.failWith) throw this.failWith;
    if (this.hang) await new Promise(() => undefined);
  }
}

function isOperator(value: unknown): boolean {
  return typeof value === "object" && value !== null && !(value instanceof Date) && Object.keys(value).some((k) => k.startsWith("$"));
}

function compare(a: unknown, b: unknown): number {
  const x = a instanceof Date ? a.getTime() : (a as number);
  const y = b instanceof Date ? b.getTime() : (b as number);
  return x < y ? -1 : x > y ? 1 : 0;
}

function matches(doc: Doc, filter: Doc): boolean {
  return Object.entries(filter).every(([field, condition]) => {
    if (field === "$or") return (condition as Doc[]).some((f) => matches(doc, f));
    const value = doc[field];
    if (!isOperator(condition)) return value === condition;
    return Object.entries(condition as Doc).every(([op, arg]) => {
      if (value === undefined) return false;
      if (op === "$lt") return compare(value, arg) < 0;
      if (op === "$lte") return compare(value, arg) <= 0;
      if (op === "$gt") return compare(value, arg) > 0;
      throw new Error(`fake mongo: unsupported query operator ${op}`);
    });
  });
}

function evaluate(expr: unknown, doc: Doc): unknown {
  if (typeof expr === "string" && expr.startsWith("$")) return doc[expr.slice(1)];
  if (typeof expr !== "object" || expr === null || expr instanceof Date || Array.isArray(expr)) return expr;
  const [op, raw] = Object.entries(expr as Doc)[0]!;
  const args = (raw as unknown[]).map((a) => evaluate(a, doc));
  switch (op) {
    case "$cond":
      return args[0] ? args[1] : args[2];
    case "$ifNull":
      return args[0] === undefined || args[0] === null ? args[1] : args[0];
    case "$lte":
      return compare(args[0] ?? Number.NEGATIVE_INFINITY, args[1]) <= 0;
    case "$lt":
      return compare(args[0] ?? Number.NEGATIVE_INFINITY, args[1]) < 0;
    case "$add":
      return (args as number[]).reduce((a, b) => a + b, 0);
    default:
      throw new Error(`fake mongo: unsupported expression ${op}`);
  }
}

function apply(doc: Doc, update: Doc | Doc[]): Doc {
  if (Array.isArray(update)) {
    let current = { ...doc };
    for (const stage of update) {
      const set = stage["$set"] as Doc | undefined;
      if (set === undefined) throw new Error("fake mongo: only $set stages");
      const next = { ...current };
      for (const [field, expr] of Object.entries(set)) {
        const value = evaluate(expr, current);
        if (value === undefined) delete next[field];
        else next[field] = value;
      }
      current = next;
    }
    return current;
  }
  const set = update["$set"] as Doc | undefined;
  if (set === undefined || Object.keys(update).length !== 1) throw new Error("fake mongo: only $set updates");
  return { ...doc, ...set };
}
