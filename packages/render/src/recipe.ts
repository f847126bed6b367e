import { posix } from 'node:path';
import {
  DYNAMO_VERSION,
  dynamoRelease,
  formatVersion,
  HARNESS_IMAGE,
  imageDynamoVersion,
  NEWEST_DYNAMO,
  OLDEST_DYNAMO,
  type BackendName,
  type Cluster,
  type DynamoRelease,
  type PodSettings,
  type Recipe,
  type Worker,
} from '@llm-recipes/recipe';
import { InvalidInputError, type Issue } from '@llm-recipes/errors';
import { simFrontendCommand, simRecipeJson, simWorkerCommand } from '@llm-recipes/sim';
import type { Document } from 'yaml';
import { renderBenchmarks } from './benchmarks.ts';
import {
  checkEngineFileOwnership,
  configMapKey,
  ENGINE_MOUNT_PATH,
  ENGINES,
  engineStructure,
  flagKey,
  flagTokens,
  gpusOfReplica,
  ownedFlag,
  parseEngineFile,
  trtllmEngineFile,
  type ArgValue,
  type EngineContext,
  type Role,
} from './engine.ts';
import { GROVE_NAME_LIMIT, shortHash, toDnsName } from './names.ts';
import { plannerConfig } from './planner.ts';
import { alphaService, betaPod, podPlan, pvcNames, type EnvVar, type PodPlan, type PvcMount } from './pod.ts';
import { renderTemplate } from './templates.ts';
import type { DgdApiVersion, KubeObject, Manifest, RenderOptions, RenderedRecipe, ResolvedRecipe } from './types.ts';

export { ENGINE_MOUNT_PATH };
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
const LABEL_PREFIX = 'llm-recipes.io';
/** The ComputeDomain API of the NVIDIA DRA driver for GPUs (NVIDIA/k8s-dra-driver-gpu). */
export const COMPUTE_DOMAIN_API = 'resource.nvidia.com/v1beta1';

type ComponentType = 'frontend' | 'worker' | 'prefill' | 'decode' | 'planner';

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
  runtimeVersionOverride: string | null;
  metricsPort: 'http' | 'system';
  plan: PodPlan;
  beta: Record<string, unknown>;
  alpha: Record<string, unknown>;
}

/** Shared facts every object of one rendered recipe needs. */
export interface RecipeContext {
  resolved: ResolvedRecipe;
  recipe: Recipe;
  cluster: Cluster;
  /** dynamo: the recipe's engines; sim: the project simulator in their place (CPU-only, no weights). */
  engine: 'dynamo' | 'sim';
  apiVersion: DgdApiVersion;
  /** The Dynamo release the workers run (their image's), whose command lines are rendered. */
  release: DynamoRelease;
  dgdName: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  servedName: string;
  /** Where the weights are: `<mountPath>/<dir>` (layout dir) or the cache root (layout hub). */
  modelPath: string;
  /** What the engine is given as its model: modelPath (layout dir) or the Hugging Face id (layout hub). */
  modelRef: string;
  frontendUrl: string;
  issues: Issue[];
  file: string;
}

function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Turns merged engine args into CLI tokens: `--key value`, `true` as a bare flag, `false` left out; sorted by key. */
/**
 * Free-form flags in a stable order. vLLM's boolean options take `--no-<flag>` (argparse BooleanOptionalAction), so
 * `false` renders that; SGLang's and TensorRT-LLM's switches are off unless given, so `false` leaves the flag out.
 */
export function engineArgs(args: Record<string, ArgValue>, backend?: BackendName): string[] {
  const entries = Object.entries(sortedRecord(args)).map(([k, v]): [string, ArgValue] =>
    backend === 'vllm' && v === false ? (k.startsWith('no-') ? [k.slice(3), true] : [`no-${k}`, true]) : [k, v],
  );
  return flagTokens(entries);
}

