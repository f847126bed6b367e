// Pure decision logic of the profiler: when a sweep stops, how prefill and decode pools are combined into a
// disaggregated deployment, and which candidate is selected. Kept free of I/O so it is unit- and property-tested.

export interface Sla {
  ttftMs: number;
  itlMs: number;
}

/** One point of a decode sweep: one engine (TP) at one concurrency. */
export interface DecodeSample {
  concurrency: number;
  /** Inter-token latency, ms (p50 TPOT: the per-request mean gap, as AIPerf reports ITL). */
  itlMs: number;
  tokensPerSecondPerUser: number;
  tokensPerSecondPerGpu: number;
}

/**
 * Early stop of a decode sweep (concurrency rising geometrically). Returns why the sweep stops after `next`, or null
 * to go on. ITL only grows with concurrency, so a point past the ITL bound ends the sweep; a point another point of
 * the same sweep dominates means the engine saturated (more load buys no throughput and costs per-user speed).
 */
export function decodeStopReason(previous: readonly DecodeSample[], next: DecodeSample, sla: Sla): string | null {
  if (next.itlMs > sla.itlMs) return `ITL ${next.itlMs.toFixed(2)} ms > SLA ${sla.itlMs} ms at concurrency ${next.concurrency}`;
  const by = previous.find(
    (p) =>
      p.tokensPerSecondPerGpu >= next.tokensPerSecondPerGpu &&
      p.tokensPerSecondPerUser >= next.tokensPerSecondPerUser &&
      (p.tokensPerSecondPerGpu > next.tokensPerSecondPerGpu || p.tokensPerSecondPerUser > next.tokensPerSecondPerUser),
  );
  if (by) return `concurrency ${next.concurrency} is dominated by concurrency ${by.concurrency} (engine saturated)`;
  return null;
}

/**
 * Early stop of a prefill sweep (ISL rising): once TTFT passes the bound at or beyond the workload's ISL, longer
 * prompts only take longer.
 */
export function prefillStopReason(isl: number, ttftMs: number, workloadIsl: number, sla: Sla): string | null {
  if (isl >= workloadIsl && ttftMs > sla.ttftMs) return `TTFT ${ttftMs.toFixed(1)} ms > SLA ${sla.ttftMs} ms at ISL ${isl}`;
  return null;
}

/** Linear interpolation over sorted xs (clamped extrapolation by the end segments' slope). */
export function interpolate(xs: readonly number[], ys: readonly number[], x: number): number {
  if (xs.length === 0) return Number.NaN;
  if (xs.length === 1) return ys[0]! * (x / xs[0]!);
  let i = 0;
  while (i < xs.length - 2 && x > xs[i + 1]!) i++;
  const [x0, x1, y0, y1] = [xs[i]!, xs[i + 1]!, ys[i]!, ys[i + 1]!];
  const y = x1 === x0 ? y0 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  return Math.max(0, y);
}

export interface ReplicaSplit {
  prefillReplicas: number;
  decodeReplicas: number;
  gpus: number;
  /** Requests/s the pair sustains: the smaller of prefill capacity and decode throughput. */
  requestsPerSecond: number;
  /** Prefill replicas per decode replica the measurements call for (before rounding to whole replicas). */
  ratio: number;
  /** Which side limits the throughput. */
  bound: 'prefill' | 'decode';
}

/**
 * The prefill:decode replica split for a GPU budget, from measured prefill capacity (requests/s one prefill replica
 * completes: 1000 / TTFT at the workload ISL) and measured decode throughput (requests/s one decode replica finishes
 * at the chosen concurrency: output tokens/s ÷ OSL), as the SLA profiler sizes pools. Every whole split within the
 * budget is tried; the one with the most requests/s per GPU wins (fewer GPUs on ties). Null when nothing fits.
 */
export function replicaSplit(o: { prefillTp: number; decodeTp: number; prefillRequestsPerSecond: number; decodeRequestsPerSecond: number; gpuBudget: number }): ReplicaSplit | null {
  const { prefillTp: a, decodeTp: b, prefillRequestsPerSecond: p, decodeRequestsPerSecond: d } = o;
  if (!(p > 0) || !(d > 0) || a + b > o.gpuBudget) return null;
  let best: ReplicaSplit | null = null;
  for (let rd = 1; a + rd * b <= o.gpuBudget; rd++) {
    for (let rp = 1; rp * a + rd * b <= o.gpuBudget; rp++) {
      const gpus = rp * a + rd * b;
      const rps = Math.min(rp * p, rd * d);
      const better = !best || rps / gpus > best.requestsPerSecond / best.gpus + 1e-12 || (Math.abs(rps / gpus - best.requestsPerSecond / best.gpus) <= 1e-12 && gpus < best.gpus);
      if (better) best = { prefillReplicas: rp, decodeReplicas: rd, gpus, requestsPerSecond: rps, ratio: d / p, bound: rp * p < rd * d ? 'prefill' : 'decode' };
    }
  }
  return best;
}

