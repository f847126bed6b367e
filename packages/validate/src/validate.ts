import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '@llm-recipes/errors';
import { schemaMessages, toPointer } from './ajv-errors.ts';
import { isBuiltinKind, isKubernetesGroupVersion, validateBuiltin } from './builtin.ts';
import { dgdRuleProblems, isDgd } from './dgd.ts';
import { validateKustomizationShape, isKustomizeFile, kustomizeKind, nonManifestFiles } from './kustomize.ts';
import { loadManifests, type LoadedDocument, type LoadedManifests } from './load.ts';
import { hasNull, nullFindings, pruneNulls } from './nulls.ts';
import type { CrdVersion } from './crds.ts';
import { crdValidator, findCrdVersion, loadCrdSchemas } from './schemas.ts';
import { finishResult, type ManifestDocument, type ValidateOptions, type ValidatedResource, type ValidationProblem, type ValidationResult } from './types.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Pointers of every explicit null field, schema-blind (the null check proper is `nullFindings`). */
export function findNulls(value: unknown, path: (string | number)[] = []): string[] {
  if (path.length === 0 && !hasNull(value)) return [];
  if (value === null) return [toPointer(path)];
  if (Array.isArray(value)) return value.flatMap((v, i) => findNulls(v, [...path, i]));
  if (isObj(value)) return Object.entries(value).flatMap(([k, v]) => findNulls(v, [...path, k]));
  return [];
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

  const crd = apiVersion && kind ? findCrdVersion(apiVersion, kind) : undefined;
  const kustomize = isKustomizeFile(doc.file, content);
  for (const n of documentNulls(content, kustomize, crd)) problems.push(report(n));
  // built-in validators and the DGD rules see the object as the API server stores it: null fields dropped
  const pruned = (hasNull(content) ? pruneNulls(content) : content) as Obj;

  if (kustomize) {
    for (const m of validateKustomizationShape(pruned)) problems.push(report(m));
    return resource(apiVersion, kind || kustomizeKind(pruned), name, 'valid');
  }

  if (!apiVersion || !kind) {
    problems.push(report({ path: apiVersion ? '/kind' : '/apiVersion', code: 'MISSING_TYPE_META', message: `missing ${apiVersion ? 'kind' : 'apiVersion'}` }));
    return resource(apiVersion, kind, name, 'invalid');
  }
  if (!name) {
    problems.push(report({ path: '/metadata/name', code: 'REQUIRED_FIELD', message: 'missing required field "metadata.name"' }));
  }

  if (crd) {
    if (crd.deprecated) {
      problems.push(report({ path: '/apiVersion', code: 'DEPRECATED_API', message: `${apiVersion} ${kind} is deprecated by the CRD`, severity: 'warning', hint: 'render the v1beta1 form unless the cluster only serves v1alpha1' }));
    }
    // the converted schema accepts null fields as the API server does (it prunes them): the same verdict
    // kubeconform reaches with the same schema file
    const validate = crdValidator(crd);
    if (!validate(content)) for (const m of schemaMessages(validate.errors ?? [], content)) problems.push(report(m));
    if (isDgd(pruned)) for (const m of dgdRuleProblems(pruned)) problems.push(report(m));
    return resource(apiVersion, kind, name, 'valid');
  }
  if (await isBuiltinKind(apiVersion, kind)) {
    const errors = await validateBuiltin(apiVersion, kind, pruned);
    for (const m of schemaMessages(errors, pruned)) problems.push(report(m));
    return resource(apiVersion, kind, name, 'valid');
  }
  if (isExternalKind(apiVersion, kind, options.externalKinds)) return resource(apiVersion, kind, name, 'skipped');

  const missing = await missingSchema(apiVersion, kind);
  problems.push(report(missing));
  return resource(apiVersion, kind, name, missing.severity === 'error' ? 'invalid' : 'skipped');
}

/** The null findings of one document: against its CRD schema, as a built-in kind, or as a kustomize file. */
export function documentNulls(content: unknown, kustomize: boolean, crd: CrdVersion | undefined) {
  return nullFindings(content, kustomize ? 'kustomize' : { schema: crd?.schema });
}

/**
 * What a kind without a schema means. A version our CRDs do not serve, or a kind missing from a Kubernetes API
 * group/version, is an error (the API server would reject it: most often a typo). Any other kind is a CRD whose
 * schema is not here: a warning, and the object is skipped, like kubeconform's `-ignore-missing-schemas`.
 */
export async function missingSchema(apiVersion: string, kind: string): Promise<{ path: string; code: string; message: string; hint: string; severity: 'error' | 'warning' }> {
  const sameKind = loadCrdSchemas().filter((v) => v.kind === kind).map((v) => v.apiVersion);
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  if (sameKind.length > 0 && loadCrdSchemas().some((v) => v.group === group)) {
    return { path: '/apiVersion', code: 'UNKNOWN_KIND', message: `no schema for ${apiVersion} ${kind}`, hint: `${kind} is known as ${sameKind.join(' or ')}`, severity: 'error' };
  }
  if (await isKubernetesGroupVersion(apiVersion)) {
    return {
      path: '/kind',
      code: 'UNKNOWN_KIND',
      message: `Kubernetes ${apiVersion} has no kind ${kind}`,
      hint: 'check the spelling of kind and apiVersion; the schemas are those of Kubernetes v1.36.0',
      severity: 'error',
    };
  }
  return {
    path: '/apiVersion',
    code: 'NO_SCHEMA',
    message: `no schema for ${apiVersion} ${kind}: not validated`,
    hint: 'add its CRD to validate it, or declare it external (--external-kind) if another tool does',
    severity: 'warning',
  };
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
  // patch files and generator inputs named by a kustomization are not manifests
  const inputs = nonManifestFiles(loaded);
  for (const doc of loaded.documents) if (!doc.absPath || !inputs.has(doc.absPath)) resources.push(await validateDocument(doc, options, problems));
  return finishResult('embedded', problems, resources, loaded.files.length);
}
