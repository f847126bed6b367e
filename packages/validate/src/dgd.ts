/**
 * DynamoGraphDeployment helpers: a version-neutral view of its components, and the CRD's CEL rules
 * (`x-kubernetes-validations`) that a JSON-Schema validator cannot evaluate, re-implemented as plain checks.
 * Messages are the CRD's own, so a user sees what the API server would say.
 */
import { toPointer } from './ajv-errors.ts';

export const DGD_KIND = 'DynamoGraphDeployment';
export const DGD_GROUP = 'nvidia.com';

export type Role = 'frontend' | 'prefill' | 'decode' | 'worker' | 'planner' | 'epp' | 'other';

type Obj = Record<string, unknown>;

export interface DgdComponent {
  name: string;
  /** JSON pointer of the component: `/spec/components/0` (v1beta1) or `/spec/services/<name>` (v1alpha1). */
  pointer: string;
  /** Role from `type` (v1beta1) or `subComponentType`/`componentType` (v1alpha1); never from the name. */
  role: Role;
  /** Pod spec and its pointer: `podTemplate.spec` (v1beta1) or `extraPodSpec` (v1alpha1). */
  podSpec: Obj | undefined;
  podSpecPointer: string;
  /** GPUs one pod of this component requests. */
  gpusPerPod: number;
  raw: Obj;
}

export interface RuleProblem {
  path: string;
  code: string;
  message: string;
  hint?: string | undefined;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function roleOf(...values: unknown[]): Role {
  for (const v of values) {
    if (typeof v !== 'string') continue;
    const r = v.toLowerCase();
    if (r === 'prefill' || r === 'decode') return r;
  }
  for (const v of values) {
    if (typeof v !== 'string') continue;
    const r = v.toLowerCase();
    if (r === 'frontend' || r === 'worker' || r === 'planner' || r === 'epp') return r;
    // legacy alias seen upstream (componentType: main for workers)
    if (r === 'main') return 'worker';
  }
  return 'other';
}

/** Parses a GPU count (`2`, `"2"`); anything else counts as 0. */
export function gpuCount(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v.trim())) return Number(v.trim());
  return 0;
}

function containerGpus(podSpec: Obj | undefined): number {
  let total = 0;
  for (const c of arr(podSpec?.['containers'])) {
    const res = obj(obj(c)['resources']);
    total += gpuCount(obj(res['limits'])['nvidia.com/gpu'] ?? obj(res['requests'])['nvidia.com/gpu']);
  }
  return total;
}

export function isDgd(doc: Obj): boolean {
  return doc['kind'] === DGD_KIND && typeof doc['apiVersion'] === 'string' && doc['apiVersion'].startsWith(`${DGD_GROUP}/`);
}

export function dgdVersion(doc: Obj): string {
  return String(doc['apiVersion']).split('/')[1] ?? '';
}

/** The components of a DGD of either served version. */
export function dgdComponents(doc: Obj): DgdComponent[] {
  const spec = obj(doc['spec']);
  if (dgdVersion(doc) === 'v1alpha1') {
    return Object.entries(obj(spec['services'])).map(([name, raw]) => {
      const s = obj(raw);
      const pointer = toPointer(['spec', 'services', name]);
      const podSpec = isObj(s['extraPodSpec']) ? s['extraPodSpec'] : undefined;
      const res = obj(s['resources']);
      const main = obj(podSpec?.['mainContainer']);
      const mainRes = obj(main['resources']);
      const gpus =
        gpuCount(obj(res['limits'])['gpu'] ?? obj(res['requests'])['gpu']) ||
        gpuCount(obj(mainRes['limits'])['nvidia.com/gpu'] ?? obj(mainRes['requests'])['nvidia.com/gpu']);
      return {
        name,
        pointer,
        role: roleOf(s['subComponentType'], s['componentType']),
        podSpec,
        podSpecPointer: `${pointer}/extraPodSpec`,
        gpusPerPod: gpus + containerGpus(podSpec),
        raw: s,
      };
    });
  }
  return arr(spec['components']).map((raw, i) => {
    const c = obj(raw);
    const pointer = toPointer(['spec', 'components', i]);
    const podSpec = isObj(obj(c['podTemplate'])['spec']) ? (obj(c['podTemplate'])['spec'] as Obj) : undefined;
    return {
      name: typeof c['name'] === 'string' ? c['name'] : '',
      pointer,
      role: roleOf(c['type']),
      podSpec,
      podSpecPointer: `${pointer}/podTemplate/spec`,
      gpusPerPod: containerGpus(podSpec),
      raw: c,
    };
  });
}