/** What selection needs of a candidate point. */
export interface Selectable {
  id: string;
  config: string;
  gpus: number;
  /** False for a configuration whose weights or one sequence of KV do not fit: never selected. */
  fits?: boolean | undefined;
  meetsSla: boolean;
  ttftP50: number | null;
  /** The latency the ITL bound is checked against. */
  itlMs: number | null;
  tokensPerSecondPerGpu: number;
  tokensPerSecondPerUser: number;
  errorRate: number;
}

export interface Selection<T> {
  point: T;
  reason: string;
  /** False when no point meets the SLA and the closest one is reported instead. */
  meetsSla: boolean;
}

/** Selection order: tokens/s/GPU, then tokens/s/user, then fewer GPUs, then id (deterministic). */
export function rankSelectable(a: Selectable, b: Selectable): number {
  return b.tokensPerSecondPerGpu - a.tokensPerSecondPerGpu || b.tokensPerSecondPerUser - a.tokensPerSecondPerUser || a.gpus - b.gpus || a.id.localeCompare(b.id);
}

/** How far a point is from the SLA: max(TTFT/bound, ITL/bound); ≤ 1 meets it. */
export function slaViolation(p: Pick<Selectable, 'ttftP50' | 'itlMs'>, sla: Sla): number {
  if (p.ttftP50 === null || p.itlMs === null) return Number.POSITIVE_INFINITY;
  return Math.max(p.ttftP50 / sla.ttftMs, p.itlMs / sla.itlMs);
}

/**
 * The best fitting SLA-meeting point by tokens/s/GPU; when none meets the SLA, the fitting point closest to it,
 * flagged (the DGDR thorough path reports the closest config rather than failing). Points that do not fit, or
 * whose requests mostly failed, are never selected.
 */
export function selectBest<T extends Selectable>(points: readonly T[], sla: Sla): Selection<T> | null {
  const usable = points.filter((p) => p.fits !== false && p.errorRate < 0.5);
  const ok = usable.filter((p) => p.meetsSla);
  if (ok.length > 0) {
    const best = [...ok].sort(rankSelectable)[0]!;
    return { point: best, meetsSla: true, reason: `highest tokens/s/GPU (${best.tokensPerSecondPerGpu.toFixed(1)}) among ${ok.length} point(s) meeting TTFT ≤ ${sla.ttftMs} ms and ITL ≤ ${sla.itlMs} ms` };
  }
  const valid = usable.filter((p) => Number.isFinite(slaViolation(p, sla)));
  if (valid.length === 0) return null;
  const closest = [...valid].sort((a, b) => slaViolation(a, sla) - slaViolation(b, sla) || rankSelectable(a, b))[0]!;
  return { point: closest, meetsSla: false, reason: `no point meets the SLA; closest is ${slaViolation(closest, sla).toFixed(2)}× over its tightest bound (SLA unverified)` };
}

/** Why a config lost to the selection, from its best point (or its closest miss). */
export function lossReason(best: Selectable, selected: Selectable | undefined, sla: Sla): string {
  if (best.fits === false) return 'does not fit';
  if (!best.meetsSla) {
    const parts: string[] = [];
    if (best.ttftP50 !== null && best.ttftP50 > sla.ttftMs) parts.push(`TTFT ${best.ttftP50.toFixed(1)} ms > ${sla.ttftMs} ms`);
    if (best.itlMs !== null && best.itlMs > sla.itlMs) parts.push(`ITL ${best.itlMs.toFixed(2)} ms > ${sla.itlMs} ms`);
    if (best.errorRate > 0.01) parts.push(`${(best.errorRate * 100).toFixed(0)}% errors`);
    return `misses the SLA even at its closest point: ${parts.join(', ') || 'no latency measured'}`;
  }
  if (!selected) return '';
  return `meets the SLA but ${best.tokensPerSecondPerGpu.toFixed(0)} tok/s/GPU < selected ${selected.tokensPerSecondPerGpu.toFixed(0)}`;
}
