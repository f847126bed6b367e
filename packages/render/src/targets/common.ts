import { posix } from 'node:path';
import type { Cluster, Recipe, Worker } from '@llm-recipes/recipe';
import type { Issue } from '@llm-recipes/errors';
import { canonicalYaml, GENERATED_HEADER } from '../canonical.ts';
import { shortHash, toDnsName } from '../names.ts';
import { downloadMarker, ENGINE_MOUNT_PATH, modelLocation, renderRecipe } from '../recipe.ts';
import { gpusOfReplica } from '../engine.ts';
import type { KubeObject, Manifest, RenderedRecipe, ResolvedRecipe } from '../types.ts';

/** Every output kind `recipes render --target` knows. `dgd` is the GitOps tree of docs/rendering.md. */
export const TARGETS = [
  'dgd',
  'standalone',
  'llm-d',
  'dgdr',
  'compose',
  'slurm',
  'helm',
  'argo-workflow',
  'distributed-bench',
] as const;
export type Target = (typeof TARGETS)[number];

/** Targets whose output is Kubernetes objects a cluster profile can ask for (`targets:` in cluster.yaml). */
export const CLUSTER_TARGETS = ['dgd', 'standalone', 'dgdr', 'argo-workflow', 'distributed-bench'] as const;

/** One generated file of a target, path relative to the target's output directory. */
export interface TargetFile {
  path: string;
  content: string;
  /** 0o755 for scripts. */
  mode?: number | undefined;
}

/** What one recipe renders to for one target. */
export interface TargetOutput {
  target: Target;
  /** Output directory name: the resolved recipe's DNS base name. */
  name: string;
  files: TargetFile[];
  /** The Kubernetes objects among `files` (for validation), in file order. */
  objects: KubeObject[];
}

export interface TargetOptions {
  /** DGDR: profiler image; default derived from the backend image's registry and tag. Search strategy, autoApply
   * and backend choice are recipe fields (`dgdr:`), so they layer, explain and `--set` like every other setting. */
  profilerImage?: string | undefined;
  /** llm-d: the Gateway the HTTPRoute attaches to. */
  gateway?: string | undefined;
  /** distributed-bench: load-generator pods per point (default: enough for 256 streams each, at least 2). */
  shards?: number | undefined;
}

export type Role = 'agg' | 'prefill' | 'decode';

/** One worker pool of the recipe, with the numbers every target needs. */
export interface Pool {
  role: Role;
  /** Component name used by the Dynamo targets: worker | prefill | decode. */
  component: string;
  worker: Worker;
  /** tp × pp × dp: GPUs of one replica. */
  gpusPerReplica: number;
  /** GPUs of one replica on one node. */
  gpusPerNode: number;
  /** backend.args merged with the pool's args, keys without leading dashes. */
  args: Record<string, string | number | boolean>;
  /** Key of the pool's engine file in the engine ConfigMap / engine/ directory, if any (TensorRT-LLM: one per pool). */
  engineKey: string | null;
}

/** Shared facts of one recipe rendered for a non-DGD target. */
export interface TargetContext {
  target: Target;
  resolved: ResolvedRecipe;
  recipe: Recipe;
  cluster: Cluster;
  /** The DGD rendering of the same recipe: its model cache, engine ConfigMap and names are reused as they are. */
  dgd: RenderedRecipe;
  name: string;
  namespace: string;
  servedName: string;
  /** Where the weights are in the cache: `<mountPath>/<dir>` (layout dir) or the cache root (layout hub). */
  modelPath: string;
  /** What the engine is given as its model: modelPath (layout dir) or the Hugging Face id (layout hub). */
  modelRef: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  pools: Pool[];
  issues: Issue[];
  file: string;
  options: TargetOptions;
}

export const GPU_RESOURCE = 'nvidia.com/gpu';
export const PRODUCT_LABEL = 'nvidia.com/gpu.product';
/** Port every engine's OpenAI server listens on in the non-Dynamo targets. */
export const ENGINE_PORT = 8000;

export function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** ConfigMap keys allow [-._a-zA-Z0-9]; the same mapping the DGD renderer uses. */
export function engineKeyOf(path: string): string {
  return posix.normalize(path).replace(/^(\.\/)+/, '').replace(/[^-._a-zA-Z0-9]+/g, '-');
}

function mergedArgs(recipe: Recipe, worker: Worker): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of [...Object.entries(recipe.backend.args), ...Object.entries(worker.args)]) out[k.replace(/^--?/, '')] = v;
  return out;
}

/**
 * Builds the context of one recipe for `target`. The DGD rendering runs first: it checks everything the DGD renderer
 * checks (flags, GPU split, engine files, cluster inventory) and provides the shared objects; any problem is thrown
 * there as an InvalidInputError with every issue.
 */
