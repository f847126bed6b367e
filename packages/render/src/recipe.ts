import { posix } from 'node:path';
import { HARNESS_IMAGE, type Cluster, type Recipe, type Worker } from '@llm-recipes/recipe';
import { InvalidInputError, type Issue } from '@llm-recipes/errors';
import { simFrontendCommand, simRecipeJson, simWorkerCommand } from '@llm-recipes/sim';
import { BACKENDS } from './backends.ts';
import { renderBenchmarks } from './benchmarks.ts';
import { GROVE_NAME_LIMIT, shortHash, toDnsName } from './names.ts';
import { renderTemplate } from './templates.ts';
import type { DgdApiVersion, KubeObject, Manifest, RenderOptions, RenderedRecipe, ResolvedRecipe } from './types.ts';

/** Where workers find the engine ConfigMap. */
export const ENGINE_MOUNT_PATH = '/etc/dynamo/engine';
/** Port of the Dynamo frontend's OpenAI API; the operator exposes it as the Service `<dgd>-frontend`. */
export const FRONTEND_PORT = 8000;
/** Where sim-mode pods find the resolved recipe (`recipes sim --recipe-json`), mounted from the `<dgd>-sim-…` ConfigMap. */
export const SIM_RECIPE_DIR = '/etc/llm-recipes/sim';
export const SIM_RECIPE_FILE = `${SIM_RECIPE_DIR}/recipe.json`;
/**
 * A simulated worker listens on the Dynamo system port (9090), where the operator's worker probes and the workers'
 * PodMonitor (`system`) look, so `/health`, `/live` and `/metrics` are where a real worker has them.
 */
export const SIM_WORKER_PORT = 9090;
const GPU_RESOURCE = 'nvidia.com/gpu';
const PRODUCT_LABEL = 'nvidia.com/gpu.product';
const LABEL_PREFIX = 'llm-recipes.io';

type Role = 'agg' | 'prefill' | 'decode';
type ComponentType = 'frontend' | 'worker' | 'prefill' | 'decode' | 'planner';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

/** The view model of one DGD component; the DGD templates only lay it out. */
interface ComponentView {
  name: string;
  type: ComponentType;
  componentType: 'frontend' | 'worker' | 'planner';
  subComponentType: 'prefill' | 'decode' | null;
  replicas: number;
  multinode: { nodeCount: number } | null;
  scalingAdapter: Record<string, never> | null;
  alphaScalingAdapter: { enabled: true } | null;
  image: string;
  command: string[];
  args: string[];
  env: EnvVar[] | null;
  resources: unknown;
  alphaResources: unknown;
  affinity: unknown;
  nodeSelector: Record<string, string> | null;
  tolerations: unknown[] | null;
  initContainers: unknown[] | null;
  volumes: unknown[] | null;
  volumeMounts: unknown[] | null;
  alphaVolumes: unknown[] | null;
  alphaVolumeMounts: unknown[] | null;
  pvcMounts: unknown[] | null;
  metricsPort: 'http' | 'system';
  readinessProbe: unknown;
  livenessProbe: unknown;
}

/** Shared facts every object of one rendered recipe needs. */
export interface RecipeContext {
  resolved: ResolvedRecipe;
  recipe: Recipe;
  cluster: Cluster;
  /** dynamo: the recipe's engines; sim: the project simulator in their place (CPU-only, no weights). */
  engine: 'dynamo' | 'sim';
  apiVersion: DgdApiVersion;
  dgdName: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  servedName: string;
  modelPath: string;
  frontendUrl: string;
  issues: Issue[];
  file: string;
}

function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Turns merged engine args into CLI tokens: `--key value`, `true` as a bare flag, `false` left out; sorted by key. */
export function engineArgs(args: Record<string, string | number | boolean>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(sortedRecord(args))) {
    if (value === false) continue;
    const flag = `--${key}`;
    if (value === true) out.push(flag);
    // A value that starts with "-" would read as a flag of its own; the `=` form keeps it a value.
    else if (String(value).startsWith('-')) out.push(`${flag}=${String(value)}`);
    else out.push(flag, String(value));
  }
  return out;
}

