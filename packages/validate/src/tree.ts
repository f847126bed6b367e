/**
 * Cross-object checks over a rendered tree (one `clusters/<c>` or all of `clusters/`): what no per-document schema
 * can see — references between objects, kustomization coverage, GPU fit per node, graph completeness.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { UserError } from '@llm-recipes/errors';
import { toPointer } from './ajv-errors.ts';
import { parse } from 'yaml';
import { dgdComponents, dgdRuleProblems, engineFileConflicts, gpuProducts, isDgd } from './dgd.ts';
import { isKustomizeFile, kustomizationIn, kustomizeKind, kustomizeReferences, nonManifestFiles, patchValueProblems, validateKustomizationShape } from './kustomize.ts';
import { displayPath, loadManifests, type LoadedDocument, type LoadedManifests } from './load.ts';
import { pruneNulls } from './nulls.ts';
import { mergeResults } from './report.ts';
import { findCrdVersion } from './schemas.ts';
import { documentNulls, validateLoaded } from './validate.ts';
import { finishResult, type ValidateOptions, type ValidatedResource, type ValidationProblem, type ValidationResult } from './types.ts';

type Obj = Record<string, unknown>;

export interface ExternalRefs {
  secrets?: readonly string[] | undefined;
  configMaps?: readonly string[] | undefined;
  persistentVolumeClaims?: readonly string[] | undefined;
}

export interface TreeOptions extends ValidateOptions {
  /** Objects that live in the cluster but not in the tree (Secrets above all: never rendered into git). */
  external?: ExternalRefs | undefined;
  /** `nvidia.com/gpu.product` label value → GPUs per node; without it GPU fit is not checked. */
  gpuNodes?: Readonly<Record<string, number>> | undefined;
  /** Longest DGD name; Grove derives `<dgd>-<idx>-<component>` names from it (default 45). */
  maxDgdNameLength?: number | undefined;
  /** Also run the per-document rules that need no schema (nulls, DGD CEL rules): set when kubeconform judged the schemas. */
  documentRules?: boolean | undefined;
  /**
   * Also run the embedded schema pass (what `validateManifests` does) on the same documents, so each file is read
   * and parsed once for both passes; the result is the merge of both.
   */
  schemas?: boolean | undefined;
}

/** What the checks need to know about a tree, read from disk or handed over in memory. */
interface TreeModel {
  roots: string[];
  dirs: string[];
  /** Absolute paths of the YAML files (cluster profiles included). */
  files: string[];
  loaded: LoadedManifests;
  exists: (abs: string) => boolean;
  isDirectory: (abs: string) => boolean;
  /** Whether `dir` is a cluster's directory (objects resolve references and must be unique within it). */
  isClusterDir: (dir: string) => boolean;
}

/** Secrets every recipe references by name and nobody renders (the Hugging Face token). */
export const DEFAULT_EXTERNAL_SECRETS: readonly string[] = ['hf-token-secret'];

export const DEFAULT_MAX_DGD_NAME_LENGTH = 45;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const COMPONENT_NAME = /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$/;
const WORKLOAD_KINDS = new Set(['DynamoGraphDeployment', 'DynamoGraphDeploymentRequest', 'Job', 'CronJob', 'Deployment', 'StatefulSet', 'DaemonSet', 'Pod']);
const CLUSTER_PROFILE = 'cluster.yaml';

type RefKind = 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim';

interface Ref {
  kind: RefKind;
  name: string;
  path: string;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects referenced by name from a workload's spec (volumes, env, envFrom, pull secrets, DGD fields). */
export function findRefs(value: unknown, path: (string | number)[] = []): Ref[] {
  const out: Ref[] = [];
  // one path stack for the whole walk; a pointer is built only for a reference found
  const at = [...path];
  const add = (kind: RefKind, name: unknown, tail: (string | number)[], optional?: unknown) => {
    if (typeof name === 'string' && name !== '' && optional !== true) out.push({ kind, name, path: toPointer([...at, ...tail]) });
  };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        at.push(i);
        walk(node[i]);
        at.pop();
      }
      return;
    }
    if (!isObj(node)) return;
    for (const key in node) {
      if (!Object.hasOwn(node, key)) continue;
      const v = node[key];
      at.push(key);
      if (isObj(v)) {
        if (key === 'configMap' || key === 'configMapKeyRef' || key === 'configMapRef') add('ConfigMap', v['name'], ['name'], v['optional']);
        else if (key === 'secretKeyRef' || key === 'secretRef') add('Secret', v['name'], ['name'], v['optional']);
        else if (key === 'secret') add('Secret', v['secretName'] ?? v['name'], ['secretName' in v ? 'secretName' : 'name'], v['optional']);
        else if (key === 'persistentVolumeClaim') add('PersistentVolumeClaim', v['claimName'], ['claimName']);
      } else if (key === 'pvcName') add('PersistentVolumeClaim', v, []);
      else if (key === 'envFromSecret') add('Secret', v, []);
      else if (key === 'imagePullSecrets' && Array.isArray(v)) v.forEach((s, i) => isObj(s) && add('Secret', s['name'], [i, 'name']));
      if (key !== 'metadata' && key !== 'status') walk(v);
      at.pop();
    }
  };
  walk(value);
  return out;
}

