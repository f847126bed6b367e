/** One problem in one object of one file. */
export interface ValidationProblem {
  /** Object kind (`DynamoGraphDeployment`), or '' when the document has none. */
  kind: string;
  /** `metadata.name`, or '' when the document has none. */
  name: string;
  /** File as given (relative paths stay relative). */
  file: string;
  /** JSON pointer into the document, e.g. `/spec/components/0/name`; '' for the whole document. */
  path: string;
  /** 1-based line of `path` in `file`, when the document came from a file. */
  line?: number | undefined;
  message: string;
  /** Stable machine-readable code, e.g. `UNKNOWN_FIELD`, `NULL_VALUE`, `CEL_UNIQUE_COMPONENT_NAMES`. */
  code: string;
  severity: 'error' | 'warning';
  hint?: string | undefined;
}

/** Which engine judged the schemas. */
export type ValidatorName = 'embedded' | 'kubeconform';

export interface ValidatedResource {
  file: string;
  /** 0-based index of the document in a multi-document file. */
  index: number;
  apiVersion: string;
  kind: string;
  name: string;
  status: 'valid' | 'invalid' | 'skipped';
}

export interface ValidationResult {
  /** No errors (warnings allowed). */
  ok: boolean;
  validator: ValidatorName;
  problems: ValidationProblem[];
  resources: ValidatedResource[];
  summary: { files: number; resources: number; errors: number; warnings: number; skipped: number };
}

/** A document given in memory instead of by path. */
export interface ManifestDocument {
  file: string;
  /** The parsed YAML/JSON object. */
  content: unknown;
  index?: number | undefined;
}

export interface ValidateOptions {
  /**
   * Kinds validated elsewhere (e.g. by their operator); accepted without schema checks. Entries are `Kind`,
   * `group/version/Kind` or `group/*` (e.g. `grove.io/*`).
   */
  externalKinds?: readonly string[] | undefined;
  /** Base for relative paths in problems (default: process.cwd()). */
  cwd?: string | undefined;
}

export function finishResult(
  validator: ValidatorName,
  problems: ValidationProblem[],
  resources: ValidatedResource[],
  files: number,
): ValidationResult {
  const errors = problems.filter((p) => p.severity === 'error').length;
  return {
    ok: errors === 0,
    validator,
    problems,
    resources,
    summary: {
      files,
      resources: resources.length,
      errors,
      warnings: problems.length - errors,
      skipped: resources.filter((r) => r.status === 'skipped').length,
    },
  };
}
