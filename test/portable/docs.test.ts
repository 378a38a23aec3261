/**
 * The runtimes section of README.md shows the quick starts that the runners execute: every code block under a
 * `<!-- file: … -->` marker must be that file, byte for byte, and every example must be shown.
 */
import { readdirSync, readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { readmeSection } from "../support/readme-section.js";

const root = new URL("../../", import.meta.url);
const doc = readmeSection("runtimes");

test("every quick start in the README runtimes section is the example file the runners run", () => {
  const blocks = [...doc.matchAll(/<!-- file: (\S+) -->\n```[a-z]*\n([\s\S]*?)\n```/g)].map((m) => [m[1]!, m[2]!] as const);
  expect(blocks.length).toBeGreaterThan(0);
  for (const [path, code] of blocks) expect(code, path).toBe(readFileSync(new URL(path, root), "utf8").replace(/\n$/, ""));
  const examples = readdirSync(new URL("examples/runtimes/", root)).filter((f) => f.endsWith(".ts"));
  expect(blocks.map(([path]) => path).sort()).toEqual(examples.map((f) => `examples/runtimes/${f}`).sort());
});

test("every code block in the README runtimes section has a file marker", () => {
  const opening = doc.match(/^```[a-z]*\n(?=[\s\S])/gm) ?? [];
  const fences = (doc.match(/^```/gm) ?? []).length;
  const marked = doc.match(/<!-- file: \S+ -->\n```[a-z]*\n/g) ?? [];
  expect(fences % 2).toBe(0);
  expect(marked.length).toBe(fences / 2);
  expect(opening.length).toBeGreaterThanOrEqual(marked.length);
});
