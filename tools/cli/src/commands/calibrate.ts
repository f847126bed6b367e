import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError, UserError, type Issue } from '@llm-recipes/errors';
import {
  CORRECTIONS_DIR,
  recipeDeployment,
  refitCorrection,
  workspaceCalibration,
  writeCorrection,
  type BackendName,
  type Correction,
  type Deployment,
  type Dtype,
  type MeasuredServingPoint,
  type RecipeForEstimate,
  type RefitPoint,
} from '@llm-recipes/estimate';
import { loadWorkspace, resolveRecipe, type Recipe, type Workspace } from '@llm-recipes/recipe';
import { openCatalog, toJson } from './estimate-catalog.ts';
import type { RegisterCommand } from './index.ts';
import { findWorkspaceRoot } from './workspace-root.ts';

interface CalibrateOpts {
  from: string[];
  root?: string;
  write?: string;
  dryRun?: boolean;
  json?: boolean;
  model?: string;
  gpu?: string;
  backend?: string;
  dtype?: string;
  tp?: number;
  ep?: number;
  replicas?: number;
}

interface ManifestLike {
  schema?: unknown;
  inputs?: Record<string, unknown>;
  recipe?: unknown;
  points?: { id: string; isl: number; osl: number; concurrency: number | null }[];
}

interface SummaryLike {
  counts?: { requests?: number; completed?: number; failed?: number; warmup?: number };
  error_rate?: number;
  ttft?: { mean?: number } | null;
  tpot?: { mean?: number } | null;
}

/** Share of failed requests above which a point is a failed run, not a measurement. */
const MAX_ERROR_RATE = 0.05;

const posInt = (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UserError('NOT_A_POSITIVE_INTEGER', `"${v}" is not a positive integer`, { hint: 'pass a whole number ≥ 1' });
  return Number(v);
};

/** Experiment directories at or one level below `dir` (bench --out writes one; up and profile keep theirs in bench/). */
function experimentDirs(dir: string): string[] {
  if (existsSync(path.join(dir, 'manifest.json'))) return [dir];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const sub = path.join(dir, name);
    if (statSync(sub).isDirectory() && existsSync(path.join(sub, 'manifest.json'))) out.push(sub);
  }
  return out;
}

function readJson<T>(file: string, issues: Issue[]): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    issues.push({ code: 'CALIBRATE_UNREADABLE', file, path: [], message: `cannot read: ${(err as Error).message}`, hint: 'pass experiment directories written by recipes bench --out, recipes up or recipes profile' });
    return undefined;
  }
}

interface Served {
  arch: MeasuredServingPoint['target']['arch'];
  gpu: MeasuredServingPoint['target']['gpu'];
  deployment: Deployment;
}

/**
 * What served an experiment, most exact first: the resolved recipe `recipes up`/`recipes profile` wrote beside the
 * benchmark (`../prepare/recipe.json`, overrides applied); the resolved recipe `recipes bench --recipe` recorded in the
 * manifest, with the workspace's model card and GPU; the recipe id (inputs.recipe + inputs.variant) resolved in the
 * workspace; the flags when the experiment names no recipe.
 */
function servedBy(manifestFile: string, m: ManifestLike, ws: Workspace, root: string, o: CalibrateOpts, issues: Issue[]): Served | undefined {
  const inputs = m.inputs ?? {};
  const id = typeof inputs['recipe'] === 'string' ? inputs['recipe'] : undefined;
  if (id) {
    const variant = typeof inputs['variant'] === 'string' ? inputs['variant'] : undefined;
    const res = resolveRecipe(ws, { recipe: id, variant, cwd: root });
    const prepared = path.join(path.dirname(path.dirname(manifestFile)), 'prepare', 'recipe.json');
    let r: RecipeForEstimate | undefined;
    if (existsSync(prepared)) {
      const p = readJson<RecipeForEstimate & { id?: string }>(prepared, issues);
      if (p && p.recipe && p.model && p.gpu && (p.id === undefined || p.id === id)) r = { recipe: p.recipe, model: p.model, gpu: p.gpu };
    }
    if (!r && res.resolved) r = m.recipe && typeof m.recipe === 'object' ? { recipe: m.recipe as Recipe, model: res.resolved.model, gpu: res.resolved.gpu } : res.resolved;
    if (!r) {
      issues.push({ code: 'CALIBRATE_RECIPE', file: manifestFile, path: ['inputs', 'recipe'], message: `recipe ${id} does not resolve in this workspace: ${res.issues.map((i) => i.message).join('; ')}`, hint: 'run calibrate in the workspace the experiment was made from (--root)' });
      return undefined;
    }
    for (const [flag, have] of [['gpu', r.gpu.id], ['backend', r.recipe.backend.name]] as const) {
      const want = o[flag];
      if (want !== undefined && want.replace(/-/g, '_') !== have.replace(/-/g, '_')) {
        issues.push({ code: 'CALIBRATE_MIXED', file: manifestFile, path: ['inputs', 'recipe'], message: `--${flag} ${want} but this experiment's recipe ${id} runs on ${have}`, hint: `drop --${flag}, or calibrate each ${flag} from its own experiments` });
      }
    }
    return { arch: r.model.architecture, gpu: r.gpu, deployment: recipeDeployment(r) };
  }
  if (!o.model || !o.gpu || !o.backend) {
    issues.push({
      code: 'CALIBRATE_UNKNOWN_DEPLOYMENT',
      file: manifestFile,
      path: ['inputs', 'recipe'],
      message: 'the experiment names no recipe, so the deployment it measured is unknown',
      hint: 'run the benchmark with --recipe, or pass --model, --gpu, --backend and --tp for it',
    });
    return undefined;
  }
  const catalog = openCatalog(root);
  // the id's quantisation marker sets the dtype unless --dtype names one (docs/estimator.md "Model ids")
  const model = catalog.model(o.model, o.dtype as Dtype | undefined);
  const gpu = catalog.gpu(o.gpu);
  const tp = o.tp ?? 1;
  return {
    arch: model.model.architecture,
    gpu,
    deployment: { backend: o.backend as BackendName, dtype: model.dtype, mode: 'agg', agg: { tp, ep: o.ep ?? 1, replicas: o.replicas ?? 1 } },
  };
}

