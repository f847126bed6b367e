import type { ValidationProblem, ValidationResult } from './types.ts';
import { finishResult } from './types.ts';

/** Merges a schema result with cross-object results; the schema validator's name is kept. */
export function mergeResults(primary: ValidationResult, ...others: ValidationResult[]): ValidationResult {
  const problems = [...primary.problems];
  const seen = new Set(problems.map(problemKey));
  for (const r of others) {
    for (const p of r.problems) {
      const key = problemKey(p);
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(p);
      }
    }
  }
  problems.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || a.path.localeCompare(b.path));
  return finishResult(primary.validator, problems, primary.resources, primary.summary.files);
}

function problemKey(p: ValidationProblem): string {
  return `${p.file}\0${p.kind}\0${p.name}\0${p.path}\0${p.code}\0${p.message}`;
}

/** Human report: problems grouped by file, then a one-line summary naming the validator that ran. */
export function formatReport(result: ValidationResult, color: { red: (s: string) => string; yellow: (s: string) => string; bold: (s: string) => string; dim: (s: string) => string } = plain): string {
  const lines: string[] = [];
  const byFile = new Map<string, ValidationProblem[]>();
  for (const p of result.problems) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
  for (const [file, problems] of byFile) {
    lines.push(color.bold(file));
    for (const p of problems) {
      const mark = p.severity === 'error' ? color.red('✖') : color.yellow('⚠');
      const where = p.line !== undefined ? `${p.line}` : '-';
      const obj = p.kind || p.name ? `${p.kind}${p.name ? `/${p.name}` : ''} ` : '';
      lines.push(`  ${where.padStart(4)} ${mark} ${obj}${p.path ? `${p.path}: ` : ''}${p.message} ${color.dim(`[${p.code}]`)}`);
      if (p.hint) lines.push(`       ${color.dim(`hint: ${p.hint}`)}`);
    }
    lines.push('');
  }
  const s = result.summary;
  lines.push(
    `${result.ok ? 'valid' : 'invalid'}: ${s.resources} resource${s.resources === 1 ? '' : 's'} in ${s.files} file${s.files === 1 ? '' : 's'} — ` +
      `${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}, ${s.skipped} skipped (schemas: ${result.validator})`,
  );
  return `${lines.join('\n')}\n`;
}

const id = (s: string) => s;
const plain = { red: id, yellow: id, bold: id, dim: id };