function listTree(dir: string, out: { dirs: string[]; files: string[] }): void {
  out.dirs.push(dir);
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) listTree(full, out);
    else if (/\.ya?ml$/i.test(entry.name)) out.files.push(full);
  }
}

function problem(
  doc: Pick<LoadedDocument, 'file' | 'lineOf'>,
  kind: string,
  name: string,
  p: { path: string; code: string; message: string; hint?: string | undefined; severity?: 'error' | 'warning' },
): ValidationProblem {
  return { kind, name, file: doc.file, path: p.path, line: doc.lineOf(p.path), message: p.message, code: p.code, severity: p.severity ?? 'error', hint: p.hint };
}

function matches(name: string, patterns: readonly string[] | undefined): boolean {
  return (patterns ?? []).some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p === name));
}

function memo<T>(fn: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let v = cache.get(key);
    if (v === undefined && !cache.has(key)) {
      v = fn(key);
      cache.set(key, v);
    }
    return v as T;
  };
}

/** Cross-object checks over one or more trees (files outside a directory only take part in reference checks). */
export async function validateTree(paths: readonly string[], options: TreeOptions = {}): Promise<ValidationResult> {
  const cwd = options.cwd ?? process.cwd();
  const roots = paths.map((p) => resolve(cwd, p));
  const missing = paths.filter((_, i) => !existsSync(roots[i]!));
  if (missing.length > 0) {
    throw new UserError('PATH_NOT_FOUND', `no such file or directory: ${missing.join(', ')}`, {
      hint: 'pass a rendered tree such as clusters/ (run `recipes render` first)',
    });
  }
  const tree = { dirs: [] as string[], files: [] as string[] };
  for (const r of roots) {
    if (statSync(r).isDirectory()) listTree(r, tree);
    else tree.files.push(r);
  }
  const manifestFiles = tree.files.filter((f) => basename(f) !== CLUSTER_PROFILE);
  const exists = memo((abs) => existsSync(abs));
  return checkTree(
    {
      roots,
      dirs: tree.dirs,
      files: tree.files,
      loaded: loadManifests(manifestFiles, cwd),
      exists,
      isDirectory: memo((abs) => exists(abs) && statSync(abs).isDirectory()),
      isClusterDir: (dir) => exists(join(dir, CLUSTER_PROFILE)),
    },
    options,
  );
}

/** A rendered object in memory: its repo-relative file and the documents in it. */
export type RenderedDocuments = ReadonlyMap<string, readonly unknown[]>;

/**
 * Validates a rendered tree that is still in memory (`path → documents`, paths relative to `root`, e.g.
 * `clusters/prod/workloads/x/dgd.yaml`): the schema pass and the cross-object checks, without writing, reading or
 * parsing a file. A `clusters/<name>/` directory is a cluster's scope, as is any directory holding a cluster.yaml
 * on disk. Problems carry no line numbers (there is no text); everything else matches `validateTree` with
 * `schemas: true` over the written files.
 */