/** Measured closed-loop points of one experiment, with the protocol that produced them; problems go to `issues`. */
function measuredPoints(dir: string, ws: Workspace, root: string, o: CalibrateOpts, issues: Issue[]): MeasuredServingPoint[] {
  const manifestFile = path.join(dir, 'manifest.json');
  const m = readJson<ManifestLike>(manifestFile, issues);
  if (!m) return [];
  if (m.schema !== 'llm-recipes/bench-experiment@1') {
    issues.push({ code: 'CALIBRATE_NOT_EXPERIMENT', file: manifestFile, path: ['schema'], message: `schema is ${JSON.stringify(m.schema)}, not llm-recipes/bench-experiment@1`, hint: 'pass experiment directories written by recipes bench --out, recipes up or recipes profile' });
    return [];
  }
  const inputs = m.inputs ?? {};
  const served = servedBy(manifestFile, m, ws, root, o, issues);
  if (!served) return [];
  const speedup = typeof inputs['speedup'] === 'number' && inputs['speedup'] > 0 ? inputs['speedup'] : 1;
  const warmup = typeof inputs['warmup'] === 'number' ? inputs['warmup'] : 0;
  const rampUp = typeof inputs['rampUp'] === 'number' ? inputs['rampUp'] : 0;
  const out: MeasuredServingPoint[] = [];
  (m.points ?? []).forEach((p, i) => {
    if (p.concurrency === null || !(p.concurrency >= 1)) {
      issues.push({ code: 'CALIBRATE_OPEN_LOOP', file: manifestFile, path: ['points', i, 'concurrency'], message: `point ${p.id} is a rate (open-loop) point`, hint: 'calibrate from closed-loop (--concurrencies) runs' });
      return;
    }
    const pdir = path.join(dir, 'points', p.id);
    const status = readJson<{ state?: string; error?: string | null }>(path.join(pdir, 'status.json'), issues);
    if (!status) return;
    if (status.state !== 'done') {
      issues.push({ code: 'CALIBRATE_FAILED_POINT', file: path.join(pdir, 'status.json'), path: ['state'], message: `point ${p.id} is ${status.state}${status.error ? `: ${status.error}` : ''}`, hint: 'rerun it (recipes bench --resume) or leave this experiment out' });
      return;
    }
    const s = readJson<SummaryLike>(path.join(pdir, 'summary.json'), issues);
    if (!s) return;
    const sfile = path.join(pdir, 'summary.json');
    if ((s.error_rate ?? 0) > MAX_ERROR_RATE) {
      issues.push({ code: 'CALIBRATE_FAILED_POINT', file: sfile, path: ['error_rate'], message: `point ${p.id} failed ${((s.error_rate ?? 0) * 100).toFixed(1)} % of its requests`, hint: 'a run with failures measures the failures; fix the deployment and rerun' });
      return;
    }
    const ttft = s.ttft?.mean;
    const tpot = s.tpot?.mean;
    if (!(typeof ttft === 'number' && ttft > 0) || !(typeof tpot === 'number' && tpot > 0)) {
      issues.push({ code: 'CALIBRATE_NO_LATENCY', file: sfile, path: [!(typeof ttft === 'number' && ttft > 0) ? 'ttft' : 'tpot', 'mean'], message: `point ${p.id} has no TTFT/TPOT mean`, hint: 'TPOT needs at least 2 output tokens per request' });
      return;
    }
    const measured = s.counts?.completed ?? s.counts?.requests ?? p.concurrency;
    out.push({
      source: `${dir}:${p.id}`,
      isl: p.isl,
      osl: p.osl,
      concurrency: p.concurrency,
      // simulated runs report wall time; the modelled hardware's time is speedup × that
      ttftMs: ttft * speedup,
      tpotMs: tpot * speedup,
      workload: {
        isl: p.isl,
        osl: p.osl,
        arrival: rampUp > 0 ? 'spread' : 'burst',
        // the first wave (all slots sending at once) is measured unless the warm-up covered it
        requestsPerSlot: warmup >= p.concurrency || rampUp > 0 ? Number.POSITIVE_INFINITY : Math.max(1, measured / p.concurrency),
      },
      target: served,
    });
  });
  return out;
}

