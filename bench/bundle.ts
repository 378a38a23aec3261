/**
 * Bundle size, for the report: what an application pays for `new` + `verify` (createTempID and nothing
 * else), minified and gzipped, next to jose's sign+verify and JWE paths bundled the same way. The CI
 * regression check lives in test/package/; this only measures.
 *
 * It also takes the bundle apart, to show where the bytes are and what the 4 kB budget would take away:
 * the same bundle with every message emptied, with the optional features (V2, compression, the default
 * MemoryStore, schema support, Node's native engine) replaced by empty modules as well, and the V3 format
 * machinery alone (text, layout, key derivation, WebCrypto) with no API around it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";
import ts from "typescript";

export interface BundleSize {
  name: string;
  minBytes: number;
  gzipBytes: number;
  /** inputs from outside src/ that ended up in the bundle (an adapter, a node: module): should be empty */
  foreign: string[];
}

/** The source modules a fully opt-in design could leave out of new + verify. */
const OPTIONAL_MODULES = ["format-v2", "compress", "memory-store", "schema", "native"];

/** Replaces the named src/ modules by modules that export the same names as undefined. */
function stubModules(names: string[]): Plugin {
  return {
    name: "stub-modules",
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/][^\\/]+\.ts$/ }, (args) => {
        const base = args.path.replace(/^.*[\\/]/, "").replace(/\.ts$/, "");
        if (!names.includes(base)) return undefined;
        const source = readFileSync(args.path, "utf8");
        const exported = [...source.matchAll(/export (?:async )?(?:function|const|class|let) (\w+)/g)].map((m) => m[1]);
        return { contents: exported.map((n) => `export const ${n} = undefined;`).join("\n"), loader: "ts" };
      });
    },
  };
}

/** Every string and template literal of 20 characters or more replaced by "": what the messages cost. */
function emptyMessages(code: string): string {
  const file = ts.createSourceFile("bundle.js", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const cuts: Array<[number, number]> = [];
  const walk = (node: ts.Node): void => {
    const literal = ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node);
    if (literal && node.getText(file).length >= 20) {
      cuts.push([node.getStart(file), node.end]);
      return;
    }
    ts.forEachChild(node, walk);
  };
  walk(file);
  for (const [start, end] of cuts.sort((a, b) => b[0] - a[0])) code = `${code.slice(0, start)}""${code.slice(end)}`;
  return code;
}

interface MeasureOptions {
  alias?: Record<string, string>;
  stub?: string[];
  noMessages?: boolean;
}

async function measure(name: string, contents: string, root: string, options: MeasureOptions = {}): Promise<BundleSize> {
  const result = await build({
    stdin: { contents, resolveDir: root, loader: "ts" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    write: false,
    metafile: true,
    alias: options.alias ?? {},
    plugins: options.stub ? [stubModules(options.stub)] : [],
    mainFields: ["module", "main"],
    conditions: ["browser", "import"],
    logLevel: "silent",
  });
  const text = result.outputFiles[0]!.text;
  const code = new TextEncoder().encode(options.noMessages ? emptyMessages(text) : text);
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
  const newVerify = `import { createTempID } from "@tempid/core"; export const t = createTempID;`;
  const formatOnly = [
    `export { mintV3, openV3, encodeText, parseText, uuidText, encodeContext } from "${join(src, "format-v3.ts")}";`,
    `export { deriveV3Key } from "${join(src, "keys.ts")}";`,
    `export { webCryptoEngine } from "${join(src, "crypto.ts")}";`,
  ].join("\n");
  return [
    await measure("tempid new+verify", newVerify, root, { alias }),
    await measure("tempid (whole core)", `export * from "@tempid/core";`, root, { alias }),
    await measure("tempid new+verify, messages emptied", newVerify, root, { alias, noMessages: true }),
    await measure("tempid new+verify, optional modules stubbed, messages emptied", newVerify, root, { alias, stub: OPTIONAL_MODULES, noMessages: true }),
    await measure("tempid V3 format + keys + WebCrypto, no API", formatOnly, root),
    await measure("jose SignJWT+jwtVerify", `export { SignJWT, jwtVerify } from "jose";`, root),
    await measure("jose EncryptJWT+jwtDecrypt", `export { EncryptJWT, jwtDecrypt } from "jose";`, root),
  ];
}