function normalizeArgs(
  args: Record<string, string | number | boolean>,
  path: (string | number)[],
  ctx: Pick<RecipeContext, 'issues' | 'file'>,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [raw, value] of Object.entries(args)) {
    const key = raw.replace(/^--?/, '');
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(key)) {
      ctx.issues.push({
        code: 'RENDER_BAD_ARG',
        file: ctx.file,
        path: [...path, raw],
        message: `engine flag ${JSON.stringify(raw)} is not a flag name`,
        hint: 'write flags as keys without the leading "--", e.g. max-num-seqs: 256',
      });
      continue;
    }
    out[key] = value;
  }
  return out;
}

function workersOf(recipe: Recipe, ctx: Pick<RecipeContext, 'issues' | 'file'>): { role: Role; worker: Worker }[] {
  const { topology } = recipe;
  const roles: Role[] = topology.mode === 'agg' ? ['agg'] : ['prefill', 'decode'];
  const out: { role: Role; worker: Worker }[] = [];
  for (const role of roles) {
    const worker = topology[role];
    if (!worker) {
      ctx.issues.push({
        code: 'RENDER_MISSING_WORKER',
        file: ctx.file,
        path: ['topology', role],
        message: `topology.mode is ${topology.mode} but topology.${role} is not set`,
        hint: topology.mode === 'agg' ? 'add topology.agg: { replicas, tp }' : 'add topology.prefill and topology.decode',
      });
      continue;
    }
    out.push({ role, worker });
  }
  return out;
}

function componentName(role: Role): string {
  return role === 'agg' ? 'worker' : role;
}

function gpusPerPod(worker: Worker, role: Role, ctx: RecipeContext): number {
  const total = worker.tp * worker.pp * worker.dp;
  const perNode = total / worker.nodes;
  const { gpu } = ctx.resolved;
  if (!Number.isInteger(perNode)) {
    ctx.issues.push({
      code: 'RENDER_GPU_SPLIT',
      file: ctx.file,
      path: ['topology', role, 'nodes'],
      message: `tp×pp×dp = ${total} GPUs do not split evenly over ${worker.nodes} nodes`,
      hint: `choose nodes so that ${total} / nodes is a whole number`,
    });
    return Math.ceil(perNode);
  }
  if (perNode > gpu.gpusPerNode) {
    ctx.issues.push({
      code: 'RENDER_GPU_FIT',
      file: ctx.file,
      path: ['topology', role, 'nodes'],
      message: `one replica needs ${perNode} GPUs per node but a ${gpu.id} node has ${gpu.gpusPerNode}`,
      hint: `set topology.${role}.nodes to ${Math.ceil(total / gpu.gpusPerNode)}`,
    });
  }
  return perNode;
}

function engineFileFor(role: Role, worker: Worker, ctx: RecipeContext): string | null {
  const path = worker.extraConfig ?? ctx.recipe.backend.extraConfig;
  if (path === undefined) return null;
  const wanted = posix.normalize(path);
  const file = ctx.resolved.engineFiles.find((f) => posix.normalize(f.path) === wanted);
  if (!file) {
    ctx.issues.push({
      code: 'RENDER_ENGINE_FILE',
      file: ctx.file,
      path: worker.extraConfig === undefined ? ['backend', 'extraConfig'] : ['topology', role, 'extraConfig'],
      message: `engine config file ${JSON.stringify(path)} was not loaded with the recipe`,
      hint: `create ${posix.join('recipes', ctx.resolved.id, wanted)} or fix the path`,
    });
    return null;
  }
  return configMapKey(file.path);
}

/** ConfigMap keys allow [-._a-zA-Z0-9]; a path like engine/prefill.yaml becomes engine-prefill.yaml. */
function configMapKey(path: string): string {
  return posix.normalize(path).replace(/^(\.\/)+/, '').replace(/[^-._a-zA-Z0-9]+/g, '-');
}

