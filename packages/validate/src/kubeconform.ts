/**
 * Runs kubeconform (https://github.com/yannh/kubeconform) over manifest files with the schemas generated from
 * the vendored CRDs and maps its JSON output onto the embedded validator's result shape.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { ExitCode, UserError } from '@llm-recipes/errors';
import { ensureSchemaDir } from './schemas.ts';
import { parseManifestText, type LoadedManifests } from './load.ts';
import { kustomizeInputsUnder } from './kustomize.ts';
import { isExternalKind, missingSchema } from './validate.ts';
import { finishResult, type ValidatedResource, type ValidationProblem, type ValidationResult } from './types.ts';

/** datreeio/CRDs-catalog: JSON Schemas for Flux, Argo CD and prometheus-operator kinds (not for nvidia.com DGDs). */
export const CRDS_CATALOG_LOCATION = 'https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json';

export interface KubeconformOptions {
  /** Path of the kubeconform binary (default: `kubeconform` found on PATH). */
  binary?: string | undefined;
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Directory of generated CRD schemas (default: the cache dir, generated on demand). */
  schemaDir?: string | undefined;
  /** Kinds accepted without a schema (`Kind` or `apiVersion/Kind`), passed as `-skip`. */
  externalKinds?: readonly string[] | undefined;
  /** e.g. `1.31.0`; kubeconform's default is `master`. */
  kubernetesVersion?: string | undefined;
  /** Also look up Flux/Argo/monitoring kinds in the CRDs catalog (needs network); default true. */
  catalog?: boolean | undefined;
  /**
   * Files kubeconform must not read as manifests (patch files, generator inputs), as paths relative to `cwd`.
   * Default: what the kustomizations under the given paths name as patches and inputs.
   */
  ignoreFiles?: readonly string[] | undefined;
}

/** How a resource without a schema is reported: see `missingSchema` (an error for typos, else a warning). */
export type MissingSchemaVerdict = Awaited<ReturnType<typeof missingSchema>>;

/** kubeconform's `-output json` document (pkg/output/json.go). */
export interface KubeconformOutput {
  resources?: {
    filename: string;
    kind: string;
    name: string;
    version: string;
    status: 'statusValid' | 'statusInvalid' | 'statusError' | 'statusSkipped' | 'statusEmpty';
    msg?: string;
    validationErrors?: { path: string; msg: string }[] | null;
  }[];
  summary?: { valid: number; invalid: number; errors: number; skipped: number };
}

