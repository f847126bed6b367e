import type { Summary } from '@llm-recipes/bench';
import type { ExperimentPoint } from './experiment.ts';

export type Percentile = 'p50' | 'p90' | 'p99';

export interface SelectionSla {
  ttftMs: number;
  itlMs: number;
  e2eMs?: number | undefined;
}

/** The numbers promotion records for a point (ms, tokens/s). */
export interface PointMetrics {
  ttftMs: number;
  itlMs: number;
  tpotMs: number | null;
  e2eMs: number | null;
  tokensPerSecondPerGpu: number;
  tokensPerSecondPerUser: number | null;
  outputTokensPerSecond: number;
  requestsPerSecond: number;
  errorRate: number;
}

export interface Candidate {
  id: string;
  concurrency: number | null;
  rate: number | null;
  metrics: PointMetrics;
  /** Why the point misses the SLA; empty when it meets it. */
  misses: string[];
}

export interface SelectionOptions {
  sla: SelectionSla;
  /** GPUs serving the endpoint, when the summaries lack tokens_per_second_per_gpu. */
  gpus: number;
  percentile?: Percentile | undefined;
  /** Largest error rate a point may have (default 0.01): errors make latencies look better than they are. */
  maxErrorRate?: number | undefined;
}

export const SELECTION_RULE =
  'highest output tokens/s per GPU among completed points whose TTFT and ITL (and E2E when bounded) at the chosen percentile meet the SLA and whose error rate is at most 1 %; ties go to higher tokens/s per user, then lower load';

/** The numbers of one completed point; undefined when it has no latency data. */
export function pointMetrics(summary: Summary, gpus: number, percentile: Percentile = 'p50'): PointMetrics | undefined {
  if (!summary.ttft || !summary.itl) return undefined;
  return {
    ttftMs: summary.ttft[percentile],
    itlMs: summary.itl[percentile],
    tpotMs: summary.tpot?.[percentile] ?? null,
    e2eMs: summary.e2e?.[percentile] ?? null,
    tokensPerSecondPerGpu: summary.tokens_per_second_per_gpu ?? summary.output_throughput / gpus,
    tokensPerSecondPerUser: summary.tokens_per_second_per_user?.p50 ?? null,
    outputTokensPerSecond: summary.output_throughput,
    requestsPerSecond: summary.request_throughput,
    errorRate: summary.error_rate,
  };
}

/** Every completed point with its metrics and SLA verdict. */
export function candidates(points: readonly ExperimentPoint[], options: SelectionOptions): Candidate[] {
  const pct = options.percentile ?? 'p50';
  const maxErr = options.maxErrorRate ?? 0.01;
  const out: Candidate[] = [];
  for (const p of points) {
    if (p.status !== 'done' || !p.summary) continue;
    const m = pointMetrics(p.summary, options.gpus, pct);
    if (!m) continue;
    const misses: string[] = [];
    if (!(m.ttftMs <= options.sla.ttftMs)) misses.push(`TTFT ${pct} ${round(m.ttftMs)} ms > ${options.sla.ttftMs} ms`);
    if (!(m.itlMs <= options.sla.itlMs)) misses.push(`ITL ${pct} ${round(m.itlMs)} ms > ${options.sla.itlMs} ms`);
    if (options.sla.e2eMs !== undefined && !(m.e2eMs !== null && m.e2eMs <= options.sla.e2eMs)) {
      misses.push(`E2E ${pct} ${m.e2eMs === null ? 'n/a' : round(m.e2eMs)} ms > ${options.sla.e2eMs} ms`);
    }
    if (!(m.errorRate <= maxErr)) misses.push(`error rate ${round(m.errorRate * 100)} % > ${round(maxErr * 100)} %`);
    out.push({ id: p.point.id, concurrency: p.point.concurrency, rate: p.point.rate, metrics: m, misses });
  }
  return out;
}

/** Best of the candidates that meet the SLA (see SELECTION_RULE); undefined when none does. */
export function selectBest(all: readonly Candidate[]): Candidate | undefined {
  const load = (c: Candidate): number => c.concurrency ?? c.rate ?? 0;
  return all
    .filter((c) => c.misses.length === 0)
    .sort(
      (a, b) =>
        b.metrics.tokensPerSecondPerGpu - a.metrics.tokensPerSecondPerGpu ||
        (b.metrics.tokensPerSecondPerUser ?? 0) - (a.metrics.tokensPerSecondPerUser ?? 0) ||
        load(a) - load(b) ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )[0];
}

export function round(x: number): number {
  return Math.round(x * 100) / 100;
}
