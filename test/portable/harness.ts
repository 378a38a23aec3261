/**
 * The portable suite's own tiny test kit: cases, assertions and a sequential runner. Runtime-neutral on
 * purpose (no vitest, no Node APIs, no imports): the same file runs in Node, Deno, Bun, workerd and Chromium.
 */

export interface TestCase {
  readonly name: string;
  readonly fn: () => Promise<void> | void;
}

export interface CaseResult {
  readonly name: string;
  readonly ok: boolean;
  /** The failure, as text (results cross a process or page boundary as JSON). */
  readonly error?: string;
}

export class AssertionError extends Error {
  override name = "AssertionError";
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array[${Array.from(value).join(",")}]`;
  if (value instanceof Date) return `Date(${value.toISOString()})`;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return String(value);
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function equal<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) throw new AssertionError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof Uint8Array) {
    const bb = b as Uint8Array;
    return a.length === bb.length && a.every((x, i) => x === bb[i]);
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Structural equality of plain data (objects, arrays, primitives, Dates, bytes), key order ignored. */
export function deepEqual(actual: unknown, expected: unknown, what: string): void {
  if (!same(actual, expected)) throw new AssertionError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

export function match(actual: string, pattern: RegExp, what: string): void {
  if (typeof actual !== "string" || !pattern.test(actual)) throw new AssertionError(`${what}: ${show(actual)} does not match ${pattern}`);
}

/** The error a call threw or a promise rejected with; fails when there was none. */
export async function caught(run: () => unknown, what: string): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new AssertionError(`${what}: expected an error, but it succeeded`);
}

/** Expects `run` to throw or reject with an error whose `code` is one of `codes`. Returns the error. */
export async function throwsCode(run: () => unknown, codes: string | readonly string[], what: string): Promise<Error & { code: string }> {
  const err = await caught(run, what);
  const list = typeof codes === "string" ? [codes] : codes;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !list.includes(code)) {
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : show(err);
    throw new AssertionError(`${what}: expected code ${list.join(" or ")}, got ${show(code)} (${detail})`);
  }
  return err as Error & { code: string };
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}${err.stack ? `\n${err.stack.split("\n").slice(1, 6).join("\n")}` : ""}`;
  return show(err);
}

/**
 * Runs the cases one after another (the suite's clocks and the default instance are shared state) and
 * reports each result through `report` as it finishes.
 */
export async function runCases(cases: readonly TestCase[], report: (result: CaseResult) => void = () => {}): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    let result: CaseResult;
    try {
      await c.fn();
      result = { name: c.name, ok: true };
    } catch (err) {
      result = { name: c.name, ok: false, error: describeError(err) };
    }
    results.push(result);
    report(result);
  }
  return results;
}

export interface Tally {
  passed: number;
  failed: number;
}

export function tally(results: readonly CaseResult[]): Tally {
  const passed = results.filter((r) => r.ok).length;
  return { passed, failed: results.length - passed };
}

/** The closing line every runner prints: "<runtime>: N passed, N failed". */
export function closingLine(runtime: string, t: Tally): string {
  return `${runtime}: ${t.passed} passed, ${t.failed} failed`;
}

/** A run that ran nothing, or fewer cases than the suite defines, is a failed run. */
export function runProblem(t: Tally, expected: number): string | undefined {
  if (expected === 0) return "the suite defined no test";
  if (t.passed + t.failed === 0) return "no test ran";
  if (t.passed + t.failed !== expected) return `${t.passed + t.failed} of ${expected} tests ran`;
  if (t.failed > 0) return `${t.failed} test(s) failed`;
  return undefined;
}
