/**
 * Timing: every case runs in the same process, in interleaved rounds (each round runs every case in four
 * short slices spread over the round, in a rotated order), so slow drifts of a noisy machine hit all cases
 * alike. A case's result is the median of
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
  const times = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  const cpuTimes = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  // Each round is PASSES passes over all cases with a quarter batch each, so every case samples the whole
  // round: two cases compared within a round then saw the same spells of a busy machine.
  const PASSES = 4;
  for (let r = 0; r < opts.rounds; r++) {
    const wallSum = new Map<string, number>();
    const cpuSum = new Map<string, number>();
    for (let pass = 0; pass < PASSES; pass++) {
      for (let k = 0; k < cases.length; k++) {
        const c = cases[(k + r + pass * 7) % cases.length]!;
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
