/**
 * Bundle size: what an application pays for `new` + `verify` (createTempID and nothing else), minified
 * and gzipped, next to jose's sign+verify and JWE paths bundled the same way. The CI check lives in
 * test/package/ and calls `appBundle` below on the built package; the benchmark calls it on src/.
 *
 * The core loads its optional modules (the V2 format, deflate, Node's native engine, the default
 * MemoryStore, a token's store calls) with import() the first time it needs them, so the number that
 * matters is what a code-splitting bundler puts in the code that runs before any of them is asked for:
 * the entry chunk and every chunk it imports statically. Rolldown (Vite's bundler) measures it here, each
 * file gzipped on its own, as a server sends them. The on-demand chunks are listed beside it, and the
 * whole core in one file (esbuild, no splitting: what a Worker bundle holds) is measured too.
 *
 * It also takes the bundle apart: the same static code with every message emptied, and the V3 format
 * machinery alone (text, layout, key derivation, WebCrypto) with no API around it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { rolldown } from "rolldown";
import ts from "typescript";

export interface Chunk {
  file: string;
  /** source modules in it, relative to the project */
  modules: string[];
  minBytes: number;
  gzipBytes: number;
}

export interface AppBundle {
  /** the entry chunk and the chunks it imports statically: what runs before anything is loaded on demand */
  initial: Chunk[];
  /** chunks loaded with import() (and the chunks only they import) */
  onDemand: Chunk[];
  minBytes: number;
  /** each initial file gzipped on its own, summed */
  gzipBytes: number;
  /** the initial code with every string of 20+ characters emptied: what the messages cost */
  noMessagesGzipBytes: number;
  /** every module of the initial code */
  modules: string[];
}

const gzip = (code: string) => gzipSync(code, { level: 9 }).length;