function normalizeArgs(args: Record<string, ArgValue>, path: (string | number)[], ctx: Pick<RecipeContext, 'issues' | 'file'>): Record<string, ArgValue> {
  const out: Record<string, ArgValue> = {};
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
  const total = gpusOfReplica(worker);
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

/** Where the weights are and what the engine is given as its model, by modelCache.layout. */
export function modelLocation(resolved: ResolvedRecipe): { modelPath: string; modelRef: string } {
  const mc = resolved.recipe.modelCache;
  if (mc.layout === 'hub') return { modelPath: mc.mountPath, modelRef: resolved.model.hfId };
  const path = posix.join(mc.mountPath, mc.dir ?? resolved.model.hfId);
  return { modelPath: path, modelRef: path };
}

/**
 * The Dynamo release the workers run: backend.runtimeVersion, else the version in the image tag, else the
 * cluster's release. Its worker and planner command lines are rendered.
 */
function runtimeRelease(recipe: Recipe, cluster: Cluster, issues: Issue[], file: string): DynamoRelease {
  const fromImage = imageDynamoVersion(recipe.backend.image);
  const version = recipe.backend.runtimeVersion ?? (fromImage ? formatVersion(fromImage) : (cluster.dynamoVersion ?? DYNAMO_VERSION));
  const release = dynamoRelease(version);
  if (release !== undefined) return release;
  issues.push({
    code: 'RENDER_DYNAMO_VERSION',
    file,
    path: recipe.backend.runtimeVersion !== undefined ? ['backend', 'runtimeVersion'] : ['backend', 'image'],
    message: `the workers would run Dynamo ${version}, whose command lines are not known here (known: ${OLDEST_DYNAMO} to ${NEWEST_DYNAMO.replace(/\.0$/, '.x')})`,
    hint: `use a runtime image of a known release, or set backend.runtimeVersion to the release the image was built from`,
  });
  return dynamoRelease(DYNAMO_VERSION)!;
}

/** The Dynamo release a recipe's workers run on a cluster (see runtimeRelease); undefined for an unknown one. */
export function workerRelease(recipe: Recipe, cluster: Cluster): DynamoRelease | undefined {
  const fromImage = imageDynamoVersion(recipe.backend.image);
  return dynamoRelease(recipe.backend.runtimeVersion ?? (fromImage ? formatVersion(fromImage) : (cluster.dynamoVersion ?? DYNAMO_VERSION)));
}

/** The cluster's own release, where it matters: the API it serves and what its admission webhook demands. */
function platformChecks(ctx: RecipeContext): void {
  const version = ctx.cluster.dynamoVersion ?? DYNAMO_VERSION;
  const platform = dynamoRelease(version);
  const clusterFile = `clusters/${ctx.cluster.name}/cluster.yaml`;
  if (platform === undefined) {
    ctx.issues.push({
      code: 'RENDER_DYNAMO_VERSION',
      file: clusterFile,
      path: ['dynamoVersion'],
      message: `Dynamo ${version} is not a release known here (known: ${OLDEST_DYNAMO} to ${NEWEST_DYNAMO.replace(/\.0$/, '.x')})`,
      hint: 'set dynamoVersion to the release the cluster runs',
    });
    return;
  }
  if (ctx.apiVersion === 'v1beta1' && !platform.servesV1beta1) {
    ctx.issues.push({
      code: 'RENDER_DGD_API',
      file: clusterFile,
      path: ['dynamoApiVersion'],
      message: `Dynamo ${platform.version} serves DynamoGraphDeployment v1alpha1 only (v1beta1 is served from 1.2.0)`,
      hint: 'set dynamoApiVersion: v1alpha1, or dynamoVersion to 1.2.0 or later',
    });
  }
  if (platform.requiresRuntimeVersionOverride && imageDynamoVersion(ctx.recipe.backend.image) === undefined && ctx.recipe.backend.runtimeVersion === undefined) {
    ctx.issues.push({
      code: 'RENDER_RUNTIME_VERSION',
      file: ctx.file,
      path: ['backend', 'image'],
      message: `image ${ctx.recipe.backend.image} has no version tag, and Dynamo ${platform.version} admission requires runtimeVersionOverride for it`,
      hint: 'set backend.runtimeVersion to the Dynamo release the image was built from',
    });
  }
}

/** runtimeVersionOverride for a component running `image`: when the recipe names the release and the tag does not say it. */
function runtimeOverride(ctx: RecipeContext, image: string): string | null {
  const rv = ctx.recipe.backend.runtimeVersion;
  if (rv === undefined) return null;
  const tag = imageDynamoVersion(image);
  return tag !== undefined && formatVersion(tag) === rv ? null : rv;
}

/** One worker pool's engine command line and, where the backend reads one, its engine file. */
interface PoolEngine {
  role: Role;
  worker: Worker;
  args: string[];
  /** ConfigMap key of the file this pool's engine reads, and the file's content. */
  engineFile: { key: string; content: string } | null;
}

/** Engine files of the recipe as the engine reads them, parsed once; undefined when a file is broken. */
function userEngineFile(ctx: RecipeContext, role: Role, worker: Worker, docs: Map<string, Document | undefined>): { ref: string; key: string; content: string; doc: Document | undefined } | null {
  const ref = worker.extraConfig ?? ctx.recipe.backend.extraConfig;
  if (ref === undefined) return null;
  const wanted = posix.normalize(ref);
  const file = ctx.resolved.engineFiles.find((f) => posix.normalize(f.path) === wanted);
  const path = worker.extraConfig === undefined ? ['backend', 'extraConfig'] : ['topology', role, 'extraConfig'];
  if (!file) {
    ctx.issues.push({
      code: 'RENDER_ENGINE_FILE',
      file: ctx.file,
      path,
      message: `engine config file ${JSON.stringify(ref)} was not loaded with the recipe`,
      hint: `create ${posix.join('recipes', ctx.resolved.id, wanted)} or fix the path`,
    });
    return null;
  }
  const key = configMapKey(file.path);
  if (!docs.has(key)) {
    const where = { issues: ctx.issues, file: ctx.file, path, name: file.path };
    const doc = parseEngineFile(file.content, where);
    if (doc !== undefined) checkEngineFileOwnership(ctx.recipe.backend.name, doc, where);
    docs.set(key, doc);
  }
  return { ref, key, content: file.content, doc: docs.get(key) };
}

function poolEngine(ctx: RecipeContext, role: Role, worker: Worker, docs: Map<string, Document | undefined>): PoolEngine {
  const { recipe } = ctx;
  const backend = recipe.backend.name;
  const spec = ENGINES[backend];
  const ectx: EngineContext = { resolved: ctx.resolved, recipe, release: ctx.release, modelRef: ctx.modelRef, servedName: ctx.servedName, issues: ctx.issues, file: ctx.file };
  const structure = engineStructure(ectx, role, worker);
  const user = userEngineFile(ctx, role, worker, docs);
  let engineFile: PoolEngine['engineFile'] = null;
  if (spec.structure === 'file') {
    // TensorRT-LLM: one file per pool, the recipe's options with the structure's set in it
    engineFile = { key: `${componentName(role)}.yaml`, content: trtllmEngineFile(user?.doc, structure.file) };
  } else if (user !== null) {
    engineFile = { key: user.key, content: user.content };
  }
  const flags: [string, ArgValue][] = [...structure.flags];
  if (engineFile !== null) flags.push([spec.configFlag.slice(2), `${ENGINE_MOUNT_PATH}/${engineFile.key}`]);

  const backendArgs = normalizeArgs(recipe.backend.args, ['backend', 'args'], ctx);
  const roleArgs = normalizeArgs(worker.args, ['topology', role, 'args'], ctx);
  const merged: Record<string, ArgValue> = { ...backendArgs, ...roleArgs };
  const rendered = new Map(flags.map(([k, v]) => [flagKey(k, backend), v]));
  for (const key of Object.keys(merged)) {
    const canonical = ownedFlag(backend, key);
    if (canonical === undefined) continue;
    // Same switch the structure already implies (e.g. vLLM --enable-expert-parallel for ep > 1): not a conflict.
    if (merged[key] === true && rendered.get(flagKey(canonical, backend)) === true) {
      delete merged[key];
      continue;
    }
    ctx.issues.push({
      code: 'RENDER_ARG_CONFLICT',
      file: ctx.file,
      path: key in roleArgs ? ['topology', role, 'args', key] : ['backend', 'args', key],
      message: `--${key} is set by the renderer from the recipe's structure`,
      hint: 'set it through topology (tp, pp, dp, ep), maxModelLen, dtype, kvCacheDtype or the model card instead',
    });
    delete merged[key];
  }
  const userSet = (name: string): boolean => Object.keys(merged).some((k) => flagKey(k, backend) === flagKey(name, backend));
  const defaults: [string, ArgValue][] = [];
  if (backend === 'vllm' && role !== 'agg' && ctx.release.vllmKvTransferConfig && !userSet('kv-transfer-config')) {
    // Dynamo ≥ 1.0 moves the KV cache between prefill and decode only with an explicit connector (#6450)
    defaults.push(['kv-transfer-config', JSON.stringify({ kv_connector: 'NixlConnector', kv_role: 'kv_both' })]);
  }
  if (backend === 'vllm' && recipe.topology.router === 'kv' && role !== 'decode' && ctx.release.vllmKvEventsOptIn && !userSet('kv-events-config')) {
    // Dynamo ≥ 1.0 publishes KV events for the KV router only when asked (#6404)
    defaults.push(['kv-events-config', JSON.stringify({ publisher: 'zmq', topic: 'kv-events', endpoint: 'tcp://*:20080', enable_kv_cache_events: true })]);
  }
  return { role, worker, args: [...flagTokens(flags, 'structural'), ...engineArgs({ ...Object.fromEntries(defaults), ...merged }, backend)], engineFile };
}

/** Pod settings of a pool, the model-cache mount, the engine ConfigMap and the GPUs → its DGD component. */
function workerComponent(ctx: RecipeContext, pool: PoolEngine, configMapName: string | null, computeDomain: string | null): ComponentView {
  const { recipe, resolved } = ctx;
  const { role, worker } = pool;
  const mc = recipe.modelCache;
  const gpus = gpusPerPod(worker, role, ctx);
  const inventory = ctx.cluster.gpus[resolved.gpu.id];
  if (!inventory) {
    ctx.issues.push({
      code: 'RENDER_GPU_NOT_IN_CLUSTER',
      file: `clusters/${ctx.cluster.name}/cluster.yaml`,
      path: ['gpus'],
      message: `cluster ${ctx.cluster.name} runs ${resolved.id} but lists no ${resolved.gpu.id} nodes`,
      hint: `add gpus.${resolved.gpu.id}: { nodes: N } or remove the recipe from this cluster`,
    });
  }
  const settings: PodSettings = worker.pod ?? {};
  const image = settings.image ?? recipe.backend.image;
  const volumes =
    configMapName !== null && pool.engineFile !== null
      ? [{ volume: { name: 'engine-config', configMap: { name: configMapName } }, mount: { name: 'engine-config', mountPath: ENGINE_MOUNT_PATH, readOnly: true } }]
      : [];
  const cacheMount: PvcMount = { name: 'model-cache', claimName: mc.pvcName, mountPath: mc.mountPath };
  const plan = podPlan({
    settings,
    path: ['topology', role],
    file: ctx.file,
    issues: ctx.issues,
    gpus,
    productLabel: resolved.gpu.productLabel,
    clusterNodeSelector: inventory?.nodeSelector,
    image,
    command: ['python3', '-m', ENGINES[recipe.backend.name].module],
    args: pool.args,
    systemEnv: [{ name: 'HF_HOME', value: mc.mountPath }, ...(mc.hfTokenFrom === 'key' ? [hfTokenEnv(recipe)] : [])],
    backendEnv: recipe.backend.env,
    pvcMounts: [cacheMount],
    volumes,
    initContainers: mc.download ? [waitForWeights(ctx, image)] : null,
    envFromSecret: mc.hfTokenFrom === 'secret' ? mc.hfTokenSecret : null,
    computeDomain: computeDomain === null || !joinsComputeDomain(settings) ? null : { claimTemplate: channelTemplateName(computeDomain) },
  });
  const planner = recipe.topology.planner.enabled;
  return {
    name: componentName(role),
    type: role === 'agg' ? 'worker' : role,
    componentType: 'worker',
    subComponentType: role === 'agg' ? null : role,
    replicas: worker.replicas,
    multinode: worker.nodes > 1 ? { nodeCount: worker.nodes } : null,
    scalingAdapter: planner ? {} : null,
    alphaScalingAdapter: planner ? { enabled: true } : null,
    runtimeVersionOverride: runtimeOverride(ctx, image),
    metricsPort: 'system',
    plan,
    beta: betaPod(plan),
    alpha: alphaService(plan),
  };
}

/** Waits for the download Job's marker; runs the pool's own image so the node pulls no other. */
function waitForWeights(ctx: RecipeContext, image: string): Record<string, unknown> {
  return {
    name: 'wait-for-weights',
    image,
    command: ['sh', '-c', 'until [ -f "$MODEL_DIR/$MARKER" ]; do echo "waiting for $MODEL_DIR"; sleep 10; done'],
    env: [
      { name: 'MODEL_DIR', value: ctx.modelPath },
      { name: 'MARKER', value: downloadMarker(ctx.resolved) },
    ],
    volumeMounts: [{ name: 'model-cache', mountPath: ctx.recipe.modelCache.mountPath }],
  };
}

const FRONTEND_OWNED = new Set(['http-port', 'router-mode']);

function frontendComponent(ctx: RecipeContext): ComponentView {
  const { recipe } = ctx;
  const fe = recipe.topology.frontend;
  const args = normalizeArgs(fe.args, ['topology', 'frontend', 'args'], ctx);
  for (const key of Object.keys(args)) {
    if (!FRONTEND_OWNED.has(key.replace(/_/g, '-'))) continue;
    ctx.issues.push({
      code: 'RENDER_ARG_CONFLICT',
      file: ctx.file,
      path: ['topology', 'frontend', 'args', key],
      message: `--${key} is set by the renderer`,
      hint: key.startsWith('router') ? 'set topology.router' : 'the frontend listens on 8000, where the operator points its Service',
    });
    delete args[key];
  }
  const mc = recipe.modelCache;
  const settings: PodSettings = fe.pod ?? {};
  const image = settings.image ?? recipe.backend.image;
  const plan = podPlan({
    settings,
    path: ['topology', 'frontend'],
    file: ctx.file,
    issues: ctx.issues,
    gpus: 0,
    productLabel: null,
    clusterNodeSelector: undefined,
    image,
    command: ['python3', '-m', 'dynamo.frontend'],
    args: ['--http-port', String(FRONTEND_PORT), '--router-mode', recipe.topology.router, ...engineArgs(args)],
    systemEnv: mc.mountOnFrontend ? [{ name: 'HF_HOME', value: mc.mountPath }] : [],
    backendEnv: {},
    pvcMounts: mc.mountOnFrontend ? [{ name: 'model-cache', claimName: mc.pvcName, mountPath: mc.mountPath }] : [],
    volumes: [],
    initContainers: null,
    envFromSecret: null,
    computeDomain: null,
  });
  return plainComponent('frontend', 'frontend', fe.replicas, plan, runtimeOverride(ctx, image));
}

function plainComponent(name: string, type: 'frontend' | 'planner', replicas: number, plan: PodPlan, runtimeVersionOverride: string | null): ComponentView {
  return {
    name,
    type,
    componentType: type,
    subComponentType: null,
    replicas,
    multinode: null,
    scalingAdapter: null,
    alphaScalingAdapter: null,
    runtimeVersionOverride,
    metricsPort: type === 'frontend' ? 'http' : 'system',
    plan,
    beta: betaPod(plan),
    alpha: alphaService(plan),
  };
}

/**
 * The planner of the workers' release: `python3 -m dynamo.planner --config <file>` (1.0.0+) with its PlannerConfig in
 * a ConfigMap, on the dedicated planner image from 1.1.0. Before 1.0 the planner needs profiler output a recipe
 * cannot have, so that is an error rather than a pod that crash-loops.
 */
function plannerComponent(ctx: RecipeContext, meta: object): { component: ComponentView; configMap: KubeObject } | null {
  const planner = ctx.release.planner;
  if (planner.kind === 'unsupported') {
    ctx.issues.push({
      code: 'RENDER_PLANNER_UNSUPPORTED',
      file: ctx.file,
      path: ['topology', 'planner', 'enabled'],
      message: `the planner cannot be rendered for Dynamo ${ctx.release.version}: ${planner.reason}`,
      hint: 'run Dynamo 1.0.0 or later (cluster dynamoVersion, or the runtime image), or profile with --target dgdr, or set topology.planner.enabled: false',
    });
    return null;
  }
  if (ctx.release.semver.major === 1 && ctx.release.semver.minor === 0 && ctx.recipe.topology.router !== 'kv') {
    ctx.issues.push({
      code: 'RENDER_PLANNER_UNSUPPORTED',
      file: ctx.file,
      path: ['topology', 'router'],
      message: `Dynamo ${ctx.release.version}'s load-based planner reads worker load from the KV router`,
      hint: 'set topology.router: kv, or run Dynamo 1.1.0 or later',
    });
  }
  const json = `${JSON.stringify(plannerConfig(ctx.release, ctx.recipe), null, 2)}\n`;
  const name = toDnsName([ctx.dgdName, 'planner', shortHash(json)], 63);
  const cm = renderTemplate('engine-configmap', { ...meta, name, files: [{ key: planner.configFile, content: json }] });
  const image = planner.image ?? ctx.recipe.backend.image;
  const plan = podPlan({
    settings: undefined,
    path: ['topology', 'planner'],
    file: ctx.file,
    issues: ctx.issues,
    gpus: 0,
    productLabel: null,
    clusterNodeSelector: undefined,
    image,
    command: planner.command,
    args: ['--config', `${planner.configDir}/${planner.configFile}`],
    systemEnv: [],
    backendEnv: {},
    pvcMounts: [],
    volumes: [{ volume: { name: 'planner-config', configMap: { name } }, mount: { name: 'planner-config', mountPath: planner.configDir, readOnly: true } }],
    initContainers: null,
    envFromSecret: null,
    computeDomain: null,
  });
  return { component: plainComponent('planner', 'planner', 1, plan, planner.image === null ? runtimeOverride(ctx, image) : null), configMap: only(cm, 'engine-configmap') as KubeObject };
}

function joinsComputeDomain(settings: PodSettings): boolean {
  return settings.computeDomain !== undefined && settings.computeDomain !== false;
}

function channelTemplateName(domain: string): string {
  return toDnsName([domain, 'channel'], 63);
}

/**
 * The recipe's NVLink ComputeDomain (NVIDIA DRA driver): one per recipe, spanning every node of the pools that join
 * it (numNodes = Σ replicas × nodes); its controller creates the ResourceClaimTemplate the pods claim.
 */
function computeDomainObject(ctx: RecipeContext, workers: { role: Role; worker: Worker }[], meta: { namespace: string; labels: object; annotations: object }): KubeObject | null {
  const joining = workers.filter(({ worker }) => joinsComputeDomain(worker.pod ?? {}));
  if (joining.length === 0) return null;
  const name = toDnsName([ctx.dgdName, 'compute-domain'], 63);
  const modes = new Set(joining.map(({ worker }) => (typeof worker.pod?.computeDomain === 'object' ? (worker.pod.computeDomain.allocationMode ?? 'Single') : 'Single')));
  if (modes.size > 1) {
    ctx.issues.push({
      code: 'RENDER_POD_SETTINGS',
      file: ctx.file,
      path: ['topology'],
      message: 'the pools of one ComputeDomain ask for different channel allocation modes',
      hint: 'give every pool the same computeDomain.allocationMode',
    });
  }
  const mode = [...modes][0]!;
  return {
    apiVersion: COMPUTE_DOMAIN_API,
    kind: 'ComputeDomain',
    metadata: { name, ...meta },
    spec: {
      numNodes: joining.reduce((n, { worker }) => n + worker.replicas * worker.nodes, 0),
      channel: { resourceClaimTemplate: { name: channelTemplateName(name) }, ...(mode === 'All' ? { allocationMode: 'All' } : {}) },
    },
  };
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

function dgdObject(ctx: RecipeContext, meta: object, components: ComponentView[], pvcs: string[] | null): KubeObject {
  const dgdTemplate = ctx.apiVersion === 'v1beta1' ? 'dgd-v1beta1' : 'dgd-v1alpha1';
  const dgd = renderTemplate(dgdTemplate, {
    ...meta,
    name: ctx.dgdName,
    backend: ctx.recipe.backend.name,
    pvcs: pvcs === null ? null : pvcs.map((name) => ({ name, create: false })),
    components,
  });
  return only(dgd, dgdTemplate) as KubeObject;
}

function context(resolved: ResolvedRecipe, cluster: Cluster, options: RenderOptions): { ctx: RecipeContext; workers: { role: Role; worker: Worker }[] } {
  const recipe = resolved.recipe;
  const file = posix.join('recipes', resolved.id, 'recipe.yaml');
  const issues: Issue[] = [];
  const workers = workersOf(recipe, { issues, file });
  const dgdName = toDnsName([resolved.name], dgdBudget(workers, recipe.topology.planner.enabled));
  const engine = options.engine ?? cluster.engine ?? 'dynamo';
  const { modelPath, modelRef } = modelLocation(resolved);
  const ctx: RecipeContext = {
    resolved,
    recipe,
    cluster,
    engine,
    apiVersion: options.apiVersion ?? cluster.dynamoApiVersion,
    release: runtimeRelease(recipe, cluster, issues, file),
    dgdName,
    namespace: cluster.namespace,
    labels: baseLabels(resolved, dgdName),
    annotations: engine === 'sim' ? { ...baseAnnotations(resolved), [`${LABEL_PREFIX}/engine`]: 'sim' } : baseAnnotations(resolved),
    servedName: resolved.model.servedName,
    modelPath,
    modelRef,
    frontendUrl: `http://${dgdName}-frontend:${FRONTEND_PORT}`,
    issues,
    file,
  };
  return { ctx, workers };
}

/**
 * Renders one resolved recipe for one cluster: engine and planner ConfigMaps, model cache, ComputeDomain,
 * DynamoGraphDeployment, PodMonitors and benchmark Jobs, in that order. Throws InvalidInputError with every problem.
 */
export function renderRecipe(resolved: ResolvedRecipe, cluster: Cluster, options: RenderOptions = {}): RenderedRecipe {
  const { ctx, workers } = context(resolved, cluster, options);
  const { recipe, issues } = ctx;
  const manifests: Manifest[] = [];
  const meta = { namespace: ctx.namespace, labels: ctx.labels, annotations: ctx.annotations };

  if (ctx.engine === 'sim') {
    renderSimWorkload(ctx, workers, manifests);
    manifests.push(...renderBenchmarks(ctx));
    return finish(ctx, manifests, []);
  }
  platformChecks(ctx);

  // Each pool's command line and engine file first: the engine ConfigMap is named by a hash of its content.
  const docs = new Map<string, Document | undefined>();
  const pools = workers.map(({ role, worker }) => poolEngine(ctx, role, worker, docs));
  const files = new Map<string, string>();
  for (const p of pools) {
    if (p.engineFile === null) continue;
    const seen = files.get(p.engineFile.key);
    if (seen !== undefined && seen !== p.engineFile.content) {
      issues.push({ code: 'RENDER_ENGINE_FILE', file: ctx.file, path: ['backend', 'extraConfig'], message: `two engine files map to the ConfigMap key ${p.engineFile.key}`, hint: 'rename one of them' });
    }
    files.set(p.engineFile.key, p.engineFile.content);
  }
  let configMapName: string | null = null;
  const engineFiles = [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, content]) => ({ key, content }));
  if (engineFiles.length > 0) {
    configMapName = toDnsName([ctx.dgdName, 'engine', shortHash(JSON.stringify(engineFiles.map((f) => [f.key, f.content])))], 63);
    const cm = renderTemplate('engine-configmap', { ...meta, name: configMapName, files: engineFiles });
    manifests.push({ group: 'workload', file: 'configmaps.yaml', object: only(cm, 'engine-configmap') as KubeObject });
  }

  const domain = computeDomainObject(ctx, workers, meta);
  const domainName = domain === null ? null : (domain.metadata as { name: string }).name;
  const components: ComponentView[] = [frontendComponent(ctx), ...pools.map((p) => workerComponent(ctx, p, configMapName, domainName))];
  if (recipe.topology.planner.enabled) {
    const planner = plannerComponent(ctx, meta);
    if (planner !== null) {
      components.push(planner.component);
      manifests.push({ group: 'workload', file: 'configmaps.yaml', object: planner.configMap });
    }
  }

  manifests.push(...modelCacheObjects(ctx, meta));
  if (domain !== null) manifests.push({ group: 'workload', file: 'compute-domain.yaml', object: domain });
  const pvcs = [...new Set(components.flatMap((c) => pvcNames(c.plan)))];
  manifests.push({ group: 'workload', file: 'dgd.yaml', object: dgdObject(ctx, meta, components, pvcs) });
  manifests.push(...podMonitors(ctx, components, meta));
  manifests.push(...renderBenchmarks(ctx));
  return finish(ctx, manifests, engineFiles);
}

