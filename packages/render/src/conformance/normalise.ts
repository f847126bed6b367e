import { parse } from 'yaml';

/**
 * The normal form two v1alpha1 DynamoGraphDeployments are compared in: what the operator builds pods from, with
 * every difference it cannot see taken out. Each rule below is a claim that the difference does not change the
 * running deployment; docs/rendering.md lists them with their sources. Everything else is compared as written.
 */

type Obj = Record<string, any>;
export type Backend = 'vllm' | 'sglang' | 'trtllm';

export interface NormalComponent {
  componentType: string;
  replicas: number;
  nodes: number;
  image: string | undefined;
  workingDir: string | undefined;
  /** Shell commands run before the program (`ulimit -l unlimited && …`). */
  prelude: string[];
  program: string;
  /** Canonical flag name → value (numbers as numbers, JSON as data, switches as true). */
  flags: Obj;
  /** TensorRT-LLM: the LLM-API options the engine ends up with (its file over its flags). */
  engineOptions: Obj | undefined;
  env: Obj;
  envFromSecret: string | undefined;
  resources: { requests: Obj; limits: Obj; claims: string[] };
  sharedMemory: string | undefined;
  /** Mount path → source ({ pvc }, { emptyDir }, { configMap: data }). */
  mounts: Obj;
  probes: Obj;
  securityContext: Obj | undefined;
  affinity: Obj | undefined;
  tolerations: Obj[] | undefined;
  resourceClaims: Obj[] | undefined;
  podMetadata: Obj | undefined;
  /** Other PodSpec fields (nodeSelector, imagePullSecrets, priorityClassName, …). */
  podSpec: Obj;
}

export interface NormalDeployment {
  backendFramework: string | undefined;
  dynamoNamespaces?: Obj;
  components: Record<string, NormalComponent>;
  computeDomains: Obj[];
}

export interface NormaliseContext {
  /** The model's context length (model card maxContext): a context-length flag with this value is the engine's default. */
  maxContext: number;
}

/** Quantities as one spelling: "2" and 2, "130" and 130. */
function quantity(q: unknown): string {
  return String(q);
}

// ----------------------------------------------------------------------------------------------------------------
// Shell: `sh -c "<script>"` → the program's argv, variables expanded from the container's plain env.