/** The first executable `kubeconform` on PATH, or undefined. */
export function findKubeconform(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, process.platform === 'win32' ? 'kubeconform.exe' : 'kubeconform');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The command line used (exported so docs and CI stay in step with the code). */
export function kubeconformArgs(paths: readonly string[], schemaDir: string, options: Pick<KubeconformOptions, 'externalKinds' | 'kubernetesVersion' | 'catalog' | 'ignoreFiles'> = {}): string[] {
  const args = ['-strict', '-summary', '-verbose', '-output', 'json'];
  args.push('-schema-location', 'default');
  args.push('-schema-location', `${schemaDir}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`);
  if (options.catalog !== false) args.push('-schema-location', CRDS_CATALOG_LOCATION);
  // kustomize files and cluster profiles are not Kubernetes objects
  args.push('-ignore-filename-pattern', String.raw`(^|/)kustomization\.ya?ml$`);
  args.push('-ignore-filename-pattern', String.raw`(^|/)cluster\.yaml$`);
  // patches and generator inputs named by a kustomization are not manifests
  for (const f of options.ignoreFiles ?? []) args.push('-ignore-filename-pattern', `(^|/)${f.replace(/^\.\//, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const skip = (options.externalKinds ?? []).filter((k) => !k.endsWith('/*'));
  if (skip.length > 0) args.push('-skip', skip.join(','));
  if (options.kubernetesVersion) args.push('-kubernetes-version', options.kubernetesVersion);
  args.push(...paths);
  return args;
}

function codeOf(msg: string): string {
  if (/additionalProperties|additional propert/i.test(msg)) return 'UNKNOWN_FIELD';
  if (/missing propert/i.test(msg)) return 'REQUIRED_FIELD';
  if (/expected .* but got|got .*, want/i.test(msg)) return 'TYPE_MISMATCH';
  if (/must be one of|value must be/i.test(msg)) return 'ENUM';
  if (/does not match pattern/i.test(msg)) return 'PATTERN';
  return 'SCHEMA';
}

/** Maps kubeconform's JSON output to a ValidationResult; lines are looked up in the files it names. */
export function parseKubeconformOutput(
  output: KubeconformOutput,
  cwd: string,
  files: number,
  externalKinds: readonly string[] = [],
  missing: ReadonlyMap<string, MissingSchemaVerdict> = new Map(),
): ValidationResult {
  const problems: ValidationProblem[] = [];
  const resources: ValidatedResource[] = [];
  const parsed = new Map<string, LoadedManifests>();
  const lineOf = (file: string, kind: string, name: string, path: string): number | undefined => {
    let m = parsed.get(file);
    if (!m) {
      m = { documents: [], problems: [], files: [] };
      const abs = resolve(cwd, file);
      if (existsSync(abs)) parseManifestText(readFileSync(abs, 'utf8'), file, abs, m);
      parsed.set(file, m);
    }
    const doc = m.documents.find((d) => {
      const c = d.content as { kind?: unknown; metadata?: { name?: unknown } } | null;
      return c?.kind === kind && c.metadata?.name === name;
    });
    return doc?.lineOf(path.startsWith('/') || path === '' ? path : `/${path}`);
  };
  const counts = new Map<string, number>();
  for (const r of output.resources ?? []) {
    if (r.status === 'statusEmpty') continue;
    const index = counts.get(r.filename) ?? 0;
    counts.set(r.filename, index + 1);
    const base = { kind: r.kind, name: r.name, file: r.filename };
    // `-skip` cannot express `group/*`: a declared-external kind without a schema counts as skipped
    const external = r.status === 'statusError' && /could not find schema/i.test(r.msg ?? '') && isExternalKind(r.version, r.kind, externalKinds);
    if (r.status === 'statusInvalid') {
      const errors = r.validationErrors ?? [];
      if (errors.length === 0) problems.push({ ...base, path: '', line: lineOf(r.filename, r.kind, r.name, ''), message: r.msg ?? 'invalid', code: 'SCHEMA', severity: 'error' });
      for (const e of errors) {
        problems.push({ ...base, path: e.path, line: lineOf(r.filename, r.kind, r.name, e.path), message: e.msg, code: codeOf(e.msg), severity: 'error' });
      }
    }
    // a kind without a schema anywhere: judged as the embedded validator judges it (missingSchema)
    const noSchema = r.status === 'statusError' && !external && /could not find schema/i.test(r.msg ?? '') ? missing.get(`${r.version}\0${r.kind}`) : undefined;
    if (noSchema) {
      problems.push({ ...base, path: noSchema.path, line: lineOf(r.filename, r.kind, r.name, noSchema.path), message: noSchema.message, code: noSchema.code, severity: noSchema.severity, hint: noSchema.hint });
    } else if (r.status === 'statusError' && !external) {
      const missingSchema = /could not find schema/i.test(r.msg ?? '');
      problems.push({
        ...base,
        path: '',
        line: lineOf(r.filename, r.kind, r.name, ''),
        message: r.msg ?? 'kubeconform could not validate this resource',
        code: missingSchema ? 'UNKNOWN_KIND' : 'KUBECONFORM_ERROR',
        severity: 'error',
        hint: missingSchema ? 'declare the kind external (--external-kind) or add its CRD' : undefined,
      });
    }
    resources.push({
      file: r.filename,
      index,
      apiVersion: r.version,
      kind: r.kind,
      name: r.name,
      status:
        r.status === 'statusValid' ? 'valid' : r.status === 'statusSkipped' || external || (noSchema && noSchema.severity === 'warning') ? 'skipped' : 'invalid',
    });
  }
  return finishResult('kubeconform', problems, resources, files);
}

/**
 * Runs kubeconform over `paths`. Exit 0 (all valid) and 1 (invalid or errors) both carry a JSON report; any other
 * exit, or output that is not kubeconform's JSON, is a KUBECONFORM_FAILED error naming the binary and its stderr.
 */
export async function runKubeconform(paths: readonly string[], options: KubeconformOptions = {}): Promise<ValidationResult> {
  const env = options.env ?? process.env;
  const binary = options.binary ?? findKubeconform(env);
  if (!binary) {
    throw new UserError('KUBECONFORM_NOT_FOUND', 'kubeconform is not on PATH', {
      hint: 'install it (https://github.com/yannh/kubeconform/releases) or pass --kubeconform PATH; --embedded uses the built-in validator',
    });
  }
  const cwd = options.cwd ?? process.cwd();
  const schemaDir = options.schemaDir ?? ensureSchemaDir();
  const ignoreFiles = options.ignoreFiles ?? kustomizeInputsUnder(paths, cwd);
  const args = kubeconformArgs(paths, schemaDir, { ...options, ignoreFiles });
  // execa (≈110 modules) only when kubeconform actually runs: the embedded validator does not need it
  const { execa } = await import('execa');
  const child = await execa(binary, args, { cwd, env, reject: false, stripFinalNewline: false });
  const fail = (why: string) =>
    new UserError('KUBECONFORM_FAILED', `${binary} ${why}${child.stderr ? `:\n${String(child.stderr).trim()}` : ''}`, {
      exitCode: ExitCode.Internal,
      hint: 'run the same command by hand with -output text to see what it says',
    });
  if (child.failed && child.exitCode === undefined) throw fail(`could not be started (${child.shortMessage})`);
  if (child.exitCode !== 0 && child.exitCode !== 1) throw fail(`exited with code ${child.exitCode}`);
  let output: KubeconformOutput;
  try {
    output = JSON.parse(String(child.stdout)) as KubeconformOutput;
  } catch {
    throw fail('did not print a JSON report');
  }
  if (!output || typeof output !== 'object' || (!Array.isArray(output.resources) && output.summary === undefined)) throw fail('printed JSON that is not a kubeconform report');
  const files = new Set((output.resources ?? []).map((r) => r.filename)).size;
  const missing = new Map<string, MissingSchemaVerdict>();
  for (const r of output.resources ?? []) {
    const key = `${r.version}\0${r.kind}`;
    if (r.status === 'statusError' && /could not find schema/i.test(r.msg ?? '') && !missing.has(key)) missing.set(key, await missingSchema(r.version, r.kind));
  }
  const result = parseKubeconformOutput(output, cwd, files, options.externalKinds, missing);
  if (child.exitCode === 1 && result.ok) throw fail('exited 1 but reported no invalid resource');
  return result;
}
