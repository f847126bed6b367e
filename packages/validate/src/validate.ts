import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '@llm-recipes/errors';
import { schemaMessages, toPointer } from './ajv-errors.ts';
import { isBuiltinKind, validateBuiltin } from './builtin.ts';
import { dgdRuleProblems, isDgd } from './dgd.ts';
import { validateKustomizationShape, isKustomizeFile } from './kustomize.ts';
import { loadManifests, type LoadedDocument, type LoadedManifests } from './load.ts';
import { crdValidator, findCrdVersion, loadCrdSchemas } from './schemas.ts';
import { finishResult, type ManifestDocument, type ValidateOptions, type ValidatedResource, type ValidationProblem, type ValidationResult } from './types.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether a value holds a null anywhere (no allocation: the common case, checked first). */
function hasNull(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const v of value) if (hasNull(v)) return true;
    return false;
  }
  for (const k in value) if (hasNull((value as Obj)[k])) return true;
  return false;
}

/** Pointers of every explicit null; the renderer must never emit one (the API server would prune it silently). */
export function findNulls(value: unknown, path: (string | number)[] = []): string[] {
  if (path.length === 0 && !hasNull(value)) return [];
  if (value === null) return [toPointer(path)];
  if (Array.isArray(value)) return value.flatMap((v, i) => findNulls(v, [...path, i]));
  if (isObj(value)) return Object.entries(value).flatMap(([k, v]) => findNulls(v, [...path, k]));
  return [];
}

/** A copy without nulls, as the API server sees it after pruning. */
export function pruneNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== null).map(pruneNulls);
  if (isObj(value)) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = pruneNulls(v);
    return out;
  }
  return value;
}

/** Whether `apiVersion`/`kind` is declared external: `Kind`, `group/version/Kind`, `version/Kind` or `group/*`. */
export function isExternalKind(apiVersion: string, kind: string, external: readonly string[] = []): boolean {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return external.some((e) => e === kind || e === `${apiVersion}/${kind}` || (e.endsWith('/*') && e.slice(0, -2) === group));
}

function problemFor(doc: LoadedDocument, kind: string, name: string) {
  return (p: { path: string; code: string; message: string; hint?: string | undefined; severity?: 'error' | 'warning' }): ValidationProblem => ({
    kind,
    name,
    file: doc.file,
    path: p.path,
    line: doc.lineOf(p.path),
    message: p.message,
    code: p.code,
    severity: p.severity ?? 'error',
    hint: p.hint,
  });
}

async function validateDocument(doc: LoadedDocument, options: ValidateOptions, problems: ValidationProblem[]): Promise<ValidatedResource> {
  const content = doc.content;
  const before = problems.length;
  const resource = (apiVersion: string, kind: string, name: string, status: ValidatedResource['status']): ValidatedResource => ({
    file: doc.file,
    index: doc.index,
    apiVersion,
    kind,
    name,
    status: status === 'valid' && problems.slice(before).some((p) => p.severity === 'error') ? 'invalid' : status,
  });

  if (!isObj(content)) {
    problems.push(problemFor(doc, '', '')({ path: '', code: 'NOT_AN_OBJECT', message: `document ${doc.index + 1} is a ${Array.isArray(content) ? 'list' : typeof content}, not a Kubernetes object` }));
    return resource('', '', '', 'invalid');
  }
  const apiVersion = typeof content['apiVersion'] === 'string' ? content['apiVersion'] : '';
  const kind = typeof content['kind'] === 'string' ? content['kind'] : '';
  const metadata = isObj(content['metadata']) ? content['metadata'] : {};
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : '';
  const report = problemFor(doc, kind, name);

  const nullPaths = findNulls(content);
  for (const path of nullPaths) {
    problems.push(report({ path, code: 'NULL_VALUE', message: 'explicit null', hint: 'omit the field instead of setting it to null (the API server prunes nulls, so the intent is lost)' }));
  }
  // validators never modify their input; copy only when there are nulls to prune
  const pruned = (nullPaths.length > 0 ? pruneNulls(content) : content) as Obj;

  if (isKustomizeFile(doc.file, pruned)) {
    for (const m of validateKustomizationShape(pruned)) problems.push(report(m));
    return resource(apiVersion, kind || 'Kustomization', name, 'valid');
  }

  if (!apiVersion || !kind) {
    problems.push(report({ path: apiVersion ? '/kind' : '/apiVersion', code: 'MISSING_TYPE_META', message: `missing ${apiVersion ? 'kind' : 'apiVersion'}` }));
    return resource(apiVersion, kind, name, 'invalid');
  }
  if (!name) {
    problems.push(report({ path: '/metadata/name', code: 'REQUIRED_FIELD', message: 'missing required field "metadata.name"' }));
  }

  const crd = findCrdVersion(apiVersion, kind);
  if (crd) {
    if (crd.deprecated) {
      problems.push(report({ path: '/apiVersion', code: 'DEPRECATED_API', message: `${apiVersion} ${kind} is deprecated by the CRD`, severity: 'warning', hint: 'render the v1beta1 form unless the cluster only serves v1alpha1' }));
    }
    const validate = crdValidator(crd);
    if (!validate(pruned)) for (const m of schemaMessages(validate.errors ?? [], pruned)) problems.push(report(m));
    if (isDgd(pruned)) for (const m of dgdRuleProblems(pruned)) problems.push(report(m));
    return resource(apiVersion, kind, name, 'valid');
  }
  if (isBuiltinKind(apiVersion, kind)) {
    const errors = await validateBuiltin(apiVersion, kind, pruned);
    for (const m of schemaMessages(errors, pruned)) problems.push(report(m));
    return resource(apiVersion, kind, name, 'valid');
  }
  if (isExternalKind(apiVersion, kind, options.externalKinds)) return resource(apiVersion, kind, name, 'skipped');

  const sameKind = loadCrdSchemas().filter((v) => v.kind === kind).map((v) => v.apiVersion);
  problems.push(
    report({
      path: '/apiVersion',
      code: 'UNKNOWN_KIND',
      message: `no schema for ${apiVersion} ${kind}`,
      hint: sameKind.length > 0 ? `${kind} is known as ${sameKind.join(' or ')}` : 'declare it external (--external-kind) if another tool validates it',
    }),
  );
  return resource(apiVersion, kind, name, 'invalid');
}

/**
 * Validates manifests (files, directories or in-memory documents) against the vendored CRD schemas, the
 * Kubernetes/Flux/Argo CD/prometheus-operator validators and the DGD CEL rules; returns every problem at once.
 */
export async function validateManifests(inputs: readonly (string | ManifestDocument)[], options: ValidateOptions = {}): Promise<ValidationResult> {
  const cwd = options.cwd ?? process.cwd();
  const missing = inputs.filter((i): i is string => typeof i === 'string' && !existsSync(resolve(cwd, i)));
  if (missing.length > 0) {
    throw new UserError('PATH_NOT_FOUND', `no such file or directory: ${missing.join(', ')}`, {
      hint: 'pass a rendered tree such as clusters/ (run `recipes render` first)',
    });
  }
  return validateLoaded(loadManifests(inputs, cwd), options);
}

/** The schema pass over documents already read (shared with the tree pass, so each file is parsed once). */
export async function validateLoaded(loaded: LoadedManifests, options: ValidateOptions = {}): Promise<ValidationResult> {
  const problems = [...loaded.problems];
  const resources: ValidatedResource[] = [];
  for (const doc of loaded.documents) resources.push(await validateDocument(doc, options, problems));
  return finishResult('embedded', problems, resources, loaded.files.length);
}
