import { beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { loadTokenizer, type BenchTokenizer } from './tokenizer.ts';
import { runBenchmark, type RunOptions } from './runner.ts';
import { referenceServers } from './test-support.ts';

let tok: BenchTokenizer;
beforeAll(async () => {
  tok = await loadTokenizer();
});
const serve = referenceServers();

function opts(url: string, over: Partial<RunOptions> = {}): RunOptions {
  return {
    endpoint: url,
    api: 'chat',
    model: 'ref',
    load: { mode: 'concurrency', concurrency: 4 },
    requests: 12,
    workload: { isl: 64, osl: 8, seed: 7 },
    tokenizer: tok,
    timeoutMs: 5000,
    ...over,
  };
}

describe('timing against a server with a known schedule', () => {
  it('agrees with the server’s own send times (TTFT, ITL, E2E, TPOT) and skips the role-only chunk', async () => {
    const srv = await serve({ ttftMs: 40, itlMs: 8, roleChunk: true });
    const res = await runBenchmark(opts(srv.url));
    const log = new Map(srv.log().map((r) => [r.requestId, r]));
    expect(res.records).toHaveLength(12);
    for (const r of res.records) {
      expect(r.ok).toBe(true);
      const s = log.get(r.id)!;
      expect(s, `server saw ${r.id}`).toBeDefined();
      expect(r.chunk_ms).toHaveLength(8);
      // every chunk is received after the server wrote it, and promptly
      const sentAbs = res.originNs + r.sent_ms * 1e6;
      r.chunk_ms.forEach((c, i) => {
        const recv = sentAbs + c * 1e6;
        expect(recv).toBeGreaterThanOrEqual(s.chunkNs[i]! - 2000); // records are rounded to 1 µs
        // loose: this checks the timestamp belongs to this chunk, not delivery speed (that is `npm run bench`)
        expect(recv - s.chunkNs[i]!).toBeLessThan(250e6);
      });
      // the role chunk went out at arrival; TTFT must still be the content chunk's (≥ 40 ms)
      expect(r.ttft_ms!).toBeGreaterThanOrEqual(40);
      const truthTtft = (s.firstContentNs - s.receivedNs) / 1e6;
      expect(Math.abs(r.ttft_ms! - truthTtft)).toBeLessThan(40);
      expect(r.e2e_ms!).toBeCloseTo(r.chunk_ms.at(-1)!, 6);
      expect(r.tpot_ms!).toBeCloseTo((r.e2e_ms! - r.ttft_ms!) / 7, 2);
    }
    // pooled ITL matches the server's gaps on average
    const serverGaps = srv.log().flatMap((s) => s.chunkNs.slice(1).map((t, i) => (t - s.chunkNs[i]!) / 1e6));
    const meanServer = serverGaps.reduce((a, b) => a + b, 0) / serverGaps.length;
    expect(Math.abs(res.summary.itl!.mean - meanServer)).toBeLessThan(3);
    expect(res.summary.itl!.mean).toBeGreaterThan(6);
    expect(res.summary.max_concurrent_requests).toBe(4);
    expect(res.summary.counts).toEqual({ requests: 12, completed: 12, failed: 0, warmup: 0 });
  });

  it('sends the OSL-forcing fields, usage request and request ids', async () => {
    const srv = await serve({ ttftMs: 5, itlMs: 1 });
    const res = await runBenchmark(opts(srv.url, { requests: 3, warmup: 2 }));
    const bodies = srv.log().map((s) => s.body);
    expect(bodies).toHaveLength(5);
    expect(bodies[0]).toMatchObject({ model: 'ref', max_completion_tokens: 8, ignore_eos: true, min_tokens: 8, stream: true, stream_options: { include_usage: true } });
    expect(new Set(srv.log().map((s) => s.requestId)).size).toBe(5);
    expect(res.summary.counts.warmup).toBe(2);
    expect(res.summary.counts.requests).toBe(3);
    expect(res.records.filter((r) => !r.warmup).map((r) => r.id).sort()).toEqual(
      srv.log().slice(-3).map((s) => s.requestId).sort(),
    );
  });

  it('handles multi-token chunks: per-token ITL, TPOT over tokens, chunk token counts', async () => {
    const srv = await serve({ ttftMs: 20, itlMs: 12, tokensPerChunk: 4 });
    const res = await runBenchmark(opts(srv.url, { api: 'completions', requests: 4, workload: { isl: 32, osl: 16, seed: 1 } }));
    for (const r of res.records) {
      expect(r.chunk_ms).toHaveLength(4);
      expect(r.chunk_tokens).toEqual([4, 4, 4, 4]);
      expect(r.output_tokens).toBe(16);
      expect(r.tpot_ms!).toBeCloseTo((r.e2e_ms! - r.ttft_ms!) / 15, 2);
    }
    expect(res.summary.itl_per_token!.mean).toBeCloseTo(res.summary.itl!.mean / 4, 4);
    expect(res.summary.itl!.mean).toBeGreaterThan(10);
    expect(res.summary.peak_output_throughput).toBe(64); // all 64 tokens land inside the first second
  });

  it('takes per-chunk token counts from continuous usage stats when the server sends them', async () => {
    const srv = await serve({ ttftMs: 5, itlMs: 2, tokensPerChunk: 3 });
    const res = await runBenchmark(opts(srv.url, { requests: 2, workload: { isl: 16, osl: 7, seed: 2, continuousUsage: true } }));
    expect(res.records[0]!.chunk_tokens).toEqual([3, 3, 1]);
    expect(srv.log()[0]!.body).toMatchObject({ stream_options: { include_usage: true, continuous_usage_stats: true } });
  });
});

describe('token counts: server usage vs client tokenizer', () => {
  it('prefers usage and reports the discrepancy', async () => {
    const srv = await serve({ ttftMs: 2, itlMs: 1, promptTokenOverhead: 5, completionTokenSkew: 2 });
    const res = await runBenchmark(opts(srv.url, { requests: 4, workload: { isl: 50, osl: 16, seed: 3 } }));
    const r = res.records[0]!;
    expect(r.input_tokens_client).toBe(50);
    expect(r.input_tokens_server).toBe(55);
    expect(r.input_tokens).toBe(55);
    expect(r.output_tokens_client).toBe(16);
    expect(r.output_tokens_server).toBe(18);
    expect(r.token_source).toBe('server');
    const tc = res.summary.token_counts;
    expect(tc.source).toBe('server');
    expect(tc.input_discrepancy_pct).toBe(10);
    expect(tc.output_discrepancy_pct).toBe(12.5);
    expect(tc.osl_mismatch).toBe(4);
  });

  it('falls back to the tokenizer when the server reports no usage', async () => {
    const srv = await serve({ ttftMs: 2, itlMs: 1, noUsage: true });
    const res = await runBenchmark(opts(srv.url, { requests: 2, workload: { isl: 20, osl: 6, seed: 3 } }));
    expect(res.records.every((r) => r.token_source === 'tokenizer' && r.output_tokens === 6)).toBe(true);
    expect(res.summary.token_counts.source).toBe('tokenizer');
    expect(res.summary.token_counts.output_discrepancy_pct).toBeNull();
  });
});

describe('faults are classified per request and the run completes', () => {
  it('classifies HTTP errors, resets, malformed SSE, stalls, error events and truncated streams', async () => {
    const srv = await serve({
      ttftMs: 20,
      itlMs: 2,
      faults: [
        { kind: 'http_500', at: [1] },
        { kind: 'http_429', at: [2] },
        { kind: 'reset', at: [3], afterChunks: 2 },
        { kind: 'malformed', at: [4] },
        { kind: 'stall', at: [5], afterChunks: 1 },
        { kind: 'error_event', at: [6] },
        { kind: 'truncate', at: [7], afterChunks: 2 },
      ],
    });
    const res = await runBenchmark(opts(srv.url, { load: { mode: 'concurrency', concurrency: 1 }, requests: 10, stallTimeoutMs: 300 }));
    const byIndex = new Map(srv.log().map((s) => [s.requestId, s.index]));
    const cls = new Map(res.records.map((r) => [byIndex.get(r.id), r.error_class]));
    expect(cls.get(0)).toBeNull();
    expect(cls.get(1)).toBe('http');
    expect(cls.get(2)).toBe('http');
    expect(cls.get(3)).toBe('reset');
    expect(cls.get(4)).toBe('malformed');
    expect(cls.get(5)).toBe('stall');
    expect(cls.get(6)).toBe('stream_error');
    expect(cls.get(7)).toBe('incomplete');
    expect(cls.get(8)).toBeNull();
    const http = res.records.find((r) => byIndex.get(r.id) === 1)!;
    expect(http.http_status).toBe(500);
    expect(http.error).toContain('reference server fault');
    expect(res.summary.errors).toMatchObject({ http: 2, reset: 1, malformed: 1, stall: 1, stream_error: 1, incomplete: 1 });
    expect(res.summary.counts.failed).toBe(7);
    expect(res.summary.error_rate).toBe(0.7);
    // failed requests do not pollute latency metrics
    expect(res.summary.ttft!.min).toBeGreaterThanOrEqual(15);
    expect(res.summary.ttft!.max).toBeLessThan(100);
  });

  it('classifies a request past its deadline as timeout and an unreachable server as connect', async () => {
    const srv = await serve({ ttftMs: 2000, itlMs: 1 });
    const slow = await runBenchmark(opts(srv.url, { api: 'completions', requests: 2, timeoutMs: 250 }));
    expect(slow.records.map((r) => r.error_class)).toEqual(['timeout', 'timeout']);

    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const dead = await runBenchmark(opts(`http://127.0.0.1:${port}`, { requests: 2 }));
    expect(dead.records.map((r) => r.error_class)).toEqual(['connect', 'connect']);
    expect(dead.summary.error_rate).toBe(1);
  });
});

describe('load modes', () => {
  it('delivers a constant and a Poisson rate on absolute deadlines', async () => {
    const srv = await serve({ ttftMs: 5, itlMs: 2 });
    for (const arrival of ['constant', 'poisson'] as const) {
      const res = await runBenchmark(opts(srv.url, { load: { mode: 'rate', rate: 100, arrival }, requests: 60, workload: { isl: 16, osl: 4, seed: 5 } }));
      expect(res.summary.schedule.target_rate).toBe(100);
      // sends follow absolute deadlines: the typical send is on time and lateness does not accumulate
      expect(res.summary.schedule.delay!.p50).toBeLessThan(5);
      expect(Math.abs(res.summary.schedule.achieved_rate! - 100)).toBeLessThan(10);
      const last = res.records.at(-1)!;
      expect(last.sent_ms - last.scheduled_ms!).toBeLessThan(50);
      expect(last.scheduled_ms!).toBeCloseTo(590, 6); // (n − 1) / rate
      expect(res.records.every((r) => r.scheduled_ms !== null)).toBe(true);
    }
  });

  it('warms up at the run’s own arrival rate and excludes the warmup', async () => {
    const srv = await serve({ ttftMs: 5, itlMs: 2 });
    const res = await runBenchmark(opts(srv.url, { load: { mode: 'rate', rate: 200, arrival: 'constant' }, requests: 10, warmup: 6, workload: { isl: 16, osl: 4, seed: 5 } }));
    const warm = res.records.filter((r) => r.warmup);
    expect(warm).toHaveLength(6);
    expect(res.summary.counts).toMatchObject({ requests: 10, warmup: 6 });
    // constant arrivals at 200 req/s: warmup sends are ~5 ms apart, not a burst
    const gaps = warm.slice(1).map((r, i) => r.sent_ms - warm[i]!.sent_ms);
    expect(gaps.reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
    expect(res.records.filter((r) => !r.warmup).every((r) => r.sent_ms >= 0)).toBe(true);
    expect(srv.log()).toHaveLength(16);
  });

  it('caps concurrency in rate mode and reports client queue time', async () => {
    const srv = await serve({ ttftMs: 30, itlMs: 5 });
    const res = await runBenchmark(opts(srv.url, { load: { mode: 'rate', rate: 500, arrival: 'constant', maxConcurrency: 2 }, requests: 10, workload: { isl: 16, osl: 4, seed: 5 } }));
    expect(res.summary.max_concurrent_requests).toBe(2);
    expect(res.summary.queue!.max).toBeGreaterThan(30);
    expect(res.summary.counts.completed).toBe(10);
  });

  it('stops issuing at the duration and ramps concurrency up linearly', async () => {
    const srv = await serve({ ttftMs: 10, itlMs: 2 });
    const res = await runBenchmark(opts(srv.url, { requests: undefined, durationS: 0.6, rampUpS: 0.3, load: { mode: 'concurrency', concurrency: 4 }, workload: { isl: 16, osl: 4, seed: 5 } }));
    expect(res.records.length).toBeGreaterThan(8);
    expect(Math.max(...res.records.map((r) => r.sent_ms))).toBeLessThan(600);
    // the 4th worker starts ~225 ms in
    const firstSends = res.records.slice(0, 4).map((r) => r.sent_ms);
    expect(firstSends[0]!).toBeLessThan(30);
    expect(Math.max(...res.records.map((r) => r.sent_ms)) - res.records[0]!.sent_ms).toBeGreaterThan(200);
    expect(new Set(res.records.map((r) => r.id)).size).toBe(res.records.length);
  });

  it('replays a trace at its timestamps with its lengths', async () => {
    const srv = await serve({ ttftMs: 5, itlMs: 1 });
    const entries = [
      { atMs: 0, isl: 10, osl: 3 },
      { atMs: 100, isl: 20, osl: 5 },
      { atMs: 250, isl: 30, osl: 2 },
    ];
    const res = await runBenchmark(opts(srv.url, { load: { mode: 'trace', entries }, requests: undefined }));
    expect(res.records.map((r) => [r.input_tokens_client, r.output_tokens])).toEqual([
      [10, 3],
      [20, 5],
      [30, 2],
    ]);
    expect(res.records[1]!.sent_ms - res.records[0]!.sent_ms).toBeGreaterThan(95);
    expect(res.records[2]!.sent_ms - res.records[0]!.sent_ms).toBeGreaterThanOrEqual(249);
    expect(res.records[2]!.sent_ms - res.records[0]!.sent_ms).toBeLessThan(400);
    expect(res.records.map((r) => r.scheduled_ms)).toEqual([0, 100, 250]);
  });
});
