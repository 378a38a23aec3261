/**
 * Memory: the MemoryStore's time per use() with few and with many live counters, its heap per counter,
 * and the heap before and after a long run of new()+verify() (a leak shows as growth).
 */
import { randomUUID } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type Case, measureAll, type Measured, speedRatio } from "./harness.js";
import type { Core } from "./lib.js";

const SECRET = "bench-memory-secret-0123456789abcdef-0123456789";

/** A full collection, without starting node with --expose-gc. */
export function collector(): () => void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  return () => {
    gc();
    gc();
  };
}

function heapUsed(gc: () => void): number {
  gc();
  return process.memoryUsage().heapUsed;
}

export interface ScalingResult {
  small: number;
  large: number;
  smallUse: Measured;
  largeUse: Measured;
  /** how many times slower a use() is with `large` live counters than with `small` */
  slowdown: number;
  heapBytesPerEntry: number;
}

export async function memoryScaling(core: Core, opts: { large: number; rounds: number; targetMs: number }): Promise<ScalingResult> {
  const gc = collector();
  const now = Date.now();
  const expires = Math.floor(now / 1000) + 3600;
  // Keys shaped like a token's counterKey: flat UUID text (randomUUID's own string is a fragment tree
  // several times larger, which would overstate the heap per counter).
  const ascii = new TextDecoder();
  const encoder = new TextEncoder();
  const flatUuid = () => ascii.decode(encoder.encode(randomUUID()));
  const fill = async (store: InstanceType<Core["MemoryStore"]>, n: number) => {
    for (let i = 0; i < n; i++) await store.consume(flatUuid(), 1_000_000_000, expires, now);
  };
  const small = 1000;
  const smallStore = new core.MemoryStore();
  await fill(smallStore, small);
  const before = heapUsed(gc);
  const largeStore = new core.MemoryStore();
  await fill(largeStore, opts.large);
  const heapBytesPerEntry = (heapUsed(gc) - before) / opts.large;

  const useCase = async (name: string, store: InstanceType<Core["MemoryStore"]>): Promise<Case> => {
    const t = core.createTempID({ secret: SECRET, store });
    // 1000 tokens, already counted once, so each use() updates a live counter among all the others.
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => t.new("1h", { maxUses: 1_000_000_000 })));
    for (const tid of tokens) await tid.use();
    let i = 0;
    return { id: `memory.use.${name}`, group: "memory", label: `MemoryStore use() (${name})`, async: true, fn: () => tokens[i++ % 1000]!.use() };
  };
  const cases = [await useCase("small", smallStore), await useCase("large", largeStore)];
  const [smallUse, largeUse] = await measureAll(cases, { rounds: opts.rounds, targetMs: opts.targetMs });
  const result = { small, large: opts.large, smallUse: smallUse!, largeUse: largeUse!, slowdown: speedRatio(smallUse!, largeUse!), heapBytesPerEntry };
  await smallStore.close();
  await largeStore.close();
  return result;
}

export interface LeakResult {
  calls: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  /** heap after each tenth of the run, to see a trend rather than one difference */
  checkpoints: number[];
}

export async function leakCheck(core: Core, calls: number): Promise<LeakResult> {
  const gc = collector();
  const t = core.createTempID({ secret: SECRET });
  const withPayload = { user_id: 42 };
  // Warm up first, so JIT code and caches are in the "before" heap.
  for (let i = 0; i < 2000; i++) await t.verify((await t.new("15m", i % 2 ? { payload: withPayload } : {})).toString());
  const heapBeforeBytes = heapUsed(gc);
  const checkpoints: number[] = [];
  const tenth = Math.max(1, Math.floor(calls / 10));
  for (let i = 0; i < calls; i++) {
    const tid = await t.new("15m", i % 2 ? { payload: withPayload } : {});
    if ((await t.verify(tid.toString())) === null) throw new Error("leak check: verify refused a fresh token");
    if ((i + 1) % tenth === 0) checkpoints.push(heapUsed(gc));
  }
  return { calls, heapBeforeBytes, heapAfterBytes: heapUsed(gc), checkpoints };
}
