import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const dir = new URL("../../src/", import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));

describe("the core imports nothing from outside itself", () => {
  it.each(files)("%s", (file) => {
    const code = readFileSync(new URL(file, dir), "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    // static imports and re-exports (… from "x"), side-effect imports (import "x") and dynamic ones (import("x"))
    for (const match of code.matchAll(/(?:^|;)\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']/gm)) {
      const specifier = match[1] ?? match[2];
      expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[\w-]+\.js$/);
    }
    expect(code).not.toMatch(/\brequire\s*\(/);
    expect(code).not.toMatch(/\bBuffer\b/);
    // process and Deno are only reached through a guarded globalThis lookup (env.ts, native.ts).
    expect(code).not.toMatch(/(?<![.\w"])(process|Deno)\??\./);
  });
});