function gpuScheduling(ctx: RecipeContext): { affinity: unknown; nodeSelector: Record<string, string> | null; tolerations: unknown[] } {
  const { gpu } = ctx.resolved;
  const inventory = ctx.cluster.gpus[gpu.id];
  if (!inventory) {
    ctx.issues.push({
      code: 'RENDER_GPU_NOT_IN_CLUSTER',
      file: `clusters/${ctx.cluster.name}/cluster.yaml`,
      path: ['gpus'],
      message: `cluster ${ctx.cluster.name} runs ${ctx.resolved.id} but lists no ${gpu.id} nodes`,
      hint: `add gpus.${gpu.id}: { nodes: N } or remove the recipe from this cluster`,
    });
  }
  return {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: PRODUCT_LABEL, operator: 'In', values: [gpu.productLabel] }] }],
        },
      },
    },
    nodeSelector: inventory?.nodeSelector ? sortedRecord(inventory.nodeSelector) : null,
    // GPU nodes are commonly tainted nvidia.com/gpu:NoSchedule by the GPU Operator; workers must tolerate it.
    tolerations: [{ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' }],
  };
}

function hfTokenEnv(recipe: Recipe): EnvVar {
  // Referenced by name only; optional so public models need no Secret.
  return {
    name: 'HF_TOKEN',
    valueFrom: { secretKeyRef: { name: recipe.modelCache.hfTokenSecret, key: 'HF_TOKEN', optional: true } },
  };
}

/** File the download Job creates once the weights of this revision are complete; workers wait for it. */
export function downloadMarker(resolved: ResolvedRecipe): string {
  return `.download-complete-${shortHash(`${resolved.model.hfId}@${resolved.model.revision}`)}`;
}

const RESERVED_ENV = new Set(['DYNAMO_EXTRA_CONFIG', 'HF_TOKEN', 'HF_HOME']);

