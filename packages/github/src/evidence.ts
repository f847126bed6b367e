import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '@llm-recipes/errors';
import { pointFromSummary, readResults, readSpec, slaItl, type MeasuredPoint } from '@llm-recipes/profile';
import type { Recipe } from '@llm-recipes/recipe';
import { readExperiment } from './experiment.ts';

/** One completed point of an experiment, as promotion sees it. */
export interface EvidencePoint {
  /** Short id shown and recorded: the bench point id (isl…-osl…-c…) when the experiment measured one config. */
  id: string;
  measured: MeasuredPoint;
  rate: number | null;
  /** Experiment-relative file holding the point's numbers, and its sha256. */
  summaryPath: string;
  summarySha256: string;
}

/** An experiment directory read for promotion: `recipes up`/`ci profile` (results.json) or `recipes bench` (manifest.json). */
export interface ExperimentEvidence {
  dir: string;
  format: 'experiment' | 'bench';
  id: string;
  createdAt: string;
  recipe: string | undefined;
  variant: string | undefined;
  /** The resolved recipe that was deployed, when the experiment recorded it. */
  measuredRecipe: Recipe | null;
  points: EvidencePoint[];
  manifestPath: string;
  manifestSha256: string;
  deployedManifests: Record<string, { sha256: string }>;
}

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const readJson = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;
const benchId = (id: string): string => id.slice(id.lastIndexOf('/') + 1);

/** Reads an experiment directory in either format; throws a UserError naming the file when it is not one. */
export function readEvidence(dir: string): ExperimentEvidence {
  if (existsSync(path.join(dir, 'results.json'))) return readUpExperiment(dir);
  if (existsSync(path.join(dir, 'manifest.json'))) return readBenchExperiment(dir);
  if (existsSync(path.join(dir, 'experiment.json'))) {
    throw new UserError('EXPERIMENT_INCOMPLETE', `${dir} holds no results.json: the experiment did not reach its collect step`, {
      hint: `see ${path.join(dir, 'status.json')}; resume it with recipes up --out ${dir}`,
    });
  }
  throw new UserError('EXPERIMENT_NOT_FOUND', `${dir} is not an experiment directory (no results.json or manifest.json)`, {
    hint: existsSync(dir) ? 'pass the directory `recipes up`, `recipes ci profile` or `recipes bench --out` wrote' : `no such directory: ${dir}`,
  });
}

function readBenchExperiment(dir: string): ExperimentEvidence {
  const exp = readExperiment(dir);
  const inputs = exp.manifest.inputs as { recipe?: unknown; variant?: unknown; gpus?: unknown };
  const measuredRecipe = (exp.manifest.recipe as Recipe | null) ?? null;
  const gpus = typeof inputs.gpus === 'number' && inputs.gpus > 0 ? inputs.gpus : 1;
  const noSla = { ttftMs: Infinity, itlMs: Infinity };
  const points: EvidencePoint[] = [];
  for (const p of exp.points) {
    if (p.status !== 'done' || !p.summary || !p.summary.ttft) continue;
    const base = { id: p.point.id, config: 'measured', isl: p.point.isl, osl: p.point.osl, concurrency: p.point.concurrency ?? 0, gpus, recordsDir: `points/${p.point.id}` };
    points.push({ id: p.point.id, measured: pointFromSummary(base, p.summary, noSla), rate: p.point.rate, summaryPath: `points/${p.point.id}/summary.json`, summarySha256: p.summarySha256! });
  }
  return {
    dir,
    format: 'bench',
    id: exp.manifest.id,
    createdAt: exp.manifest.createdAt,
    recipe: typeof inputs.recipe === 'string' ? inputs.recipe : undefined,
    variant: typeof inputs.variant === 'string' ? inputs.variant : undefined,
    measuredRecipe,
    points,
    manifestPath: 'manifest.json',
    manifestSha256: exp.manifestSha256,
    deployedManifests: exp.manifest.manifests,
  };
}