const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '—');

export const registerCalibrate: RegisterCommand = (program, io) => {
  program
    .command('calibrate')
    .description("Refit the estimator's bounded corrections for a GPU × backend from this project's own benchmark runs, and commit them as data.")
    .requiredOption('--from <dirs...>', 'experiment directories (recipes bench --out, recipes up, recipes profile)')
    .option('--root <dir>', 'workspace root (default: the nearest directory holding recipes/)')
    .option('--write <dir>', `where the corrections go (default <root>/${CORRECTIONS_DIR})`)
    .option('--dry-run', 'fit and report, write nothing')
    .option('--json', 'print the corrections and per-point figures as JSON')
    .option('--model <id>', 'for experiments without a recipe: the model served')
    .option('--gpu <id>', 'for experiments without a recipe: the GPU')
    .option('--backend <name>', 'for experiments without a recipe: vllm | sglang | trtllm')
    .option('--dtype <dtype>', 'for experiments without a recipe: weight dtype')
    .option('--tp <n>', 'for experiments without a recipe: GPUs per replica', posInt)
    .option('--ep <n>', 'for experiments without a recipe: expert parallel size', posInt)
    .option('--replicas <n>', 'for experiments without a recipe: replicas behind the endpoint', posInt)
    .action((o: CalibrateOpts) => {
      const root = findWorkspaceRoot(io.cwd, o.root);
      const ws = loadWorkspace(root);
      const issues: Issue[] = [];
      const points: MeasuredServingPoint[] = [];
      for (const d of o.from) {
        const abs = path.resolve(io.cwd, d);
        const dirs = experimentDirs(abs);
        if (dirs.length === 0) {
          issues.push({ code: 'CALIBRATE_NOT_EXPERIMENT', file: d, path: [], message: 'no manifest.json here or one level below', hint: 'pass experiment directories written by recipes bench --out, recipes up or recipes profile' });
          continue;
        }
        for (const dir of dirs) points.push(...measuredPoints(dir, ws, root, o, issues));
      }
      if (issues.length > 0) throw new InvalidInputError(issues);
      if (points.length === 0) throw new UserError('CALIBRATE_NO_POINTS', `no measured closed-loop point in ${o.from.join(', ')}`, { hint: 'run recipes bench --recipe … --concurrencies … --out <dir> first' });

      // one correction per GPU × backend: points of different GPUs never share a fit
      const groups = new Map<string, MeasuredServingPoint[]>();
      for (const p of points) {
        const k = `${p.target.gpu.id}/${p.target.deployment.backend}`;
        (groups.get(k) ?? groups.set(k, []).get(k)!).push(p);
      }
      const base = workspaceCalibration(root);
      const writeDir = o.write ? path.resolve(io.cwd, o.write) : path.join(root, CORRECTIONS_DIR);
      const results: { correction: Correction; points: RefitPoint[]; file: string | null }[] = [];
      for (const [k, pts] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        const [gpu, backend] = k.split('/') as [string, BackendName];
        const sources = [...new Set(pts.map((p) => path.relative(root, p.source.slice(0, p.source.lastIndexOf(':'))) || '.'))].sort();
        const r = refitCorrection(base, { gpu, backend }, pts, sources);
        let file: string | null = null;
        if (!o.dryRun) file = writeCorrection(writeDir, r.correction);
        results.push({ ...r, file });
      }

      if (o.json) {
        io.stdout(`${toJson(results.map((r) => ({ ...r.correction, file: r.file, perPoint: r.points })))}\n`);
        return;
      }
      const lines: string[] = [];
      for (const r of results) {
        const c = r.correction;
        lines.push(`${c.gpu} × ${c.backend}: ${c.points} points from ${c.sources.join(', ')}`);
        lines.push(`  corrections  compute ×${f(c.computeScale, 3)}  memory ×${f(c.memoryScale, 3)}  fixed costs ×${f(c.overheadScale, 3)}`);
        lines.push(`  MAPE         TTFT ${f(c.before.ttftPct)} % → ${f(c.after.ttftPct)} %   TPOT ${f(c.before.tpotPct)} % → ${f(c.after.tpotPct)} %`);
        lines.push('  concurrency   TTFT measured / before / after (ms)     TPOT measured / before / after (ms)');
        for (const p of r.points) {
          lines.push(
            `  ${String(p.concurrency).padStart(11)}   ${f(p.measured.ttftMs).padStart(8)} / ${f(p.before.ttftMs).padStart(8)} / ${f(p.after.ttftMs).padStart(8)}     ${f(p.measured.tpotMs, 2).padStart(8)} / ${f(p.before.tpotMs, 2).padStart(8)} / ${f(p.after.tpotMs, 2).padStart(8)}`,
          );
        }
        lines.push(r.file ? `  wrote ${path.relative(io.cwd, r.file) || r.file}` : '  (dry run: nothing written)');
      }
      io.stdout(`${lines.join('\n')}\n`);
    });
};
