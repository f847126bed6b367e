import type { BenchRow } from './types.ts';

/** Renders rows as an aligned plain-text table (readable in CI logs and terminals alike). */
export function formatTable(rows: readonly BenchRow[]): string {
  const header = ['suite', 'metric', 'value', 'unit', 'target', 'ok', 'note'];
  const cells = rows.map((r) => [
    r.suite,
    r.metric,
    typeof r.value === 'number' ? formatNumber(r.value) : r.value,
    r.unit,
    r.target ?? '',
    r.ok === undefined ? '' : r.ok ? 'yes' : 'NO',
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => v.padEnd(widths[i]!)).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n');
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}