/** The model cache: the PVC always, the download Job when asked for (content-hashed name: Job specs are immutable). */
function modelCacheObjects(ctx: RecipeContext, meta: { namespace: string; labels: object; annotations: Record<string, string> }): Manifest[] {
  const { recipe, resolved, cluster } = ctx;
  const mc = recipe.modelCache;
  const hub = mc.layout === 'hub';
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
          hub
            ? // the hub cache layout under HF_HOME, which the engines read when given the Hugging Face id
              'set -eu; hf download "$HF_REPO" --revision "$HF_REVISION"; touch "$MODEL_DIR/$MARKER"'
            : 'set -eu; hf download "$HF_REPO" --revision "$HF_REVISION" --local-dir "$MODEL_DIR"; touch "$MODEL_DIR/$MARKER"',
        ],
        env: [
          { name: 'HF_REPO', value: resolved.model.hfId },
          { name: 'HF_REVISION', value: resolved.model.revision },
          { name: 'MODEL_DIR', value: ctx.modelPath },
          { name: 'MARKER', value: downloadMarker(resolved) },
          { name: 'HF_HOME', value: mc.mountPath },
          ...(mc.hfTokenFrom === 'none' ? [] : [hfTokenEnv(recipe)]),
        ],
      }
    : null;
  const docs = renderTemplate('model-cache', {
    ...meta,
    // Pruning a workload must never delete downloaded weights another workload may share.
    pvcAnnotations: { ...meta.annotations, 'argocd.argoproj.io/sync-options': 'Prune=false', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' },
    pvc: { name: mc.pvcName, accessMode: mc.accessMode, storageClass: mc.storageClass ?? cluster.storageClass ?? null, size: mc.size, mountPath: mc.mountPath },
    download,
  });
  return docs.map((object) => ({ group: 'workload', file: 'model-cache.yaml', object: object as KubeObject }));
}

