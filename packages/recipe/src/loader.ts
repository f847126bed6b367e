import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Issue } from '@llm-recipes/errors';
import type { z } from 'zod';
import { checkWorkspace } from './check.ts';
import { GOLDEN_FILE, GoldenSchema, type Golden } from './golden.ts';
import { gpuDirName, normalizeGpuId } from './gpu-id.ts';
import { modelIndex } from './model-id.ts';
import { ClusterSchema, GpuSchema, ModelCardSchema, type Cluster, type Gpu, type ModelCard } from './schema.ts';
import { locate, parseSource, zodIssues, type SourceFile } from './source.ts';
import { didYouMean } from './suggest.ts';
import {
  WrittenClusterSchema,
  WrittenGpuSchema,
  WrittenModelCardSchema,
  WrittenRecipeSchema,
  type WrittenRecipe,
} from './written.ts';

export interface LoadedModel {
  card: ModelCard;
  file: string;
  source: SourceFile;
}

export interface LoadedGpu {
  gpu: Gpu;
  file: string;
  source: SourceFile;
}

export interface LoadedRecipe {
  /** `<model>/<backend>/<gpu-dir>`, the directory relative to recipes/. */
  id: string;
  /** Repo-relative recipe directory. */
  dir: string;
  /** Repo-relative path of recipe.yaml. */
  file: string;
  written: WrittenRecipe;
  source: SourceFile;
  /** extraConfig files referenced by the recipe or its variants that exist, keyed as referenced. */
  engineFiles: Map<string, string>;
  /** The promoted configuration (golden.yaml beside recipe.yaml), when there is a valid one. */
  golden?: LoadedGolden | undefined;
}

/** A recipe's golden.yaml, parsed and schema-checked, with its source for positions. */
export interface LoadedGolden {
  golden: Golden;
  /** Repo-relative path of golden.yaml. */
  file: string;
  source: SourceFile;
}

export interface LoadedCluster {
  name: string;
  dir: string;
  file: string;
  cluster: Cluster;
  source: SourceFile;
}

/** Everything under recipes/ and clusters/, parsed and schema-checked, with every problem found. */
export interface Workspace {
  /** Absolute repository root. */
  root: string;
  models: Map<string, LoadedModel>;
  gpus: Map<string, LoadedGpu>;
  recipes: Map<string, LoadedRecipe>;
  clusters: Map<string, LoadedCluster>;
  issues: Issue[];
  /** Ids whose file exists but failed to load: references to them are not reported again. */
  broken: { models: Set<string>; gpus: Set<string>; recipes: Set<string> };
}

export const RECIPE_SCHEMA_PATH = 'schemas/recipe.schema.json';

/** The exact first line a recipe.yaml must carry so editors validate and complete it. */
export function modeline(recipeDir: string, root: string): string {
  const rel = path.relative(path.resolve(root, recipeDir), path.resolve(root, RECIPE_SCHEMA_PATH)).split(path.sep).join('/');
  return `# yaml-language-server: $schema=${rel}`;
}

/** Loads recipes/ and clusters/ under `root`. Never throws for input problems: they are all in `issues`. */
export function loadWorkspace(root: string): Workspace {
  const ws: Workspace = {
    root: path.resolve(root),
    models: new Map(),
    gpus: new Map(),
    recipes: new Map(),
    clusters: new Map(),
    issues: [],
    broken: { models: new Set(), gpus: new Set(), recipes: new Set() },
  };
  const recipesDir = path.join(ws.root, 'recipes');
  loadGpus(ws, path.join(recipesDir, 'gpus'));
  loadModels(ws, recipesDir);
  loadRecipes(ws, recipesDir);
  loadClusters(ws, path.join(ws.root, 'clusters'));
  checkWorkspace(ws);
  return ws;
}

function rel(ws: Workspace, abs: string): string {
  return path.relative(ws.root, abs).split(path.sep).join('/');
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readSource(ws: Workspace, abs: string): SourceFile | undefined {
  const file = rel(ws, abs);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    ws.issues.push({ code: 'FILE_UNREADABLE', file, path: [], message: `cannot read file: ${(err as Error).message}` });
    return undefined;
  }
  return parseSource(file, text, ws.issues);
}