export function targetContext(target: Target, resolved: ResolvedRecipe, cluster: Cluster, options: TargetOptions = {}): TargetContext {
  // Compose and Slurm reuse the v1beta1 component commands; the Kubernetes targets follow the cluster's DGD API.
  const dgd = renderRecipe(resolved, cluster, target === 'compose' || target === 'slurm' ? { apiVersion: 'v1beta1' } : {});
  const recipe = resolved.recipe;
  const roles: Role[] = recipe.topology.mode === 'agg' ? ['agg'] : ['prefill', 'decode'];
  const pools: Pool[] = [];
  for (const role of roles) {
    const worker = recipe.topology[role];
    if (!worker) continue; // renderRecipe already reported it
    const gpusPerReplica = gpusOfReplica(worker);
    const component = role === 'agg' ? 'worker' : role;
    const engine = worker.extraConfig ?? recipe.backend.extraConfig;
    // the key of the file this pool's engine reads in the DGD rendering's engine ConfigMap
    const key = recipe.backend.name === 'trtllm' ? `${component}.yaml` : engine === undefined ? null : engineKeyOf(engine);
    pools.push({
      role,
      component,
      worker,
      gpusPerReplica,
      gpusPerNode: gpusPerReplica / worker.nodes,
      args: mergedArgs(recipe, worker),
      engineKey: key !== null && dgd.engineFiles.some((f) => f.key === key) ? key : null,
    });
  }
  const labels = { ...((dgd.manifests.find((m) => m.file === 'dgd.yaml')?.object.metadata as { labels?: Record<string, string> })?.labels ?? {}) };
  labels['app.kubernetes.io/instance'] = resolved.name;
  labels['llm-recipes.io/target'] = target;
  const annotations: Record<string, string> = { 'llm-recipes.io/recipe': resolved.id };
  if (resolved.variant !== undefined) annotations['llm-recipes.io/variant'] = resolved.variant;
  return {
    target,
    resolved,
    recipe,
    cluster,
    dgd,
    name: resolved.name,
    namespace: cluster.namespace,
    servedName: resolved.model.servedName,
    ...modelLocation(resolved),
    labels: sorted(labels),
    annotations,
    pools,
    issues: [],
    file: posix.join('recipes', resolved.id, 'recipe.yaml'),
    options,
  };
}

/** Objects of the DGD rendering kept as they are: engine ConfigMap, model cache PVC and download Job. */
export function sharedObjects(ctx: TargetContext): { configMaps: KubeObject[]; modelCache: KubeObject[] } {
  const pick = (file: string): KubeObject[] => ctx.dgd.manifests.filter((m: Manifest) => m.group === 'workload' && m.file === file).map((m) => m.object);
  return { configMaps: pick('configmaps.yaml'), modelCache: pick('model-cache.yaml') };
}

export function configMapName(ctx: TargetContext): string | null {
  const cm = sharedObjects(ctx).configMaps[0];
  return cm ? (cm.metadata as { name: string }).name : null;
}

export function unsupported(ctx: TargetContext, path: (string | number)[], message: string, hint: string): void {
  ctx.issues.push({ code: 'RENDER_TARGET_UNSUPPORTED', file: ctx.file, path, message: `--target ${ctx.target}: ${message}`, hint });
}

/** Kubernetes-safe object name derived from the recipe name, at most `max` characters. */
export function objectName(ctx: TargetContext, suffix: string[] = [], max = 63): string {
  return toDnsName([ctx.name, ...suffix], max);
}

/** HF_TOKEN from the recipe's Secret; none when the recipe reads no token (modelCache.hfTokenFrom: none). */
export function hfTokenEnv(recipe: Recipe): Record<string, unknown>[] {
  if (recipe.modelCache.hfTokenFrom === 'none') return [];
  return [{ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: recipe.modelCache.hfTokenSecret, key: 'HF_TOKEN', optional: true } } }];
}

/** Init container that waits for the download Job's marker, as the DGD workers do. */
export function waitForWeights(ctx: TargetContext): Record<string, unknown> | null {
  if (!ctx.recipe.modelCache.download) return null;
  return {
    name: 'wait-for-weights',
    image: ctx.recipe.backend.image,
    command: ['sh', '-c', 'until [ -f "$MODEL_DIR/$MARKER" ]; do echo "waiting for $MODEL_DIR"; sleep 10; done'],
    env: [
      { name: 'MODEL_DIR', value: ctx.modelPath },
      { name: 'MARKER', value: downloadMarker(ctx.resolved) },
    ],
    volumeMounts: [{ name: 'model-cache', mountPath: ctx.recipe.modelCache.mountPath }],
  };
}

export function gpuScheduling(ctx: TargetContext): Record<string, unknown> {
  const inventory = ctx.cluster.gpus[ctx.resolved.gpu.id];
  return {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: PRODUCT_LABEL, operator: 'In', values: [ctx.resolved.gpu.productLabel] }] }],
        },
      },
    },
    nodeSelector: inventory?.nodeSelector ? sorted(inventory.nodeSelector) : null,
    tolerations: [{ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' }],
  };
}

export { ENGINE_MOUNT_PATH, shortHash };

/** YAML file of objects with the generated header naming the source recipe. */
export function yamlFile(ctx: TargetContext, path: string, objects: readonly unknown[], ...notes: string[]): TargetFile {
  const source = `source: recipes/${ctx.resolved.id}${ctx.resolved.variant === undefined ? '' : ` (variant ${ctx.resolved.variant})`}`;
  return { path, content: canonicalYaml(objects, { header: [GENERATED_HEADER, commentSafe(source), ...notes] }) };
}

/** Text for one comment line: line breaks (YAML 1.1 and Unicode ones too), controls and a template comment's end become `?`. */
export function commentSafe(text: string): string {
  return text.replace(/[\p{C}\p{Zl}\p{Zp}]|\*\//gu, '?');
}

/** POSIX shell single-quoting: the value reaches the command as exactly one word, whatever it contains. */
export function shq(value: string | number): string {
  const s = String(value);
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
