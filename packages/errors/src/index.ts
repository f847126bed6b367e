/** Exit codes shared by every command (DESIGN §7). */
export const ExitCode = {
  Ok: 0,
  CheckFailed: 1,
  Usage: 2,
  Internal: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorOptions {
  hint?: string | undefined;
  cause?: unknown;
}

/** Base of every error the product raises on purpose; the CLI prints these without a stack. */
export class UserError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, options: ErrorOptions & { exitCode?: ExitCode } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.Usage;
  }
}

/** A check ran and found problems (drift, invalid manifests, SLA unmet): exit 1. */
export class CheckFailedError extends UserError {
  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(code, message, { ...options, exitCode: ExitCode.CheckFailed });
  }
}

/** One problem found in an input file, positioned for an editor jump. */
export interface Issue {
  code: string;
  file: string;
  path: (string | number)[];
  line?: number | undefined;
  col?: number | undefined;
  message: string;
  hint?: string | undefined;
  severity?: 'error' | 'warning' | undefined;
}

/** Formats an issue as `file:line:col ✖ message → at a.b.c — hint: …`. */
export function formatIssue(issue: Issue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.col ?? 1}`;
  const mark = issue.severity === 'warning' ? '⚠' : '✖';
  const at = issue.path.length > 0 ? ` → at ${formatPath(issue.path)}` : '';
  const hint = issue.hint ? ` — hint: ${issue.hint}` : '';
  return `${where} ${mark} ${issue.message}${at}${hint}`;
}

/** `['a', 0, 'b']` → `a[0].b`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

/** Input files had problems; carries all of them at once so the user fixes everything in one pass. */
export class InvalidInputError extends UserError {
  readonly issues: Issue[];

  constructor(issues: Issue[], options: ErrorOptions = {}) {
    const errors = issues.filter((i) => i.severity !== 'warning');
    super(
      'INVALID_INPUT',
      `${errors.length} problem${errors.length === 1 ? '' : 's'} found:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
      { ...options, exitCode: ExitCode.Usage },
    );
    this.issues = issues;
  }
}