function workerComponent(role: Role, worker: Worker, ctx: RecipeContext, configMapName: string | null): ComponentView {
  const { recipe, resolved } = ctx;
  const flags = BACKENDS[recipe.backend.name];
  const engineKey = engineFileFor(role, worker, ctx);
  const gpus = gpusPerPod(worker, role, ctx);
  const structural: string[] = [flags.model, ctx.modelPath, flags.servedName, ctx.servedName, flags.tp, String(worker.tp)];
  if (worker.pp > 1) structural.push(flags.pp, String(worker.pp));
  if (worker.dp > 1 && flags.dp) structural.push(flags.dp, String(worker.dp));
  if (worker.ep > 1 && flags.ep) structural.push(...(flags.ep.sized ? [flags.ep.flag, String(worker.ep)] : [flags.ep.flag]));
  if (role !== 'agg') structural.push(flags.disaggregationMode, role);
  const enginePath = engineKey === null ? null : `${ENGINE_MOUNT_PATH}/${engineKey}`;
  if (enginePath && flags.configFile) structural.push(flags.configFile, enginePath);

  const backendArgs = normalizeArgs(recipe.backend.args, ['backend', 'args'], ctx);
  const roleArgs = normalizeArgs(worker.args, ['topology', role, 'args'], ctx);
  const merged = { ...backendArgs, ...roleArgs };
  for (const key of Object.keys(merged)) {
    const at = structural.indexOf(`--${key}`);
    if (at === -1) continue;
    const bareSwitch = at === structural.length - 1 || structural[at + 1]!.startsWith('--');
    if (bareSwitch && merged[key] === true) {
      // Same switch the structure already implies (e.g. vLLM --enable-expert-parallel for ep > 1): not a conflict.
      delete merged[key];
      continue;
    }
    {
      ctx.issues.push({
        code: 'RENDER_ARG_CONFLICT',
        file: ctx.file,
        path: key in roleArgs ? ['topology', role, 'args', key] : ['backend', 'args', key],
        message: `--${key} is set by the renderer from the recipe's structure`,
        hint: 'set it through topology (tp, pp, dp, ep), the model card or backend.extraConfig instead',
      });
      delete merged[key];
    }
  }

  const env: EnvVar[] = [];
  if (enginePath) env.push({ name: 'DYNAMO_EXTRA_CONFIG', value: enginePath });
  env.push({ name: 'HF_HOME', value: recipe.modelCache.mountPath }, hfTokenEnv(recipe));
  for (const [name, value] of Object.entries(sortedRecord(recipe.backend.env))) {
    if (RESERVED_ENV.has(name)) {
      ctx.issues.push({
        code: 'RENDER_ENV_CONFLICT',
        file: ctx.file,
        path: ['backend', 'env', name],
        message: `${name} is set by the renderer`,
        hint: name === 'DYNAMO_EXTRA_CONFIG' ? 'use backend.extraConfig' : 'remove it from backend.env',
      });
      continue;
    }
    env.push({ name, value });
  }

  const scheduling = gpuScheduling(ctx);
  const cacheVolume = { name: 'model-cache', persistentVolumeClaim: { claimName: recipe.modelCache.pvcName } };
  const cacheMount = { name: 'model-cache', mountPath: recipe.modelCache.mountPath };
  const engineVolume = configMapName === null || engineKey === null ? null : { name: 'engine-config', configMap: { name: configMapName } };
  const engineMount = engineVolume === null ? null : { name: 'engine-config', mountPath: ENGINE_MOUNT_PATH, readOnly: true };
  const initContainers = recipe.modelCache.download
    ? [
        {
          name: 'wait-for-weights',
          image: recipe.backend.image,
          command: ['sh', '-c', 'until [ -f "$MODEL_DIR/$MARKER" ]; do echo "waiting for $MODEL_DIR"; sleep 10; done'],
          env: [
            { name: 'MODEL_DIR', value: ctx.modelPath },
            { name: 'MARKER', value: downloadMarker(resolved) },
          ],
          volumeMounts: [cacheMount],
        },
      ]
    : null;
  const planner = recipe.topology.planner.enabled;
  const gpuQuantity = { [GPU_RESOURCE]: String(gpus) };
  const alphaGpu = { gpu: String(gpus) };
  return {
    name: componentName(role),
    type: role === 'agg' ? 'worker' : role,
    componentType: 'worker',
    subComponentType: role === 'agg' ? null : role,
    replicas: worker.replicas,
    multinode: worker.nodes > 1 ? { nodeCount: worker.nodes } : null,
    scalingAdapter: planner ? {} : null,
    alphaScalingAdapter: planner ? { enabled: true } : null,
    image: recipe.backend.image,
    command: ['python3', '-m', flags.module],
    args: [...structural, ...engineArgs(merged)],
    env,
    resources: { limits: gpuQuantity, requests: gpuQuantity },
    alphaResources: { limits: alphaGpu, requests: alphaGpu },
    affinity: scheduling.affinity,
    nodeSelector: scheduling.nodeSelector,
    tolerations: scheduling.tolerations,
    initContainers,
    volumes: engineVolume ? [cacheVolume, engineVolume] : [cacheVolume],
    volumeMounts: engineMount ? [cacheMount, engineMount] : [cacheMount],
    alphaVolumes: engineVolume ? [engineVolume] : null,
    alphaVolumeMounts: engineMount ? [engineMount] : null,
    pvcMounts: [{ name: recipe.modelCache.pvcName, mountPoint: recipe.modelCache.mountPath }],
    metricsPort: 'system',
    readinessProbe: null,
    livenessProbe: null,
  };
}

/** The image sim-mode pods run: the cluster's simImage, else the project image of this version. */
function simImage(cluster: Cluster): string {
  return cluster.simImage ?? HARNESS_IMAGE;
}

/**
 * A sim-mode pod: the project image running `recipes sim` with the resolved recipe mounted, small CPU/memory
 * requests, no GPUs, no GPU scheduling, no model cache. `/health` is readiness (503 while starting or closing),
 * `/live` liveness (a slow start must not restart the pod).
 */