/** An application's bundle of `code` (an ES module importing the library), split by rolldown and minified. */
export async function appBundle(code: string, root: string, alias: Record<string, string> = {}): Promise<AppBundle> {
  // Inside the project, so bare imports resolve from its node_modules (and the package by its own name).
  mkdirSync(join(root, ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(root, ".tmp", "bundle-"));
  try {
    const input = join(dir, "app.js");
    writeFileSync(input, code);
    const bundler = await rolldown({
      input,
      cwd: root,
      platform: "browser",
      resolve: { alias, conditionNames: ["browser", "import", "default"] },
      logLevel: "silent",
    });
    const { output } = await bundler.generate({ format: "esm", minify: true });
    await bundler.close();
    const chunks = new Map<string, Chunk & { imports: string[]; isEntry: boolean }>();
    for (const o of output) {
      if (o.type !== "chunk") continue;
      const modules = Object.keys(o.modules).map((m) => m.replace(root, "").replace(/^\/+/, ""));
      chunks.set(o.fileName, { file: o.fileName, modules, minBytes: Buffer.byteLength(o.code), gzipBytes: gzip(o.code), imports: o.imports, isEntry: o.isEntry });
    }
    const initialNames = new Set<string>();
    const visit = (name: string) => {
      if (initialNames.has(name)) return;
      initialNames.add(name);
      for (const next of chunks.get(name)!.imports) visit(next);
    };
    for (const [name, chunk] of chunks) if (chunk.isEntry) visit(name);
    const strip = ({ file, modules, minBytes, gzipBytes }: Chunk): Chunk => ({ file, modules, minBytes, gzipBytes });
    const initial = [...chunks.values()].filter((c) => initialNames.has(c.file));
    const codeOf = (file: string) => (output.find((o) => o.fileName === file) as { code: string }).code;
    return {
      initial: initial.map(strip),
      onDemand: [...chunks.values()].filter((c) => !initialNames.has(c.file)).map(strip),
      minBytes: initial.reduce((n, c) => n + c.minBytes, 0),
      gzipBytes: initial.reduce((n, c) => n + c.gzipBytes, 0),
      noMessagesGzipBytes: initial.reduce((n, c) => n + gzip(emptyMessages(codeOf(c.file))), 0),
      modules: initial.flatMap((c) => c.modules).filter((m) => m !== "app.js" && !m.endsWith("/app.js")),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

/** What an application of new + verify imports: the same code the package test bundles. */
export const NEW_VERIFY_APP = (from: string) => `import { createTempID } from "${from}";
export async function roundTrip(secret, text) {
  const tempid = createTempID({ secret });
  const tid = await tempid.new("15m", { payload: { userId: 42 } });
  return [tid.toString(), await tempid.verify(text)];
}
`;

/** One file, no splitting (esbuild, as a Worker's bundle is made): everything the import can reach. */
export async function singleFile(code: string, root: string, alias: Record<string, string> = {}): Promise<{ minBytes: number; gzipBytes: number }> {
  const result = await build({
    stdin: { contents: code, resolveDir: root, loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    alias,
    logLevel: "silent",
  });
  const text = result.outputFiles[0]!.text;
  return { minBytes: Buffer.byteLength(text), gzipBytes: gzip(text) };
}

export interface BundleSize {
  name: string;
  minBytes: number;
  gzipBytes: number;
  /** what it holds, for the report */
  note: string;
}

export async function bundleSizes(root: string, src: string): Promise<{ sizes: BundleSize[]; app: AppBundle }> {
  const alias = { "@tempid/core": join(src, "index.ts") };
  const app = await appBundle(NEW_VERIFY_APP("@tempid/core"), root, alias);
  const all = await singleFile(NEW_VERIFY_APP("@tempid/core"), root, alias);
  const formatOnly = await appBundle(
    [
      `export { mintV3, openV3, encodeText, parseText, uuidText, encodeContext } from "${join(src, "format-v3.ts")}";`,
      `export { deriveV3Key } from "${join(src, "keys.ts")}";`,
      `export { webCryptoEngine } from "${join(src, "crypto.ts")}";`,
    ].join("\n"),
    root,
  );
  // The least API that keeps the checks (bench/least-api.ts): what a 4 kB budget would leave room for.
  const least = await appBundle(NEW_VERIFY_APP(join(root, "bench", "least-api.ts")).replace("tid.toString()", "tid.token"), root);
  const jose = async (name: string, code: string): Promise<BundleSize> => {
    const b = await appBundle(code, root);
    return { name, minBytes: b.minBytes, gzipBytes: b.gzipBytes, note: "" };
  };
  const sizes: BundleSize[] = [
    { name: "tempid new+verify (initial code)", minBytes: app.minBytes, gzipBytes: app.gzipBytes, note: `${app.initial.length} files` },
    { name: "tempid new+verify, messages emptied", minBytes: 0, gzipBytes: app.noMessagesGzipBytes, note: "" },
    ...app.onDemand.map((c) => ({ name: `  on demand: ${c.modules.map((m) => m.replace(/^.*\//, "")).join(", ")}`, minBytes: c.minBytes, gzipBytes: c.gzipBytes, note: "" })),
    { name: "tempid new+verify in one file (no splitting)", minBytes: all.minBytes, gzipBytes: all.gzipBytes, note: "esbuild" },
    { name: "least API keeping the checks (bench/least-api.ts)", minBytes: least.minBytes, gzipBytes: least.gzipBytes, note: `${least.initial.length} files` },
    { name: "least API, messages emptied", minBytes: 0, gzipBytes: least.noMessagesGzipBytes, note: "" },
    { name: "tempid V3 format + keys + WebCrypto, no API", minBytes: formatOnly.minBytes, gzipBytes: formatOnly.gzipBytes, note: "" },
    await jose("jose SignJWT+jwtVerify", `export { SignJWT, jwtVerify } from "jose";`),
    await jose("jose EncryptJWT+jwtDecrypt", `export { EncryptJWT, jwtDecrypt } from "jose";`),
  ];
  return { sizes, app };
}
