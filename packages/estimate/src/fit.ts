import { latencyCases, parseCsv, publishedCases, type PublishedCase } from './published.ts';
import { referenceGpus } from './reference.ts';
import { serveAgg } from './serve.ts';
import { buildStepModel } from './step.ts';
import type { BackendCalibration, BackendName, BandTable, Calibration, Efficiency, EngineLimits, Gpu, Scheduling } from './types.ts';

type Param = keyof Efficiency;

/** data/priors.json: where the fit starts, how far it may move, and the engines' scheduling facts. */
export interface Priors {
  version: number;
  gpuFamilies: Record<string, string>;
  networkGBs: Record<string, number>;
  prior: Efficiency;
  priorByFamily: Record<string, Partial<Efficiency>>;
  priorByBackend: Partial<Record<BackendName, Partial<Efficiency>>>;
  /**
   * Log-space spreads: per fitted term, and of a row's residual (`residual` for throughput rows; `residualByMetric`
   * for TTFT and TPOT means, which carry the client's transport and the queue's sensitivity to capacity).
   */
  sigma: Partial<Record<Param, number>> & { residual: number; residualByMetric?: Partial<Record<CaseMetric, number>> };
  bounds: Partial<Record<Param, [number, number]>>;
  /** Parameters the fit moves; `perFamily` ones per GPU family, `perBackend` ones per backend, the rest shared. */
  fitted: Param[];
  perFamily: Param[];
  perBackend: Param[];
  /** Band σ where no held-out residual exists, by metric. */
  bandPriorSigma: Record<string, number>;
  backends: Record<
    BackendName,
    { limits: EngineLimits; smallGpuLimits?: Partial<EngineLimits>; largeGpuMinGiB?: number; largeGpuExclude?: string[]; scheduling: Scheduling; note: string }
  >;
}

/** A fitted parameter: `gemmEff.hopper` (per family), `stepMs@trtllm` (per backend) or `kernelUs` (shared). */
interface ParamSlot {
  name: string;
  param: Param;
  family?: string | undefined;
  backend?: BackendName | undefined;
}

function clampTo(priors: Priors, param: Param, v: number): number {
  const b = priors.bounds[param];
  return b ? Math.min(b[1], Math.max(b[0], v)) : v;
}

function priorValue(priors: Priors, param: Param, family: string, backend: BackendName): number {
  return { ...priors.prior, ...(priors.priorByFamily[family] ?? {}), ...(priors.priorByBackend[backend] ?? {}) }[param];
}

/**
 * Builds a Calibration from fitted values. Hardware-efficiency terms (GEMM, attention, HBM, kernel and collective
 * costs, routing skew) are properties of the GPU and its kernels and are shared by the backends; host terms
 * (per-step and per-sequence time) are per backend. A backend or family without fitted values keeps its priors.
 */
function materialise(priors: Priors, values: Record<string, number>): Calibration {
  const families = [...new Set([...Object.values(priors.gpuFamilies), 'default'])];
  const backends = {} as Calibration['backends'];
  for (const [name, b] of Object.entries(priors.backends) as [BackendName, Priors['backends'][BackendName]][]) {
    const fams: Record<string, Efficiency> = {};
    for (const f of families) {
      const e = {} as Efficiency;
      for (const param of Object.keys(priors.prior) as Param[]) {
        const v = values[`${param}.${f}`] ?? values[`${param}@${name}`] ?? values[param] ?? priorValue(priors, param, f, name);
        e[param] = clampTo(priors, param, v);
      }
      fams[f] = e;
    }
    const fittedHost = priors.perBackend.some((p) => values[`${p}@${name}`] !== undefined);
    const bc: BackendCalibration = { limits: b.limits, scheduling: b.scheduling, families: fams, fitted: fittedHost, note: b.note };
    if (b.smallGpuLimits) bc.smallGpuLimits = b.smallGpuLimits;
    if (b.largeGpuMinGiB !== undefined) bc.largeGpuMinGiB = b.largeGpuMinGiB;
    if (b.largeGpuExclude) bc.largeGpuExclude = b.largeGpuExclude;
    backends[name] = bc;
  }
  return { version: priors.version, gpuFamilies: priors.gpuFamilies, networkGBs: priors.networkGBs, backends };
}

