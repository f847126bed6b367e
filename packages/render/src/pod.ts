import type { EnvValue, PodSettings } from '@llm-recipes/recipe';
import type { Issue } from '@llm-recipes/errors';

export const GPU_RESOURCE = 'nvidia.com/gpu';
export const PRODUCT_LABEL = 'nvidia.com/gpu.product';
/** The resource claim name pods of a ComputeDomain use for its IMEX channel. */
export const COMPUTE_DOMAIN_CLAIM = 'compute-domain-channel';

type Obj = Record<string, unknown>;

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

/** A PVC mounted in the main container (the model cache): v1alpha1 lists it in spec.pvcs and service volumeMounts. */
export interface PvcMount {
  name: string;
  claimName: string;
  mountPath: string;
}

/** One pod, API-neutral; `betaComponent` and `alphaService` lay it out for each DGD version. */
export interface PodPlan {
  container: Obj & { image: string; command: string[]; args: string[]; env: EnvVar[] };
  spec: Obj & { volumes: Obj[] };
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
  /** Requests and limits of the main container, GPUs included. */
  requests: Record<string, string>;
  limits: Record<string, string>;
  claims: string[];
  /** Extra volume mounts of the main container (ConfigMaps, user volumes). */
  volumeMounts: Obj[];
  pvcMounts: PvcMount[];
  envFrom: Obj[];
  /** The one Secret v1alpha1 exposes with envFromSecret (every key as a variable). */
  envFromSecret: string | null;
  sharedMemory: string | null;
  compilationCache: { pvcName: string; mountPath?: string | undefined } | null;
}

function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A quantity as Kubernetes writes it: numbers become strings. */
export function quantity(q: string | number): string {
  return typeof q === 'number' ? String(q) : q;
}

/** An env value as a Kubernetes EnvVar (numbers and booleans as strings, references as valueFrom). */
export function envVar(name: string, value: EnvValue): EnvVar {
  if (typeof value === 'object') {
    const ref = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
    const [kind, body] = Object.entries(ref)[0]!;
    // a copy: the resolved recipe is shared (and frozen); a divisor is a quantity
    const b = { ...(body as Obj) };
    if (kind === 'resourceFieldRef' && b.divisor !== undefined) b.divisor = quantity(b.divisor as string | number);
    return { name, valueFrom: { [kind]: b } };
  }
  return { name, value: String(value) };
}

/**
 * Variables in a stable order Kubernetes can expand: by name, except that a variable referenced as `$(NAME)` by
 * another comes before it (Kubernetes expands a reference only to variables defined earlier in the list).
 */
export function orderEnv(vars: EnvVar[]): EnvVar[] {
  const byName = new Map(vars.map((v) => [v.name, v]));
  const names = [...byName.keys()].sort();
  const out: EnvVar[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string): void => {
    if (state.get(name) !== undefined) return;
    state.set(name, 'visiting');
    const v = byName.get(name)!;
    for (const m of (v.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g)) {
      const dep = m[1]!;
      if (byName.has(dep) && state.get(dep) === undefined) visit(dep);
    }
    state.set(name, 'done');
    out.push(v);
  };
  for (const n of names) visit(n);
  return out;
}

export interface PodInput {
  settings: PodSettings | undefined;
  /** Where the settings came from, for issues: the pool's path. */
  path: (string | number)[];
  file: string;
  issues: Issue[];
  /** Worker pools need GPUs and GPU scheduling; the frontend and planner do not. */
  gpus: number;
  productLabel: string | null;
  clusterNodeSelector: Record<string, string> | undefined;
  image: string;
  command: string[];
  args: string[];
  /** Variables the renderer sets (HF_HOME, HF_TOKEN); a pod setting may not set them too. */
  systemEnv: EnvVar[];
  /** backend.env (workers): plain strings for every worker. */
  backendEnv: Record<string, string>;
  pvcMounts: PvcMount[];
  /** Renderer-owned extra volumes (engine ConfigMap, planner config) and their mounts. */
  volumes: { volume: Obj; mount: Obj }[];
  initContainers: Obj[] | null;
  envFromSecret: string | null;
  computeDomain: { claimTemplate: string } | null;
}

const RESERVED_VOLUMES = new Set(['model-cache', 'engine-config', 'planner-config', 'sim-recipe', 'shared-memory']);