function validate<S extends z.ZodType>(ws: Workspace, src: SourceFile, schema: S): z.output<S> | undefined {
  if (src.data === undefined && src.doc.errors.length > 0) return undefined;
  if (typeof src.data !== 'object' || src.data === null || Array.isArray(src.data)) {
    ws.issues.push({
      code: 'SCHEMA_INVALID_TYPE',
      file: src.file,
      path: [],
      line: 1,
      col: 1,
      message: 'the file must hold a YAML mapping (key: value pairs)',
      hint: src.data == null ? 'the file is empty' : undefined,
    });
    return undefined;
  }
  const result = schema.safeParse(src.data, { reportInput: true });
  if (!result.success) {
    ws.issues.push(...zodIssues(src, schema, result.error.issues));
    return undefined;
  }
  return result.data;
}

function loadGpus(ws: Workspace, dir: string): void {
  for (const name of listDir(dir)) {
    if (!/\.ya?ml$/.test(name)) continue;
    const stem = name.replace(/\.ya?ml$/, '');
    const fileId = normalizeGpuId(stem);
    const src = readSource(ws, path.join(dir, name));
    if (src === undefined) continue;
    const written = validate(ws, src, WrittenGpuSchema);
    if (written === undefined) {
      ws.broken.gpus.add(fileId);
      continue;
    }
    const gpu: Gpu = GpuSchema.parse({ ...written, id: written.id ?? fileId, aliases: written.aliases ?? [] });
    if (gpu.id !== fileId) {
      ws.issues.push({
        code: 'GPU_ID_MISMATCH',
        file: src.file,
        path: ['id'],
        ...locate(src, ['id']),
        message: `GPU id "${gpu.id}" does not match the file name "${name}"`,
        hint: `rename the file to ${gpu.id}.yaml or drop the id field`,
      });
    }
    ws.gpus.set(gpu.id, { gpu, file: src.file, source: src });
  }
  const owner = new Map<string, string>();
  for (const { gpu, source } of ws.gpus.values()) {
    for (const [i, alias] of gpu.aliases.entries()) {
      const a = normalizeGpuId(alias);
      const prev = owner.get(a) ?? (ws.gpus.has(a) && a !== gpu.id ? a : undefined);
      if (prev !== undefined && prev !== gpu.id) {
        ws.issues.push({
          code: 'GPU_DUPLICATE_ALIAS',
          file: source.file,
          path: ['aliases', i],
          ...locate(source, ['aliases', i]),
          message: `alias "${alias}" is already used by ${prev}`,
          hint: 'an alias must name exactly one GPU; remove it from one of the files',
        });
      }
      owner.set(a, gpu.id);
    }
  }
}

