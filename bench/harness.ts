/**
 * Timing: every case runs in the same process, in interleaved rounds (each round runs every case in four
 * short slices spread over the round, each pass in a different order), so slow drifts of a noisy machine
 * hit all cases alike. A case's result is the median of
 * its per-round times; a ratio is the median of the per-round ratios of two cases, never a comparison with
 * another run.
 */

export interface Case {
  id: string;
  /** table section */
  group: string;
  label: string;
  /** a synchronous function is timed without an await per call; an async one is awaited call by call */
  fn: () => unknown;
  async: boolean;
  /** runs once before timing: throws when the case does not do what its label says */
  check?: () => unknown;
}

export interface Measured {
  id: string;
  group: string;
  label: string;
  /** nanoseconds per operation, one per round */
  rounds: number[];
  /** median of rounds */
  ns: number;
  opsPerSec: number;
  /** process CPU time (all threads) per operation, one per round: steadier than wall time on a busy machine */
  cpuRounds: number[];
  cpuNs: number;
}

let sink: unknown;
/** Keeps results alive so no call can be optimized away. */
export function consume(): unknown {
  return sink;
}

async function timeBatch(c: Case, n: number): Promise<{ wall: number; cpu: number }> {
  const fn = c.fn;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  if (c.async) {
    for (let i = 0; i < n; i++) sink = await fn();
  } else {
    for (let i = 0; i < n; i++) sink = fn();
  }
  const wall = ((performance.now() - t0) * 1e6) / n;
  const cpu = process.cpuUsage(c0);
  return { wall, cpu: ((cpu.user + cpu.system) * 1e3) / n };
}

/** How many calls fill `targetMs`, from a short warm-up that also lets the JIT settle. */
async function calibrate(c: Case, targetMs: number): Promise<number> {
  let n = 1;
  let spent = 0;
  const start = performance.now();
  while (performance.now() - start < Math.max(20, targetMs)) {
    const ns = (await timeBatch(c, n)).wall;
    spent = ns;
    if (ns * n < 2e6) n *= 2;
  }
  return Math.max(1, Math.round((targetMs * 1e6) / spent));
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function measureAll(cases: readonly Case[], opts: { rounds: number; targetMs: number; onRound?: (r: number) => void }): Promise<Measured[]> {
  for (const c of cases) {
    try {
      await c.check?.();
    } catch (err) {
      throw new Error(`bench case "${c.id}" failed its check: ${(err as Error).message}`);
    }
  }
  const sizes = new Map<string, number>();
  for (const c of cases) sizes.set(c.id, await calibrate(c, opts.targetMs));
  const random = seededRandom(0x7e3b1d);
  const times = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  const cpuTimes = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  // Each round is PASSES passes over all cases with a quarter batch each, so every case samples the whole
  // round: two cases compared within a round then saw the same spells of a busy machine.
  const PASSES = 4;
  for (let r = 0; r < opts.rounds; r++) {
    const wallSum = new Map<string, number>();
    const cpuSum = new Map<string, number>();
    for (let pass = 0; pass < PASSES; pass++) {
      // A fresh order each pass: a case must not always follow the same neighbour, whose garbage (a fast
      // case leaves many promises behind) would always be collected on its time.
      for (const c of shuffled(cases, random)) {
        const { wall, cpu } = await timeBatch(c, Math.max(1, Math.round(sizes.get(c.id)! / PASSES)));
        wallSum.set(c.id, (wallSum.get(c.id) ?? 0) + wall);
        cpuSum.set(c.id, (cpuSum.get(c.id) ?? 0) + cpu);
      }
    }
    for (const c of cases) {
      times.get(c.id)!.push(wallSum.get(c.id)! / PASSES);
      cpuTimes.get(c.id)!.push(cpuSum.get(c.id)! / PASSES);
    }
    opts.onRound?.(r);
  }
  return cases.map((c) => {
    const rounds = times.get(c.id)!;
    const cpuRounds = cpuTimes.get(c.id)!;
    const ns = median(rounds);
    return { id: c.id, group: c.group, label: c.label, rounds, ns, opsPerSec: 1e9 / ns, cpuRounds, cpuNs: median(cpuRounds) };
  });
}

/** How many times faster `a` is than `b` (>1: a is faster): the median of per-round ratios of wall time. */
export function speedRatio(a: Measured, b: Measured): number {
  return ratioOf(a.rounds, b.rounds);
}

/** The same ratio on CPU time, the cross-check for a machine that other work keeps busy. */
export function cpuRatio(a: Measured, b: Measured): number {
  return ratioOf(a.cpuRounds, b.cpuRounds);
}

function ratioOf(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) ratios.push(b[i]! / a[i]!);
  return median(ratios);
}

/**
 * A close comparison of two operations: rounds of A B B A batches back to back (no other case in
 * between), so both see the same moment of the machine. `settle` runs before every batch (a full
 * collection, from the caller): without it a batch pays for garbage the batch before it made, which turns
 * a few-percent difference into a coin toss. Returns how many times faster `a` is than `b` (median over
 * rounds), on wall and on CPU time.
 */
export async function pairedRatio(a: Case, b: Case, rounds: number, n: number, settle: () => void = () => {}): Promise<{ wall: number; cpu: number }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  const batch = async (c: Case) => {
    settle();
    return timeBatch(c, n);
  };
  for (let r = 0; r < rounds; r++) {
    const a1 = await batch(a);
    const b1 = await batch(b);
    const b2 = await batch(b);
    const a2 = await batch(a);
    wall.push((b1.wall + b2.wall) / (a1.wall + a2.wall));
    cpu.push((b1.cpu + b2.cpu) / (a1.cpu + a2.cpu));
  }
  return { wall: median(wall), cpu: median(cpu) };
}

/** A repeatable pseudo-random sequence (mulberry32): the same orders in every run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
