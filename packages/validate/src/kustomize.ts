/**
 * kustomize's own configuration kinds: `Kustomization` (kustomize.config.k8s.io/v1beta1) and `Component`
 * (kustomize.config.k8s.io/v1alpha1). Both are the same Go struct, `api/types.Kustomization` of kustomize v5.5.0
 * (the kustomize built into kubectl 1.32; kubernetes-sigs/kustomize tag kustomize/v5.5.0, api/types/*.go), which
 * kustomize decodes with `DisallowUnknownFields`: the schema below is closed the same way, so a misspelt field
 * fails here as it fails `kubectl kustomize`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { displayPath, listYamlFiles, type LoadedManifests } from './load.ts';
import { schemaMessages, type SchemaMessage } from './ajv-errors.ts';
import { compileSchema } from './schemas.ts';

export const KUSTOMIZE_API_VERSION = 'kustomize.config.k8s.io/v1beta1';
export const COMPONENT_API_VERSION = 'kustomize.config.k8s.io/v1alpha1';
export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;
const KUSTOMIZATION_FILE = /(^|[\\/])(kustomization\.ya?ml|Kustomization)$/;

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const strings = { type: 'array', items: { type: 'string' } };
const closed = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', additionalProperties: false, properties, ...(required.length > 0 ? { required } : {}) });
// relative paths inside the repository: no absolute paths, no remote URLs (the tree must hold what is applied)
const localPath = { type: 'string', minLength: 1, pattern: '^(?![a-zA-Z][a-zA-Z0-9+.-]*://)(?!/)[^\\s]+$' };
const gvk = { group: { type: 'string' }, version: { type: 'string' }, kind: { type: 'string' } };
const selector = closed({ ...gvk, name: { type: 'string' }, namespace: { type: 'string' }, labelSelector: { type: 'string' }, annotationSelector: { type: 'string' } });
const patch = closed({ path: { type: 'string', minLength: 1 }, patch: { type: 'string', minLength: 1 }, target: selector, options: { type: 'object', additionalProperties: { type: 'boolean' } } });
const generatorOptions = closed({ labels: stringMap, annotations: stringMap, disableNameSuffixHash: { type: 'boolean' }, immutable: { type: 'boolean' } });
const generatorArgs = {
  namespace: { type: 'string' },
  name: { type: 'string' },
  behavior: { enum: ['create', 'replace', 'merge'] },
  literals: strings,
  files: strings,
  envs: strings,
  env: { type: 'string' },
  options: generatorOptions,
};
const fieldOptions = closed({ delimiter: { type: 'string' }, index: { type: 'integer' }, encoding: { type: 'string' }, create: { type: 'boolean' } });
const replacement = closed({
  path: { type: 'string' },
  source: closed({ ...gvk, name: { type: 'string' }, namespace: { type: 'string' }, fieldPath: { type: 'string' }, options: fieldOptions }),
  targets: { type: 'array', items: closed({ select: selector, reject: { type: 'array', items: selector }, fieldPaths: strings, options: fieldOptions }, ['select']) },
});
const image = closed({ name: { type: 'string' }, newName: { type: 'string' }, tagSuffix: { type: 'string' }, newTag: { type: 'string' }, digest: { type: 'string' } });
const fieldSpec = closed({ ...gvk, path: { type: 'string' }, create: { type: 'boolean' } });
const helmChart = closed({
  name: { type: 'string' },
  version: { type: 'string' },
  repo: { type: 'string' },
  releaseName: { type: 'string' },
  namespace: { type: 'string' },
  additionalValuesFiles: strings,
  valuesFile: { type: 'string' },
  valuesInline: { type: 'object' },
  valuesMerge: { type: 'string' },
  includeCRDs: { type: 'boolean' },
  skipHooks: { type: 'boolean' },
  apiVersions: strings,
  kubeVersion: { type: 'string' },
  nameTemplate: { type: 'string' },
  skipTests: { type: 'boolean' },
  debug: { type: 'boolean' },
});

/** `api/types.Kustomization` of kustomize v5.5.0, closed; `apiVersion`/`kind` are optional there (defaulted). */
export const KUSTOMIZATION_SCHEMA = closed({
  // which apiVersion depends on the kind: checked in validateKustomizationShape, with kustomize's message
  apiVersion: { type: 'string' },
  kind: { enum: ['Kustomization', 'Component'] },
  metadata: closed({ name: { type: 'string' }, namespace: { type: 'string' }, labels: stringMap, annotations: stringMap }),
  openapi: stringMap,
  namePrefix: { type: 'string' },
  nameSuffix: { type: 'string' },
  namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
  commonLabels: stringMap,
  labels: { type: 'array', items: closed({ pairs: stringMap, includeSelectors: { type: 'boolean' }, includeTemplates: { type: 'boolean' }, fields: { type: 'array', items: fieldSpec } }) },
  commonAnnotations: stringMap,
  patchesStrategicMerge: { type: 'array', items: { type: 'string', minLength: 1 } },
  patchesJson6902: { type: 'array', items: patch },
  patches: { type: 'array', items: patch },
  images: { type: 'array', items: image },
  imageTags: { type: 'array', items: image },
  replacements: { type: 'array', items: replacement },
  replicas: { type: 'array', items: closed({ name: { type: 'string' }, count: { type: 'integer' } }, ['count']) },
  vars: {
    type: 'array',
    items: closed(
      {
        name: { type: 'string' },
        objref: closed({ apiVersion: { type: 'string' }, ...gvk, name: { type: 'string' }, namespace: { type: 'string' } }, ['name']),
        fieldref: closed({ fieldPath: { type: 'string' } }),
      },
      ['name', 'objref'],
    ),
  },
  sortOptions: closed({ order: { enum: ['legacy', 'fifo'] }, legacySortOptions: closed({ orderFirst: strings, orderLast: strings }, ['orderFirst', 'orderLast']) }),
  resources: { type: 'array', items: localPath, uniqueItems: true },
  components: { type: 'array', items: localPath, uniqueItems: true },
  crds: strings,
  bases: { type: 'array', items: localPath },
  configMapGenerator: { type: 'array', items: closed(generatorArgs) },
  secretGenerator: { type: 'array', items: closed({ ...generatorArgs, type: { type: 'string' } }) },
  helmGlobals: closed({ chartHome: { type: 'string' }, configHome: { type: 'string' } }),
  helmCharts: { type: 'array', items: helmChart },
  helmChartInflationGenerator: { type: 'array', items: { type: 'object' } },
  generatorOptions,
  configurations: strings,
  generators: strings,
  transformers: strings,
  validators: strings,
  buildMetadata: { type: 'array', items: { enum: ['originAnnotations', 'transformerAnnotations', 'managedByLabel'] } },
});

