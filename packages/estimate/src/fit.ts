import { parseCsv, publishedCases, splitOf, type PublishedCase } from './published.ts';
import { referenceGpus } from './reference.ts';
import { serveAgg } from './serve.ts';
import { buildStepModel } from './step.ts';
import type { BackendName, Calibration, Efficiency, EngineLimits, Gpu } from './types.ts';

type Param = keyof Efficiency;

/** data/priors.json: where the fit starts and how far it may move. */
export interface Priors {
  version: number;
  gpuFamilies: Record<string, string>;
  networkGBs: Record<string, number>;
  prior: Efficiency;
  priorByFamily: Record<string, Partial<Efficiency>>;
  sigma: Partial<Record<Param, number>> & { residual: number };
  fitted: Param[];
  perFamily: Param[];
  backends: Record<
    BackendName,
    { limits: EngineLimits; note: string; relativeTo?: BackendName; scale?: Partial<Record<Param, number>> }
  >;
}

const CAP: Partial<Record<Param, number>> = { mfu: 0.95, bwEff: 0.98, commEff: 0.95 };

function clampEff(e: Efficiency): Efficiency {
  const out = { ...e };
  for (const [k, cap] of Object.entries(CAP) as [Param, number][]) out[k] = Math.min(out[k], cap);
  return out;
}

function priorFor(priors: Priors, family: string): Efficiency {
  return { ...priors.prior, ...(priors.priorByFamily[family] ?? {}) };
}

/** Calibration that uses the priors unchanged (what the fit starts from). */
export function priorCalibration(priors: Priors): Calibration {
  return materialise(priors, {}, {});
}

/** Builds a Calibration from fitted TensorRT-LLM factors; other backends derive from it by their prior scales. */
function materialise(priors: Priors, shared: Partial<Efficiency>, perFamily: Record<string, Partial<Efficiency>>): Calibration {
  const families = [...new Set([...Object.values(priors.gpuFamilies), 'default'])];
  const base: Record<string, Efficiency> = {};
  for (const f of families) base[f] = clampEff({ ...priorFor(priors, f), ...shared, ...(perFamily[f] ?? {}) });
  const backends = {} as Calibration['backends'];
  for (const [name, b] of Object.entries(priors.backends) as [BackendName, Priors['backends'][BackendName]][]) {
    const fams: Record<string, Efficiency> = {};
    for (const f of families) {
      const e = { ...base[f]! };
      for (const [k, s] of Object.entries(b.scale ?? {}) as [Param, number][]) e[k] *= s;
      fams[f] = clampEff(e);
    }
    backends[name] = { limits: b.limits, families: fams, fitted: !b.relativeTo, note: b.note };
  }
  return { version: priors.version, gpuFamilies: priors.gpuFamilies, networkGBs: priors.networkGBs, backends };
}

export function referenceGpu(id: string): Gpu {
  const g = referenceGpus.find((x) => x.id === id);
  if (!g) throw new Error(`no reference GPU ${id}`);
  return g;
}

/** The estimator's prediction for a published case (same units as the case's value). */
export function predictCase(c: PublishedCase, calibration: Calibration): number {
  const b = calibration.backends[c.backend];
  const limits: EngineLimits = {
    ...b.limits,
    ...(c.maxBatch !== undefined ? { maxBatch: c.maxBatch } : {}),
    ...(c.maxNumTokens !== undefined ? { maxNumTokens: c.maxNumTokens } : {}),
  };
  const cal: Calibration = { ...calibration, backends: { ...calibration.backends, [c.backend]: { ...b, limits } } };
  const m = buildStepModel({
    arch: c.model.architecture,
    gpu: referenceGpu(c.gpuId),
    backend: c.backend,
    parallelism: { tp: c.tp, ep: c.ep, attentionDp: c.attentionDp },
    dtype: c.dtype,
    kvDtype: c.kvDtype,
    calibration: cal,
  });
  const replicas = Math.max(1, Math.floor(c.numGpus / c.tp));
  const conc = c.concurrency === 'max' ? replicas * Math.max(1, m.maxBatch(c.isl + c.osl)) : c.concurrency;
  const r = serveAgg(m, replicas, { isl: c.isl, osl: c.osl }, conc);
  return c.metric === 'outputTokensPerSecond' ? r.outputTokensPerSecond : r.tokensPerSecondPerUser;
}

/** Nelder–Mead minimiser (few parameters, smooth-enough objective, no gradients needed). */
export function nelderMead(f: (x: number[]) => number, x0: number[], step = 0.3, iterations = 1500): { x: number[]; value: number } {
  const n = x0.length;
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (i === j ? v + step : v)))].map((x) => ({ x, v: f(x) }));
  for (let it = 0; it < iterations; it++) {
    simplex.sort((a, b) => a.v - b.v);
    const best = simplex[0]!;
    const worst = simplex[n]!;
    if (Math.abs(worst.v - best.v) < 1e-10) break;
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
  rule: string;
  trainRows: number;
  testRows: number;
  objective: number;
  trainMape: number;
  parameters: { name: string; prior: number; fitted: number }[];
}

