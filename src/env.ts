/**
 * Reads an environment variable where the runtime has one, without importing anything: Node and Bun expose
 * `process.env`, Deno exposes `Deno.env` (which throws without --allow-env: treated as unset). Workers and
 * browsers have neither; there the secret comes from the code (a Workers env binding, for instance).
 */
export function readEnv(name: string): string | undefined {
  const g = globalThis as {
    process?: { env?: Record<string, string | undefined> };
    Deno?: { env?: { get(key: string): string | undefined } };
  };
  try {
    const value = g.process?.env?.[name];
    if (typeof value === "string") return value;
  } catch {
    // an env proxy that throws: treat as unset
  }
  try {
    const value = g.Deno?.env?.get(name);
    if (typeof value === "string") return value;
  } catch {
    // Deno without --allow-env
  }
  return undefined;
}