/** `nvidia.com/gpu.product` values a pod spec requires (nodeSelector or required node affinity, In). */
export function gpuProducts(podSpec: Obj | undefined): string[] {
  if (!podSpec) return [];
  const out = new Set<string>();
  const sel = obj(podSpec['nodeSelector'])['nvidia.com/gpu.product'];
  if (typeof sel === 'string') out.add(sel);
  const required = obj(obj(obj(podSpec['affinity'])['nodeAffinity'])['requiredDuringSchedulingIgnoredDuringExecution']);
  for (const term of arr(required['nodeSelectorTerms'])) {
    for (const expr of arr(obj(term)['matchExpressions'])) {
      const e = obj(expr);
      if (e['key'] === 'nvidia.com/gpu.product' && e['operator'] === 'In') {
        for (const v of arr(e['values'])) if (typeof v === 'string') out.add(v);
      }
    }
  }
  return [...out];
}

function quantityPositive(v: unknown): boolean {
  if (typeof v === 'number') return v > 0;
  if (typeof v !== 'string') return false;
  const m = /^\+?(\d+(\.\d*)?|\.\d+)/.exec(v.trim());
  return m !== null && Number(m[1]) > 0;
}

/**
 * The DGD CEL rules evaluated here (see docs/validation.md for the ones that are not). Transition rules
 * (`oldSelf`) are evaluated as on create, which is what applying a rendered manifest to a fresh cluster does.
 */
export function dgdRuleProblems(doc: Obj): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const spec = obj(doc['spec']);
  const version = dgdVersion(doc);

  // spec: oldSelf.hasValue() || !has(self.restart)
  if ('restart' in spec) {
    problems.push({
      path: '/spec/restart',
      code: 'CEL_RESTART_ON_CREATE',
      message: 'spec.restart must be unset on create; set spec.restart.id after creation to request a restart',
      hint: 'remove spec.restart from the rendered manifest',
    });
  }

  const components = dgdComponents(doc);
  for (const c of components) {
    const raw = c.raw;
    // minAvailable <= replicas unless replicas is 0 (both versions)
    if (typeof raw['minAvailable'] === 'number') {
      const replicas = typeof raw['replicas'] === 'number' ? raw['replicas'] : 1;
      if (!(replicas === 0 && 'replicas' in raw) && raw['minAvailable'] > replicas) {
        problems.push({
          path: `${c.pointer}/minAvailable`,
          code: 'CEL_MIN_AVAILABLE',
          message: `minAvailable must be less than or equal to replicas unless replicas is 0 (minAvailable ${raw['minAvailable']}, replicas ${replicas})`,
        });
      }
    }
    if (version === 'v1alpha1') {
      // sharedMemory: (has(self.disabled) && self.disabled) || (has(self.size) && quantity(self.size) > 0)
      if (isObj(raw['sharedMemory'])) {
        const sm = raw['sharedMemory'];
        if (sm['disabled'] !== true && !quantityPositive(sm['size'])) {
          problems.push({
            path: `${c.pointer}/sharedMemory`,
            code: 'CEL_SHARED_MEMORY',
            message: 'size is required when disabled is false',
            hint: 'set sharedMemory.size (e.g. "8Gi") or sharedMemory.disabled: true',
          });
        }
      }
      continue;
    }
    // v1beta1 component rules
    if ('eppConfig' in raw && raw['type'] !== 'epp') {
      problems.push({ path: `${c.pointer}/eppConfig`, code: 'CEL_EPP_CONFIG_TYPE', message: 'eppConfig may only be set when type is epp' });
    }
    if (isObj(raw['eppConfig']) && 'configMapRef' in raw['eppConfig'] === 'config' in raw['eppConfig']) {
      problems.push({
        path: `${c.pointer}/eppConfig`,
        code: 'CEL_EPP_CONFIG_SOURCE',
        message: 'exactly one of configMapRef or config must be specified',
      });
    }
    const podSpec = c.podSpec;
    arr(podSpec?.['containers']).forEach((ct, i) => {
      const k = obj(ct);
      if (k['name'] !== 'main' && (typeof k['image'] !== 'string' || k['image'] === '')) {
        problems.push({
          path: `${c.podSpecPointer}/containers/${i}`,
          code: 'CEL_SIDECAR_IMAGE',
          message: 'sidecar containers must specify a non-empty image',
        });
      }
    });
    arr(podSpec?.['initContainers']).forEach((ct, i) => {
      const k = obj(ct);
      if (typeof k['image'] !== 'string' || k['image'] === '') {
        problems.push({
          path: `${c.podSpecPointer}/initContainers/${i}`,
          code: 'CEL_INIT_CONTAINER_IMAGE',
          message: 'init containers must specify a non-empty image',
        });
      }
    });
    // Not a schema or CEL rule: the admission webhook's, stated in the CRD's podTemplate description.
    const main = arr(podSpec?.['containers']).map(obj).find((k) => k['name'] === 'main');
    if (!main || typeof main['image'] !== 'string' || main['image'] === '') {
      problems.push({
        path: podSpec ? `${c.podSpecPointer}/containers` : `${c.pointer}/podTemplate`,
        code: 'DGD_MAIN_CONTAINER',
        message: `component "${c.name}" needs a container named "main" with a non-empty image in podTemplate (enforced by the Dynamo admission webhook)`,
      });
    }
  }

  if (version !== 'v1alpha1') {
    // self.filter(c, has(c.type) && c.type == 'epp').size() <= 1
    const epps = components.filter((c) => c.raw['type'] === 'epp');
    if (epps.length > 1) {
      problems.push({
        path: '/spec/components',
        code: 'CEL_SINGLE_EPP',
        message: `at most one component may have type epp (found ${epps.map((c) => `"${c.name}"`).join(', ')})`,
      });
    }
    // names unique case-insensitively
    const firstByName = new Map<string, DgdComponent>();
    for (const c of components) {
      if (c.name === '') continue;
      const key = c.name.toLowerCase();
      const first = firstByName.get(key);
      if (first) {
        problems.push({
          path: `${c.pointer}/name`,
          code: 'CEL_UNIQUE_COMPONENT_NAMES',
          message: `component names must be unique case-insensitively ("${c.name}" repeats "${first.name}" at ${first.pointer})`,
        });
      } else firstByName.set(key, c);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Engine settings given twice: as a worker flag and in the engine file the same worker reads.

/** A worker's argv: exec form as written, or a `sh -c "<one command>"` string split like a shell would. */
export function workerArgv(container: Obj): string[] {
  const command = arr(container['command']).filter((x): x is string => typeof x === 'string');
  const args = arr(container['args']).filter((x): x is string => typeof x === 'string');
  const argv = [...command, ...args];
  const shell = argv.length >= 3 && /(^|\/)(ba)?sh$/.test(argv[0]!) && /^-[a-z]*c$/.test(argv[1]!) ? argv[2]! : undefined;
  if (shell === undefined) return argv;
  const words: string[] = [];
  let cur = '';
  let quote: '"' | "'" | null = null;
  let inWord = false;
  const text = shell.replace(/\\\n/g, ' ');
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== null) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words[0] === 'exec' ? words.slice(1) : words;
}

/** Flag → value from argv (`--k v`, `--k=v`, bare switches as "true"); the last occurrence wins, as in argparse. */
function flagValues(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq !== -1) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) out.set(a.slice(2), argv[++i]!);
    else out.set(a.slice(2), 'true');
  }
  return out;
}

