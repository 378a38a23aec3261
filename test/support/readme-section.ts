import { readFileSync } from "node:fs";

/**
 * One section of README.md, between `<!-- section: NAME -->` and `<!-- /section: NAME -->`: the stores,
 * edge stores and runtimes sections are checked by the test suites of those parts.
 */
export function readmeSection(name: string): string {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const start = readme.indexOf(`<!-- section: ${name} -->`);
  const end = readme.indexOf(`<!-- /section: ${name} -->`);
  if (start === -1 || end === -1 || end < start) throw new Error(`README.md has no section ${name}`);
  return readme.slice(start, end);
}