/** Builds the API-neutral pod of one component from the renderer's own parts and the pod settings. */
export function podPlan(input: PodInput): PodPlan {
  const s = input.settings ?? {};
  const issue = (field: string[], message: string, hint: string): void => {
    input.issues.push({ code: 'RENDER_POD_SETTINGS', file: input.file, path: [...input.path, 'pod', ...field], message, hint });
  };
  const worker = input.gpus > 0;
  if (!worker) {
    for (const field of ['gpuNodes', 'computeDomain', 'compilationCache'] as const) {
      // the frontend inherits the cluster's pod settings; GPU-only ones are for workers
      if (s[field] !== undefined && !(field === 'gpuNodes' && s.gpuNodes === 'product')) {
        issue([field], `${field} applies to GPU worker pools, not to this component`, `move it to the worker pools' pod settings`);
      }
    }
  }

  // environment: the renderer's variables, backend.env, then the pod's; each name set in one place only
  const env = new Map<string, EnvVar>();
  const owner = new Map<string, string>();
  for (const v of input.systemEnv) {
    env.set(v.name, v);
    owner.set(v.name, 'the renderer');
  }
  for (const [name, value] of Object.entries(input.backendEnv)) {
    if (owner.has(name)) {
      input.issues.push({ code: 'RENDER_ENV_CONFLICT', file: input.file, path: ['backend', 'env', name], message: `${name} is set by ${owner.get(name)}`, hint: name === 'HF_HOME' ? 'set modelCache.mountPath instead' : 'remove it from backend.env' });
      continue;
    }
    env.set(name, { name, value });
    owner.set(name, 'backend.env');
  }
  for (const [name, value] of Object.entries(s.env ?? {})) {
    if (owner.has(name)) {
      issue(['env', name], `${name} is already set by ${owner.get(name)}`, name === 'HF_HOME' ? 'set modelCache.mountPath instead' : `set it in one place (${owner.get(name)} or this pod's env)`);
      continue;
    }
    env.set(name, envVar(name, value));
  }

  // resources: the GPUs come from the topology alone
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  for (const [kind, target] of [['requests', requests], ['limits', limits]] as const) {
    for (const [name, q] of Object.entries(s.resources?.[kind] ?? {})) {
      if (name === GPU_RESOURCE || name === 'gpu') {
        issue(['resources', kind, name], `${name} is set from the topology (tp × pp × dp per replica, over its nodes)`, 'remove it; change topology.<pool>.tp, pp, dp or nodes');
        continue;
      }
      target[name] = quantity(q);
    }
  }
  if (worker) {
    requests[GPU_RESOURCE] = String(input.gpus);
    limits[GPU_RESOURCE] = String(input.gpus);
  }

  // volumes: the renderer's, then the pod's own (each mounted in the main container)
  const volumes: Obj[] = input.volumes.map((v) => v.volume);
  const mounts: Obj[] = input.volumes.map((v) => v.mount);
  for (const [name, v] of Object.entries(s.volumes ?? {})) {
    if (RESERVED_VOLUMES.has(name)) {
      issue(['volumes', name], `volume name ${name} is used by the renderer`, 'choose another name');
      continue;
    }
    const { mountPath, readOnly, subPath, ...source } = v;
    const src = Object.fromEntries(Object.entries(source).filter(([, x]) => x !== undefined));
    if (src.emptyDir !== undefined && (src.emptyDir as Obj).sizeLimit !== undefined) {
      // a new object: the resolved recipe's own is shared (and frozen)
      src.emptyDir = { ...(src.emptyDir as Obj), sizeLimit: quantity((src.emptyDir as Obj).sizeLimit as string | number) };
    }
    volumes.push({ name, ...src });
    mounts.push({ name, mountPath, ...(readOnly === undefined ? {} : { readOnly }), ...(subPath === undefined ? {} : { subPath }) });
  }

  // scheduling: the GPU product expression joins every required node-affinity term
  const gpuNodes = s.gpuNodes ?? 'product';
  const products = !worker || gpuNodes === 'any' ? null : gpuNodes === 'product' ? (input.productLabel === null ? null : [input.productLabel]) : gpuNodes;
  let affinity: Obj | null = s.affinity === undefined ? null : (structuredClone(s.affinity) as Obj);
  if (products !== null) {
    const expr = { key: PRODUCT_LABEL, operator: 'In', values: products };
    affinity ??= {};
    const nodeAffinity = (affinity.nodeAffinity ??= {}) as Obj;
    const required = (nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution ??= { nodeSelectorTerms: [{}] }) as { nodeSelectorTerms: Obj[] };
    for (const term of required.nodeSelectorTerms) {
      const exprs = (term.matchExpressions as Obj[] | undefined) ?? [];
      if (!exprs.some((e) => e.key === PRODUCT_LABEL)) term.matchExpressions = [...exprs, expr];
    }
  }
  const nodeSelector = { ...(worker ? (input.clusterNodeSelector ?? {}) : {}), ...(s.nodeSelector ?? {}) };

  const claims: string[] = [];
  const spec: Obj & { volumes: Obj[] } = { volumes };
  if (affinity !== null && Object.keys(affinity).length > 0) spec.affinity = affinity;
  if (Object.keys(nodeSelector).length > 0) spec.nodeSelector = sorted(nodeSelector);
  if (s.tolerations !== undefined && s.tolerations.length > 0) spec.tolerations = s.tolerations;
  if (input.initContainers !== null) spec.initContainers = input.initContainers;
  if (s.imagePullSecrets !== undefined && s.imagePullSecrets.length > 0) spec.imagePullSecrets = s.imagePullSecrets.map((name) => ({ name }));
  if (s.podSecurityContext !== undefined) spec.securityContext = s.podSecurityContext;
  if (s.terminationGracePeriodSeconds !== undefined) spec.terminationGracePeriodSeconds = s.terminationGracePeriodSeconds;
  if (input.computeDomain !== null) {
    claims.push(COMPUTE_DOMAIN_CLAIM);
    spec.resourceClaims = [{ name: COMPUTE_DOMAIN_CLAIM, resourceClaimTemplateName: input.computeDomain.claimTemplate }];
  }
  for (const [k, v] of Object.entries(s.podSpec ?? {})) if (v !== undefined) spec[k] = v;

  const container: PodPlan['container'] = {
    image: s.image ?? input.image,
    command: input.command,
    args: input.args,
    env: orderEnv([...env.values()]),
  };
  if (s.imagePullPolicy !== undefined) container.imagePullPolicy = s.imagePullPolicy;
  if (s.workingDir !== undefined) container.workingDir = s.workingDir;
  if (s.securityContext !== undefined) container.securityContext = s.securityContext;
  if (s.probes?.startup !== undefined) container.startupProbe = s.probes.startup;
  if (s.probes?.readiness !== undefined) container.readinessProbe = s.probes.readiness;
  if (s.probes?.liveness !== undefined) container.livenessProbe = s.probes.liveness;
  for (const [k, v] of Object.entries(s.container ?? {})) if (v !== undefined) container[k] = v;

  const metadata: PodPlan['metadata'] = {};
  if (s.annotations !== undefined && Object.keys(s.annotations).length > 0) metadata.annotations = sorted(s.annotations);
  if (s.labels !== undefined && Object.keys(s.labels).length > 0) metadata.labels = sorted(s.labels);

  return {
    container,
    spec,
    metadata,
    requests: sorted(requests),
    limits: sorted(limits),
    claims,
    volumeMounts: mounts,
    pvcMounts: input.pvcMounts,
    envFrom: (s.envFrom ?? []).map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined))),
    envFromSecret: input.envFromSecret,
    sharedMemory: s.sharedMemory === undefined ? null : s.sharedMemory === 'disabled' ? 'disabled' : quantity(s.sharedMemory),
    compilationCache: s.compilationCache ?? null,
  };
}

