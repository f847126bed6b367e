import path from 'node:path';
import { UserError } from '@llm-recipes/errors';
import { findGpu, loadWorkspace, normalizeGpuId, type Workspace } from '@llm-recipes/recipe';
import { git } from './git.ts';

/** One matrix cell: a recipe directory (repo-relative) on one GPU, plus a name safe for artifacts and jobs. */
export interface PlanEntry {
  recipe: string;
  gpu: string;
  /** `<model>-<backend>-<gpu-dir>`: unique per recipe, usable in artifact names (no `/`). */
  name: string;
}

export interface Plan {
  include: PlanEntry[];
}

export interface PlanOptions {
  /** Repository root (holds recipes/); its working tree is read as the head side. */
  root: string;
  base: string;
  head: string;
  /** GPU selection (ids or aliases). undefined = every changed recipe on its own GPU. */
  gpus?: readonly string[] | undefined;
}

export interface PlanResult {
  plan: Plan;
  /** Files changed between base and head. */
  changed: string[];
  /** Changed recipes left out because their GPU was not requested. */
  skipped: { recipe: string; gpu: string }[];
}

const LABEL_PREFIX = 'profile/';

/** GPUs named by `profile/<gpu>` labels; `profile/all` selects every GPU (returns undefined). */
export function gpusFromLabels(labels: readonly string[]): string[] | 'all' {
  const names = labels.filter((l) => l.startsWith(LABEL_PREFIX)).map((l) => l.slice(LABEL_PREFIX.length).trim());
  return names.includes('all') ? 'all' : names;
}

/** Resolves requested GPU names against the catalog; unknown names are an error naming the known ones. */
export function resolveGpus(ws: Workspace, names: readonly string[]): Set<string> {
  const out = new Set<string>();
  const unknown: string[] = [];
  for (const n of names) {
    const found = findGpu(ws, n);
    if (found) out.add(found.gpu.id);
    else unknown.push(n);
  }
  if (unknown.length > 0) {
    throw new UserError('PLAN_UNKNOWN_GPU', `unknown GPU${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      hint: `GPUs in recipes/gpus/: ${[...ws.gpus.keys()].sort().join(', ')} (aliases such as h100 work too); label a PR profile/<gpu>`,
    });
  }
  return out;
}

/**
 * Which recipes a change touches:
 * - any file in a recipe's directory (recipe.yaml, engine/…) — except golden.yaml, which promotion writes;
 * - an engine config file a recipe (or one of its variants) references from outside its directory;
 * - its model card recipes/<model>/model.yaml;
 * - the catalog file of its GPU, recipes/gpus/<gpu>.yaml.
 * Deleted recipes are not planned (nothing to deploy).
 */
export function affectedRecipes(ws: Workspace, changed: readonly string[]): string[] {
  const files = new Set(changed);
  const out: string[] = [];
  for (const r of [...ws.recipes.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const dir = `${r.dir}/`;
    const model = r.id.split('/')[0]!;
    const gpu = findGpu(ws, String(r.written.gpu ?? ''));
    const engine = [...r.engineFiles.keys()].map((ref) => path.posix.normalize(path.posix.join(r.dir, ref)));
    const hit = changed.some((f) => f.startsWith(dir) && f !== `${dir}golden.yaml`)
      || engine.some((f) => files.has(f))
      || files.has(`recipes/${model}/model.yaml`)
      || (gpu !== undefined && files.has(gpu.file));
    if (hit) out.push(r.id);
  }
  return out;
}

function entryName(id: string): string {
  return id.replace(/[/_]/g, '-');
}

/**
 * `recipes ci plan`: recipes changed between `base` and `head` (three-dot: since their merge base, as a PR
 * shows it) × requested GPUs. A recipe is profiled only on its own GPU — a recipe directory is per GPU — so a
 * changed recipe whose GPU was not requested is left out (reported in `skipped`).
 */
export async function planChanges(options: PlanOptions): Promise<PlanResult> {
  const out = await git(options.root, ['diff', '--name-only', '--no-renames', '-z', `${options.base}...${options.head}`]);
  const changed = out.split('\0').filter(Boolean).sort();
  const ws = loadWorkspace(options.root);
  const wanted = options.gpus === undefined ? undefined : resolveGpus(ws, options.gpus);
  const include: PlanEntry[] = [];
  const skipped: { recipe: string; gpu: string }[] = [];
  for (const id of affectedRecipes(ws, changed)) {
    const r = ws.recipes.get(id)!;
    const gpu = findGpu(ws, String(r.written.gpu ?? ''))?.gpu.id ?? normalizeGpuId(String(r.written.gpu ?? ''));
    if (wanted === undefined || wanted.has(gpu)) include.push({ recipe: r.dir, gpu, name: entryName(id) });
    else skipped.push({ recipe: r.dir, gpu });
  }
  return { plan: { include }, changed, skipped };
}
