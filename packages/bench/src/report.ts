import type { Summary } from './metrics.ts';

/** One row of the end-of-run table: a point name and its summary (null when the point failed). */
export interface SummaryRow {
  point: string;
  summary: Summary | null;
  error?: string | null | undefined;
}

const COLUMNS = [
  'point',
  'reqs',
  'err %',
  'TTFT p50',
  'TTFT p99',
  'TPOT p50',
  'TPOT p99',
  'ITL p50',
  'ITL p99',
  'E2E p50',
  'out tok/s',
  'req/s',
  'tok/s/user',
] as const;

function f(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return v.toFixed(digits);
}

/** Renders the summary table as Markdown (readable as plain text in terminals and CI logs; latencies in ms). */
export function formatSummaryTable(rows: readonly SummaryRow[]): string {
  const cells = rows.map(({ point, summary: s }) =>
    s === null
      ? [point, '—', 'failed', '—', '—', '—', '—', '—', '—', '—', '—', '—', '—']
      : [
          point,
          String(s.counts.requests),
          f(s.error_rate * 100),
          f(s.ttft?.p50),
          f(s.ttft?.p99),
          f(s.tpot?.p50, 2),
          f(s.tpot?.p99, 2),
          f(s.itl?.p50, 2),
          f(s.itl?.p99, 2),
          f(s.e2e?.p50),
          f(s.output_throughput),
          f(s.request_throughput, 2),
          f(s.tokens_per_second_per_user?.p50),
        ],
  );
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string => `| ${c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 2)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  // failure reasons go under the table so they do not stretch its columns
  const notes = rows.filter((r) => r.summary === null).map((r) => `${r.point} failed: ${r.error ?? 'unknown error'}`);
  return [line(COLUMNS), sep, ...cells.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}