/** Deprecated fields and what kustomize v5.5.0 says to use instead (`Kustomization.CheckDeprecatedFields`). */
const DEPRECATED: Record<string, string> = {
  bases: 'resources',
  imageTags: 'images',
  patchesJson6902: 'patches',
  patchesStrategicMerge: 'patches',
  vars: 'replacements',
};

/** Fields that change the objects beyond namespace and labels: only a kustomize build shows their result. */
export const TRANSFORMING_FIELDS = [
  'patches',
  'patchesStrategicMerge',
  'patchesJson6902',
  'components',
  'images',
  'imageTags',
  'replacements',
  'replicas',
  'vars',
  'namePrefix',
  'nameSuffix',
  'configMapGenerator',
  'secretGenerator',
  'helmCharts',
  'helmChartInflationGenerator',
  'generators',
  'transformers',
] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A kustomize file by name (`kustomization.yaml`) or by apiVersion. */
export function isKustomizeFile(file: string, content: Record<string, unknown>): boolean {
  return KUSTOMIZATION_FILE.test(file) || (typeof content['apiVersion'] === 'string' && content['apiVersion'].startsWith('kustomize.config.k8s.io/'));
}

/** `Component` or `Kustomization` (kustomize's default when `kind` is absent). */
export function kustomizeKind(content: Obj): 'Kustomization' | 'Component' {
  return content['kind'] === 'Component' ? 'Component' : 'Kustomization';
}