function nonEmpty<T extends Obj | unknown[]>(v: T): T | null {
  return (Array.isArray(v) ? v.length : Object.keys(v).length) > 0 ? v : null;
}

/** v1beta1: sharedMemorySize, compilationCache and a native pod template with container `main`. */
export function betaPod(plan: PodPlan): Obj {
  const envFrom = [...(plan.envFromSecret === null ? [] : [{ secretRef: { name: plan.envFromSecret } }]), ...plan.envFrom];
  const resources: Obj = { requests: nonEmpty(plan.requests), limits: nonEmpty(plan.limits) };
  if (plan.claims.length > 0) resources.claims = plan.claims.map((name) => ({ name }));
  const main: Obj = {
    name: 'main',
    ...plan.container,
    env: nonEmpty(plan.container.env),
    envFrom: nonEmpty(envFrom),
    resources: resources.requests === null && resources.limits === null && resources.claims === undefined ? null : resources,
    volumeMounts: nonEmpty([...plan.pvcMounts.map((m) => ({ name: m.name, mountPath: m.mountPath })), ...plan.volumeMounts]),
  };
  const spec: Obj = {
    ...plan.spec,
    volumes: nonEmpty([...plan.pvcMounts.map((m) => ({ name: m.name, persistentVolumeClaim: { claimName: m.claimName } })), ...plan.spec.volumes]),
    containers: [main],
  };
  return {
    sharedMemorySize: plan.sharedMemory === null ? null : plan.sharedMemory === 'disabled' ? '0' : plan.sharedMemory,
    compilationCache: plan.compilationCache,
    podTemplate: { metadata: nonEmpty(plan.metadata as Obj), spec },
  };
}