export async function validateRendered(files: RenderedDocuments, options: TreeOptions & { root: string }): Promise<ValidationResult> {
  const cwd = options.cwd ?? options.root;
  const root = resolve(cwd, options.root);
  const loaded: LoadedManifests = { documents: [], problems: [], files: [] };
  const abs: string[] = [];
  const dirs = new Set<string>();
  for (const [rel, docs] of files) {
    if (!/\.ya?ml$/i.test(rel)) continue;
    const path = resolve(root, rel);
    abs.push(path);
    for (let d = dirname(path); d.startsWith(root) && !dirs.has(d); d = dirname(d)) dirs.add(d);
    const file = displayPath(path, cwd);
    loaded.files.push(file);
    docs.forEach((content, index) => {
      if (content !== null && content !== undefined) loaded.documents.push({ file, absPath: path, index, content, lineOf: () => undefined });
    });
  }
  const fileSet = new Set(abs);
  const exists = (p: string): boolean => fileSet.has(p) || dirs.has(p);
  const isClusterDir = memo((dir) => {
    const rel = relative(root, dir).split(sep);
    return (rel.length === 2 && rel[0] === 'clusters') || existsSync(join(dir, CLUSTER_PROFILE));
  });
  return checkTree({ roots: [root], dirs: [...dirs].sort(), files: abs.sort(), loaded, exists, isDirectory: (p) => dirs.has(p), isClusterDir }, { ...options, cwd, schemas: options.schemas ?? true });
}