/**
 * MAP fit on the train half: minimise Σ (ln(pred/measured)/σ_r)² + Σ ((ln θ − ln θ₀)/σ_θ)² over the TensorRT-LLM
 * efficiency factors — `perFamily` ones per GPU family present in the train half, the others shared.
 */
export function fitCalibration(priors: Priors, cases: PublishedCase[]): { calibration: Calibration; report: FitReport } {
  const train = cases.filter((c) => splitOf(c.key) === 'train' && c.backend === 'trtllm');
  const test = cases.filter((c) => splitOf(c.key) === 'test');
  const families = [...new Set(train.map((c) => priors.gpuFamilies[c.gpuId] ?? 'default'))].sort();
  const shared = priors.fitted.filter((p) => !priors.perFamily.includes(p));
  const names: { name: string; param: Param; family?: string }[] = [
    ...shared.map((p) => ({ name: p, param: p })),
    ...families.flatMap((f) => priors.perFamily.map((p) => ({ name: `${p}.${f}`, param: p, family: f }))),
  ];
  const priorValue = (n: (typeof names)[number]): number => priorFor(priors, n.family ?? 'default')[n.param];
  const x0 = names.map((n) => Math.log(priorValue(n)));
  const build = (x: number[]): Calibration => {
    const sh: Partial<Efficiency> = {};
    const pf: Record<string, Partial<Efficiency>> = {};
    names.forEach((n, i) => {
      const v = Math.exp(x[i]!);
      if (n.family) (pf[n.family] ??= {})[n.param] = v;
      else sh[n.param] = v;
    });
    return materialise(priors, sh, pf);
  };
  const objective = (x: number[]): number => {
    const cal = build(x);
    let s = 0;
    for (const c of train) {
      const p = predictCase(c, cal);
      const r = p > 0 && Number.isFinite(p) ? Math.log(p / c.value) : 5;
      s += (r / priors.sigma.residual) ** 2;
    }
    names.forEach((n, i) => {
      const sig = priors.sigma[n.param] ?? 0.5;
      s += ((x[i]! - x0[i]!) / sig) ** 2;
    });
    return s;
  };
  const best = nelderMead(objective, x0);
  const calibration = build(best.x);
  const trainMape = mape(train.map((c) => ({ predicted: predictCase(c, calibration), measured: c.value })));
  return {
    calibration,
    report: {
      rule: 'row key = source|model|gpu|num_gpus|precision|tp|ep|mode|isl|osl|concurrency|metric; train = FNV-1a(key) even, test = odd',
      trainRows: train.length,
      testRows: test.length,
      objective: best.value,
      trainMape,
      parameters: names.map((n, i) => ({ name: n.name, prior: priorValue(n), fitted: Math.exp(best.x[i]!) })),
    },
  };
}

export function mape(points: { predicted: number; measured: number }[]): number {
  if (points.length === 0) return Number.NaN;
  return (points.reduce((s, p) => s + Math.abs(p.predicted - p.measured) / p.measured, 0) / points.length) * 100;
}

export interface AccuracyRow {
  group: string;
  rows: number;
  mapePct: number;
  worst: { key: string; predicted: number; measured: number; errorPct: number } | undefined;
}

/** MAPE per model × GPU × backend (and overall) over the given cases. */
export function accuracyTable(cases: PublishedCase[], calibration: Calibration): { groups: AccuracyRow[]; overall: AccuracyRow } {
  const byGroup = new Map<string, { key: string; predicted: number; measured: number }[]>();
  const all: { key: string; predicted: number; measured: number }[] = [];
  for (const c of cases) {
    const g = `${c.model.id} × ${c.gpuId} × ${c.backend}`;
    const p = { key: c.key, predicted: predictCase(c, calibration), measured: c.value };
    (byGroup.get(g) ?? byGroup.set(g, []).get(g)!).push(p);
    all.push(p);
  }
  const row = (group: string, pts: typeof all): AccuracyRow => {
    const worst = pts
      .map((p) => ({ ...p, errorPct: ((p.predicted - p.measured) / p.measured) * 100 }))
      .sort((a, b) => Math.abs(b.errorPct) - Math.abs(a.errorPct))[0];
    return { group, rows: pts.length, mapePct: mape(pts), worst };
  };
  const groups = [...byGroup.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([g, pts]) => row(g, pts));
  return { groups, overall: row('overall', all) };
}

/** The committed `data/calibration.json`: the fit on the train half plus its report; one function for the script and its drift test. */
export function calibrationFile(priors: Priors, csv: string): string {
  const { cases, skipped } = publishedCases(parseCsv(csv));
  const { calibration, report } = fitCalibration(priors, cases);
  const test = accuracyTable(cases.filter((c) => splitOf(c.key) === 'test'), calibration);
  const out = {
    ...calibration,
    fit: { ...report, testMape: test.overall.mapePct, skippedRows: skipped.length, data: 'data/perf-published.csv', priors: 'data/priors.json' },
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