/** Calibration that uses the priors unchanged (what the fit starts from). */
export function priorCalibration(priors: Priors): Calibration {
  return materialise(priors, {});
}

export function referenceGpu(id: string): Gpu {
  const g = referenceGpus.find((x) => x.id === id);
  if (!g) throw new Error(`no reference GPU ${id}`);
  return g;
}

/** The estimator's prediction for a published case (same units as the case's value), asked the way it was measured. */
export function predictCase(c: PublishedCase, calibration: Calibration): number {
  const m = buildStepModel({
    arch: c.model.architecture,
    gpu: referenceGpu(c.gpuId),
    backend: c.backend,
    parallelism: { tp: c.tp, ep: c.ep, attentionDp: c.attentionDp },
    dtype: c.dtype,
    kvDtype: c.kvDtype,
    calibration,
    limits: { ...(c.maxBatch !== undefined ? { maxBatch: c.maxBatch } : {}), ...(c.maxNumTokens !== undefined ? { maxNumTokens: c.maxNumTokens } : {}) },
    scheduling: c.scheduling,
  });
  const replicas = Math.max(1, Math.floor(c.numGpus / c.tp));
  const conc = c.concurrency === 'max' ? replicas * Math.max(1, m.batchFor(c.isl, c.osl)) : c.concurrency;
  const r = serveAgg(m, replicas, { isl: c.isl, osl: c.osl, ...c.protocol }, conc);
  switch (c.metric) {
    case 'outputTokensPerSecond':
      return r.outputTokensPerSecond;
    case 'tokensPerSecondPerUser':
      return r.tokensPerSecondPerUser;
    case 'ttftMs':
      return r.ttftMs;
    case 'tpotMs':
      return r.tpotMs;
  }
}

/** σ of a case's log residual in the fit objective. */
function residualSigma(priors: Priors, c: PublishedCase): number {
  return priors.sigma.residualByMetric?.[caseMetric(c)] ?? priors.sigma.residual;
}

/** Nelder–Mead minimiser (few parameters, smooth-enough objective, no gradients needed). */
export function nelderMead(f: (x: number[]) => number, x0: number[], step = 0.3, iterations = 1500): { x: number[]; value: number } {
  const n = x0.length;
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (i === j ? v + step : v)))].map((x) => ({ x, v: f(x) }));
  for (let it = 0; it < iterations; it++) {
    simplex.sort((a, b) => a.v - b.v);
    const best = simplex[0]!;
    const worst = simplex[n]!;
    if (Math.abs(worst.v - best.v) < 1e-8) break;
    const centroid = x0.map((_, j) => simplex.slice(0, n).reduce((s, p) => s + p.x[j]!, 0) / n);
    const at = (t: number): number[] => centroid.map((c, j) => c + t * (worst.x[j]! - c));
    const xr = at(-1);
    const vr = f(xr);
    if (vr < best.v) {
      const xe = at(-2);
      const ve = f(xe);
      simplex[n] = ve < vr ? { x: xe, v: ve } : { x: xr, v: vr };
    } else if (vr < simplex[n - 1]!.v) {
      simplex[n] = { x: xr, v: vr };
    } else {
      const xc = vr < worst.v ? at(-0.5) : at(0.5);
      const vc = f(xc);
      if (vc < Math.min(vr, worst.v)) simplex[n] = { x: xc, v: vc };
      else simplex = simplex.map((p, i) => (i === 0 ? p : { x: p.x.map((v, j) => best.x[j]! + 0.5 * (v - best.x[j]!)), v: 0 })).map((p, i) => (i === 0 ? p : { x: p.x, v: f(p.x) }));
    }
  }
  simplex.sort((a, b) => a.v - b.v);
  return { x: simplex[0]!.x, value: simplex[0]!.v };
}

