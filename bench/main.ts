/**
 * `npm run bench` (bench/run.js builds and starts this). One process, one run: token operations, floors and
 * peers in interleaved rounds; stores; memory; bundle size. Prints tables, writes bench/results.json and
 * bench/chart.svg. Ratios compare cases of this run only; absolute numbers are for the record.
 * `--quick`: fewer rounds and smaller counts (under a minute), to check in CI that the benchmark runs.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem, type as osType, release } from "node:os";
import { join } from "node:path";
import { bundleSizes } from "./bundle.js";
import { cpuRatio, measureAll, type Measured, pairedRatio, speedRatio } from "./harness.js";
import type { RunContext } from "./lib.js";
import { collector, leakCheck, memoryScaling } from "./memory.js";
import { chartSvg, fmtUs, opsTable, table } from "./report.js";
import { storeBench } from "./stores.js";
import { tokenCases } from "./tokens.js";

interface Goal {
  goal: string;
  target: string;
  value: string;
  met: boolean;
  /** the same ratio on CPU time, where it applies */
  cpu?: string;
  /** informational rows (the portable engine, details) are not goals of the issue */
  info?: boolean;
}

const PEERS = ["jose", "@hapi/iron", "iron-webcrypto", "branca", "fernet", "paseto"];

export async function main(ctx: RunContext): Promise<void> {
  const quick = ctx.argv.includes("--quick");
  const skipStores = ctx.argv.includes("--no-stores");
  const started = Date.now();
  const log = (s = "") => console.log(s);
  const versions: Record<string, string> = { node: process.version, v8: process.versions.v8, openssl: process.versions.openssl };
  // Read from node_modules directly: not every peer exports its package.json.
  for (const p of PEERS) versions[p] = (JSON.parse(readFileSync(join(ctx.root, "node_modules", p, "package.json"), "utf8")) as { version: string }).version;
  const machine = {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    loadAverage: (await import("node:os")).loadavg().map((l) => Math.round(l * 100) / 100),
  };
  log(`tempid benchmark ${quick ? "(quick) " : ""}— ${new Date(started).toISOString()}`);
  log(`${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, ${machine.os}; Node ${process.version}, OpenSSL ${versions["openssl"]}`);
  if (ctx.src !== join(ctx.root, "src")) log(`core measured from ${ctx.src} (TEMPID_BENCH_SRC), not src/`);
  log(`load average at start: ${machine.loadAverage.join(" ")} (ratios are taken within this run; absolute numbers vary with load)`);
  log();

  // --- tokens ---------------------------------------------------------------------------------------------
  const { cases, sizes } = await tokenCases(ctx.lib.core, ctx.root);
  const rounds = quick ? 5 : 21;
  log(`token operations: ${cases.length} cases × ${rounds} interleaved rounds…`);
  const measured = await measureAll(cases, { rounds, targetMs: quick ? 15 : 40 });
  const by = (id: string): Measured => {
    const m = measured.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no case ${id}`);
    return m;
  };
  const floorVerify = by("floor.subtle.hmac.verify");
  for (const group of ["no payload", "payload", "rejection", "tamper position", "Python V2", "floor", "peer"]) {
    log();
    log(`## ${group}`);
    log(opsTable(measured.filter((m) => m.group === group), floorVerify));
  }
  log();
  log(table(["token", "characters"], Object.entries(sizes).map(([k, v]) => [k, String(v)])));

  const goals: Goal[] = [];
  const ratioGoal = (goal: string, a: string, b: string, min: number, info = false) => {
    const r = speedRatio(by(a), by(b));
    goals.push({ goal, target: `≥ ${min}×`, value: `${r.toFixed(2)}×`, cpu: `${cpuRatio(by(a), by(b)).toFixed(2)}×`, met: r >= min, info });
    return r;
  };
  for (const engine of ["auto", "webcrypto"] as const) {
    const e = `tempid.${engine}`;
    const info = engine === "webcrypto";
    const tag = info ? " [webcrypto engine]" : "";
    ratioGoal(`verify (no payload) vs jose jwtVerify${tag}`, `${e}.verify`, "jose.verify", 2, info);
    ratioGoal(`verify (no payload) vs crypto.subtle HMAC verify floor${tag}`, `${e}.verify`, "floor.subtle.hmac.verify", 0.8, info);
    ratioGoal(`new (no payload) vs crypto.subtle HMAC sign floor${tag}`, `${e}.new`, "floor.subtle.hmac.sign", 0.7, info);
    ratioGoal(`verify + payload vs jose jwtDecrypt${tag}`, `${e}.verify.payload`, "jose.decrypt", 2, info);
    ratioGoal(`new + payload vs jose EncryptJWT${tag}`, `${e}.new.payload`, "jose.encrypt", 2, info);
    // Every peer op against tempid's like-for-like op: HS256 JWTs carry no payload; every other peer encrypts one.
    const pairs: Array<[string, string]> = [
      ["new", "jose.sign"], ["verify", "jose.verify"],
      ["new.payload", "jose.encrypt"], ["verify.payload", "jose.decrypt"],
      ["new.payload", "iron.seal"], ["verify.payload", "iron.unseal"],
      ["new.payload", "ironwc.seal"], ["verify.payload", "ironwc.unseal"],
      ["new.payload", "branca.encode"], ["verify.payload", "branca.decode"],
      ["new.payload", "fernet.encode"], ["verify.payload", "fernet.decode"],
      ["new.payload", "paseto.encrypt"], ["verify.payload", "paseto.decrypt"],
    ];
    const ratios = pairs.map(([ours, peer]) => ({ peer: by(peer).label, r: speedRatio(by(`${e}.${ours}`), by(peer)) }));
    const worst = ratios.reduce((a, b) => (b.r < a.r ? b : a));
    const worstPair = pairs[ratios.indexOf(worst)]!;
    goals.push({
      goal: `ahead of every peer on every operation (closest: ${worst.peer})${tag}`, target: "≥ 1×", value: `${worst.r.toFixed(2)}×`,
      cpu: `${cpuRatio(by(`${e}.${worstPair[0]}`), by(worstPair[1])).toFixed(2)}×`, met: worst.r >= 1, info,
    });
    ratioGoal(`reject garbage vs crypto.subtle HMAC verify floor${tag}`, `${e}.garbage`, "floor.subtle.hmac.verify", 20, info);
    // Two near-equal times: measured in back-to-back A B B A batches rather than across the whole suite.
    const fullGc = collector();
    const caseOf = (id: string) => cases.find((c) => c.id === id)!;
    const close = await pairedRatio(caseOf(`${e}.tampered`), caseOf(`${e}.verify`), quick ? 5 : 15, engine === "auto" ? 1000 : 200, fullGc);
    goals.push({
      goal: `reject tampered vs accept valid (no slower; paired A/B batches)${tag}`, target: "≥ 1×",
      value: `${close.wall.toFixed(2)}×`, cpu: `${close.cpu.toFixed(2)}×`, met: close.wall >= 1, info,
    });
    ratioGoal(`reject tampered vs accept valid, across the suite${tag}`, `${e}.tampered`, `${e}.verify`, 1, true);
    const positions = measured.filter((m) => m.id.startsWith(`${e}.tampered.at.`));
    const spread = Math.max(...positions.map((m) => m.ns)) / Math.min(...positions.map((m) => m.ns));
    goals.push({ goal: `tampered: slowest / fastest over 6 positions${tag}`, target: "≈ 1 (noise)", value: `${spread.toFixed(2)}`, met: spread <= 1.25, info: true });
  }

  // --- stores -----------------------------------------------------------------------------------------------
  let storeResults: Awaited<ReturnType<typeof storeBench>> = { results: [], skipped: {} };
  if (!skipStores) {
    log();
    log("stores: use() against the same client's cheapest round trip…");
    storeResults = await storeBench(ctx.lib, {
      rounds: quick ? 2 : 5,
      opsSingle: quick ? 100 : 300,
      opsConcurrent: quick ? 500 : 2000,
      log,
    });
    const rows: string[][] = [];
    for (const s of storeResults.results) {
      // A store measured with single-use tokens too (Redis) gets two rows per level, side by side.
      const split = s.levels.some((l) => l.singleUse);
      const row = (l: (typeof s.levels)[number], use: typeof l.use, tag: string, consume: string) =>
        rows.push([
          `${s.store} (${s.client})${tag}`, String(l.callers),
          use.p50Us.toFixed(1), use.p99Us.toFixed(1), nf(use.opsPerSec), consume,
          `${s.baseline}: ${l.baseline.p50Us.toFixed(1)} / ${l.baseline.p99Us.toFixed(1)}`, nf(l.baseline.opsPerSec),
          (use.p50Us / l.baseline.p50Us).toFixed(2) + "×",
          l.write ? `${l.write.name}: ${l.write.p50Us.toFixed(1)} µs, use ${(use.p50Us / l.write.p50Us).toFixed(2)}×` : "",
        ]);
      for (const l of s.levels) {
        if (l.singleUse) row(l, l.singleUse, ", maxUses 1 (fresh token each)", "");
        row(l, l.use, split ? ", maxUses 1e9 (script)" : "", l.consume.p50Us.toFixed(1));
      }
      // The memory store has no round trip to compare with: its row is for the record.
      const info = s.store === "memory";
      const one = s.levels.find((l) => l.callers === 1)!;
      const hundred = s.levels.find((l) => l.callers === 100)!;
      const path = split ? ", large limit (script)" : "";
      if (one.singleUse && hundred.singleUse) {
        for (const [l, who] of [[one, "1 caller"], [hundred, "100 callers"]] as const) {
          const r = l.singleUse!.p50Us / l.baseline.p50Us;
          goals.push({ goal: `${s.store}: use() p50, single-use tokens, vs ${s.baseline} (${who})`, target: "≤ 1.2×", value: `${r.toFixed(2)}×`, met: r <= 1.2, info });
        }
      }
      const r = one.use.p50Us / one.baseline.p50Us;
      goals.push({ goal: `${s.store}: use() p50${path} vs ${s.baseline} (1 caller)`, target: "≤ 1.2×", value: `${r.toFixed(2)}×`, met: r <= 1.2, info });
      const r100 = hundred.use.p50Us / hundred.baseline.p50Us;
      goals.push({ goal: `${s.store}: use() p50${path} vs ${s.baseline} (100 callers)`, target: "≤ 1.2×", value: `${r100.toFixed(2)}×`, met: r100 <= 1.2, info });
      if (one.write) {
        const w = one.use.p50Us / one.write.p50Us;
        goals.push({ goal: `${s.store}: use() p50 vs its write floor (${one.write.name}, 1 caller)`, target: "≤ 1.2×", value: `${w.toFixed(2)}×`, met: w <= 1.2, info: true });
      }
    }
    for (const s of storeResults.results) {
      for (const l of s.levels) {
        if (l.explain) {
          const who = `${l.callers} caller${l.callers === 1 ? "" : "s"}`;
          log(`  ${s.store}: ${l.explain.name}: p50 ${l.explain.p50Us.toFixed(1)} µs, p99 ${l.explain.p99Us.toFixed(1)} µs (${who})`);
        }
      }
    }
    log();
    log(table(["store", "callers", "use p50 µs", "use p99 µs", "use ops/s", "consume() p50 µs", "baseline p50 / p99 µs", "baseline ops/s", "p50 ratio", "write floor p50, use() vs it"], rows));
    for (const [name, why] of Object.entries({ ...ctx.skipped, ...storeResults.skipped })) log(`  ${name}: not benchmarked (${why})`);
  }

  // --- memory -----------------------------------------------------------------------------------------------
  log();
  const large = quick ? 100_000 : 1_000_000;
  log(`memory store: use() with 1,000 and ${large.toLocaleString("en-US")} live counters…`);
  const scaling = await memoryScaling(ctx.lib.core, { large, rounds: quick ? 5 : 15, targetMs: quick ? 15 : 40 });
  log(
    table(["live counters", "use() µs", "ops/s"], [
      [scaling.small.toLocaleString("en-US"), fmtUs(scaling.smallUse.ns), nf(scaling.smallUse.opsPerSec)],
      [scaling.large.toLocaleString("en-US"), fmtUs(scaling.largeUse.ns), nf(scaling.largeUse.opsPerSec)],
    ]),
  );
  log(`heap per live counter: ${scaling.heapBytesPerEntry.toFixed(0)} bytes`);
  goals.push({ goal: `memory store: use() at ${large.toLocaleString("en-US")} live counters vs at 1,000`, target: "≤ 2× slower", value: `${scaling.slowdown.toFixed(2)}× slower`, met: scaling.slowdown <= 2 });

  const leakCalls = quick ? 20_000 : 1_000_000;
  log();
  log(`heap over ${leakCalls.toLocaleString("en-US")} new()+verify() calls…`);
  const leak = await leakCheck(ctx.lib.core, leakCalls);
  const growth = leak.heapAfterBytes - leak.heapBeforeBytes;
  log(`heap before ${(leak.heapBeforeBytes / 2 ** 20).toFixed(2)} MB, after ${(leak.heapAfterBytes / 2 ** 20).toFixed(2)} MB; checkpoints ${leak.checkpoints.map((b) => (b / 2 ** 20).toFixed(2)).join(" ")} MB`);
  goals.push({ goal: `heap growth over ${leakCalls.toLocaleString("en-US")} new+verify`, target: "none (< 1 MB)", value: `${(growth / 1024).toFixed(0)} kB`, met: growth < 2 ** 20 });

  // --- bundle -----------------------------------------------------------------------------------------------
  log();
  const { sizes: bundles, app } = await bundleSizes(ctx.root, ctx.src);
  log(table(["bundle (rolldown, minified; each file gzipped)", "bytes", "gzip bytes", ""], bundles.map((b) => [b.name, b.minBytes ? String(b.minBytes) : "", String(b.gzipBytes), b.note])));
  log(`initial code of new+verify: ${app.modules.join(", ")}`);
  goals.push({ goal: "bundle: new+verify, minified + gzipped (initial code)", target: "≤ 4096 B", value: `${app.gzipBytes} B`, met: app.gzipBytes <= 4096 });

  // --- goals --------------------------------------------------------------------------------------------------
  log();
  log("## goals (issue 6): ratios from this run");
  log(table(["goal", "target", "this run", "on CPU time", ""], goals.map((g) => [g.goal, g.target, g.value, g.cpu ?? "", g.info ? "(info)" : g.met ? "met" : "NOT MET"])));
  const elapsed = (Date.now() - started) / 1000;
  log();
  log(`done in ${elapsed.toFixed(0)} s`);

  // --- files --------------------------------------------------------------------------------------------------
  const date = new Date(started).toISOString();
  const results = {
    date,
    quick,
    coreSource: ctx.src === join(ctx.root, "src") ? "src/" : ctx.src,
    elapsedSeconds: Math.round(elapsed),
    machine,
    versions,
    method: {
      rounds,
      note: "one process; cases interleaved round by round; ns/op = median over rounds; ratios = median of per-round ratios",
    },
    tokens: measured.map((m) => ({
      id: m.id, group: m.group, label: m.label, nsPerOp: Math.round(m.ns), opsPerSec: Math.round(m.opsPerSec), cpuNsPerOp: Math.round(m.cpuNs),
      roundsNs: m.rounds.map(Math.round), cpuRoundsNs: m.cpuRounds.map(Math.round),
    })),
    tokenSizes: sizes,
    stores: storeResults,
    storesNotBenchmarked: { ...ctx.skipped },
    memory: { scaling: { ...scaling, smallUse: scaling.smallUse.ns, largeUse: scaling.largeUse.ns }, leak },
    bundles,
    goals,
  };
  // Results of another source tree never overwrite the committed ones.
  if (!ctx.argv.includes("--no-write") && ctx.src === join(ctx.root, "src")) {
    writeFileSync(join(ctx.root, "bench", "results.json"), JSON.stringify(results, null, 1) + "\n");
    const bar = (id: string, label: string, kind: "tempid" | "floor" | "peer") => ({ label, opsPerSec: by(id).opsPerSec, kind });
    const svg = chartSvg(
      "tempid vs peers: operations per second (higher is better)",
      [
        {
          title: "verify a token",
          bars: [
            bar("tempid.auto.verify", "tempid verify", "tempid"),
            bar("tempid.auto.verify.payload", "tempid verify + payload", "tempid"),
            bar("tempid.webcrypto.verify", "tempid verify (portable WebCrypto)", "tempid"),
            bar("floor.subtle.hmac.verify", "crypto.subtle HMAC verify alone", "floor"),
            bar("branca.decode", "branca decode", "peer"),
            bar("jose.decrypt", "jose jwtDecrypt (JWE)", "peer"),
            bar("jose.verify", "jose jwtVerify (HS256)", "peer"),
            bar("iron.unseal", "@hapi/iron unseal", "peer"),
            bar("fernet.decode", "fernet decode", "peer"),
            bar("ironwc.unseal", "iron-webcrypto unseal", "peer"),
            bar("paseto.decrypt", "paseto v3.local decrypt", "peer"),
          ].sort((a, b) => b.opsPerSec - a.opsPerSec),
        },
        {
          title: "create a token",
          bars: [
            bar("tempid.auto.new", "tempid new", "tempid"),
            bar("tempid.auto.new.payload", "tempid new + payload", "tempid"),
            bar("tempid.webcrypto.new", "tempid new (portable WebCrypto)", "tempid"),
            bar("floor.subtle.hmac.sign", "crypto.subtle HMAC sign alone", "floor"),
            bar("branca.encode", "branca encode", "peer"),
            bar("jose.encrypt", "jose EncryptJWT (JWE)", "peer"),
            bar("jose.sign", "jose SignJWT (HS256)", "peer"),
            bar("iron.seal", "@hapi/iron seal", "peer"),
            bar("fernet.encode", "fernet encode", "peer"),
            bar("ironwc.seal", "iron-webcrypto seal", "peer"),
            bar("paseto.encrypt", "paseto v3.local encrypt", "peer"),
          ].sort((a, b) => b.opsPerSec - a.opsPerSec),
        },
      ],
      [
        `${machine.cpu}, ${machine.cores} cores · Node ${process.version} (OpenSSL ${versions["openssl"]}) · ${date.slice(0, 10)}${quick ? " · quick run" : ""}`,
        `jose ${versions["jose"]}, @hapi/iron ${versions["@hapi/iron"]}, iron-webcrypto ${versions["iron-webcrypto"]}, branca ${versions["branca"]}, fernet ${versions["fernet"]}, paseto ${versions["paseto"]}`,
        "One process, interleaved rounds, medians. Compare bars within this chart, not with other runs.",
      ],
    );
    writeFileSync(join(ctx.root, "bench", "chart.svg"), svg);
    log("wrote bench/results.json and bench/chart.svg");
  }
}

function nf(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
