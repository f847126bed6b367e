import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng, parseRecordsJsonl, type RequestRecord } from '@llm-recipes/bench';
import type { ExperimentResults } from '@llm-recipes/profile';

export type Verdict = 'regression' | 'improvement' | 'no-change' | 'insufficient-data';

export interface MetricComparison {
  metric: 'ttft' | 'tpot' | 'e2e';
  baseMedian: number;
  candidateMedian: number;
  /** candidate median / base median: > 1 is slower. */
  ratio: number;
  /** 95 % bootstrap interval of the ratio. */
  ciLow: number;
  ciHigh: number;
  verdict: Verdict;
}

export interface PointComparison {
  /** Bench point id, e.g. isl512-osl128-c4. */
  point: string;
  baseRequests: number;
  candidateRequests: number;
  metrics: MetricComparison[];
}

export interface Comparison {
  base: string;
  candidate: string;
  /** Relative change inside which a difference counts as noise. */
  tolerance: number;
  resamples: number;
  points: PointComparison[];
  verdict: Verdict;
  summary: string;
}

// Medians: robust to the few requests a busy host delays. Closed-loop requests at high concurrency finish in waves
// that share a batch, so their values cluster and the interval widens — conservative, never a false alarm.
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Bootstrap over requests: resample each run's per-request values with replacement and take the ratio of medians,
 * `resamples` times; the 2.5th and 97.5th percentiles bound the ratio. A regression is a whole interval above
 * 1 + tolerance, so neither noise nor a bare delta decides it.
 */
export function bootstrapRatio(base: number[], cand: number[], opts: { resamples?: number; seed?: number; tolerance?: number } = {}): Omit<MetricComparison, 'metric'> {
  const B = opts.resamples ?? 1000;
  const tol = opts.tolerance ?? 0.05;
  const bm = median(base);
  const cm = median(cand);
  if (base.length < 5 || cand.length < 5 || bm <= 0) return { baseMedian: bm, candidateMedian: cm, ratio: bm > 0 ? cm / bm : NaN, ciLow: NaN, ciHigh: NaN, verdict: 'insufficient-data' };
  // seeded (mulberry32) so a report re-renders identically
  const r = createRng(opts.seed ?? 1);
  const ratios: number[] = [];
  const bs = new Array<number>(base.length);
  const cs = new Array<number>(cand.length);
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < base.length; j++) bs[j] = base[Math.floor(r() * base.length)]!;
    for (let j = 0; j < cand.length; j++) cs[j] = cand[Math.floor(r() * cand.length)]!;
    ratios.push(median(cs) / median(bs));
  }
  ratios.sort((a, b) => a - b);
  const ciLow = ratios[Math.floor(0.025 * (B - 1))]!;
  const ciHigh = ratios[Math.ceil(0.975 * (B - 1))]!;
  const verdict: Verdict = ciLow > 1 + tol ? 'regression' : ciHigh < 1 - tol ? 'improvement' : 'no-change';
  return { baseMedian: bm, candidateMedian: cm, ratio: cm / bm, ciLow, ciHigh, verdict };
}

function records(dir: string, recordsDir: string | null): RequestRecord[] {
  if (!recordsDir) return [];
  const p = join(dir, recordsDir, 'records.jsonl');
  return existsSync(p) ? parseRecordsJsonl(readFileSync(p, 'utf8')).filter((r) => !r.warmup && r.ok) : [];
}

const benchId = (id: string): string => id.slice(id.lastIndexOf('/') + 1);

/** Compares two experiments point by point (matched by ISL/OSL/concurrency) on TTFT, TPOT and E2E per request. */
export function compareExperiments(
  base: { dir: string; results: ExperimentResults },
  cand: { dir: string; results: ExperimentResults },
  opts: { tolerance?: number; resamples?: number } = {},
): Comparison {
  const tolerance = opts.tolerance ?? 0.05;
  const resamples = opts.resamples ?? 1000;
  const points: PointComparison[] = [];
  for (const bp of base.results.points) {
    const cp = cand.results.points.find((p) => benchId(p.id) === benchId(bp.id) && p.config === bp.config) ?? cand.results.points.find((p) => benchId(p.id) === benchId(bp.id));
    if (!cp) continue;
    const br = records(base.dir, bp.recordsDir);
    const cr = records(cand.dir, cp.recordsDir);
    const metrics: MetricComparison[] = [];
    for (const metric of ['ttft', 'tpot', 'e2e'] as const) {
      const pick = (r: RequestRecord): number | null => (metric === 'ttft' ? r.ttft_ms : metric === 'tpot' ? r.tpot_ms : r.e2e_ms);
      const b = br.map(pick).filter((x): x is number => x !== null);
      const c = cr.map(pick).filter((x): x is number => x !== null);
      metrics.push({ metric, ...bootstrapRatio(b, c, { resamples, tolerance, seed: points.length * 3 + metrics.length + 1 }) });
    }
    points.push({ point: benchId(bp.id), baseRequests: br.length, candidateRequests: cr.length, metrics });
  }
  const all = points.flatMap((p) => p.metrics);
  const decided = all.filter((m) => m.verdict !== 'insufficient-data');
  const verdict: Verdict = decided.length === 0 ? 'insufficient-data' : decided.some((m) => m.verdict === 'regression') ? 'regression' : decided.some((m) => m.verdict === 'improvement') ? 'improvement' : 'no-change';
  const regs = points.flatMap((p) => p.metrics.filter((m) => m.verdict === 'regression').map((m) => `${p.point} ${m.metric} ×${m.ratio.toFixed(3)} [${m.ciLow.toFixed(3)}, ${m.ciHigh.toFixed(3)}]`));
  const summary =
    verdict === 'regression'
      ? `regression: ${regs.length} metric(s) slower beyond ${(tolerance * 100).toFixed(0)} % with 95 % confidence (${regs.slice(0, 3).join('; ')}${regs.length > 3 ? '; …' : ''})`
      : verdict === 'improvement'
        ? `improvement: some metrics faster beyond ${(tolerance * 100).toFixed(0)} % with 95 % confidence, none slower`
        : verdict === 'no-change'
          ? `no regression: every 95 % interval of the candidate/base ratio reaches inside ±${(tolerance * 100).toFixed(0)} %`
          : 'insufficient data: no matching points with per-request records in both experiments';
  return { base: base.results.experiment.id, candidate: cand.results.experiment.id, tolerance, resamples, points, verdict, summary };
}