function loadModels(ws: Workspace, recipesDir: string): void {
  for (const name of listDir(recipesDir)) {
    const abs = path.join(recipesDir, name, 'model.yaml');
    if (name === 'gpus' || !existsSync(abs)) continue;
    const src = readSource(ws, abs);
    if (src === undefined) continue;
    const written = validate(ws, src, WrittenModelCardSchema);
    if (written === undefined) {
      ws.broken.models.add(name);
      continue;
    }
    const card = ModelCardSchema.safeParse({
      ...written,
      id: written.id ?? name,
      servedName: written.servedName ?? written.hfId,
      tokenizer: written.tokenizer ?? written.hfId,
    }, { reportInput: true });
    if (!card.success) {
      ws.issues.push(...zodIssues(src, ModelCardSchema, card.error.issues));
      ws.broken.models.add(name);
      continue;
    }
    if (card.data.id !== name) {
      ws.issues.push({
        code: 'MODEL_ID_MISMATCH',
        file: src.file,
        path: ['id'],
        ...locate(src, ['id']),
        message: `model id "${card.data.id}" does not match its directory "recipes/${name}"`,
        hint: `rename the directory to recipes/${card.data.id} or drop the id field`,
      });
    }
    ws.models.set(name, { card: card.data, file: src.file, source: src });
  }
  // A model name must resolve to one card: two claiming it alike, or an alias that resolves to another card, is an
  // error; a card whose hfId another card claims by its id (two cards of the same weights) is a warning.
  for (const c of modelIndex([[...ws.models.values()].map((m) => m.card)]).collisions) {
    const source = ws.models.get(c.entry.id)!.source;
    const at = c.field === 'alias' ? ['aliases', c.index!] : [c.field];
    const what = `${c.field === 'alias' ? 'alias' : c.field} "${c.name}"`;
    ws.issues.push(
      c.kind === 'ambiguous' || c.field === 'alias'
        ? {
            code: 'MODEL_DUPLICATE_NAME',
            file: source.file,
            path: at,
            ...locate(source, at),
            message: `${what} names the same model as ${c.other.id} (both read as "${c.key}")`,
            hint: 'a model name must resolve to exactly one card: remove the alias, or merge the cards if they share the architecture',
          }
        : {
            code: 'MODEL_NAME_SHADOWED',
            severity: 'warning',
            file: source.file,
            path: at,
            ...locate(source, at),
            message: `${what} reads as "${c.key}", which names ${c.other.id}: estimate and search resolve it to that card`,
            hint: `name this card by its id (${c.entry.id}) where the two differ`,
          },
    );
  }
}

function findRecipeFiles(dir: string, depth: number, out: string[]): void {
  for (const name of listDir(dir)) {
    const abs = path.join(dir, name);
    if (name === 'recipe.yaml' || name === 'recipe.yml') out.push(abs);
    // engine/ holds engine configs, never recipes; bound the walk so a stray deep tree costs nothing
    else if (depth < 4 && name !== 'engine' && name !== 'node_modules' && !name.startsWith('.') && isDir(abs)) {
      findRecipeFiles(abs, depth + 1, out);
    }
  }
}

function loadRecipes(ws: Workspace, recipesDir: string): void {
  const files: string[] = [];
  for (const name of listDir(recipesDir)) {
    if (name !== 'gpus' && isDir(path.join(recipesDir, name))) findRecipeFiles(path.join(recipesDir, name), 1, files);
  }
  for (const abs of files) {
    const file = rel(ws, abs);
    const parts = path.relative(recipesDir, path.dirname(abs)).split(path.sep);
    if (parts.length !== 3 || path.basename(abs) !== 'recipe.yaml') {
      ws.issues.push({
        code: 'RECIPE_BAD_LOCATION',
        file,
        path: [],
        message: 'a recipe must live at recipes/<model>/<backend>/<gpu>/recipe.yaml',
        hint: 'move it, e.g. to recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml',
      });
      continue;
    }
    const id = parts.join('/');
    const src = readSource(ws, abs);
    if (src === undefined) continue;
    const dir = rel(ws, path.dirname(abs));
    const expected = modeline(dir, ws.root);
    const first = src.text.split(/\r?\n/, 1)[0] ?? '';
    if (first.trim() !== expected) {
      ws.issues.push({
        code: 'RECIPE_NO_MODELINE',
        file,
        path: [],
        line: 1,
        col: 1,
        message: 'the first line must be the yaml-language-server schema modeline',
        hint: `make the first line: ${expected}`,
      });
    }
    const written = validate(ws, src, WrittenRecipeSchema);
    if (written === undefined) {
      ws.broken.recipes.add(id);
      continue;
    }
    const engineFiles = new Map<string, string>();
    for (const ref of extraConfigRefs(written)) {
      const target = path.resolve(ws.root, dir, ref);
      if (!isInside(path.resolve(ws.root, dir), target)) continue;
      try {
        engineFiles.set(ref, readFileSync(target, 'utf8'));
      } catch {
        // reported by the extraConfig rule with the referencing field's position
      }
    }
    ws.recipes.set(id, { id, dir, file, written, source: src, engineFiles, golden: loadGolden(ws, id, path.dirname(abs)) });
  }
  // stable order regardless of directory walk order
  ws.recipes = new Map([...ws.recipes].sort(([a], [b]) => a.localeCompare(b)));
}

