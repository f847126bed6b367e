import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Issue } from '@llm-recipes/errors';
import { gpuDirName, normalizeGpuId } from './gpu-id.ts';
import { backendLayer, builtinDefaults, dnsLabel, gpuLayer, modelLayer, WORKER_DEFAULTS } from './layers.ts';
import { GOLDEN_CONFIG_FIELDS } from './golden.ts';
import { findGpu, isInside, type LoadedRecipe, type Workspace } from './loader.ts';
import { runRules, ROLES } from './rules.ts';
import { RecipeSchema, type Cluster, type Gpu, type ModelCard, type Recipe } from './schema.ts';
import { parseSet } from './set.ts';
import { locate, zodIssues, type Position } from './source.ts';
import { closest, didYouMean } from './suggest.ts';

export type Layer = 'default' | 'model' | 'backend' | 'gpu' | 'cluster' | 'recipe' | 'variant' | 'golden' | 'set';

/** Where one effective value came from. */
export interface ProvenanceEntry {
  layer: Layer;
  file?: string | undefined;
  line?: number | undefined;
  col?: number | undefined;
}

/** Dotted path (`topology.decode.tp`) → origin of its effective value. */
export type Provenance = Record<string, ProvenanceEntry>;

/** A recipe with every layer applied, validated, ready to render. */
export interface ResolvedRecipe {
  /** `<model>/<backend>/<gpu-dir>`, e.g. qwen3-32b/vllm/h100-sxm. */
  id: string;
  variant?: string | undefined;
  /** DNS base name: id with `/` → `-`, plus `-<variant>`. */
  name: string;
  /** Repo-relative recipe directory. */
  dir: string;
  recipe: Recipe;
  model: ModelCard;
  gpu: Gpu;
  /** extraConfig files of the resolved recipe, path as referenced (relative to dir). */
  engineFiles: { path: string; content: string }[];
  /** benchmark.trace.file, read from the recipe directory (path as referenced). */
  benchmarkFiles?: { path: string; content: string }[] | undefined;
  provenance: Provenance;
  /** Set when the promoted configuration (golden.yaml) was applied. */
  golden?: { file: string; experiment: string; point: string; promotedAt: string } | undefined;
}

export interface ResolveOptions {
  /** Recipe id (`qwen3-32b/vllm/h100-sxm`) or directory, relative to `cwd` or to recipes/. */
  recipe: string;
  variant?: string | undefined;
  set?: readonly string[] | Record<string, unknown> | undefined;
  /** Directory a relative recipe path is resolved against (default: the workspace root). */
  cwd?: string | undefined;
  /**
   * Apply the recipe's promoted configuration (golden.yaml) over the recipe and variant, when the golden was
   * measured on this same variant. Clusters with `golden: true` resolve this way; profiling never does.
   */
  golden?: boolean | undefined;
  /**
   * The cluster the recipe is resolved for: its Dynamo version picks the default runtime image, and its pod settings
   * (`pod` for every pod, `workerPod` for worker pods) are a layer between the GPU defaults and the recipe.
   */
  cluster?: Cluster | undefined;
}

export interface ResolveResult {
  resolved?: ResolvedRecipe | undefined;
  issues: Issue[];
}

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function dotted(p: readonly (string | number)[]): string {
  return p.join('.');
}

/** An environment variable's value (`…env.NAME`): replaced whole, so a layer can turn a value into a reference. */
export function isEnvEntry(path: readonly (string | number)[]): boolean {
  return path.length >= 2 && path[path.length - 2] === 'env';
}

/**
 * Deep-merges `data` into `target`; objects merge key by key, lists and scalars replace, provenance follows. `null`
 * removes the key and everything under it (variants use it to drop a pool), so nothing explains a removed value.
 * Environment variables merge by name and each value is replaced whole.
 */