export interface FitReport {
  rows: number;
  objective: number;
  trainMape: number;
  parameters: { name: string; prior: number; fitted: number }[];
}

/**
 * MAP fit: minimise Σ (ln(pred/measured)/σ_r)² + Σ ((ln θ − ln θ₀)/σ_θ)² over the fitted terms, within their bounds.
 * Per-family terms exist only for families with rows, per-backend terms only for backends with rows: the rest keep
 * their priors.
 */
/**
 * Whether a case steers the fit. One-shot bursts (every client sends once, more clients than the engine runs) are
 * scored but not fitted: their mean TTFT is the time the engine takes to drain the queue, about half the run, which in
 * the engines also depends on the API server's admission under a storm of hundreds of requests and on KV-pressure
 * preemption (vLLM recomputes a preempted request), neither of which the model represents; fitted, they bend the
 * shared hardware terms that the fixed-concurrency and offline rows pin down.
 */
export function fitsCase(c: PublishedCase): boolean {
  return c.protocol.requestsPerSlot > 1;
}

export function fitCalibration(priors: Priors, all: PublishedCase[], iterations = 700): { calibration: Calibration; report: FitReport } {
  const cases = all.filter(fitsCase);
  const families = [...new Set(cases.map((c) => priors.gpuFamilies[c.gpuId] ?? 'default'))].sort();
  const backends = [...new Set(cases.map((c) => c.backend))].sort();
  const slots: ParamSlot[] = [];
  for (const param of priors.fitted) {
    if (priors.perFamily.includes(param)) for (const f of families) slots.push({ name: `${param}.${f}`, param, family: f });
    else if (priors.perBackend.includes(param)) for (const b of backends) slots.push({ name: `${param}@${b}`, param, backend: b });
    else slots.push({ name: param, param });
  }
  const p0 = slots.map((s) => priorValue(priors, s.param, s.family ?? 'default', s.backend ?? 'trtllm'));
  const x0 = p0.map(Math.log);
  const valuesOf = (x: number[]): Record<string, number> => Object.fromEntries(slots.map((s, i) => [s.name, clampTo(priors, s.param, Math.exp(x[i]!))]));
  const objective = (x: number[]): number => {
    const cal = materialise(priors, valuesOf(x));
    let s = 0;
    for (const c of cases) {
      const p = predictCase(c, cal);
      const r = p > 0 && Number.isFinite(p) ? Math.log(p / c.value) : 5;
      s += (r / residualSigma(priors, c)) ** 2;
    }
    slots.forEach((slot, i) => {
      const sig = priors.sigma[slot.param] ?? 0.5;
      s += ((x[i]! - x0[i]!) / sig) ** 2;
    });
    return s;
  };
  // Nelder–Mead stalls in ~20 dimensions: restart it twice from the best point with a smaller simplex
  let best = nelderMead(objective, x0, 0.2, iterations);
  for (const step of [0.1, 0.05]) best = nelderMead(objective, best.x, step, iterations);
  const values = valuesOf(best.x);
  const calibration = materialise(priors, values);
  const trainMape = mape(cases.map((c) => ({ predicted: predictCase(c, calibration), measured: c.value })));
  return {
    calibration,
    report: { rows: cases.length, objective: best.value, trainMape, parameters: slots.map((s, i) => ({ name: s.name, prior: p0[i]!, fitted: values[s.name]! })) },
  };
}

export function mape(points: { predicted: number; measured: number }[]): number {
  if (points.length === 0) return Number.NaN;
  return (points.reduce((s, p) => s + Math.abs(p.predicted - p.measured) / p.measured, 0) / points.length) * 100;
}

