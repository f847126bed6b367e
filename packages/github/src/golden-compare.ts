import { slaItl, type ExperimentResults, type MeasuredPoint } from '@llm-recipes/profile';
import type { Golden } from '@llm-recipes/recipe';
import { comparisonMarkdown, compareExperiments, type Comparison, type Verdict } from '@llm-recipes/report';

/** How a candidate was compared with the recipe's golden. */
export type GoldenComparisonKind =
  /** per-request bootstrap against the golden's own experiment directory (its artifacts are at hand) */
  | 'bootstrap'
  /** the candidate's point at the golden's load against the metrics recorded in golden.yaml (no per-request data) */
  | 'recorded-point'
  /** no golden.yaml yet */
  | 'none';

export interface RecordedMetric {
  metric: 'ttft' | 'itl' | 'tokens/s/GPU';
  golden: number;
  candidate: number;
  /** candidate / golden. */
  ratio: number;
  verdict: Exclude<Verdict, 'insufficient-data'>;
}

export interface GoldenVerdict {
  kind: GoldenComparisonKind;
  verdict: Verdict | 'no-golden';
  /** One line for comments and logs. */
  summary: string;
  golden: { experiment: string; point: string; promotedAt: string; promotedBy: string; tokensPerSecondPerGpu: number } | null;
  /** recorded-point: the metrics compared. */
  metrics: RecordedMetric[];
  /** bootstrap: the full comparison. */
  comparison: Comparison | null;
  tolerance: number;
}

const benchId = (id: string): string => id.slice(id.lastIndexOf('/') + 1);
const pct = (t: number): string => `${(t * 100).toFixed(0)} %`;

function judge(ratio: number, lowerIsBetter: boolean, tol: number): RecordedMetric['verdict'] {
  const worse = lowerIsBetter ? ratio > 1 + tol : ratio < 1 - tol;
  const better = lowerIsBetter ? ratio < 1 - tol : ratio > 1 + tol;
  return worse ? 'regression' : better ? 'improvement' : 'no-change';
}

/** The candidate point measured at the golden's load (same ISL, OSL and concurrency), if any. */
export function pointAtGoldenLoad(results: ExperimentResults, golden: Golden): MeasuredPoint | undefined {
  const want = `isl${golden.point.isl}-osl${golden.point.osl}-c${golden.point.concurrency}`;
  const own = results.selected ? results.points.filter((p) => p.config === results.selected!.config) : results.points;
  return own.find((p) => benchId(p.id) === want) ?? results.points.find((p) => benchId(p.id) === want);
}

/**
 * Regression verdict of a candidate experiment against the recipe's golden. With the golden's experiment directory
 * (`baseline`) the per-request bootstrap of `compareExperiments` decides; without it the candidate's point at the
 * golden's load is compared with the metrics golden.yaml recorded — one number each side, so only a change beyond
 * the tolerance counts, and the verdict says it had no confidence interval.
 */