/** Whether a kustomization changes objects in ways only a build shows (patches, components, generators…). */
export function isTransforming(content: Obj): boolean {
  return TRANSFORMING_FIELDS.some((f) => content[f] !== undefined);
}

const JSON_PATCH_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'];

/** Whether a patchesStrategicMerge entry is inline YAML rather than a file path (kustomize tries the file first). */
export function isInlinePatch(entry: string): boolean {
  return entry.includes('\n') || /^\s*[{[]/.test(entry) || /^\s*(apiVersion|kind|metadata)\s*:/.test(entry);
}

/**
 * Structural rules for the content of one patch (inline or read from its file): an RFC 6902 JSON patch is a list
 * of operations with a JSON-pointer `path`; a strategic-merge patch is one object (with apiVersion, kind and
 * metadata.name unless a `target` selects what it applies to).
 */
export function patchProblems(text: string, where: string, hasTarget: boolean): SchemaMessage[] {
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true });
  } catch (err) {
    return [{ path: where, code: 'KUSTOMIZE_PATCH_INVALID', message: `patch is not YAML: ${(String((err as Error).message).split('\n')[0] ?? '').replace(/:$/, '')}` }];
  }
  return patchValueProblems(doc, where, hasTarget);
}

/** `patchProblems` for a patch already parsed (a path patch file's document). */
export function patchValueProblems(doc: unknown, where: string, hasTarget: boolean): SchemaMessage[] {
  if (Array.isArray(doc)) {
    const out: SchemaMessage[] = [];
    if (!hasTarget) out.push({ path: where, code: 'KUSTOMIZE_PATCH_INVALID', message: 'a JSON 6902 patch needs a target', hint: 'add target: {group, version, kind, name} to the patch entry' });
    doc.forEach((op, i) => {
      if (!isObj(op) || !JSON_PATCH_OPS.includes(String(op['op']))) {
        out.push({ path: where, code: 'KUSTOMIZE_PATCH_INVALID', message: `operation ${i + 1}: op must be one of ${JSON_PATCH_OPS.join(', ')}; got ${JSON.stringify(isObj(op) ? op['op'] : op)}` });
        return;
      }
      if (typeof op['path'] !== 'string' || !op['path'].startsWith('/')) {
        out.push({ path: where, code: 'KUSTOMIZE_PATCH_INVALID', message: `operation ${i + 1} (${String(op['op'])}): path must be a JSON pointer starting with "/"` });
      }
      if (['add', 'replace', 'test'].includes(String(op['op'])) && !('value' in op)) {
        out.push({ path: where, code: 'KUSTOMIZE_PATCH_INVALID', message: `operation ${i + 1} (${String(op['op'])}): needs a value` });
      }
      if (['move', 'copy'].includes(String(op['op'])) && typeof op['from'] !== 'string') {
        out.push({ path: where, code: 'KUSTOMIZE_PATCH_INVALID', message: `operation ${i + 1} (${String(op['op'])}): needs from` });
      }
    });
    return out;
  }
  if (!isObj(doc)) return [{ path: where, code: 'KUSTOMIZE_PATCH_INVALID', message: 'a patch is a strategic-merge object or a list of JSON 6902 operations' }];
  if (!hasTarget) {
    const meta = isObj(doc['metadata']) ? doc['metadata'] : {};
    const missing = ['apiVersion', 'kind'].filter((k) => typeof doc[k] !== 'string');
    if (typeof meta['name'] !== 'string') missing.push('metadata.name');
    if (missing.length > 0) {
      return [{ path: where, code: 'KUSTOMIZE_PATCH_INVALID', message: `a strategic-merge patch without target needs ${missing.join(', ')} to find the object it patches`, hint: 'add them, or a target selector' }];
    }
  }
  return [];
}