/** The metric families error is reported and bands are kept for. */
export type CaseMetric = 'throughput' | 'tpot' | 'ttft';

/** What a published row measures, for slices and bands (per-user token rate is 1000/TPOT). */
export function caseMetric(c: PublishedCase): CaseMetric {
  return c.metric === 'outputTokensPerSecond' ? 'throughput' : c.metric === 'ttftMs' ? 'ttft' : 'tpot';
}

/** What a fold leaves out: a model (family of checkpoints of one architecture), a GPU, or a source family. */
export type FoldBy = 'model' | 'gpu' | 'source';

/** The fold a case belongs to when its model, its GPU or its source family is held out. */
export function foldOf(c: PublishedCase, by: FoldBy): string {
  return by === 'model' ? c.model.id : by === 'gpu' ? c.gpuId : c.family;
}

/** Slice of the per-slice error table: backend × GPU × model family × metric. */
export function sliceOf(c: PublishedCase): string {
  return `${c.backend}|${c.gpuId}|${c.model.architecture.family}|${caseMetric(c)}`;
}

export interface HeldOutPrediction {
  key: string;
  fold: string;
  slice: string;
  backend: BackendName;
  gpuFamily: string;
  modelFamily: string;
  metric: CaseMetric;
  family: string;
  predicted: number;
  measured: number;
}

export interface FoldError {
  fold: string;
  rows: number;
  mapePct: number;
  /** MAPE per metric of the fold's rows (metrics it has). */
  byMetric: Partial<Record<CaseMetric, { rows: number; mapePct: number }>>;
}

/** MAPE per metric of a set of predictions. */
export function mapeByMetric(preds: { metric: CaseMetric; predicted: number; measured: number }[]): Partial<Record<CaseMetric, { rows: number; mapePct: number }>> {
  const out: Partial<Record<CaseMetric, { rows: number; mapePct: number }>> = {};
  for (const m of ['ttft', 'tpot', 'throughput'] as const) {
    const ps = preds.filter((p) => p.metric === m);
    if (ps.length > 0) out[m] = { rows: ps.length, mapePct: mape(ps) };
  }
  return out;
}

/**
 * Leave-one-out by model, GPU or source family: for each value, fit on every other row, predict the held-out rows.
 * Nothing of a held-out fold is seen by its fit.
 */
export function crossValidate(priors: Priors, cases: PublishedCase[], by: FoldBy, iterations = 700): { folds: FoldError[]; predictions: HeldOutPrediction[] } {
  const folds = [...new Set(cases.map((c) => foldOf(c, by)))].sort();
  const predictions: HeldOutPrediction[] = [];
  const out: FoldError[] = [];
  for (const fold of folds) {
    const test = cases.filter((c) => foldOf(c, by) === fold);
    const train = cases.filter((c) => foldOf(c, by) !== fold);
    const { calibration } = fitCalibration(priors, train, iterations);
    const pts = test.map((c) => ({
      key: c.key,
      fold,
      slice: sliceOf(c),
      backend: c.backend,
      gpuFamily: priors.gpuFamilies[c.gpuId] ?? 'default',
      modelFamily: c.model.architecture.family,
      metric: caseMetric(c),
      family: c.family,
      predicted: predictCase(c, calibration),
      measured: c.value,
    }));
    predictions.push(...pts);
    out.push({ fold, rows: test.length, mapePct: mape(pts), byMetric: mapeByMetric(pts) });
  }
  return { folds: out, predictions };
}

export interface AccuracyRow {
  group: string;
  rows: number;
  mapePct: number;
  worst: { key: string; predicted: number; measured: number; errorPct: number } | undefined;
}

function accuracyRow(group: string, pts: { key: string; predicted: number; measured: number }[]): AccuracyRow {
  const worst = pts
    .map((p) => ({ key: p.key, predicted: p.predicted, measured: p.measured, errorPct: ((p.predicted - p.measured) / p.measured) * 100 }))
    .sort((a, b) => Math.abs(b.errorPct) - Math.abs(a.errorPct))[0];
  return { group, rows: pts.length, mapePct: mape(pts), worst };
}

