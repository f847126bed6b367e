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