function finish(ctx: RecipeContext, manifests: Manifest[], engineFiles: { key: string; content: string }[]): RenderedRecipe {
  const { issues } = ctx;
  if (issues.some((i) => i.severity !== 'warning')) {
    // Each pool checks the shared backend settings again; report each problem once.
    const unique = [...new Map(issues.map((i) => [JSON.stringify([i.file, i.path, i.message]), i])).values()];
    throw new InvalidInputError(unique);
  }
  return { name: ctx.resolved.name, dgdName: ctx.dgdName, manifests, engineFiles };
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

/** The image sim-mode pods run: the cluster's simImage, else the project image of this version. */
function simImage(cluster: Cluster): string {
  return cluster.simImage ?? HARNESS_IMAGE;
}

/**
 * A sim-mode pod: the project image running `recipes sim` with the resolved recipe mounted, small CPU/memory
 * requests, no GPUs, no GPU scheduling, no model cache. `/health` is readiness (503 while starting or closing),
 * `/live` liveness (a slow start must not restart the pod). Pod settings do not apply: nothing of the engines runs.
 */
function simPlan(cmd: { command: string[]; args: string[] }, port: number, cluster: Cluster, configMapName: string, size: { cpu: string; memory: string; memoryLimit: string }): PodPlan {
  return {
    container: {
      image: simImage(cluster),
      command: cmd.command,
      args: cmd.args,
      env: [],
      readinessProbe: { httpGet: { path: '/health', port }, periodSeconds: 5, failureThreshold: 3 },
      livenessProbe: { httpGet: { path: '/live', port }, initialDelaySeconds: 15, periodSeconds: 10, failureThreshold: 3 },
    },
    spec: { volumes: [{ name: 'sim-recipe', configMap: { name: configMapName } }] },
    metadata: {},
    requests: { cpu: size.cpu, memory: size.memory },
    limits: { memory: size.memoryLimit },
    claims: [],
    volumeMounts: [{ name: 'sim-recipe', mountPath: SIM_RECIPE_DIR, readOnly: true }],
    pvcMounts: [],
    envFrom: [],
    envFromSecret: null,
    sharedMemory: null,
    compilationCache: null,
  };
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

  // Every simulated engine of the deployment runs in the frontend's process.
  const frontendPlan = simPlan(simFrontendCommand({ recipeJson: SIM_RECIPE_FILE, port: FRONTEND_PORT }), FRONTEND_PORT, ctx.cluster, configMapName, { cpu: '500m', memory: '256Mi', memoryLimit: '1Gi' });
  const components: ComponentView[] = [plainComponent('frontend', 'frontend', recipe.topology.frontend.replicas, frontendPlan, null)];
  for (const { role, worker } of workers) {
    gpusPerPod(worker, role, ctx); // the recipe's own consistency, as in dynamo mode
    // Engine limits and step times come from the mounted recipe (the estimator's view of this pool), so they are not
    // repeated as flags that could drift from it; the served name and context limit are, to be visible in the DGD.
    const cmd = simWorkerCommand({ servedName: ctx.servedName, maxModelLen: worker.maxModelLen ?? recipe.maxModelLen, role, port: SIM_WORKER_PORT, recipeJson: SIM_RECIPE_FILE });
    const plan = simPlan(cmd, SIM_WORKER_PORT, ctx.cluster, configMapName, { cpu: '100m', memory: '192Mi', memoryLimit: '512Mi' });
    components.push({
      ...plainComponent(componentName(role), 'frontend', worker.replicas, plan, null),
      type: role === 'agg' ? 'worker' : role,
      componentType: 'worker',
      subComponentType: role === 'agg' ? null : role,
      scalingAdapter: recipe.topology.planner.enabled ? {} : null,
      alphaScalingAdapter: recipe.topology.planner.enabled ? { enabled: true } : null,
      metricsPort: 'system',
    });
  }
  if (recipe.topology.planner.enabled) {
    const planner = plannerComponent(ctx, meta);
    if (planner !== null) {
      components.push(planner.component);
      manifests.push({ group: 'workload', file: 'configmaps.yaml', object: planner.configMap });
    }
  }
  manifests.push({ group: 'workload', file: 'dgd.yaml', object: dgdObject(ctx, meta, components, null) });
  manifests.push(...podMonitors(ctx, components, meta));
}