/** golden.yaml beside a recipe: schema-checked, and it must name this recipe (a copied golden would pin the wrong one). */
function loadGolden(ws: Workspace, id: string, dirAbs: string): LoadedGolden | undefined {
  const abs = path.join(dirAbs, GOLDEN_FILE);
  if (!existsSync(abs)) return undefined;
  const src = readSource(ws, abs);
  if (src === undefined) return undefined;
  const golden = validate(ws, src, GoldenSchema);
  if (golden === undefined) return undefined;
  if (golden.recipe !== id) {
    ws.issues.push({
      code: 'GOLDEN_RECIPE_MISMATCH',
      file: src.file,
      path: ['recipe'],
      ...locate(src, ['recipe']),
      message: `golden.yaml promotes recipe "${golden.recipe}" but lives beside ${id}`,
      hint: `golden.yaml is written by \`recipes promote\`: delete this file and run recipes promote ${id} --from <experiment>`,
    });
    return undefined;
  }
  return { golden, file: src.file, source: src };
}

/** True when `target` is `dir` or below it. */
export function isInside(dir: string, target: string): boolean {
  const r = path.relative(dir, target);
  return r !== '' && !r.startsWith('..') && !path.isAbsolute(r);
}

function extraConfigRefs(w: WrittenRecipe): string[] {
  const refs = new Set<string>();
  const bodies = [w, ...Object.values(w.variants ?? {})];
  for (const b of bodies) {
    if (b.backend?.extraConfig) refs.add(b.backend.extraConfig);
    for (const role of ['agg', 'prefill', 'decode'] as const) {
      const r = b.topology?.[role]?.extraConfig;
      if (r) refs.add(r);
    }
  }
  return [...refs];
}

function loadClusters(ws: Workspace, clustersDir: string): void {
  for (const name of listDir(clustersDir)) {
    const abs = path.join(clustersDir, name, 'cluster.yaml');
    if (!existsSync(abs)) continue;
    const src = readSource(ws, abs);
    if (src === undefined) continue;
    const written = validate(ws, src, WrittenClusterSchema);
    if (written === undefined) continue;
    const gpus: Cluster['gpus'] = {};
    for (const [key, inv] of Object.entries(written.gpus)) {
      const id = normalizeGpuId(key, [...ws.gpus.values()].map((g) => g.gpu));
      if (!ws.gpus.has(id) && !ws.broken.gpus.has(id)) {
        ws.issues.push({
          code: 'CLUSTER_UNKNOWN_GPU',
          file: src.file,
          path: ['gpus', key],
          ...locate(src, ['gpus', key], { key: true }),
          message: `unknown GPU "${key}" in the inventory`,
          hint: didYouMean(key, [...ws.gpus.keys()], 'known GPUs'),
        });
      }
      gpus[id] = inv;
    }
    const cluster = ClusterSchema.safeParse({ ...written, name: written.name ?? name, gpus }, { reportInput: true });
    if (!cluster.success) {
      ws.issues.push(...zodIssues(src, ClusterSchema, cluster.error.issues));
      continue;
    }
    if (cluster.data.name !== name) {
      ws.issues.push({
        code: 'CLUSTER_NAME_MISMATCH',
        file: src.file,
        path: ['name'],
        ...locate(src, ['name']),
        message: `cluster name "${cluster.data.name}" does not match its directory "clusters/${name}"`,
        hint: `rename the directory to clusters/${cluster.data.name} or drop the name field`,
      });
    }
    ws.clusters.set(name, { name, dir: rel(ws, path.dirname(abs)), file: src.file, cluster: cluster.data, source: src });
  }
}

/** Resolves a GPU name (id, `-` spelling or alias) against the catalog; undefined when unknown. */
export function findGpu(ws: Workspace, input: string): LoadedGpu | undefined {
  return ws.gpus.get(normalizeGpuId(input, [...ws.gpus.values()].map((g) => g.gpu)));
}

export { gpuDirName };