/** Schema problems of one kustomize file (after null fields are dropped), plus kustomize's own pairing rules. */
export function validateKustomizationShape(content: Record<string, unknown>): (SchemaMessage & { severity?: 'warning' })[] {
  const validate = compileSchema('kustomization', KUSTOMIZATION_SCHEMA);
  const out: (SchemaMessage & { severity?: 'warning' })[] = [];
  if (!validate(content)) {
    for (const m of schemaMessages(validate.errors ?? [], content)) {
      out.push(
        m.code === 'PATTERN' && /^\/(resources|components|bases)\//.test(m.path)
          ? { ...m, code: 'KUSTOMIZATION_RESOURCE_PATH', message: `${m.path.split('/')[1]} entries must be relative paths inside the tree; got ${m.message.split('got ')[1] ?? ''}` }
          : m,
      );
    }
  }
  // kustomize's EnforceFields: a Component is v1alpha1, a Kustomization v1beta1
  const kind = kustomizeKind(content);
  const want = kind === 'Component' ? COMPONENT_API_VERSION : KUSTOMIZE_API_VERSION;
  if (typeof content['apiVersion'] === 'string' && content['apiVersion'] !== want && out.every((m) => m.path !== '/apiVersion')) {
    out.push({ path: '/apiVersion', code: 'ENUM', message: `apiVersion for ${kind} should be ${want}; got ${JSON.stringify(content['apiVersion'])}` });
  }
  const patches = [...(Array.isArray(content['patches']) ? content['patches'].map((p, i) => ['patches', i, p] as const) : []), ...(Array.isArray(content['patchesJson6902']) ? content['patchesJson6902'].map((p, i) => ['patchesJson6902', i, p] as const) : [])];
  for (const [field, i, p] of patches) {
    if (!isObj(p)) continue;
    const hasPath = typeof p['path'] === 'string';
    const hasPatch = typeof p['patch'] === 'string';
    if (hasPath === hasPatch) {
      out.push({ path: `/${field}/${i}`, code: 'KUSTOMIZE_PATCH_INVALID', message: hasPath ? 'set either path or patch, not both' : 'a patch needs path (a file) or patch (inline)' });
    } else if (hasPatch) {
      out.push(...patchProblems(String(p['patch']), `/${field}/${i}/patch`, isObj(p['target'])));
    }
  }
  if (Array.isArray(content['patchesStrategicMerge'])) {
    content['patchesStrategicMerge'].forEach((e, i) => {
      if (typeof e === 'string' && isInlinePatch(e)) out.push(...patchProblems(e, `/patchesStrategicMerge/${i}`, false));
    });
  }
  for (const [field, instead] of Object.entries(DEPRECATED)) {
    if (content[field] !== undefined) {
      out.push({ path: `/${field}`, code: 'DEPRECATED_FIELD', message: `${field} is deprecated by kustomize; use ${instead}`, hint: 'kustomize edit fix rewrites it', severity: 'warning' });
    }
  }
  return out;
}

/** A file a kustomization names, with the role it plays. */
export interface KustomizeReference {
  /** JSON pointer of the entry in the kustomization. */
  pointer: string;
  /** Absolute path of the file or directory. */
  target: string;
  role: 'resource' | 'component' | 'patch' | 'input';
  /** Whether the target is a JSON/strategic-merge patch whose content to check (path patches). */
  patchTarget?: boolean | undefined;
}

/**
 * Every file or directory a kustomization names, resolved against its directory: resources and components (which
 * are manifests or kustomizations), patch files, and inputs that are not manifests (generator sources, transformer
 * configs, CRDs given for type information, Helm values, the OpenAPI schema). Remote entries are left out.
 */