async function checkTree(model: TreeModel, options: TreeOptions): Promise<ValidationResult> {
  const cwd = options.cwd ?? process.cwd();
  const { roots, loaded } = model;
  const tree = { dirs: model.dirs, files: model.files };
  const problems: ValidationProblem[] = [...loaded.problems];
  const byAbs = new Map<string, LoadedDocument[]>();
  for (const d of loaded.documents) if (d.absPath) byAbs.set(d.absPath, [...(byAbs.get(d.absPath) ?? []), d]);

  // scope: objects resolve references and must be unique within their cluster (nearest dir holding cluster.yaml)
  const clusterOf = memo((fileDir: string): string => {
    for (let dir = fileDir; ; dir = dirname(dir)) {
      if (model.isClusterDir(dir)) return dir;
      if (roots.includes(dir) || dirname(dir) === dir) return dir;
    }
  });
  // namespace set by the nearest kustomization.yaml when the object has none
  const kustomizeNamespace = (abs: string): string | undefined => {
    for (let dir = dirname(abs); ; dir = dirname(dir)) {
      for (const d of byAbs.get(join(dir, 'kustomization.yaml')) ?? byAbs.get(join(dir, 'kustomization.yml')) ?? []) {
        if (isObj(d.content) && typeof d.content['namespace'] === 'string') return d.content['namespace'];
      }
      if (roots.includes(dir) || dirname(dir) === dir) return undefined;
    }
  };

  interface Located {
    doc: LoadedDocument;
    obj: Obj;
    kind: string;
    name: string;
    namespace: string | undefined;
    scope: string;
  }
  const objects: Located[] = [];
  // patch files and generator inputs are not objects of the cluster (a patch may even repeat its target's name)
  const inputs = nonManifestFiles(loaded);
  for (const doc of loaded.documents) {
    if (!isObj(doc.content) || isKustomizeFile(doc.file, doc.content) || (doc.absPath && inputs.has(doc.absPath))) continue;
    const obj = doc.content;
    const meta = isObj(obj['metadata']) ? obj['metadata'] : {};
    objects.push({
      doc,
      obj,
      kind: typeof obj['kind'] === 'string' ? obj['kind'] : '',
      name: typeof meta['name'] === 'string' ? meta['name'] : '',
      namespace: typeof meta['namespace'] === 'string' ? meta['namespace'] : doc.absPath ? kustomizeNamespace(doc.absPath) : undefined,
      scope: doc.absPath ? clusterOf(dirname(doc.absPath)) : '',
    });
  }

  // ---- names and duplicates
  const seen = new Map<string, Located>();
  for (const o of objects) {
    if (o.name && !DNS1123_SUBDOMAIN.test(o.name)) {
      problems.push(problem(o.doc, o.kind, o.name, { path: '/metadata/name', code: 'NAME_INVALID', message: `name "${o.name}" is not a DNS-1123 subdomain (lower-case letters, digits, "-" and ".")` }));
    }
    const key = `${o.scope}\0${String(o.obj['apiVersion']).split('/')[0]}\0${o.kind}\0${o.namespace ?? ''}\0${o.name}`;
    const first = seen.get(key);
    if (first && o.name) {
      problems.push(problem(o.doc, o.kind, o.name, { path: '/metadata/name', code: 'DUPLICATE_OBJECT', message: `${o.kind} "${o.name}" is also defined in ${first.doc.file}` }));
    } else seen.set(key, o);
  }

  // ---- provided objects, then references
  const provided = new Map<string, Set<string>>(); // `${scope}\0${kind}\0${name}` → namespaces ('' = unknown)
  const provide = (scope: string, kind: string, name: string, namespace: string | undefined) => {
    const key = `${scope}\0${kind}\0${name}`;
    provided.set(key, (provided.get(key) ?? new Set()).add(namespace ?? ''));
  };
  for (const o of objects) {
    provide(o.scope, o.kind, o.name, o.namespace);
    // v1alpha1 DGD spec.pvcs[] with create: true are created by the operator
    if (isDgd(o.obj) && isObj(o.obj['spec']) && Array.isArray(o.obj['spec']['pvcs'])) {
      for (const pvc of o.obj['spec']['pvcs']) if (isObj(pvc) && pvc['create'] === true && typeof pvc['name'] === 'string') provide(o.scope, 'PersistentVolumeClaim', pvc['name'], o.namespace);
    }
  }
  const externalOf: Record<RefKind, readonly string[] | undefined> = {
    Secret: [...DEFAULT_EXTERNAL_SECRETS, ...(options.external?.secrets ?? [])],
    ConfigMap: options.external?.configMaps,
    PersistentVolumeClaim: options.external?.persistentVolumeClaims,
  };
  for (const o of objects) {
    if (!WORKLOAD_KINDS.has(o.kind)) continue;
    const refs = findRefs(o.obj['spec'], ['spec']);
    if (isDgd(o.obj) && isObj(o.obj['spec']) && Array.isArray(o.obj['spec']['pvcs'])) {
      o.obj['spec']['pvcs'].forEach((pvc, i) => {
        if (isObj(pvc) && pvc['create'] !== true && typeof pvc['name'] === 'string') refs.push({ kind: 'PersistentVolumeClaim', name: pvc['name'], path: toPointer(['spec', 'pvcs', i, 'name']) });
      });
    }
    for (const ref of refs) {
      if (matches(ref.name, externalOf[ref.kind])) continue;
      const namespaces = provided.get(`${o.scope}\0${ref.kind}\0${ref.name}`);
      const found = namespaces && (o.namespace === undefined || namespaces.has('') || namespaces.has(o.namespace));
      if (!found) {
        const flag = ref.kind === 'Secret' ? 'secret' : ref.kind === 'ConfigMap' ? 'configmap' : 'pvc';
        problems.push(
          problem(o.doc, o.kind, o.name, {
            path: ref.path,
            code: 'MISSING_REFERENCE',
            message: `${ref.kind} "${ref.name}" is referenced but not defined in the tree${o.namespace ? ` (namespace ${o.namespace})` : ''}`,
            hint: `render the ${ref.kind} alongside this object, or declare it external (--external ${flag}:${ref.name})`,
          }),
        );
      }
    }
  }

  // ---- DGD graph checks
  const maxName = options.maxDgdNameLength ?? DEFAULT_MAX_DGD_NAME_LENGTH;
  const configMaps = new Map<string, Located>();
  for (const o of objects) if (o.kind === 'ConfigMap' && String(o.obj['apiVersion']) === 'v1') configMaps.set(`${o.scope}\0${o.namespace ?? ''}\0${o.name}`, o);
  // engine files by content: clusters and recipes share them, and the checks only read the parsed value
  const parsedEngineFiles = new Map<string, unknown>();
  for (const o of objects) {
    if (!isDgd(o.obj)) continue;
    // an engine setting given as a flag and, with another value, in the engine file the worker reads
    const engineFile = (name: string, key: string): unknown => {
      const cm = configMaps.get(`${o.scope}\0${o.namespace ?? ''}\0${name}`) ?? [...configMaps.values()].find((x) => x.scope === o.scope && x.name === name);
      const text = isObj(cm?.obj['data']) ? cm.obj['data'][key] : undefined;
      if (typeof text !== 'string') return undefined;
      if (parsedEngineFiles.has(text)) return parsedEngineFiles.get(text);
      let value: unknown;
      try {
        value = parse(text);
      } catch {
        value = undefined;
      }
      parsedEngineFiles.set(text, value);
      return value;
    };
    for (const p of engineFileConflicts(o.obj, engineFile)) problems.push(problem(o.doc, o.kind, o.name, p));
    if (o.name.length > maxName) {
      problems.push(
        problem(o.doc, o.kind, o.name, {
          path: '/metadata/name',
          code: 'DGD_NAME_TOO_LONG',
          message: `DynamoGraphDeployment name is ${o.name.length} characters; Grove allows at most ${maxName}`,
          hint: 'shorten the name (the renderer appends a stable hash when it has to truncate)',
        }),
      );
    }
    const components = dgdComponents(o.obj);
    if (String(o.obj['apiVersion']).endsWith('/v1alpha1')) {
      // map keys: the CRD's v1beta1 name rules apply once converted, so hold v1alpha1 to them too
      const lower = new Map<string, string>();
      for (const c of components) {
        if (!COMPONENT_NAME.test(c.name) || c.name.length > 63) {
          problems.push(problem(o.doc, o.kind, o.name, { path: c.pointer, code: 'COMPONENT_NAME_INVALID', message: `component name "${c.name}" must match ${COMPONENT_NAME.source} and be at most 63 characters` }));
        }
        const prev = lower.get(c.name.toLowerCase());
        if (prev !== undefined) {
          problems.push(problem(o.doc, o.kind, o.name, { path: c.pointer, code: 'COMPONENT_NAME_DUPLICATE', message: `component names must be unique case-insensitively ("${c.name}" repeats "${prev}")` }));
        } else lower.set(c.name.toLowerCase(), c.name);
      }
    }
    const roles = new Set(components.map((c) => c.role));
    if (roles.has('prefill') && !roles.has('decode')) {
      problems.push(
        problem(o.doc, o.kind, o.name, {
          path: '/spec',
          code: 'DISAGG_INCOMPLETE',
          message: 'disaggregated graph has prefill workers but no decode worker',
          hint: 'add a component with type decode (v1beta1) or subComponentType decode (v1alpha1); roles are read from type fields, never names',
        }),
      );
    }
    if (options.gpuNodes) {
      for (const c of components) {
        if (c.gpusPerPod === 0) continue;
        for (const product of gpuProducts(c.podSpec)) {
          const perNode = options.gpuNodes[product];
          if (perNode === undefined) {
            problems.push(
              problem(o.doc, o.kind, o.name, {
                path: c.podSpecPointer,
                code: 'UNKNOWN_GPU_PRODUCT',
                message: `nvidia.com/gpu.product "${product}" is not in the GPU catalog; cannot check GPUs per node`,
                hint: `known products: ${Object.keys(options.gpuNodes).join(', ')}`,
                severity: 'warning',
              }),
            );
          } else if (c.gpusPerPod > perNode) {
            problems.push(
              problem(o.doc, o.kind, o.name, {
                path: c.podSpecPointer,
                code: 'GPU_OVER_NODE',
                message: `component "${c.name}" asks for ${c.gpusPerPod} GPUs per pod but a ${product} node has ${perNode}`,
                hint: 'lower tensor/expert parallelism per pod or span nodes with multinode.nodeCount',
              }),
            );
          }
        }
      }
    }
  }

  // ---- per-document rules that need no schema (when kubeconform judged the schemas)
  if (options.documentRules) {
    for (const o of objects) {
      const crd = findCrdVersion(String(o.obj['apiVersion'] ?? ''), o.kind);
      for (const n of documentNulls(o.obj, false, crd)) problems.push(problem(o.doc, o.kind, o.name, n));
      if (isDgd(o.obj)) for (const p of dgdRuleProblems(pruneNulls(o.obj) as Obj)) problems.push(problem(o.doc, o.kind, o.name, p));
    }
    // kubeconform skips kustomization files: their schema check runs here then
    for (const doc of loaded.documents) {
      if (!isObj(doc.content) || !isKustomizeFile(doc.file, doc.content)) continue;
      const kind = kustomizeKind(doc.content);
      for (const n of documentNulls(doc.content, true, undefined)) problems.push(problem(doc, kind, '', n));
      for (const m of validateKustomizationShape(pruneNulls(doc.content) as Obj)) problems.push(problem(doc, kind, '', m));
    }
  }

  // ---- kustomization coverage
  const filesByDir = new Map<string, string[]>();
  for (const f of tree.files) {
    if (basename(f) === CLUSTER_PROFILE) continue;
    const d = dirname(f);
    const list = filesByDir.get(d);
    if (list) list.push(f);
    else filesByDir.set(d, [f]);
  }
  const kindAt = (dir: string): 'Kustomization' | 'Component' | undefined => {
    const f = kustomizationIn(dir, model.exists);
    if (!f) return undefined;
    const d = byAbs.get(f)?.[0];
    return d && isObj(d.content) ? kustomizeKind(d.content) : 'Kustomization';
  };
  for (const dir of tree.dirs) {
    const kfile = kustomizationIn(dir, model.exists);
    const yamlHere = filesByDir.get(dir) ?? [];
    if (!kfile) {
      if (yamlHere.length > 0) {
        const file = displayPath(dir, cwd);
        problems.push({ kind: '', name: '', file, path: '', message: `directory has ${yamlHere.length} manifest file(s) but no kustomization.yaml`, code: 'KUSTOMIZATION_MISSING', severity: 'warning', hint: 'every rendered directory carries an explicit kustomization.yaml' });
      }
      continue;
    }
    const kdoc = byAbs.get(kfile)?.[0];
    if (!kdoc || !isObj(kdoc.content)) continue;
    const kkind = kustomizeKind(kdoc.content);
    const listed = new Set<string>();
    for (const ref of kustomizeReferences(kfile, kdoc.content)) {
      listed.add(ref.target);
      const field = ref.pointer.split('/')[1] ?? '';
      const entry = field === 'resources' || field === 'bases' ? 'resource' : field === 'components' ? 'component' : ref.role === 'patch' ? 'patch file' : `${field} file`;
      const shown = relative(dir, ref.target) || '.';
      if (!model.exists(ref.target)) {
        problems.push(problem(kdoc, kkind, '', { path: ref.pointer, code: 'KUSTOMIZATION_MISSING_RESOURCE', message: `${entry} "${shown}" does not exist` }));
        continue;
      }
      const isDir = model.isDirectory(ref.target);
      if (ref.role === 'resource' && isDir) {
        const k = kindAt(ref.target);
        if (!k) problems.push(problem(kdoc, kkind, '', { path: ref.pointer, code: 'KUSTOMIZATION_MISSING_RESOURCE', message: `resource "${shown}" is a directory without a kustomization.yaml` }));
        else if (k === 'Component') {
          problems.push(problem(kdoc, kkind, '', { path: ref.pointer, code: 'KUSTOMIZATION_NOT_A_COMPONENT', message: `resource "${shown}" is a Component: kustomize only accepts it under components`, hint: `move "${shown}" from resources to components` }));
        }
      } else if (ref.role === 'component') {
        const k = isDir ? kindAt(ref.target) : undefined;
        if (k !== 'Component') {
          problems.push(
            problem(kdoc, kkind, '', {
              path: ref.pointer,
              code: 'KUSTOMIZATION_NOT_A_COMPONENT',
              message: `component "${shown}" is ${!isDir ? 'a file' : k ? `a ${k}` : 'a directory without a kustomization.yaml'}, not a kustomize Component`,
              hint: 'a components entry is a directory whose kustomization.yaml has kind: Component (apiVersion kustomize.config.k8s.io/v1alpha1)',
            }),
          );
        }
      } else if (ref.role === 'patch' && !isDir) {
        for (const d of byAbs.get(ref.target) ?? []) {
          for (const m of patchValueProblems(d.content, '', ref.patchTarget === true)) problems.push(problem(d, '', '', { ...m, hint: m.hint ?? `patch file named by ${displayPath(kfile, cwd)}${ref.pointer}` }));
        }
      }
    }
    for (const f of yamlHere) {
      if (f === kfile || listed.has(f)) continue;
      problems.push(
        problem(kdoc, kkind, '', {
          path: '/resources',
          code: 'KUSTOMIZATION_UNLISTED_FILE',
          message: `${basename(f)} is in this directory but not listed in resources`,
          hint: `add "${basename(f)}" to resources (or name it as a patch) or move the file out of the tree`,
        }),
      );
    }
  }

  const failed = new Set(problems.filter((p) => p.severity === 'error').map((p) => `${p.file}\0${p.kind}\0${p.name}`));
  const resources: ValidatedResource[] = objects.map((o) => ({
    file: o.doc.file,
    index: o.doc.index,
    apiVersion: String(o.obj['apiVersion'] ?? ''),
    kind: o.kind,
    name: o.name,
    status: failed.has(`${o.doc.file}\0${o.kind}\0${o.name}`) ? 'invalid' : 'valid',
  }));
  const result = finishResult('embedded', problems, resources, loaded.files.length);
  return options.schemas ? mergeResults(await validateLoaded(loaded, options), result) : result;
}
