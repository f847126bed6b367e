import { describe, expect, it } from 'vitest';
import { summarizeRecords } from './metrics.ts';
import type { RequestRecord } from './records.ts';
import { formatSummaryTable } from './report.ts';

function rec(i: number, sent: number, ttft: number, gap: number, n: number): RequestRecord {
  const chunks = Array.from({ length: n }, (_, k) => ttft + k * gap);
  return {
    id: `r${i}`, index: i, warmup: false, scheduled_ms: null, sent_ms: sent, queue_ms: 0, headers_ms: sent, first_token_ms: sent + ttft,
    last_token_ms: sent + chunks[n - 1]!, end_ms: sent + chunks[n - 1]!, ok: true, http_status: 200, error_class: null, error: null,
    finish_reason: 'length', ttft_ms: ttft, e2e_ms: chunks[n - 1]!, tpot_ms: gap, chunk_ms: chunks, chunk_tokens: chunks.map(() => 1),
    input_tokens: 1024, input_tokens_server: 1024, input_tokens_client: 1024, output_tokens: n, output_tokens_server: n,
    output_tokens_client: n, output_tokens_requested: n, token_source: 'server',
  };
}

describe('formatSummaryTable', () => {
  it('renders points, failures and units as a Markdown table', async () => {
    const a = summarizeRecords(Array.from({ length: 8 }, (_, i) => rec(i, i * 10, 50 + i, 10, 128)));
    const b = summarizeRecords(Array.from({ length: 8 }, (_, i) => rec(i, i * 5, 180 + 3 * i, 14.5, 128)));
    const table = formatSummaryTable([
      { point: 'isl1024-osl128-c1', summary: a },
      { point: 'isl1024-osl128-c16', summary: b },
      { point: 'isl8192-osl1024-c16', summary: null, error: 'connect ECONNREFUSED 127.0.0.1:8000' },
    ]);
    await expect(`${table}\n`).toMatchFileSnapshot('__snapshots__/summary-table.md');
  });
});