/** Splits a shell script into `&&`/`;`-separated commands of words, expanding $VAR and ${VAR} outside single quotes. */
export function shellCommands(script: string, vars: Record<string, string>): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  const text = script.replace(/\\\n/g, ' ');
  const expand = (i: number): number => {
    // returns the index of the last character consumed
    const braced = text[i + 1] === '{';
    const start = braced ? i + 2 : i + 1;
    let j = start;
    while (j < text.length && /[A-Za-z0-9_]/.test(text[j]!)) j++;
    const name = text.slice(start, j);
    if (name === '') {
      cur += '$';
      return i;
    }
    cur += vars[name] ?? '';
    inWord = true;
    return braced ? j : j - 1;
  };
  const endWord = (): void => {
    if (inWord) words.push(cur);
    cur = '';
    inWord = false;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else cur += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && i + 1 < text.length) cur += text[++i];
      else if (ch === '$') i = expand(i);
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '$') {
      i = expand(i);
    } else if (ch === '&' && text[i + 1] === '&') {
      endCommand();
      i++;
    } else if (ch === ';' || ch === '\n') {
      endCommand();
    } else if (/\s/.test(ch)) {
      endWord();
    } else {
      cur += ch;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

/** The container's argv and any shell prelude: exec form as written, `sh -c` scripts split as the shell would. */
function containerArgv(container: Obj, vars: Record<string, string>): { argv: string[]; prelude: string[] } {
  const argv: string[] = [...(container.command ?? []), ...(container.args ?? [])].map(String);
  const isShell = argv.length >= 3 && /(^|\/)(ba)?sh$/.test(argv[0]!) && argv[1] === '-c';
  if (!isShell) return { argv, prelude: [] };
  const commands = shellCommands(argv[2]!, vars);
  const main = commands.findIndex((c) => c.includes('python3') || c.includes('python'));
  const at = main === -1 ? commands.length - 1 : main;
  const words = commands[at] ?? [];
  return { argv: words[0] === 'exec' ? words.slice(1) : words, prelude: commands.filter((_, i) => i !== at).map((c) => c.join(' ')) };
}

// ----------------------------------------------------------------------------------------------------------------
// Flags

/** Spellings of one destination, per backend (argparse aliases of the Dynamo worker and the engine). */
const ALIASES: Record<Backend, Record<string, string>> = {
  vllm: { tp: 'tensor-parallel-size', pp: 'pipeline-parallel-size', dp: 'data-parallel-size' },
  sglang: { tp: 'tp-size', 'tensor-parallel-size': 'tp-size', pp: 'pp-size', 'pipeline-parallel-size': 'pp-size', dp: 'dp-size', 'data-parallel-size': 'dp-size', ep: 'ep-size', 'expert-parallel-size': 'ep-size', model: 'model-path' },
  trtllm: { model: 'model-path' },
};

/** Flags whose default is 1 (argparse defaults of vLLM's EngineArgs and SGLang's ServerArgs). */
const DEFAULT_ONE: Record<Backend, string[]> = {
  vllm: ['tensor-parallel-size', 'pipeline-parallel-size', 'data-parallel-size'],
  sglang: ['tp-size', 'pp-size', 'dp-size', 'ep-size'],
  trtllm: [],
};

const CONTEXT_FLAG: Record<Backend, string> = { vllm: 'max-model-len', sglang: 'context-length', trtllm: 'max-seq-len' };
const CONFIG_FLAG: Record<Backend, string> = { vllm: 'config', sglang: 'config', trtllm: 'extra-engine-args' };
const MODEL_FLAG: Record<Backend, string> = { vllm: 'model', sglang: 'model-path', trtllm: 'model-path' };

/**
 * Dynamo TensorRT-LLM worker flags → the LLM-API option each sets
 * (ai-dynamo/dynamo components/src/dynamo/trtllm/backend_args.py @0a6a115c); the engine file is applied over them.
 */
const TRTLLM_FLAG_OPTION: Record<string, string> = {
  'tensor-parallel-size': 'tensor_parallel_size',
  'pipeline-parallel-size': 'pipeline_parallel_size',
  'expert-parallel-size': 'moe_expert_parallel_size',
  'enable-attention-dp': 'enable_attention_dp',
  'max-seq-len': 'max_seq_len',
  'max-batch-size': 'max_batch_size',
  'max-num-tokens': 'max_num_tokens',
  'free-gpu-memory-fraction': 'kv_cache_config.free_gpu_memory_fraction',
  'kv-block-size': 'kv_cache_config.tokens_per_block',
};

/** LLM-API defaults (tensorrt_llm/llmapi/llm_args.py): an option set to its default is the same engine. */
const TRTLLM_DEFAULTS: Record<string, unknown> = {
  tensor_parallel_size: 1,
  pipeline_parallel_size: 1,
  enable_attention_dp: false,
  'kv_cache_config.dtype': 'auto',
};

function typed(value: string): unknown {
  if (value === 'true') return true;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (/^[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

function canonicalFlag(backend: Backend, raw: string): string {
  const k = raw.replace(/^--?/, '').replace(/_/g, '-');
  return ALIASES[backend][k] ?? k;
}

/** `--k v`, `--k=v`, bare switches (true); the last occurrence wins, as in argparse. */
export function parseFlags(backend: Backend, argv: string[]): Obj {
  const out: Obj = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || /^-\d/.test(a)) continue;
    const eq = a.indexOf('=');
    if (eq !== -1) out[canonicalFlag(backend, a.slice(0, eq))] = typed(a.slice(eq + 1));
    else if (i + 1 < argv.length && !(argv[i + 1]!.startsWith('-') && !/^-\d/.test(argv[i + 1]!))) out[canonicalFlag(backend, a)] = typed(argv[++i]!);
    else out[canonicalFlag(backend, a)] = true;
  }
  return out;
}

function flatten(value: unknown, prefix = '', out: Obj = {}): Obj {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else {
    out[prefix] = value;
  }
  return out;
}

// ----------------------------------------------------------------------------------------------------------------

/** Objects of one rendered or upstream file, by kind. */
export interface Manifests {
  dgd: Obj;
  configMaps: Obj[];
  computeDomains: Obj[];
}

export function splitManifests(objects: Obj[]): Manifests {
  const dgds = objects.filter((o) => o.kind === 'DynamoGraphDeployment');
  if (dgds.length !== 1) throw new Error(`expected one DynamoGraphDeployment, found ${dgds.length}`);
  return { dgd: dgds[0]!, configMaps: objects.filter((o) => o.kind === 'ConfigMap'), computeDomains: objects.filter((o) => o.kind === 'ComputeDomain') };
}

function engineOf(program: string): Backend | undefined {
  const m = /dynamo\.(vllm|sglang|trtllm)\b/.exec(program);
  return m ? (m[1] as Backend) : undefined;
}

/** A component's role; `worker` when only the graph tells (agg alone, decode beside a prefill worker). */
function role(service: Obj, flags: Obj): string {
  if (service.componentType === 'frontend' || service.componentType === 'planner') return service.componentType;
  if (service.subComponentType === 'prefill' || service.subComponentType === 'decode') return service.subComponentType;
  if (flags['disaggregation-mode'] === 'prefill' || flags['is-prefill-worker'] === true) return 'prefill';
  if (flags['disaggregation-mode'] === 'decode') return 'decode';
  return 'worker';
}

function nonEmpty<T>(v: T): T | undefined {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.length > 0 ? v : undefined;
  if (typeof v === 'object') return Object.keys(v as Obj).length > 0 ? v : undefined;
  return v;
}

function envMap(list: Obj[] | undefined, into: Obj): void {
  for (const e of list ?? []) into[e.name] = e.valueFrom !== undefined ? { valueFrom: e.valueFrom } : String(e.value ?? '');
}

function resources(r: Obj | undefined): NormalComponent['resources'] {
  const side = (q: Obj | undefined): Obj => {
    const out: Obj = {};
    for (const [k, v] of Object.entries(q ?? {})) {
      if (k === 'custom') for (const [ck, cv] of Object.entries(v as Obj)) out[ck] = quantity(cv);
      else out[k === 'gpu' ? 'nvidia.com/gpu' : k] = quantity(v);
    }
    return out;
  };
  const limits = side(r?.limits);
  // Kubernetes defaults a missing request to its limit
  const requests = { ...limits, ...side(r?.requests) };
  return { requests, limits, claims: (r?.claims ?? []).map((c: Obj) => c.name) };
}

const PODSPEC_TYPED = new Set(['mainContainer', 'volumes', 'affinity', 'tolerations', 'resourceClaims', 'securityContext']);

function normaliseService(service: Obj, m: Manifests, ctx: NormaliseContext): [string, NormalComponent] {
  const pod: Obj = service.extraPodSpec ?? {};
  const main: Obj = pod.mainContainer ?? {};
  // the operator merges spec.envs under the service's envs, then the container's own
  const env: Obj = {};
  envMap(m.dgd.spec.envs, env);
  envMap(service.envs, env);
  envMap(main.env, env);
  const vars = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  let { argv, prelude } = containerArgv(main, vars);
  if (argv.length === 0 && service.componentType === 'frontend') argv = ['python3', '-m', 'dynamo.frontend']; // the operator's default command
  const firstFlag = argv.findIndex((a) => a.startsWith('-') && a !== '-m');
  const program = (firstFlag === -1 ? argv : argv.slice(0, firstFlag)).join(' ');
  const backend = engineOf(program) ?? 'vllm';
  const flags = parseFlags(backend, firstFlag === -1 ? [] : argv.slice(firstFlag));
  const r = role(service, flags);

  // mounts: the service's PVC mounts (the operator names the volume after the claim) and the pod's own volumes
  const volumes = new Map<string, Obj>((pod.volumes ?? []).map((v: Obj) => [v.name, v]));
  const mounts: Obj = {};
  for (const vm of service.volumeMounts ?? []) mounts[vm.mountPoint] = { pvc: vm.name };
  const configDirs = new Map<string, Obj>();
  for (const vm of main.volumeMounts ?? []) {
    const v = volumes.get(vm.name) ?? {};
    if (v.persistentVolumeClaim) mounts[vm.mountPath] = { pvc: v.persistentVolumeClaim.claimName };
    else if (v.configMap) {
      const data: Obj = m.configMaps.find((c) => c.metadata?.name === v.configMap.name)?.data ?? {};
      configDirs.set(vm.mountPath, data);
      mounts[vm.mountPath] = { configMap: data };
    } else {
      const { name: _name, ...source } = v;
      mounts[vm.mountPath] = { ...source, ...(vm.readOnly ? { readOnly: true } : {}) };
    }
  }

  // the engine file: its options merged as the engine merges them, the file and its mount compared by content
  let engineOptions: Obj | undefined;
  const configFlag = CONFIG_FLAG[backend];
  const configPath = flags[configFlag];
  if (typeof configPath === 'string') {
    const dir = [...configDirs.keys()].find((d) => configPath.startsWith(`${d.replace(/\/$/, '')}/`));
    if (dir !== undefined) {
      const key = configPath.slice(dir.replace(/\/$/, '').length + 1);
      const file = flatten(parse(String(configDirs.get(dir)![key] ?? '')) ?? {});
      delete flags[configFlag];
      delete mounts[dir];
      if (backend === 'trtllm') {
        engineOptions = file;
      } else {
        // vLLM and SGLang read the file's keys as flags; the command line wins
        for (const [k, v] of Object.entries(file)) if (!(canonicalFlag(backend, k) in flags)) flags[canonicalFlag(backend, k)] = v;
      }
    }
  }
  if (backend === 'trtllm' && r !== 'frontend' && r !== 'planner') {
    engineOptions ??= {};
    // TensorRT-LLM applies the engine file over the flags
    for (const [flag, option] of Object.entries(TRTLLM_FLAG_OPTION)) {
      if (!(flag in flags)) continue;
      if (!(option in engineOptions)) engineOptions[option] = flags[flag];
      delete flags[flag];
    }
    for (const [option, value] of Object.entries(TRTLLM_DEFAULTS)) if (engineOptions[option] === value) delete engineOptions[option];
    if (engineOptions.max_seq_len === ctx.maxContext) delete engineOptions.max_seq_len;
  }

  // flags at the engine's default
  for (const f of DEFAULT_ONE[backend]) if (flags[f] === 1) delete flags[f];
  if (flags[CONTEXT_FLAG[backend]] === ctx.maxContext) delete flags[CONTEXT_FLAG[backend]];
  if (flags['served-model-name'] !== undefined && flags['served-model-name'] === flags[MODEL_FLAG[backend]]) delete flags['served-model-name'];
  if (r === 'frontend') {
    // python3 -m dynamo.frontend defaults (components/src/dynamo/frontend/frontend_args.py @0243c51b)
    if (flags['http-port'] === 8000) delete flags['http-port'];
    if (flags['router-mode'] === 'round-robin') delete flags['router-mode'];
  }

  const podSpec: Obj = {};
  for (const [k, v] of Object.entries(pod)) if (!PODSPEC_TYPED.has(k) && nonEmpty(v) !== undefined) podSpec[k] = v;
  if (nonEmpty(pod.securityContext) !== undefined) podSpec.securityContext = pod.securityContext;
  const computeChannels = new Set(m.computeDomains.map((d) => d.spec?.channel?.resourceClaimTemplate?.name));
  const probes: Obj = {};
  for (const p of ['startupProbe', 'readinessProbe', 'livenessProbe']) if (main[p] !== undefined) probes[p] = main[p];
  const component: NormalComponent = {
    componentType: service.componentType,
    replicas: service.replicas ?? 1,
    nodes: service.multinode?.nodeCount ?? 1,
    image: main.image,
    workingDir: main.workingDir,
    prelude,
    program,
    flags,
    engineOptions,
    env,
    envFromSecret: service.envFromSecret ?? undefined,
    resources: resources(service.resources),
    sharedMemory: service.sharedMemory?.disabled ? 'disabled' : service.sharedMemory?.size === undefined ? undefined : quantity(service.sharedMemory.size),
    mounts,
    probes,
    securityContext: nonEmpty(main.securityContext),
    affinity: nonEmpty(pod.affinity),
    tolerations: nonEmpty(pod.tolerations),
    // the claim template is the ComputeDomain's channel, whatever both are called
    resourceClaims: nonEmpty(
      (pod.resourceClaims ?? []).map((c: Obj) => ({ name: c.name, template: computeChannels.has(c.resourceClaimTemplateName) ? '<compute-domain channel>' : c.resourceClaimTemplateName })),
    ),
    podMetadata: nonEmpty(service.extraPodMetadata),
    podSpec,
  };
  return [r, component];
}

/** The normal form of one deployment: its DGD, the ConfigMaps it mounts and its ComputeDomains. */
export function normalise(objects: Obj[], ctx: NormaliseContext): NormalDeployment {
  const m = splitManifests(objects);
  const services: Obj = m.dgd.spec.services ?? {};
  const roles = Object.values(services).map((s) => normaliseService(s as Obj, m, ctx));
  const hasPrefill = roles.some(([r]) => r === 'prefill');
  const components: Record<string, NormalComponent> = {};
  for (const [declared, c] of roles) {
    // before --disaggregation-mode, a vLLM worker beside a prefill worker was its decode worker
    const r = declared === 'worker' ? (hasPrefill ? 'decode' : 'agg') : declared;
    if (components[r] !== undefined) throw new Error(`two components take the role ${r}`);
    components[r] = c;
  }
  // without backendFramework the operator detects the backend from the worker command
  const detected = Object.values(components)
    .map((c) => engineOf(c.program))
    .find((b) => b !== undefined);
  // one Dynamo namespace for every component is what the operator gives a graph anyway; differing ones matter
  const namespaces = new Set(Object.values(services).map((s: Obj) => s.dynamoNamespace));
  return {
    backendFramework: m.dgd.spec.backendFramework ?? detected,
    ...(namespaces.size > 1 ? { dynamoNamespaces: Object.fromEntries(Object.entries(services).map(([k, s]) => [k, (s as Obj).dynamoNamespace])) } : {}),
    components,
    computeDomains: m.computeDomains.map((d) => ({ numNodes: d.spec?.numNodes, ...(d.spec?.channel?.allocationMode ? { allocationMode: d.spec.channel.allocationMode } : {}) })),
  };
}

/** JSON with object keys sorted: key order means nothing to Kubernetes. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v as Obj)
      .sort()
      .filter((k) => (v as Obj)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stable((v as Obj)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Every leaf where two normal forms differ: dotted path → [upstream, rendered]. Lists are compared whole. */
export function differences(upstream: unknown, rendered: unknown, path = ''): Map<string, [unknown, unknown]> {
  const out = new Map<string, [unknown, unknown]>();
  const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(upstream) && isObj(rendered)) {
    for (const k of new Set([...Object.keys(upstream), ...Object.keys(rendered)])) {
      for (const [p, d] of differences(upstream[k], rendered[k], path === '' ? k : `${path}.${k}`)) out.set(p, d);
    }
    return out;
  }
  if (stable(upstream) !== stable(rendered)) out.set(path, [upstream, rendered]);
  return out;
}
