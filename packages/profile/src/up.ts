import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { InvalidInputError, UserError } from '@llm-recipes/errors';
import { loadWorkspace, normalizeGpuId, resolveRecipe, type Workspace } from '@llm-recipes/recipe';
import { userSetLayers } from './steps.ts';
import { saveSpec, type ExperimentSpec, type ProfileSettings, type TargetSpec } from './spec.ts';

export interface PlanOptions {
  root: string;
  /** A recipe id or directory, a recipes/ model id or a Hugging Face model id. */
  ref: string;
  cwd?: string | undefined;
  mode?: 'agg' | 'disagg' | undefined;
  backend?: string | undefined;
  gpu?: string | undefined;
  variant?: string | undefined;
  set?: string[] | undefined;
  target: TargetSpec;
  strategy?: ExperimentSpec['strategy'] | undefined;
  islOsl?: [number, number][] | undefined;
  concurrency?: number[] | undefined;
  requests?: number | undefined;
  warmup?: number | undefined;
  seed?: number | undefined;
  gpuHourlyUsd?: number | null | undefined;
  keep?: boolean | undefined;
  /** rapid/thorough: the search settings. */
  profile?: ProfileSettings | undefined;
}

/** Picks the recipe a `recipes up` argument names: a recipe directly, or a model's recipe filtered by backend/GPU/mode. */
export function pickRecipe(ws: Workspace, o: Pick<PlanOptions, 'ref' | 'cwd' | 'mode' | 'backend' | 'gpu' | 'root'>): string {
  if (ws.recipes.has(o.ref)) return o.ref;
  const asDir = resolve(o.cwd ?? o.root, o.ref);
  if (existsSync(asDir)) {
    const rel = relative(resolve(o.root, 'recipes'), asDir).split('\\').join('/');
    if (ws.recipes.has(rel)) return rel;
  }
  const model = [...ws.models.values()].find((m) => m.card.id === o.ref || m.card.hfId.toLowerCase() === o.ref.toLowerCase());
  if (!model) {
    throw new UserError('UNKNOWN_RECIPE', `"${o.ref}" is neither a recipe nor a model under recipes/`, {
      hint: `models: ${[...ws.models.keys()].sort().join(', ')}; recipes look like qwen3-0.6b/vllm/l40s`,
    });
  }
  const gpu = o.gpu ? normalizeGpuId(o.gpu, [...ws.gpus.values()].map((g) => g.gpu)) : undefined;
  const candidates = [...ws.recipes.values()]
    .filter((r) => r.id.startsWith(`${model.card.id}/`))
    .filter((r) => !o.backend || r.written.backend?.name === o.backend)
    .filter((r) => !gpu || normalizeGpuId(String(r.written.gpu ?? '')) === gpu)
    .filter((r) => !o.mode || (r.written.topology?.mode ?? 'agg') === o.mode)
    .map((r) => r.id)
    .sort();
  if (candidates.length === 0) {
    const all = [...ws.recipes.keys()].filter((id) => id.startsWith(`${model.card.id}/`)).sort();
    throw new UserError('NO_MATCHING_RECIPE', `no recipe of ${model.card.id} matches${o.backend ? ` backend ${o.backend}` : ''}${o.gpu ? ` gpu ${o.gpu}` : ''}${o.mode ? ` mode ${o.mode}` : ''}`, {
      hint: all.length > 0 ? `recipes of ${model.card.id}: ${all.join(', ')} (scaffold another with recipes new)` : `scaffold one with recipes new --model ${model.card.id}`,
    });
  }
  return candidates[0]!;
}

/** Creates (or re-opens for resume) an experiment directory for `recipes up`/`recipes profile`. */
export function planExperiment(dir: string, o: PlanOptions): ExperimentSpec {
  const ws = loadWorkspace(o.root);
  const recipe = pickRecipe(ws, o);
  const probe: ExperimentSpec = {
    schema: 'llm-recipes/experiment@1',
    recipe,
    variant: o.variant ?? null,
    set: o.set ?? [],
    target: o.target,
    strategy: o.strategy ?? 'benchmark',
    matrix: { islOsl: [[1, 1]], concurrency: [1], requests: 1, warmup: 0 },
    seed: o.seed ?? 0,
    gpuHourlyUsd: o.gpuHourlyUsd ?? null,
    keep: o.keep ?? false,
    ...(o.profile ? { profile: o.profile } : {}),
    createdAt: new Date().toISOString(),
  };
  // the recipe's own benchmark section is the default matrix; flags override it
  // resolved without the placeholder matrix, so the recipe's own benchmark section shows through
  const res = resolveRecipe(ws, { recipe, variant: o.variant, set: userSetLayers(probe.set) });
  if (!res.resolved || res.issues.some((i) => i.severity !== 'warning')) throw new InvalidInputError(res.issues);
  const b = res.resolved.recipe.benchmark;
  probe.matrix = {
    islOsl: o.islOsl ?? b.islOsl.map(([i, x]) => [i, x] as [number, number]),
    concurrency: o.concurrency ?? [...b.concurrency],
    requests: o.requests ?? b.requestsPerPoint,
    warmup: o.warmup ?? b.warmupRequests,
  };
  return saveSpec(dir, probe);
}
