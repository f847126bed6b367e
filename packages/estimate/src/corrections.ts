import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, type Issue } from '@llm-recipes/errors';
import writeFileAtomic from 'write-file-atomic';
import { defaultCalibration } from './calibration-data.ts';
import { mape, nelderMead } from './fit.ts';
import { estimate } from './serve.ts';
import type { Architecture, BackendName, Calibration, Correction, Deployment, Gpu, Workload } from './types.ts';

/**
 * Corrections refitted from a team's own benchmark runs live in the workspace, one file per GPU × backend:
 * `calibration/<gpu>-<backend>.json` (committed like recipes, so every run a team makes improves the next search).
 */
export const CORRECTIONS_DIR = 'calibration';

/** One measured closed-loop point, matched to the deployment that produced it. */
export interface MeasuredServingPoint {
  /** Where it came from (experiment directory and point id), for the report. */
  source: string;
  isl: number;
  osl: number;
  concurrency: number;
  ttftMs: number;
  tpotMs: number;
  /** The measurement protocol (arrival, measured requests per slot), so the estimate models the same run. */
  workload: Workload;
  /** The deployment that served it. */
  target: CorrectionTarget;
}

/** What served a measured point: model architecture, GPU and deployment (backend, dtypes, pools). */
export interface CorrectionTarget {
  arch: Architecture;
  gpu: Gpu;
  deployment: Deployment;
}

export interface RefitPoint {
  source: string;
  concurrency: number;
  measured: { ttftMs: number; tpotMs: number };
  before: { ttftMs: number; tpotMs: number };
  after: { ttftMs: number; tpotMs: number };
}

/** Bounds and prior of the correction scales: log-normal around 1 (the published fit) with σ = 0.3. */
const SCALE_BOUNDS: [number, number] = [1 / 3, 3];
const PRIOR_SIGMA = 0.3;
/**
 * Spread of one measured point around the model: run-to-run noise of a TPOT mean (≈ 10 %); a TTFT mean also carries the
 * client's transport and the front end's jitter, so it counts as a ±20 % measurement.
 */
const TPOT_SIGMA = 0.1;
const TTFT_SIGMA = 0.2;

/** The calibration with one more GPU × backend correction (replacing an older one). */
export function withCorrection(calibration: Calibration, c: Correction): Calibration {
  return { ...calibration, corrections: { ...(calibration.corrections ?? {}), [`${c.gpu}/${c.backend}`]: c } };
}

function predict(cal: Calibration, p: MeasuredServingPoint): { ttftMs: number; tpotMs: number } {
  const t = p.target;
  const r = estimate({ arch: t.arch, gpu: t.gpu, deployment: t.deployment, workload: { ...p.workload, isl: p.isl, osl: p.osl }, concurrency: p.concurrency, calibration: cal });
  return { ttftMs: r.ttftMs, tpotMs: r.tpotMs };
}

/**
 * Refits the bounded correction scales (compute, memory, fixed costs) of one GPU × backend on measured points: MAP
 * with a log-normal prior at the published fit, so a few points move the scales only as far as they agree. Minimises
 * Σ over points (ln(pred/measured)/σ)² (σ 0.2 for TTFT, 0.1 for TPOT) + Σ (ln s/0.3)².
 */
export function refitCorrection(
  base: Calibration,
  which: { gpu: string; backend: BackendName },
  points: MeasuredServingPoint[],
  sources: string[],
): { correction: Correction; points: RefitPoint[] } {
  if (points.length === 0) throw new Error('refitCorrection needs at least one measured point');
  for (const p of points) {
    if (p.target.gpu.id !== which.gpu || p.target.deployment.backend !== which.backend) throw new Error(`${p.source} is ${p.target.gpu.id}/${p.target.deployment.backend}, not ${which.gpu}/${which.backend}`);
  }
  const build = (x: number[]): Correction => {
    const [c, m, o] = x.map((v) => Math.min(SCALE_BOUNDS[1], Math.max(SCALE_BOUNDS[0], Math.exp(v))));
    return { gpu: which.gpu, backend: which.backend, computeScale: c!, memoryScale: m!, overheadScale: o!, points: points.length, sources, before: { ttftPct: 0, tpotPct: 0 }, after: { ttftPct: 0, tpotPct: 0 } };
  };
  const beforeCal: Calibration = { ...base, corrections: Object.fromEntries(Object.entries(base.corrections ?? {}).filter(([k]) => k !== `${which.gpu}/${which.backend}`)) };
  const objective = (x: number[]): number => {
    const cal = withCorrection(beforeCal, build(x));
    let s = 0;
    for (const p of points) {
      const e = predict(cal, p);
      const r1 = Number.isFinite(e.ttftMs) && e.ttftMs > 0 ? Math.log(e.ttftMs / p.ttftMs) : 5;
      const r2 = Number.isFinite(e.tpotMs) && e.tpotMs > 0 ? Math.log(e.tpotMs / p.tpotMs) : 5;
      s += (r1 / TTFT_SIGMA) ** 2 + (r2 / TPOT_SIGMA) ** 2;
    }
    for (const v of x) s += (v / PRIOR_SIGMA) ** 2;
    return s;
  };
  const best = nelderMead(objective, [0, 0, 0], 0.2, 400);
  const correction = build(best.x);
  const afterCal = withCorrection(beforeCal, correction);
  const rows: RefitPoint[] = points.map((p) => ({ source: p.source, concurrency: p.concurrency, measured: { ttftMs: p.ttftMs, tpotMs: p.tpotMs }, before: predict(beforeCal, p), after: predict(afterCal, p) }));
  const pct = (which: 'before' | 'after', m: 'ttftMs' | 'tpotMs'): number => mape(rows.map((r) => ({ predicted: r[which][m], measured: r.measured[m] })));
  correction.before = { ttftPct: pct('before', 'ttftMs'), tpotPct: pct('before', 'tpotMs') };
  correction.after = { ttftPct: pct('after', 'ttftMs'), tpotPct: pct('after', 'tpotMs') };
  return { correction, points: rows };
}