/**
 * A `recipes up` experiment. Only the points of the recipe's own configuration count (a search also holds other
 * configurations, which golden.yaml cannot pin). Each locally measured point is re-derived from its summary.json:
 * results.json edited after the run no longer matches and is refused.
 */
function readUpExperiment(dir: string): ExperimentEvidence {
  const results = readResults(dir);
  const resultsFile = path.join(dir, 'results.json');
  if (!results) throw new UserError('EXPERIMENT_INVALID', `${resultsFile} is not an llm-recipes experiment result`, { hint: 'pass a directory written by recipes up or recipes ci profile' });
  const spec = readSpec(dir);
  const preparedFile = path.join(dir, 'prepare', 'prepared.json');
  const prepared = existsSync(preparedFile) ? readJson<{ config: string }>(preparedFile) : undefined;
  const recipeFile = path.join(dir, 'prepare', 'recipe.json');
  const measuredRecipe = existsSync(recipeFile) ? readJson<{ recipe: Recipe }>(recipeFile).recipe : null;
  const config = prepared?.config ?? results.configs[0]?.config;
  const own = results.points.filter((p) => p.source === 'measured' && p.config === config);
  const scale = spec?.target.kind === 'local' ? spec.target.speedup : 1;
  const points: EvidencePoint[] = [];
  for (const p of own) {
    let summaryPath: string;
    if (p.recordsDir) {
      summaryPath = `${p.recordsDir}/summary.json`;
      const file = path.join(dir, summaryPath);
      if (!existsSync(file)) throw tampered(resultsFile, `${summaryPath} is missing`);
      const again = pointFromSummary({ id: p.id, config: p.config, isl: p.isl, osl: p.osl, concurrency: p.concurrency, gpus: p.gpus, recordsDir: p.recordsDir }, readJson(file), results.sla, scale);
      const same = (a: number | null, b: number | null): boolean => a === b || (a !== null && b !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a)));
      if (!same(again.tokensPerSecondPerGpu, p.tokensPerSecondPerGpu) || !same(again.ttftP50, p.ttftP50) || !same(slaItl(again), slaItl(p)) || again.errorRate !== p.errorRate) {
        throw tampered(resultsFile, `point ${p.id} does not match ${summaryPath}`);
      }
    } else {
      // cluster target: `<config>/<job>/<bench point>`; the job's collected log lives in cluster/<job>.json
      const job = p.id.slice(p.config.length + 1).split('/')[0]!;
      summaryPath = `cluster/${job}.json`;
    }
    const file = path.join(dir, summaryPath);
    points.push({ id: benchId(p.id), measured: p, rate: null, summaryPath, summarySha256: existsSync(file) ? sha256(readFileSync(file)) : sha256('') });
  }
  // bench ids repeat across benchmark Jobs of a cluster run: fall back to the full ids then
  if (new Set(points.map((p) => p.id)).size !== points.length) for (const p of points) p.id = p.measured.id;
  const deployed: Record<string, { sha256: string }> = {};
  for (const f of ['prepare/manifests.yaml', 'prepare/benchmarks.yaml']) {
    const abs = path.join(dir, f);
    if (existsSync(abs)) deployed[f] = { sha256: sha256(readFileSync(abs)) };
  }
  return {
    dir,
    format: 'experiment',
    id: results.experiment.id,
    createdAt: results.experiment.createdAt,
    recipe: results.experiment.recipe,
    variant: results.experiment.variant ?? undefined,
    measuredRecipe,
    points,
    manifestPath: 'results.json',
    manifestSha256: sha256(readFileSync(resultsFile)),
    deployedManifests: deployed,
  };
}

function tampered(file: string, why: string): UserError {
  return new UserError('EXPERIMENT_TAMPERED', `${file}: ${why}`, { hint: 'the results were edited after the run; promote only unmodified experiment directories' });
}