export function compareWithGolden(
  candidate: { dir: string; results: ExperimentResults },
  golden: Golden | undefined,
  options: { baseline?: { dir: string; results: ExperimentResults } | undefined; tolerance?: number | undefined } = {},
): GoldenVerdict {
  const tolerance = options.tolerance ?? 0.05;
  if (!golden) {
    return { kind: 'none', verdict: 'no-golden', summary: 'no golden.yaml yet: nothing to compare against (promoting this experiment sets one)', golden: null, metrics: [], comparison: null, tolerance };
  }
  const g = { experiment: golden.experiment.id, point: golden.point.id, promotedAt: golden.promotedAt, promotedBy: golden.promotedBy, tokensPerSecondPerGpu: golden.point.metrics.tokensPerSecondPerGpu };
  if (options.baseline) {
    const comparison = compareExperiments(options.baseline, candidate, { tolerance });
    return { kind: 'bootstrap', verdict: comparison.verdict, summary: comparison.summary, golden: g, metrics: [], comparison, tolerance };
  }
  const p = pointAtGoldenLoad(candidate.results, golden);
  if (!p) {
    const load = `ISL ${golden.point.isl}/OSL ${golden.point.osl} at concurrency ${golden.point.concurrency ?? `rate ${golden.point.rate}`}`;
    return { kind: 'recorded-point', verdict: 'insufficient-data', summary: `insufficient data: the experiment has no point at the golden's load (${load}); add it to the benchmark matrix`, golden: g, metrics: [], comparison: null, tolerance };
  }
  const m = golden.point.metrics;
  const itl = slaItl(p);
  const metrics: RecordedMetric[] = [];
  if (p.ttftP50 !== null && m.ttftMs > 0) metrics.push({ metric: 'ttft', golden: m.ttftMs, candidate: p.ttftP50, ratio: p.ttftP50 / m.ttftMs, verdict: judge(p.ttftP50 / m.ttftMs, true, tolerance) });
  if (itl !== null && m.itlMs > 0) metrics.push({ metric: 'itl', golden: m.itlMs, candidate: itl, ratio: itl / m.itlMs, verdict: judge(itl / m.itlMs, true, tolerance) });
  if (m.tokensPerSecondPerGpu > 0) {
    const r = p.tokensPerSecondPerGpu / m.tokensPerSecondPerGpu;
    metrics.push({ metric: 'tokens/s/GPU', golden: m.tokensPerSecondPerGpu, candidate: p.tokensPerSecondPerGpu, ratio: r, verdict: judge(r, false, tolerance) });
  }
  const worse = metrics.filter((x) => x.verdict === 'regression');
  const verdict: Verdict = metrics.length === 0 ? 'insufficient-data' : worse.length > 0 ? 'regression' : metrics.some((x) => x.verdict === 'improvement') ? 'improvement' : 'no-change';
  const summary =
    verdict === 'regression'
      ? `regression: ${worse.map((x) => `${x.metric} ×${x.ratio.toFixed(3)}`).join(', ')} vs the golden beyond ±${pct(tolerance)}`
      : verdict === 'improvement'
        ? `improvement: ${metrics.filter((x) => x.verdict === 'improvement').map((x) => `${x.metric} ×${x.ratio.toFixed(3)}`).join(', ')} vs the golden, nothing worse beyond ±${pct(tolerance)}`
        : verdict === 'no-change'
          ? `no regression: every metric within ±${pct(tolerance)} of the golden`
          : 'insufficient data: the point at the golden load has no latency';
  return { kind: 'recorded-point', verdict, summary, golden: g, metrics, comparison: null, tolerance };
}

const ICON: Record<GoldenVerdict['verdict'], string> = { regression: '⚠️', improvement: '✅', 'no-change': '✅', 'insufficient-data': '❔', 'no-golden': '🆕' };

export function verdictIcon(v: GoldenVerdict['verdict']): string {
  return ICON[v];
}

/** The "Regression vs golden" markdown section: what was compared, how, and the verdict. */
export function goldenVerdictMarkdown(v: GoldenVerdict, heading = '##'): string {
  const out = [`${heading} Regression vs golden`, ''];
  if (!v.golden) {
    out.push(`${ICON['no-golden']} ${v.summary}.`, '');
    return out.join('\n');
  }
  out.push(`Golden: point \`${v.golden.point}\` of experiment \`${v.golden.experiment}\` (${v.golden.tokensPerSecondPerGpu.toFixed(1)} tok/s/GPU), promoted ${v.golden.promotedAt} by ${v.golden.promotedBy}.`, '');
  out.push(
    v.kind === 'bootstrap'
      ? `Comparison: **per-request bootstrap** against the golden's experiment (95 % intervals over ${v.comparison?.resamples ?? 0} resamples, tolerance ±${pct(v.tolerance)}).`
      : `Comparison: **recorded golden metrics** — the golden's experiment artifacts are not available here, so the candidate's point at the golden's load is compared with the numbers golden.yaml recorded (one value each side, no confidence interval; tolerance ±${pct(v.tolerance)}).`,
    '',
  );
  out.push(`Verdict: ${ICON[v.verdict]} **${v.verdict}** — ${v.summary}.`, '');
  if (v.kind === 'bootstrap' && v.comparison) out.push(comparisonMarkdown(v.comparison), '');
  if (v.metrics.length > 0) {
    out.push('| metric | golden | candidate | ratio | verdict |', '|---|---:|---:|---:|---|');
    for (const m of v.metrics) out.push(`| ${m.metric}${m.metric === 'tokens/s/GPU' ? '' : ' p50 ms'} | ${m.golden.toFixed(2)} | ${m.candidate.toFixed(2)} | ${m.ratio.toFixed(3)} | ${m.verdict} |`);
    out.push('');
  }
  return out.join('\n');
}