type Backend = 'vllm' | 'sglang' | 'trtllm';

/**
 * Dynamo TRT-LLM worker flags and the LLM-API option each one sets (components/src/dynamo/trtllm/backend_args.py);
 * the engine file is applied over the flags, so a flag with another value than the file's is dead.
 */
const TRTLLM_FLAG_KEYS: Record<string, string[]> = {
  'tensor-parallel-size': ['tensor_parallel_size'],
  'pipeline-parallel-size': ['pipeline_parallel_size'],
  'expert-parallel-size': ['moe_expert_parallel_size'],
  'enable-attention-dp': ['enable_attention_dp'],
  'max-seq-len': ['max_seq_len', 'build_config.max_seq_len'],
  'max-batch-size': ['max_batch_size', 'build_config.max_batch_size'],
  'max-num-tokens': ['max_num_tokens', 'build_config.max_num_tokens'],
  'free-gpu-memory-fraction': ['kv_cache_config.free_gpu_memory_fraction'],
  'kv-block-size': ['kv_cache_config.tokens_per_block'],
};

/** Spellings of one SGLang destination (server_args.py aliases); vLLM and SGLang read `_` as `-`. */
const SGLANG_ALIASES: string[][] = [
  ['tp-size', 'tp', 'tensor-parallel-size'],
  ['pp-size', 'pp', 'pipeline-parallel-size'],
  ['dp-size', 'dp', 'data-parallel-size'],
  ['ep-size', 'ep', 'expert-parallel-size'],
  ['model-path', 'model'],
];

function canonicalFlag(backend: Backend, name: string): string {
  const k = name.replace(/_/g, '-');
  if (backend === 'sglang') for (const group of SGLANG_ALIASES) if (group.includes(k)) return group[0]!;
  if (backend === 'vllm' && k === 'tp') return 'tensor-parallel-size';
  return k;
}