/** MAPE of predictions grouped by a key (and overall). */
export function groupAccuracy<T extends { key: string; predicted: number; measured: number }>(pts: T[], keyOf: (p: T) => string): { groups: AccuracyRow[]; overall: AccuracyRow } {
  const by = new Map<string, T[]>();
  for (const p of pts) (by.get(keyOf(p)) ?? by.set(keyOf(p), []).get(keyOf(p))!).push(p);
  const groups = [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([g, ps]) => accuracyRow(g, ps));
  return { groups, overall: accuracyRow('overall', pts) };
}

/** MAPE per model × GPU × backend (and overall) of a calibration over the given cases. */
export function accuracyTable(cases: PublishedCase[], calibration: Calibration): { groups: AccuracyRow[]; overall: AccuracyRow } {
  const pts = cases.map((c) => ({ key: c.key, group: `${c.model.id} × ${c.gpuId} × ${c.backend}`, predicted: predictCase(c, calibration), measured: c.value }));
  return groupAccuracy(pts, (p) => p.group);
}

const BAND_MIN_RESIDUALS = 3;

/**
 * Log-normal bands from held-out residuals ln(measured/predicted): σ per slice (backend × GPU family × model family ×
 * metric) with ≥ 3 residuals, else per backend × metric, else per metric; a backend with no held-out residual at all
 * gets the prior σ (its figures are unvalidated). TTFT and TPOT bands rest on the latency rows' residuals; where a
 * TPOT key has fewer than 3 of its own, the throughput residuals of the same key stand in (an offline row measures
 * batch/TPOT at the batch cap).
 */
export function bandTable(priors: Priors, predictions: HeldOutPrediction[]): BandTable {
  const sig = (rs: number[]): { sigma: number; n: number } => ({ sigma: Math.sqrt(rs.reduce((s, r) => s + r * r, 0) / rs.length), n: rs.length });
  const groups = (keyOf: (p: HeldOutPrediction, metric: CaseMetric) => string): Record<string, { sigma: number; n: number }> => {
    const own = new Map<string, number[]>();
    const standIn = new Map<string, number[]>();
    const push = (m: Map<string, number[]>, k: string, r: number): void => {
      (m.get(k) ?? m.set(k, []).get(k)!).push(r);
    };
    for (const p of predictions) {
      const r = Math.log(p.measured / p.predicted);
      push(own, keyOf(p, p.metric), r);
      if (p.metric === 'throughput') push(standIn, keyOf(p, 'tpot'), r);
    }
    for (const [k, rs] of standIn) if ((own.get(k)?.length ?? 0) < BAND_MIN_RESIDUALS) own.set(k, [...(own.get(k) ?? []), ...rs]);
    return Object.fromEntries([...own.entries()].filter(([, rs]) => rs.length >= BAND_MIN_RESIDUALS).sort(([a], [b]) => a.localeCompare(b)).map(([k, rs]) => [k, sig(rs)]));
  };
  return {
    z: 1.645,
    slices: groups((p, m) => `${p.backend}|${p.gpuFamily}|${p.modelFamily}|${m}`),
    byBackendMetric: groups((p, m) => `${p.backend}|${m}`),
    byMetric: groups((_p, m) => m),
    prior: priors.bandPriorSigma,
    minResiduals: BAND_MIN_RESIDUALS,
  };
}