const round = (x: number): number => Number(x.toPrecision(6));

/** The committed file of one correction. */
export function correctionFileText(c: Correction): string {
  const out = {
    gpu: c.gpu,
    backend: c.backend,
    computeScale: round(c.computeScale),
    memoryScale: round(c.memoryScale),
    overheadScale: round(c.overheadScale),
    points: c.points,
    sources: c.sources,
    before: { ttftPct: round(c.before.ttftPct), tpotPct: round(c.before.tpotPct) },
    after: { ttftPct: round(c.after.ttftPct), tpotPct: round(c.after.tpotPct) },
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** The file name a correction is written to inside CORRECTIONS_DIR. */
export function correctionFileName(gpu: string, backend: BackendName): string {
  return `${gpu}-${backend}.json`;
}

/** Writes a correction atomically into `dir` (a workspace's `calibration/`, created if missing); returns the path. */
export function writeCorrection(dir: string, c: Correction): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, correctionFileName(c.gpu, c.backend));
  writeFileAtomic.sync(path, correctionFileText(c));
  return path;
}

const BACKENDS = new Set(['vllm', 'sglang', 'trtllm']);

/** Reads and checks one correction file; every problem at once, each naming the file and field. */
export function parseCorrection(text: string, file: string): Correction {
  const issues: Issue[] = [];
  const add = (path: string, message: string, hint?: string): void => void issues.push({ code: 'CORRECTION_INVALID', file, path: [path], message, hint });
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidInputError([{ code: 'CORRECTION_INVALID', file, path: [], message: `not JSON: ${(err as Error).message}`, hint: 'regenerate it with recipes calibrate --from <experiment dirs>' }]);
  }
  if (typeof o !== 'object' || o === null) throw new InvalidInputError([{ code: 'CORRECTION_INVALID', file, path: [], message: 'not a JSON object' }]);
  if (typeof o['gpu'] !== 'string') add('gpu', 'gpu must be a GPU id');
  if (typeof o['backend'] !== 'string' || !BACKENDS.has(o['backend'])) add('backend', 'backend must be vllm, sglang or trtllm');
  for (const f of ['computeScale', 'memoryScale', 'overheadScale']) {
    const v = o[f];
    if (typeof v !== 'number' || !(v >= SCALE_BOUNDS[0] && v <= SCALE_BOUNDS[1])) add(f, `${f} must be a number in [${SCALE_BOUNDS[0].toFixed(3)}, ${SCALE_BOUNDS[1]}], got ${JSON.stringify(v)}`, 'corrections are bounded; regenerate with recipes calibrate');
  }
  if (typeof o['points'] !== 'number' || !Number.isInteger(o['points']) || o['points'] < 1) add('points', 'points must be a positive integer');
  const name = file.split(/[\\/]/).pop() ?? file;
  if (typeof o['gpu'] === 'string' && typeof o['backend'] === 'string' && name !== correctionFileName(o['gpu'], o['backend'] as BackendName)) {
    add('gpu', `file name ${name} does not match gpu/backend ${o['gpu']}/${o['backend']}`, `name it ${correctionFileName(o['gpu'], o['backend'] as BackendName)}`);
  }
  if (issues.length > 0) throw new InvalidInputError(issues);
  const pct = (x: unknown): { ttftPct: number; tpotPct: number } => {
    const r = (x ?? {}) as Record<string, unknown>;
    return { ttftPct: Number(r['ttftPct'] ?? Number.NaN), tpotPct: Number(r['tpotPct'] ?? Number.NaN) };
  };
  return {
    gpu: o['gpu'] as string,
    backend: o['backend'] as BackendName,
    computeScale: o['computeScale'] as number,
    memoryScale: o['memoryScale'] as number,
    overheadScale: o['overheadScale'] as number,
    points: o['points'] as number,
    sources: Array.isArray(o['sources']) ? (o['sources'] as unknown[]).map(String) : [],
    before: pct(o['before']),
    after: pct(o['after']),
  };
}

/** The corrections committed in a workspace (none when the directory does not exist). */
export function readCorrections(root: string): Correction[] {
  const dir = join(root, CORRECTIONS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return names.map((n) => parseCorrection(readFileSync(join(dir, n), 'utf8'), join(CORRECTIONS_DIR, n)));
}

/** The shipped calibration plus the workspace's committed corrections (what the CLI estimates with). */
export function workspaceCalibration(root: string | undefined, base: Calibration = defaultCalibration): Calibration {
  if (!root) return base;
  return readCorrections(root).reduce((cal, c) => withCorrection(cal, c), base);
}