function getDotted(value: unknown, dotted: string): unknown {
  let cur = value;
  for (const part of dotted.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function sameValue(flag: string, file: unknown): boolean {
  if (typeof file === 'boolean') return flag === String(file);
  if (typeof file === 'number') return Number(flag) === file;
  return typeof file === 'string' && file === flag;
}

/** The engine file a worker reads: the flag's path, through its volume mount, to a ConfigMap key. */
function engineFileOf(podSpec: Obj, main: Obj, path: string): { configMap: string; key: string } | undefined {
  for (const m of arr(main['volumeMounts']).map(obj)) {
    const mountPath = typeof m['mountPath'] === 'string' ? m['mountPath'].replace(/\/+$/, '') : '';
    if (mountPath === '' || !path.startsWith(`${mountPath}/`)) continue;
    const rel = path.slice(mountPath.length + 1);
    const volume = arr(podSpec['volumes']).map(obj).find((v) => v['name'] === m['name']);
    const cm = obj(volume?.['configMap']);
    if (typeof cm['name'] !== 'string') continue;
    const item = arr(cm['items']).map(obj).find((it) => it['path'] === rel);
    return { configMap: cm['name'], key: typeof item?.['key'] === 'string' ? item['key'] : rel };
  }
  return undefined;
}

/**
 * Engine settings a worker is given twice with different values: as a flag on its command line and in the engine
 * file it reads (vLLM/SGLang `--config`: the flag wins and the file's value is dead; TensorRT-LLM
 * `--extra-engine-args`: the file wins and the flag is dead). Either way the manifest says two things and the
 * engine runs one of them. `engineFile(configMap, key)` returns the parsed file, or undefined when not in the tree.
 */
export function engineFileConflicts(doc: Obj, engineFile: (configMap: string, key: string) => unknown): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const specBackend = obj(doc['spec'])['backendFramework'];
  for (const c of dgdComponents(doc)) {
    if (c.role === 'frontend' || c.role === 'planner' || c.podSpec === undefined) continue;
    const isAlpha = dgdVersion(doc) === 'v1alpha1';
    const main = isAlpha ? obj(c.podSpec['mainContainer']) : arr(c.podSpec['containers']).map(obj).find((k) => k['name'] === 'main');
    if (main === undefined) continue;
    // v1alpha1 keeps the volumes in extraPodSpec and the mounts in mainContainer; v1beta1 in the pod template
    const argv = workerArgv(main);
    const module = argv.find((a) => /^dynamo\.(vllm|sglang|trtllm)$/.test(a));
    const backend = (module?.slice('dynamo.'.length) ?? specBackend) as Backend | undefined;
    if (backend !== 'vllm' && backend !== 'sglang' && backend !== 'trtllm') continue;
    const flags = flagValues(argv);
    const path = flags.get(backend === 'trtllm' ? 'extra-engine-args' : 'config');
    if (path === undefined) continue;
    const ref = engineFileOf(c.podSpec, main, path);
    if (ref === undefined) continue;
    const file = engineFile(ref.configMap, ref.key);
    if (!isObj(file)) continue;
    const where = `${c.podSpecPointer}${isAlpha ? '/mainContainer' : `/containers/${arr(c.podSpec['containers']).indexOf(main)}`}/args`;
    if (backend === 'trtllm') {
      for (const [flag, keys] of Object.entries(TRTLLM_FLAG_KEYS)) {
        const v = flags.get(flag);
        if (v === undefined) continue;
        for (const key of keys) {
          const inFile = getDotted(file, key);
          if (inFile === undefined || sameValue(v, inFile)) continue;
          problems.push({
            path: where,
            code: 'DGD_ENGINE_FILE_CONFLICT',
            message: `component "${c.name}" passes --${flag} ${v} but its engine file ${ref.configMap}/${ref.key} sets ${key}: ${JSON.stringify(inFile)}; TensorRT-LLM applies the file over the flags, so the flag has no effect`,
            hint: `set ${key} in one place only`,
          });
        }
      }
      continue;
    }
    const fileFlags = new Map(Object.entries(file).map(([k, v]) => [canonicalFlag(backend, k), v]));
    for (const [flag, v] of flags) {
      const key = canonicalFlag(backend, flag);
      if (key === 'config' || !fileFlags.has(key)) continue;
      const inFile = fileFlags.get(key);
      if (isObj(inFile) || Array.isArray(inFile) || sameValue(v, inFile)) continue;
      problems.push({
        path: where,
        code: 'DGD_ENGINE_FILE_CONFLICT',
        message: `component "${c.name}" passes --${flag} ${v} but its engine file ${ref.configMap}/${ref.key} sets ${key}: ${JSON.stringify(inFile)}; the flag wins, so the file's value has no effect`,
        hint: `set ${key} in one place only`,
      });
    }
  }
  return problems;
}