export function kustomizeReferences(file: string, content: Obj): KustomizeReference[] {
  const dir = dirname(file);
  const out: KustomizeReference[] = [];
  const local = (p: unknown): p is string => typeof p === 'string' && p !== '' && !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(p) && !p.startsWith('/');
  const list = (field: string, role: KustomizeReference['role']) => {
    const v = content[field];
    if (Array.isArray(v)) v.forEach((p, i) => local(p) && out.push({ pointer: `/${field}/${i}`, target: resolve(dir, p), role }));
  };
  list('resources', 'resource');
  list('bases', 'resource');
  list('components', 'component');
  for (const field of ['patches', 'patchesJson6902'] as const) {
    const v = content[field];
    if (Array.isArray(v)) v.forEach((p, i) => isObj(p) && local(p['path']) && out.push({ pointer: `/${field}/${i}/path`, target: resolve(dir, p['path']), role: 'patch', patchTarget: isObj(p['target']) }));
  }
  const psm = content['patchesStrategicMerge'];
  if (Array.isArray(psm)) psm.forEach((p, i) => local(p) && !isInlinePatch(p) && out.push({ pointer: `/patchesStrategicMerge/${i}`, target: resolve(dir, p), role: 'patch', patchTarget: false }));
  for (const field of ['crds', 'configurations', 'generators', 'transformers', 'validators'] as const) list(field, 'input');
  for (const field of ['configMapGenerator', 'secretGenerator'] as const) {
    const gens = content[field];
    if (!Array.isArray(gens)) continue;
    gens.forEach((g, gi) => {
      if (!isObj(g)) return;
      for (const key of ['files', 'envs'] as const) {
        const v = g[key];
        // files entries may be `key=path`
        if (Array.isArray(v)) v.forEach((p, i) => typeof p === 'string' && local(p.replace(/^[^=]*=/, '')) && out.push({ pointer: `/${field}/${gi}/${key}/${i}`, target: resolve(dir, p.replace(/^[^=]*=/, '')), role: 'input' }));
      }
      if (local(g['env'])) out.push({ pointer: `/${field}/${gi}/env`, target: resolve(dir, g['env']), role: 'input' });
    });
  }
  const charts = content['helmCharts'];
  if (Array.isArray(charts)) {
    charts.forEach((c, ci) => {
      if (!isObj(c)) return;
      if (local(c['valuesFile'])) out.push({ pointer: `/helmCharts/${ci}/valuesFile`, target: resolve(dir, c['valuesFile']), role: 'input' });
      if (Array.isArray(c['additionalValuesFiles'])) c['additionalValuesFiles'].forEach((p, i) => local(p) && out.push({ pointer: `/helmCharts/${ci}/additionalValuesFiles/${i}`, target: resolve(dir, p), role: 'input' }));
    });
  }
  const openapi = content['openapi'];
  if (isObj(openapi) && local(openapi['path'])) out.push({ pointer: '/openapi/path', target: resolve(dir, openapi['path']), role: 'input' });
  return out;
}

/** The kustomization file of a directory, if any (`exists` decides, so it works on disk and in memory). */
export function kustomizationIn(dir: string, exists: (abs: string) => boolean): string | undefined {
  return KUSTOMIZATION_FILES.map((f) => join(dir, f)).find((f) => exists(f));
}

/**
 * Files that kustomizations among `loaded` name as patches or inputs: they are not manifests (a strategic-merge
 * patch is a partial object, a JSON patch a list, a generator source any text) and are not validated as such.
 */
export function nonManifestFiles(loaded: Pick<LoadedManifests, 'documents'>): Set<string> {
  const out = new Set<string>();
  for (const d of loaded.documents) {
    if (!d.absPath || !isObj(d.content) || !isKustomizeFile(d.file, d.content)) continue;
    for (const ref of kustomizeReferences(d.absPath, d.content)) if (ref.role === 'patch' || ref.role === 'input') out.add(ref.target);
  }
  return out;
}

/** The kustomization files under `paths` (absolute), found by name without reading any other file. */
export function kustomizationFilesUnder(paths: readonly string[], cwd: string): string[] {
  const out: string[] = [];
  for (const p of paths) {
    try {
      out.push(...listYamlFiles(resolve(cwd, p)).filter((f) => KUSTOMIZATION_FILE.test(f)));
    } catch {
      // a missing path is reported by the schema pass
    }
  }
  return out;
}

/**
 * Patch and input files named by the kustomization files under `paths` (relative to `cwd` when under it), for
 * tools that read a tree on their own (kubeconform): only the kustomization files are read and parsed.
 */
export function kustomizeInputsUnder(paths: readonly string[], cwd: string): string[] {
  const out = new Set<string>();
  for (const f of kustomizationFilesUnder(paths, cwd)) {
    let content: unknown;
    try {
      content = parse(readFileSync(f, 'utf8'));
    } catch {
      continue; // the schema pass reports the syntax error
    }
    if (!isObj(content)) continue;
    for (const ref of kustomizeReferences(f, content)) if (ref.role === 'patch' || ref.role === 'input') out.add(displayPath(ref.target, cwd));
  }
  return [...out].sort();
}