const ALPHA_NAMED = new Set(['cpu', 'memory', 'gpu']);

function alphaQuantities(q: Record<string, string>): Obj | null {
  const out: Obj = {};
  const custom: Record<string, string> = {};
  for (const [name, value] of Object.entries(q)) {
    if (name === GPU_RESOURCE) out.gpu = value;
    else if (ALPHA_NAMED.has(name)) out[name] = value;
    else custom[name] = value;
  }
  if (Object.keys(custom).length > 0) out.custom = custom;
  return nonEmpty(out);
}

/**
 * v1alpha1: service-level resources (gpu, cpu, memory, other names under custom), sharedMemory, envFromSecret,
 * volumeMounts of spec.pvcs, extraPodMetadata, and extraPodSpec with the main container.
 */
export function alphaService(plan: PodPlan): Obj {
  const resources: Obj = { requests: alphaQuantities(plan.requests), limits: alphaQuantities(plan.limits) };
  if (plan.claims.length > 0) resources.claims = plan.claims.map((name) => ({ name }));
  const volumeMounts: Obj[] = plan.pvcMounts.map((m) => ({ name: m.claimName, mountPoint: m.mountPath }));
  if (plan.compilationCache !== null) {
    volumeMounts.push({ name: plan.compilationCache.pvcName, mountPoint: plan.compilationCache.mountPath ?? null, useAsCompilationCache: true });
  }
  const { image, ...rest } = plan.container;
  // the operator names a spec.pvcs volume after its claim (graph.go), so other containers mount it by that name
  const claimOf = new Map(plan.pvcMounts.map((m) => [m.name, m.claimName]));
  const spec: Obj = { ...plan.spec };
  if (Array.isArray(plan.spec.initContainers)) {
    spec.initContainers = (plan.spec.initContainers as Obj[]).map((c) =>
      Array.isArray(c.volumeMounts) ? { ...c, volumeMounts: (c.volumeMounts as Obj[]).map((m) => ({ ...m, name: claimOf.get(m.name as string) ?? m.name })) } : c,
    );
  }
  const mainContainer: Obj = {
    image,
    ...rest,
    env: nonEmpty(plan.container.env),
    envFrom: nonEmpty(plan.envFrom),
    volumeMounts: nonEmpty(plan.volumeMounts),
  };
  return {
    sharedMemory: plan.sharedMemory === null ? null : plan.sharedMemory === 'disabled' ? { disabled: true } : { size: plan.sharedMemory },
    envFromSecret: plan.envFromSecret,
    resources: resources.requests === null && resources.limits === null && resources.claims === undefined ? null : resources,
    volumeMounts: nonEmpty(volumeMounts),
    extraPodMetadata: nonEmpty(plan.metadata as Obj),
    extraPodSpec: { ...spec, volumes: nonEmpty(plan.spec.volumes), mainContainer },
  };
}

/** PVC names a component mounts (v1alpha1 spec.pvcs). */
export function pvcNames(plan: PodPlan): string[] {
  return [...plan.pvcMounts.map((m) => m.claimName), ...(plan.compilationCache === null ? [] : [plan.compilationCache.pvcName])];
}