function simPod(
  view: ComponentView,
  cmd: { command: string[]; args: string[] },
  port: number,
  cluster: Cluster,
  configMapName: string,
  size: { cpu: string; memory: string; memoryLimit: string },
): ComponentView {
  const volume = { name: 'sim-recipe', configMap: { name: configMapName } };
  const mount = { name: 'sim-recipe', mountPath: SIM_RECIPE_DIR, readOnly: true };
  return {
    ...view,
    // One simulated engine per replica: a replica spanning nodes is still one process.
    multinode: null,
    image: simImage(cluster),
    command: cmd.command,
    args: cmd.args,
    env: null,
    resources: { limits: { memory: size.memoryLimit }, requests: { cpu: size.cpu, memory: size.memory } },
    alphaResources: { limits: { memory: size.memoryLimit }, requests: { cpu: size.cpu, memory: size.memory } },
    affinity: null,
    nodeSelector: null,
    tolerations: null,
    initContainers: null,
    volumes: [volume],
    volumeMounts: [mount],
    alphaVolumes: [volume],
    alphaVolumeMounts: [mount],
    pvcMounts: null,
    readinessProbe: { httpGet: { path: '/health', port }, periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: { httpGet: { path: '/live', port }, initialDelaySeconds: 15, periodSeconds: 10, failureThreshold: 3 },
  };
}

/** A worker pool in sim mode: one engine of that pool per pod, stepping with the estimator's model for the pool. */
function simWorkerComponent(role: Role, worker: Worker, ctx: RecipeContext, configMapName: string): ComponentView {
  const base: ComponentView = {
    ...plainComponent(componentName(role), 'frontend', worker.replicas, '', [], []),
    type: role === 'agg' ? 'worker' : role,
    componentType: 'worker',
    subComponentType: role === 'agg' ? null : role,
    scalingAdapter: ctx.recipe.topology.planner.enabled ? {} : null,
    alphaScalingAdapter: ctx.recipe.topology.planner.enabled ? { enabled: true } : null,
    metricsPort: 'system',
  };
  gpusPerPod(worker, role, ctx); // the recipe's own consistency, as in dynamo mode
  // Engine limits and step times come from the mounted recipe (the estimator's view of this pool), so they are not
  // repeated as flags that could drift from it; the served name and context limit are, to be visible in the DGD.
  const cmd = simWorkerCommand({ servedName: ctx.servedName, maxModelLen: ctx.recipe.maxModelLen, role, port: SIM_WORKER_PORT, recipeJson: SIM_RECIPE_FILE });
  return simPod(base, cmd, SIM_WORKER_PORT, ctx.cluster, configMapName, { cpu: '100m', memory: '192Mi', memoryLimit: '512Mi' });
}

function plainComponent(
  name: string,
  type: 'frontend' | 'planner',
  replicas: number,
  image: string,
  command: string[],
  args: string[],
): ComponentView {
  return {
    name,
    type,
    componentType: type,
    subComponentType: null,
    replicas,
    multinode: null,
    scalingAdapter: null,
    alphaScalingAdapter: null,
    image,
    command,
    args,
    env: null,
    resources: null,
    alphaResources: null,
    affinity: null,
    nodeSelector: null,
    tolerations: null,
    initContainers: null,
    volumes: null,
    volumeMounts: null,
    alphaVolumes: null,
    alphaVolumeMounts: null,
    pvcMounts: null,
    metricsPort: type === 'frontend' ? 'http' : 'system',
    readinessProbe: null,
    livenessProbe: null,
  };
}

function plannerArgs(recipe: Recipe): string[] {
  const p = recipe.topology.planner;
  return [
    '--environment', 'kubernetes',
    '--backend', recipe.backend.name,
    '--adjustment-interval', String(p.adjustmentIntervalS),
    '--max-gpu-budget', String(p.maxGpuBudget),
    '--min-endpoint', String(p.minReplicas),
    '--ttft', String(recipe.sla.ttftMs),
    '--itl', String(recipe.sla.itlMs),
  ];
}

/** The DGD name budget: Grove adds the longest PodClique name (`<component>[-ldr|-wkr]`) to it. */
function dgdBudget(workers: { role: Role; worker: Worker }[], planner: boolean): number {
  const names = ['frontend', ...(planner ? ['planner'] : [])].map((n) => n.length);
  for (const { role, worker } of workers) names.push(componentName(role).length + (worker.nodes > 1 ? 4 : 0));
  return Math.min(GROVE_NAME_LIMIT, GROVE_NAME_LIMIT - 1 - Math.max(...names));
}

/** A label value for free text: its DNS form, or a hash when nothing usable is left. */
function labelValue(text: string): string {
  return /[a-z0-9]/i.test(text) ? toDnsName([text], 63) : shortHash(text);
}

function baseLabels(resolved: ResolvedRecipe, dgdName: string): Record<string, string> {
  const labels: Record<string, string> = {
    'app.kubernetes.io/instance': dgdName,
    'app.kubernetes.io/managed-by': 'llm-recipes',
    'app.kubernetes.io/part-of': 'llm-recipes',
    [`${LABEL_PREFIX}/backend`]: resolved.recipe.backend.name,
    [`${LABEL_PREFIX}/gpu`]: labelValue(resolved.gpu.id),
    [`${LABEL_PREFIX}/model`]: labelValue(resolved.model.id),
  };
  if (resolved.variant !== undefined) labels[`${LABEL_PREFIX}/variant`] = labelValue(resolved.variant);
  return labels;
}

function baseAnnotations(resolved: ResolvedRecipe): Record<string, string> {
  const a: Record<string, string> = { [`${LABEL_PREFIX}/recipe`]: resolved.id };
  if (resolved.variant !== undefined) a[`${LABEL_PREFIX}/variant`] = resolved.variant;
  return a;
}

function only<T>(docs: T[], template: string): T {
  if (docs.length !== 1) throw new Error(`template ${template} rendered ${docs.length} documents, expected 1`);
  return docs[0]!;
}

/**
 * Renders one resolved recipe for one cluster: engine ConfigMap, model cache, DynamoGraphDeployment, PodMonitors
 * and benchmark Jobs, in that order. Throws InvalidInputError with every problem found.
 */
export function renderRecipe(resolved: ResolvedRecipe, cluster: Cluster, options: RenderOptions = {}): RenderedRecipe {
  const recipe = resolved.recipe;
  const file = posix.join('recipes', resolved.id, 'recipe.yaml');
  const issues: Issue[] = [];
  const workers = workersOf(recipe, { issues, file });
  const dgdName = toDnsName([resolved.name], dgdBudget(workers, recipe.topology.planner.enabled));
  const servedName = resolved.model.servedName;
  const engine = options.engine ?? cluster.engine ?? 'dynamo';
  const ctx: RecipeContext = {
    resolved,
    recipe,
    cluster,
    engine,
    apiVersion: options.apiVersion ?? cluster.dynamoApiVersion,
    dgdName,
    namespace: cluster.namespace,
    labels: baseLabels(resolved, dgdName),
    annotations: engine === 'sim' ? { ...baseAnnotations(resolved), [`${LABEL_PREFIX}/engine`]: 'sim' } : baseAnnotations(resolved),
    servedName,
    modelPath: posix.join(recipe.modelCache.mountPath, resolved.model.hfId),
    frontendUrl: `http://${dgdName}-frontend:${FRONTEND_PORT}`,
    issues,
    file,
  };

  const manifests: Manifest[] = [];
  const meta = { namespace: ctx.namespace, labels: ctx.labels, annotations: ctx.annotations };

  if (engine === 'sim') {
    renderSimWorkload(ctx, workers, manifests);
    manifests.push(...renderBenchmarks(ctx));
    return finish(ctx, dgdName, manifests);
  }

  // Engine config files → one ConfigMap, named by a hash of its content so an edit rolls the workers.
  let configMapName: string | null = null;
  if (resolved.engineFiles.length > 0) {
    const files = new Map<string, string>();
    for (const f of resolved.engineFiles) {
      const key = configMapKey(f.path);
      if (files.has(key)) {
        issues.push({ code: 'RENDER_ENGINE_FILE', file, path: ['backend', 'extraConfig'], message: `two engine files map to the ConfigMap key ${key}`, hint: 'rename one of them' });
      }
      files.set(key, f.content);
    }
    const sorted = [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    configMapName = toDnsName([dgdName, 'engine', shortHash(JSON.stringify(sorted))], 63);
    const cm = renderTemplate('engine-configmap', { ...meta, name: configMapName, files: sorted.map(([key, content]) => ({ key, content })) });
    manifests.push({ group: 'workload', file: 'configmaps.yaml', object: only(cm, 'engine-configmap') as KubeObject });
  }

  const components: ComponentView[] = [
    plainComponent('frontend', 'frontend', recipe.topology.frontend.replicas, recipe.backend.image, ['python3', '-m', 'dynamo.frontend'], [
      '--http-port', String(FRONTEND_PORT),
      '--router-mode', recipe.topology.router,
    ]),
    ...workers.map(({ role, worker }) => workerComponent(role, worker, ctx, configMapName)),
  ];
  if (recipe.topology.planner.enabled) {
    components.push(plainComponent('planner', 'planner', 1, recipe.backend.image, ['python3', '-m', 'dynamo.planner.planner_sla'], plannerArgs(recipe)));
  }

  // Model cache: the PVC always, the download Job when asked for (content-hashed name: Job specs are immutable).
  const mc = recipe.modelCache;
  const download = mc.download
    ? {
        // Named by cache and weights, not by recipe: recipes sharing a cache share one download (see renderClusterTree).
        name: toDnsName([mc.pvcName, 'download', shortHash(`${resolved.model.hfId}@${resolved.model.revision}`)], 63),
        image: recipe.backend.image,
        backoffLimit: 3,
        activeDeadlineSeconds: 6 * 3600,
        command: [
          'sh',
          '-c',
          'set -eu; hf download "$HF_REPO" --revision "$HF_REVISION" --local-dir "$MODEL_DIR"; touch "$MODEL_DIR/$MARKER"',
        ],
        env: [
          { name: 'HF_REPO', value: resolved.model.hfId },
          { name: 'HF_REVISION', value: resolved.model.revision },
          { name: 'MODEL_DIR', value: ctx.modelPath },
          { name: 'MARKER', value: downloadMarker(resolved) },
          { name: 'HF_HOME', value: mc.mountPath },
          hfTokenEnv(recipe),
        ],
      }
    : null;
  const cacheDocs = renderTemplate('model-cache', {
    ...meta,
    // Pruning a workload must never delete downloaded weights another workload may share.
    pvcAnnotations: { ...ctx.annotations, 'argocd.argoproj.io/sync-options': 'Prune=false', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' },
    pvc: { name: mc.pvcName, accessMode: mc.accessMode, storageClass: mc.storageClass ?? cluster.storageClass ?? null, size: mc.size, mountPath: mc.mountPath },
    download,
  });
  for (const object of cacheDocs) manifests.push({ group: 'workload', file: 'model-cache.yaml', object: object as KubeObject });

  const dgdTemplate = ctx.apiVersion === 'v1beta1' ? 'dgd-v1beta1' : 'dgd-v1alpha1';
  const dgd = renderTemplate(dgdTemplate, {
    ...meta,
    name: dgdName,
    backend: recipe.backend.name,
    pvcs: [{ name: mc.pvcName, create: false }],
    components,
  });
  manifests.push({ group: 'workload', file: 'dgd.yaml', object: only(dgd, dgdTemplate) as KubeObject });

  manifests.push(...podMonitors(ctx, components, meta));

  manifests.push(...renderBenchmarks(ctx));
  return finish(ctx, dgdName, manifests);
}

function finish(ctx: RecipeContext, dgdName: string, manifests: Manifest[]): RenderedRecipe {
  const { issues } = ctx;
  if (issues.some((i) => i.severity !== 'warning')) {
    // Each pool checks the shared backend settings again; report each problem once.
    const unique = [...new Map(issues.map((i) => [JSON.stringify([i.file, i.path, i.message]), i])).values()];
    throw new InvalidInputError(unique);
  }
  return { name: ctx.resolved.name, dgdName, manifests };
}

function podMonitors(ctx: RecipeContext, components: ComponentView[], meta: object): Manifest[] {
  const out: Manifest[] = [];
  if (!(ctx.cluster.observability ?? ctx.recipe.observability)) return out;
  for (const c of components) {
    const pm = renderTemplate('podmonitor', {
      ...meta,
      name: toDnsName([ctx.dgdName, c.name], 63),
      matchLabels: { 'nvidia.com/dynamo-component': c.name, 'nvidia.com/dynamo-graph-deployment-name': ctx.dgdName },
      port: c.metricsPort,
    });
    out.push({ group: 'workload', file: 'podmonitors.yaml', object: only(pm, 'podmonitor') as KubeObject });
  }
  return out;
}

/**
 * Sim mode (`engine: sim`): the same DGD — components, replicas, router, names, PodMonitors, benchmark Jobs — with
 * the project simulator in place of the engines. The frontend runs the whole deployment in one process (every pool,
 * replica and the router, as `recipes sim --recipe` does), because Dynamo's frontend only routes to workers that
 * registered with Dynamo's discovery, which the simulator does not do; each worker pod runs one engine of its pool.
 * The resolved recipe rides along in a ConfigMap, so the pods serve exactly what was rendered (variant, cluster set,
 * golden) with the estimator's step model. No engine config, model cache or download Job: nothing needs weights.
 */
function renderSimWorkload(ctx: RecipeContext, workers: { role: Role; worker: Worker }[], manifests: Manifest[]): void {
  const { recipe } = ctx;
  const meta = { namespace: ctx.namespace, labels: ctx.labels, annotations: ctx.annotations };
  const json = simRecipeJson(ctx.resolved);
  const configMapName = toDnsName([ctx.dgdName, 'sim', shortHash(json)], 63);
  const cm = renderTemplate('engine-configmap', { ...meta, name: configMapName, files: [{ key: 'recipe.json', content: json }] });
  manifests.push({ group: 'workload', file: 'configmaps.yaml', object: only(cm, 'engine-configmap') as KubeObject });

  const frontend = simPod(
    plainComponent('frontend', 'frontend', recipe.topology.frontend.replicas, '', [], []),
    simFrontendCommand({ recipeJson: SIM_RECIPE_FILE, port: FRONTEND_PORT }),
    FRONTEND_PORT,
    ctx.cluster,
    configMapName,
    // Every simulated engine of the deployment runs in this process.
    { cpu: '500m', memory: '256Mi', memoryLimit: '1Gi' },
  );
  const components: ComponentView[] = [frontend, ...workers.map(({ role, worker }) => simWorkerComponent(role, worker, ctx, configMapName))];
  if (recipe.topology.planner.enabled) {
    components.push(plainComponent('planner', 'planner', 1, recipe.backend.image, ['python3', '-m', 'dynamo.planner.planner_sla'], plannerArgs(recipe)));
  }
  const dgdTemplate = ctx.apiVersion === 'v1beta1' ? 'dgd-v1beta1' : 'dgd-v1alpha1';
  const dgd = renderTemplate(dgdTemplate, { ...meta, name: ctx.dgdName, backend: recipe.backend.name, pvcs: null, components });
  manifests.push({ group: 'workload', file: 'dgd.yaml', object: only(dgd, dgdTemplate) as KubeObject });
  manifests.push(...podMonitors(ctx, components, meta));
}