/** σ of the band for one figure; where it comes from is part of the answer (slice, backend, or prior). */
export function bandSigma(bands: BandTable | undefined, q: { backend: BackendName; gpuFamily: string; modelFamily: string; metric: 'ttft' | 'tpot' | 'throughput' }): { sigma: number; from: 'slice' | 'backend' | 'prior' } {
  const prior = bands?.prior[q.metric] ?? 0.5;
  if (!bands) return { sigma: prior, from: 'prior' };
  const s = bands.slices[`${q.backend}|${q.gpuFamily}|${q.modelFamily}|${q.metric}`];
  if (s) return { sigma: Math.max(s.sigma, 0.05), from: 'slice' };
  const b = bands.byBackendMetric[`${q.backend}|${q.metric}`];
  // a slice without its own residuals gets the wider of its backend's σ and half the prior: an unseen model family or
  // GPU is not as well known as the seen ones
  if (b) return { sigma: Math.max(b.sigma, prior / 2), from: 'backend' };
  return { sigma: prior, from: 'prior' };
}

/** Every case of the two published sets: offline throughput tables and streaming-client latency means. */
export function allCases(throughputCsv: string, latencyCsv: string | undefined): { cases: PublishedCase[]; skipped: { key: string; reason: string }[] } {
  const a = publishedCases(parseCsv(throughputCsv));
  const b = latencyCsv === undefined ? { cases: [], skipped: [] } : latencyCases(parseCsv(latencyCsv));
  return { cases: [...a.cases, ...b.cases], skipped: [...a.skipped, ...b.skipped] };
}

/** Held-out error of one protocol (overall, per metric, per fold, per slice), rounded for the committed file. */
function heldOutSummary(r: { folds: FoldError[]; predictions: HeldOutPrediction[] }, round: (x: number) => number) {
  const byMetric = (b: FoldError['byMetric']) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, { rows: v.rows, mapePct: round(v.mapePct) }]));
  return {
    mapePct: round(mape(r.predictions)),
    byMetric: byMetric(mapeByMetric(r.predictions)),
    folds: r.folds.map((f) => ({ fold: f.fold, rows: f.rows, mapePct: round(f.mapePct), byMetric: byMetric(f.byMetric) })),
    slices: groupAccuracy(r.predictions, (p) => p.slice).groups.map((g) => ({ slice: g.group, rows: g.rows, mapePct: round(g.mapePct) })),
  };
}

/**
 * The committed `data/calibration.json`: the fit on all rows of both sets, its leave-one-model-out, leave-one-GPU-out
 * and leave-one-source-out error and the bands; one function for the script and its drift test.
 */
export function calibrationFile(priors: Priors, csv: string, latencyCsv?: string): string {
  const { cases, skipped } = allCases(csv, latencyCsv);
  const { calibration, report } = fitCalibration(priors, cases);
  const lomo = crossValidate(priors, cases, 'model');
  const logo = crossValidate(priors, cases, 'gpu');
  const loso = crossValidate(priors, cases, 'source');
  const all = [...lomo.predictions, ...logo.predictions];
  const round = (x: number): number => Number(x.toPrecision(6));
  const out = {
    ...calibration,
    bands: bandTable(priors, all),
    fit: {
      data: latencyCsv === undefined ? ['data/perf-published.csv'] : ['data/perf-published.csv', 'data/perf-latency.csv'],
      priors: 'data/priors.json',
      rows: report.rows,
      rowsByMetric: Object.fromEntries((['ttft', 'tpot', 'throughput'] as const).map((m) => [m, cases.filter((c) => caseMetric(c) === m).length])),
      skippedRows: skipped.length,
      objective: round(report.objective),
      trainMapePct: round(report.trainMape),
      parameters: report.parameters.map((p) => ({ name: p.name, prior: round(p.prior), fitted: round(p.fitted) })),
      heldOut: {
        protocol:
          'leave-one-model-out, leave-one-GPU-out and leave-one-source-out: each fold refits every fitted term on the other rows and predicts the held-out rows; bands from the LOMO and LOGO residuals',
        lomo: heldOutSummary(lomo, round),
        logo: heldOutSummary(logo, round),
        loso: heldOutSummary(loso, round),
      },
    },
  };
  return `${JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? round(v) : v), 2)}\n`;
}
