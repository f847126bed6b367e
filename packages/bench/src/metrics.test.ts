import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { summarizeRecords } from './metrics.ts';
import { mergeRecords, parseRecordsJsonl, recordsToJsonl, type RequestRecord } from './records.ts';

/** A successful record: content chunks at the given ms after send, `tokens` per chunk. */
function rec(i: number, sent: number, chunks: number[], over: Partial<RequestRecord> = {}): RequestRecord {
  const n = chunks.length;
  const tokens = over.chunk_tokens ?? chunks.map(() => 1);
  const out = tokens.reduce((a, b) => a + b, 0);
  const ttft = chunks[0]!;
  const e2e = chunks[n - 1]!;
  return {
    id: `r-${i}`,
    index: i,
    warmup: false,
    scheduled_ms: null,
    sent_ms: sent,
    queue_ms: 0,
    headers_ms: sent + 1,
    first_token_ms: sent + ttft,
    last_token_ms: sent + e2e,
    end_ms: sent + e2e + 0.5,
    ok: true,
    http_status: 200,
    error_class: null,
    error: null,
    finish_reason: 'length',
    ttft_ms: ttft,
    e2e_ms: e2e,
    tpot_ms: out > 1 ? (e2e - ttft) / (out - 1) : null,
    chunk_ms: chunks,
    chunk_tokens: tokens,
    input_tokens: 100,
    input_tokens_server: 100,
    input_tokens_client: 100,
    output_tokens: out,
    output_tokens_server: out,
    output_tokens_client: out,
    output_tokens_requested: out,
    token_source: 'server',
    ...over,
  };
}

function failed(i: number, sent: number, cls: RequestRecord['error_class']): RequestRecord {
  return { ...rec(i, sent, [1]), ok: false, error_class: cls, error: 'x', ttft_ms: null, e2e_ms: null, tpot_ms: null, chunk_ms: [], chunk_tokens: [], first_token_ms: null, last_token_ms: null, end_ms: sent + 5 };
}

describe('summarizeRecords', () => {
  it('computes the DESIGN §6 metrics from records', () => {
    const records = [
      rec(0, 0, [100, 110, 120, 130]), // ttft 100, tpot 10
      rec(1, 0, [200, 220, 240, 260]), // ttft 200, tpot 20
      rec(2, 500, [50, 70], { chunk_tokens: [1, 4] }), // 5 tokens, a 4-token chunk
      failed(3, 10, 'http'),
      { ...rec(4, -300, [10, 20]), warmup: true },
    ];
    const s = summarizeRecords(records, { slo: { ttftMs: 150, tpotMs: 15 }, gpus: 2 });
    expect(s.counts).toEqual({ requests: 4, completed: 3, failed: 1, warmup: 1 });
    expect(s.errors.http).toBe(1);
    expect(s.error_rate).toBe(0.25);
    expect(s.ttft!.min).toBe(50);
    expect(s.ttft!.max).toBe(200);
    expect(s.ttft!.p50).toBe(100);
    // tpot: 10, 20, (70−50)/4 = 5
    expect(s.tpot!.mean).toBeCloseTo(35 / 3, 5);
    // ITL pooled per chunk: 10,10,10,20,20,20,20
    expect(s.itl!.mean).toBeCloseTo(110 / 7, 5);
    // per token: the 4-token chunk's 20 ms gap becomes four 5 ms gaps
    expect(s.itl_per_token!.min).toBe(5);
    expect(s.tokens_per_second_per_user!.max).toBeCloseTo(200, 5);
    // window: first measured send (0) → last response (500 + 70.5)
    expect(s.duration_s).toBeCloseTo(0.5705, 9);
    expect(s.output_throughput).toBeCloseTo(13 / 0.5705, 6);
    expect(s.request_throughput).toBeCloseTo(3 / 0.5705, 6);
    expect(s.tokens_per_second_per_gpu).toBeCloseTo(13 / 0.5705 / 2, 6);
    // good: r0 (ttft 100, tpot 10) and r2 (ttft 50, tpot 5); r1 misses both bounds
    expect(s.good_requests).toBe(2);
    expect(s.goodput).toBeCloseTo(2 / 0.5705, 6);
    expect(s.max_concurrent_requests).toBe(3);
    expect(s.peak_output_throughput).toBe(13);
  });

  it('reports null goodput without an SLO and null stats when nothing completed', () => {
    const s = summarizeRecords([failed(0, 0, 'connect'), failed(1, 1, 'connect')]);
    expect(s.goodput).toBeNull();
    expect(s.ttft).toBeNull();
    expect(s.errors.connect).toBe(2);
    expect(s.error_rate).toBe(1);
  });

  it('summarizes merged shards exactly as the whole run', () => {
    const arb = fc.array(
      fc.record({ sent: fc.integer({ min: 0, max: 10_000 }), ttft: fc.integer({ min: 1, max: 500 }), gaps: fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 6 }), shard: fc.nat(3) }),
      { minLength: 1, maxLength: 40 },
    );
    fc.assert(
      fc.property(arb, (rows) => {
        const all = rows.map((r, i) => {
          const chunks = [r.ttft];
          for (const g of r.gaps) chunks.push(chunks.at(-1)! + g);
          return { rec: rec(i, r.sent, chunks), shard: r.shard };
        });
        const shards = [0, 1, 2, 3].map((k) => all.filter((a) => a.shard === k).map((a) => a.rec));
        const merged = mergeRecords(shards);
        expect(summarizeRecords(merged)).toEqual(summarizeRecords(all.map((a) => a.rec)));
        expect(merged.map((r) => r.sent_ms)).toEqual([...merged.map((r) => r.sent_ms)].sort((a, b) => a - b));
      }),
    );
  });

  it('round-trips records through JSONL', () => {
    const records = [rec(0, 0, [1, 2]), failed(1, 3, 'stall')];
    expect(parseRecordsJsonl(recordsToJsonl(records))).toEqual(records);
  });
});