function mergeLayer(
  target: Record<string, unknown>,
  prov: Provenance,
  data: Record<string, unknown>,
  origin: (p: (string | number)[]) => ProvenanceEntry,
  base: (string | number)[] = [],
): void {
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined || FORBIDDEN.has(key)) continue;
    const p = [...base, key];
    const at = dotted(p);
    if (value === null) {
      clearReplaced(prov, at, target[key]);
      delete target[key];
      continue;
    }
    if (isPlainObject(value) && !isEnvEntry(p)) {
      if (!isPlainObject(target[key])) {
        clearReplaced(prov, at, target[key]);
        setOwn(target, key, {});
      }
      // an empty map (env: {}) is still a value worth explaining
      if (Object.keys(value).length === 0) {
        if (Object.keys(target[key] as object).length === 0) prov[at] = origin(p);
      } else {
        delete prov[at];
      }
      mergeLayer(target[key] as Record<string, unknown>, prov, value, origin, p);
    } else {
      clearReplaced(prov, at, target[key]);
      // lists are copied (layers must not share them); a scalar is its own copy, and structuredClone costs ≈1 µs
      setOwn(target, key, typeof value === 'object' ? structuredClone(value) : value);
      prov[at] = origin(p);
    }
  }
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function clearUnder(prov: Provenance, key: string): void {
  for (const k of Object.keys(prov)) if (k === key || k.startsWith(`${key}.`)) delete prov[k];
}

/** Forgets the provenance of a value being replaced; only a replaced map or list can have entries under its key. */
function clearReplaced(prov: Provenance, key: string, replaced: unknown): void {
  // skipping the scan for scalars keeps layering linear in recipe size
  if (replaced !== null && typeof replaced === 'object') clearUnder(prov, key);
  else delete prov[key];
}

