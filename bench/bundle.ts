/**
 * Bundle size, for the report: what an application pays for `new` + `verify` (createTempID and nothing
 * else), minified and gzipped, next to jose's sign+verify and JWE paths bundled the same way. The CI
 * budget check lives in test/package/; this only measures.
 */
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { build } from "esbuild";

export interface BundleSize {
  name: string;
  minBytes: number;
  gzipBytes: number;
  /** inputs from outside src/ that ended up in the bundle (an adapter, a node: module): should be empty */
  foreign: string[];
}

async function measure(name: string, contents: string, root: string, alias: Record<string, string>): Promise<BundleSize> {
  const result = await build({
    stdin: { contents, resolveDir: root, loader: "ts" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    write: false,
    metafile: true,
    alias,
    mainFields: ["module", "main"],
    conditions: ["browser", "import"],
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.contents;
  const inputs = Object.keys(result.metafile.inputs);
  return {
    name,
    minBytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    foreign: name.startsWith("tempid") ? inputs.filter((i) => !/(^|\/)src\//.test(i) && i !== "<stdin>") : [],
  };
}

export async function bundleSizes(root: string, src: string): Promise<BundleSize[]> {
  const alias = { "@tempid/core": join(src, "index.ts") };
  return [
    await measure("tempid new+verify", `import { createTempID } from "@tempid/core"; export const t = createTempID;`, root, alias),
    await measure("tempid (whole core)", `export * from "@tempid/core";`, root, alias),
    await measure("jose SignJWT+jwtVerify", `export { SignJWT, jwtVerify } from "jose";`, root, {}),
    await measure("jose EncryptJWT+jwtDecrypt", `export { EncryptJWT, jwtDecrypt } from "jose";`, root, {}),
  ];
}