function getIn(obj: unknown, p: readonly (string | number)[]): unknown {
  let cur = obj;
  for (const seg of p) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** Finds a recipe by id, by directory (relative to cwd or recipes/, or a path to recipe.yaml), or by GPU alias. */
export function findRecipeId(ws: Workspace, ref: string, cwd: string = ws.root): string | undefined {
  const cleaned = ref.replace(/\\/g, '/').replace(/\/recipe\.ya?ml$/, '').replace(/\/+$/, '');
  const recipesDir = path.join(ws.root, 'recipes');
  const candidates = [path.resolve(cwd, cleaned), path.resolve(recipesDir, cleaned.replace(/^recipes\//, ''))];
  for (const abs of candidates) {
    if (!isInside(recipesDir, abs)) continue;
    const id = path.relative(recipesDir, abs).split(path.sep).join('/');
    if (ws.recipes.has(id) || ws.broken.recipes.has(id)) return id;
  }
  const parts = cleaned.replace(/^recipes\//, '').split('/');
  if (parts.length === 3) {
    const gpu = findGpu(ws, parts[2]!)?.gpu.id ?? normalizeGpuId(parts[2]!);
    const id = `${parts[0]}/${parts[1]}/${gpuDirName(gpu)}`;
    if (ws.recipes.has(id) || ws.broken.recipes.has(id)) return id;
  }
  return undefined;
}

/** Applies every layer to one recipe (optionally a variant and `--set` overrides) and checks the result. */
export function resolveRecipe(ws: Workspace, options: ResolveOptions): ResolveResult {
  const id = findRecipeId(ws, options.recipe, options.cwd);
  if (id === undefined) {
    return {
      issues: [
        {
          code: 'RECIPE_NOT_FOUND',
          file: 'recipes',
          path: [],
          message: `no recipe "${options.recipe}"`,
          hint: didYouMean(options.recipe, [...ws.recipes.keys()], 'recipes'),
        },
      ],
    };
  }
  const loaded = ws.recipes.get(id);
  if (loaded === undefined) {
    return { issues: ws.issues.filter((i) => i.file === `recipes/${id}/recipe.yaml` && i.severity !== 'warning') };
  }
  return resolveLoaded(ws, loaded, options.variant, options.set, '--set', { golden: options.golden, cluster: options.cluster });
}

/** The cluster layer: `pod` for every pod, `workerPod` over it for the worker pools; positions from cluster.yaml. */
function clusterLayer(
  ws: Workspace,
  cluster: Cluster,
): { data: Record<string, unknown>; origin: (p: (string | number)[]) => ProvenanceEntry }[] {
  const loaded = ws.clusters.get(cluster.name);
  const file = loaded?.file ?? `clusters/${cluster.name}/cluster.yaml`;
  const at = (p: (string | number)[]): ProvenanceEntry => ({ layer: 'cluster', file, ...(loaded ? locate(loaded.source, p) : {}) });
  const out: { data: Record<string, unknown>; origin: (p: (string | number)[]) => ProvenanceEntry }[] = [];
  if (cluster.pod !== undefined) {
    out.push({ data: { pod: cluster.pod }, origin: (p) => at(['pod', ...p.slice(1)]) });
    out.push({ data: { topology: { frontend: { pod: cluster.pod } } }, origin: (p) => at(['pod', ...p.slice(3)]) });
  }
  if (cluster.workerPod !== undefined) out.push({ data: { pod: cluster.workerPod }, origin: (p) => at(['workerPod', ...p.slice(1)]) });
  return out;
}

/**
 * Each worker pool's effective pod settings: the recipe-level `pod` (every layer of it) with the pool's own
 * `topology.<pool>.pod` merged over it; provenance follows each value to the layer and line that set it.
 */
function applyPoolPods(target: Record<string, unknown>, prov: Provenance): void {
  const topology = target.topology as Record<string, unknown>;
  const base = isPlainObject(target.pod) ? target.pod : {};
  for (const role of ROLES) {
    const pool = topology[role];
    if (!isPlainObject(pool)) continue;
    const own = isPlainObject(pool.pod) ? pool.pod : {};
    const prefix = `topology.${role}.pod`;
    const merged: Record<string, unknown> = {};
    const mergedProv: Provenance = {};
    mergeLayer(merged, mergedProv, structuredClone(base), (p) => prov[`pod.${dotted(p)}`] ?? { layer: 'default' });
    mergeLayer(merged, mergedProv, structuredClone(own), (p) => prov[`${prefix}.${dotted(p)}`] ?? { layer: 'default' });
    clearUnder(prov, prefix);
    for (const [k, v] of Object.entries(mergedProv)) prov[`${prefix}.${k}`] = v;
    if (Object.keys(merged).length > 0) pool.pod = merged;
  }
}

const resolutions = new WeakMap<Workspace, WeakMap<LoadedRecipe, Map<string, ResolveResult>>>();
// A cluster profile is part of a resolution (its Dynamo version and pod layers): one with pod layers is keyed by the
// object, so a modified copy (`--engine`) resolves afresh.
const clusterIds = new WeakMap<Cluster, number>();
let nextClusterId = 0;
const clusterId = (c: Cluster | undefined): number | string | null => {
  if (c === undefined) return null;
  // Without pod layers a cluster adds only its Dynamo version: every such cluster, and the recipe on its own when
  // the version is unset, shares one resolution.
  if (c.pod === undefined && c.workerPod === undefined) return c.dynamoVersion === undefined ? null : `dynamo@${c.dynamoVersion}`;
  let id = clusterIds.get(c);
  if (id === undefined) clusterIds.set(c, (id = nextClusterId++));
  return id;
};

/**
 * Resolution of an already loaded recipe; shared by resolveRecipe and the workspace check. A workspace resolves each
 * (recipe, variant, overrides, golden, cluster) once: the check, every cluster that deploys the recipe and the
 * renderer get the same result, deeply frozen so no consumer can change what the others see. Where `--set` overrides
 * are reported (`setFile`) is part of the key only when there are overrides.
 */
export function resolveLoaded(
  ws: Workspace,
  loaded: LoadedRecipe,
  variant: string | undefined,
  set: readonly string[] | Record<string, unknown> | undefined,
  setFile = '--set',
  opts: { golden?: boolean | undefined; cluster?: Cluster | undefined } = {},
): ResolveResult {
  const hasSet = set !== undefined && (Array.isArray(set) ? set.length > 0 : Object.keys(set).length > 0);
  const key = JSON.stringify([variant ?? null, opts.golden === true, hasSet ? set : null, hasSet ? setFile : null, clusterId(opts.cluster)]);
  let byRecipe = resolutions.get(ws);
  if (byRecipe === undefined) resolutions.set(ws, (byRecipe = new WeakMap()));
  let cache = byRecipe.get(loaded);
  if (cache === undefined) byRecipe.set(loaded, (cache = new Map()));
  let result = cache.get(key);
  if (result === undefined) {
    result = freezeResult(resolveFresh(ws, loaded, variant, set, setFile, opts));
    cache.set(key, result);
  }
  return result;
}

function deepFreeze<T>(value: T, skip: ReadonlySet<unknown>): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value) || skip.has(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v, skip);
  return value;
}

/** The model card and GPU are the workspace's own objects: shared, left as the loader made them. */
function freezeResult(result: ResolveResult): ResolveResult {
  const r = result.resolved;
  return deepFreeze(result, new Set(r === undefined ? [] : [r.model, r.gpu]));
}

function resolveFresh(
  ws: Workspace,
  loaded: LoadedRecipe,
  variant: string | undefined,
  set: readonly string[] | Record<string, unknown> | undefined,
  setFile: string,
  opts: { golden?: boolean | undefined; cluster?: Cluster | undefined },
): ResolveResult {
  const issues: Issue[] = [];
  const written = loaded.written;
  const src = loaded.source;
  const variantData = variant === undefined ? undefined : written.variants?.[variant];
  if (variant !== undefined && variantData === undefined) {
    const names = Object.keys(written.variants ?? {});
    return {
      issues: [
        {
          code: 'RECIPE_UNKNOWN_VARIANT',
          file: loaded.file,
          path: ['variants'],
          ...locate(src, ['variants']),
          message: `recipe ${loaded.id} has no variant "${variant}"`,
          hint: names.length === 0 ? 'this recipe defines no variants' : didYouMean(variant, names, 'variants'),
        },
      ],
    };
  }
  const parsedSet = parseSet(set, setFile);
  issues.push(...parsedSet.issues);

  const model = ws.models.get(written.model);
  const gpu = findGpu(ws, written.gpu);
  const modelFile = ws.models.get(written.model);
  const gpuSrc = gpu?.source;

  const target: Record<string, unknown> = {};
  const prov: Provenance = {};
  const recipeFileOrigin = (layer: Layer, prefix: (string | number)[]) => (p: (string | number)[]) => ({
    layer,
    file: loaded.file,
    ...locate(src, [...prefix, ...p]),
  });
  mergeLayer(target, prov, builtinDefaults(), () => ({ layer: 'default' }));
  if (model !== undefined && modelFile !== undefined) {
    const m = modelLayer(model.card);
    mergeLayer(target, prov, m.data, (p) => {
      const from = m.origin[dotted(p)];
      return { layer: 'model', file: modelFile.file, ...(from ? locate(modelFile.source, from) : {}) };
    });
  }
  mergeLayer(target, prov, backendLayer(written.backend.name, opts.cluster?.dynamoVersion), () => ({ layer: 'backend' }));
  if (gpu !== undefined && gpuSrc !== undefined) {
    mergeLayer(target, prov, gpuLayer(gpu.gpu, model?.card), () => ({ layer: 'gpu', file: gpu.file, ...locate(gpuSrc, ['tflops']) }));
  }
  if (opts.cluster !== undefined) {
    for (const { data, origin } of clusterLayer(ws, opts.cluster)) mergeLayer(target, prov, structuredClone(data), origin);
  }
  const { variants: _variants, ...body } = written;
  mergeLayer(target, prov, body as Record<string, unknown>, recipeFileOrigin('recipe', []));
  if (variant !== undefined && variantData !== undefined) {
    mergeLayer(target, prov, variantData as Record<string, unknown>, recipeFileOrigin('variant', ['variants', variant]));
  }
  // golden: the measured deployment replaces the fields it pins as a whole (a merge could mix an agg snapshot into a
  // recipe that has since become disagg); it applies only to the variant it was measured on
  const golden = opts.golden === true && loaded.golden !== undefined && loaded.golden.golden.variant === variant ? loaded.golden : undefined;
  if (golden !== undefined) {
    // pod settings are placement, not the measured configuration: the golden never pins them
    const pods = poolPods(target, prov);
    for (const field of GOLDEN_CONFIG_FIELDS) {
      delete target[field];
      clearUnder(prov, field);
      mergeLayer(target, prov, { [field]: golden.golden.config[field] }, (p) => ({ layer: 'golden', file: golden.file, ...locate(golden.source, ['config', ...p]) }));
    }
    restorePoolPods(target, prov, pods);
  }
  mergeLayer(target, prov, parsedSet.data, () => ({ layer: 'set', file: setFile }));
  // the canonical GPU id, whatever spelling or alias the file used
  if (gpu !== undefined) target.gpu = gpu.gpu.id;
  const topology = target.topology as Record<string, unknown>;
  // a golden promoted before frontend flags existed pins a frontend without them
  if (isPlainObject(topology.frontend) && topology.frontend.args === undefined) {
    topology.frontend.args = {};
    prov['topology.frontend.args'] = { layer: 'default' };
  }
  applyPoolPods(target, prov);
  for (const role of ROLES) {
    const pool = topology[role];
    if (!isPlainObject(pool)) continue;
    for (const [k, v] of Object.entries(WORKER_DEFAULTS)) {
      if (pool[k] === undefined) {
        pool[k] = typeof v === 'object' && v !== null ? structuredClone(v) : v;
        prov[`topology.${role}.${k}`] = { layer: 'default' };
      }
    }
  }

  const where = (p: (string | number)[]): Position & { file: string } => {
    const entry = prov[dotted(p)];
    if (entry?.file !== undefined && entry.layer !== 'default') {
      return { file: entry.file, line: entry.line ?? 0, col: entry.col ?? 0 };
    }
    if (getIn(parsedSet.data, p) !== undefined) return { file: setFile, line: 0, col: 0 };
    if (variant !== undefined && getIn(variantData, p) !== undefined) {
      return { file: loaded.file, ...locate(src, ['variants', variant, ...p]) };
    }
    return { file: loaded.file, ...locate(src, p) };
  };
  const at = (p: (string | number)[]): { file: string; line?: number; col?: number } => {
    const w = where(p);
    return w.line === 0 ? { file: w.file } : w;
  };

  if (model === undefined) {
    if (!ws.broken.models.has(written.model)) {
      issues.push({
        code: 'RECIPE_UNKNOWN_MODEL',
        path: ['model'],
        ...at(['model']),
        message: `no model card for "${written.model}" (recipes/${written.model}/model.yaml does not exist)`,
        hint: hintModel(ws, written.model),
      });
    }
  }
  if (gpu === undefined) {
    const norm = normalizeGpuId(written.gpu);
    if (!ws.broken.gpus.has(norm)) {
      const names = [...ws.gpus.values()].flatMap((g) => [g.gpu.id, ...g.gpu.aliases]);
      const best = closest(norm, names) ?? closest(written.gpu, names);
      issues.push({
        code: 'RECIPE_UNKNOWN_GPU',
        path: ['gpu'],
        ...at(['gpu']),
        message: `unknown GPU "${written.gpu}"`,
        hint:
          best !== undefined
            ? `did you mean "${findGpu(ws, best)?.gpu.id ?? best}"?`
            : `known GPUs: ${[...ws.gpus.keys()].join(', ')} (add recipes/gpus/${norm}.yaml for a new one)`,
      });
    }
  }

  // without the card or the GPU the model/GPU layers are missing, so schema errors would only be echoes
  if (model === undefined || gpu === undefined) return { issues };
  const parsed = RecipeSchema.safeParse(target, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      for (const mapped of zodIssues(src, RecipeSchema, [issue])) {
        issues.push({ ...mapped, line: undefined, col: undefined, ...at(mapped.path) });
      }
    }
  }
  if (!parsed.success) return { issues };

  const recipe = parsed.data;
  const engineFiles: { path: string; content: string }[] = [];
  const benchmarkFiles: { path: string; content: string }[] = [];
  const ctx = { ws, loaded, variant, recipe, model: model.card, gpu: gpu.gpu, issues, at, engineFiles, readEngineFile, benchmarkFiles };
  runRules(ctx);

  function readEngineFile(ref: string): string | undefined {
    const cached = loaded.engineFiles.get(ref);
    if (cached !== undefined) return cached;
    const dirAbs = path.resolve(ws.root, loaded.dir);
    const abs = path.resolve(dirAbs, ref);
    if (!isInside(dirAbs, abs)) return undefined;
    try {
      return readFileSync(abs, 'utf8');
    } catch {
      return undefined;
    }
  }

  if (issues.some((i) => i.severity !== 'warning')) return { issues };
  const name = dnsLabel(`${loaded.id}${variant === undefined ? '' : `-${variant}`}`);
  return {
    resolved: {
      id: loaded.id,
      ...(variant === undefined ? {} : { variant }),
      name,
      dir: loaded.dir,
      recipe,
      model: model.card,
      gpu: gpu.gpu,
      engineFiles,
      ...(benchmarkFiles.length > 0 ? { benchmarkFiles } : {}),
      provenance: prov,
      ...(golden === undefined
        ? {}
        : { golden: { file: golden.file, experiment: golden.golden.experiment.id, point: golden.golden.point.id, promotedAt: golden.golden.promotedAt } }),
    },
    issues,
  };
}

type SavedPods = { path: string[]; value: unknown; prov: Provenance }[];

/** The pod blocks under topology (each pool's and the frontend's) with their provenance. */
function poolPods(target: Record<string, unknown>, prov: Provenance): SavedPods {
  const out: SavedPods = [];
  const topology = target.topology;
  if (!isPlainObject(topology)) return out;
  for (const role of [...ROLES, 'frontend']) {
    const pool = topology[role];
    if (!isPlainObject(pool) || pool.pod === undefined) continue;
    const prefix = `topology.${role}.pod`;
    const saved: Provenance = {};
    for (const [k, v] of Object.entries(prov)) if (k === prefix || k.startsWith(`${prefix}.`)) saved[k] = v;
    out.push({ path: ['topology', role], value: structuredClone(pool.pod), prov: saved });
  }
  return out;
}

function restorePoolPods(target: Record<string, unknown>, prov: Provenance, saved: SavedPods): void {
  const topology = target.topology;
  if (!isPlainObject(topology)) return;
  for (const role of [...ROLES, 'frontend']) {
    const pool = topology[role];
    if (!isPlainObject(pool)) continue;
    delete pool.pod;
    clearUnder(prov, `topology.${role}.pod`);
  }
  for (const { path, value, prov: p } of saved) {
    const pool = topology[path[1]!];
    // a pool the golden no longer has keeps no settings
    if (!isPlainObject(pool)) continue;
    pool.pod = value;
    Object.assign(prov, p);
  }
}

function hintModel(ws: Workspace, id: string): string {
  const best = closest(id, [...ws.models.keys()]);
  if (best !== undefined) return `did you mean "${best}"?`;
  const byHf = [...ws.models.values()].find((m) => m.card.hfId.toLowerCase() === id.toLowerCase());
  if (byHf !== undefined) return `use the recipes/ id "${byHf.card.id}" for ${byHf.card.hfId}`;
  return `create recipes/${id}/model.yaml (see recipes/README.md), or use one of: ${[...ws.models.keys()].join(', ')}`;
}
