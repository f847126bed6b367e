import { describe, expect, it } from 'vitest';
import type { SimConfigInput } from './config.ts';
import { outputWords } from './tokens.ts';
import { mean, median, parseProm, promSum, runConcurrent, simulators, streamRequest, type StreamResult } from './test-support.ts';

// End-to-end behaviour of the engine as a benchmark client sees it on the wire.

const sim = simulators();

function prompt(n: number, salt = 0): string {
  let s = '';
  for (let i = 0; i < n; i++) s += outputWords()[(i * 31 + salt * 7 + Math.floor(i / 5) * salt) % outputWords().length];
  return s;
}

const req = (url: string, isl: number, osl: number, salt = 0): Promise<StreamResult> =>
  streamRequest(url, 'completions', { prompt: prompt(isl, salt), max_tokens: osl, ignore_eos: true });

describe('engine behaviour', () => {
  it('TTFT rises with queueing once concurrency exceeds max-num-seqs', async () => {
    const cfg: SimConfigInput = { speedup: 2, agg: { maxNumSeqs: 4, prefixCaching: false, step: { decodeBaseMs: 8, decodeMsPerSeq: 0 } } };
    const s = await sim(cfg);
    await runConcurrent(16, 16, (i) => req(s.url, 8, 2, 200 + i)); // warm up connections and JIT
    const under = await runConcurrent(8, 4, (i) => req(s.url, 32, 16, i));
    const over = await runConcurrent(16, 16, (i) => req(s.url, 32, 16, 100 + i));
    const ttftUnder = mean(under.map((r) => r.ttftMs));
    const ttftOver = mean(over.map((r) => r.ttftMs));
    // 16 requests over 4 slots: waves of 4, each ~16 steps × 4 ms, so waves wait 0, 64, 128, 192 ms (mean 96)
    expect(ttftOver - ttftUnder).toBeGreaterThan(96 * 0.6);
    expect(Math.max(...over.map((r) => r.ttftMs))).toBeGreaterThan(3 * 16 * 4 * 0.8);
    // ITL is unaffected by the queue (batch never exceeds 4)
    // (means, not medians: a step delivered late shows up as one long and one short gap, which cancel in the mean)
    expect(mean(over.flatMap((r) => r.itlMs))).toBeLessThan(mean(under.flatMap((r) => r.itlMs)) * 1.5);
  });

  it('ITL grows with batch size as the step model says', async () => {
    // step = 4 ms + 0.5 ms per decoding sequence (simulated); speedup 1 keeps timer noise small relative
    const s = await sim({ speedup: 1, agg: { maxNumSeqs: 64, step: { decodeBaseMs: 4, decodeMsPerSeq: 0.5, decodeMsPerKContextToken: 0 } } });
    const at1 = await req(s.url, 16, 30);
    const at16 = await runConcurrent(16, 16, (i) => req(s.url, 16, 30, i + 1));
    const itl1 = median(at1.itlMs);
    const itl16 = median(at16.flatMap((r) => r.itlMs));
    expect(itl1).toBeGreaterThan(4.5 * 0.8);
    expect(itl1).toBeLessThan(4.5 * 1.3);
    expect(itl16).toBeGreaterThan(12 * 0.85);
    expect(itl16).toBeLessThan(12 * 1.3);
  });

  it('queues requests when the KV cache is exhausted, and completes them all', async () => {
    // 32 blocks × 16 tokens: each request needs 150 prompt + 30 output tokens ≈ 12 blocks, so at most 2 fit at once
    const s = await sim({
      speedup: 4,
      agg: { maxNumSeqs: 16, blockSize: 16, kvCapacityTokens: 512, prefixCaching: false, step: { decodeBaseMs: 6 } },
    });
    const inflight = runConcurrent(8, 8, (i) => req(s.url, 150, 30, i));
    await new Promise((r) => setTimeout(r, 40));
    const m = parseProm(await (await fetch(`${s.url}/metrics`)).text());
    const results = await inflight;
    expect(promSum(m, 'vllm:num_requests_running')).toBeLessThanOrEqual(3);
    expect(promSum(m, 'vllm:num_requests_waiting')).toBeGreaterThanOrEqual(4);
    expect(promSum(m, 'vllm:kv_cache_usage_perc')).toBeGreaterThan(0.5);
    for (const r of results) expect(r.usage?.completion_tokens).toBe(30);
    const ttfts = results.map((r) => r.ttftMs).sort((a, b) => a - b);
    // the last admitted waited for earlier requests to free their blocks
    expect(ttfts[7]!).toBeGreaterThan(ttfts[0]! + 2 * 29 * (6 / 4) * 0.8);
    expect(s.cluster.workers[0]!.kv.usedBlocks).toBe(0);
  });

  it('preempts and recomputes when running sequences outgrow the KV cache', async () => {
    // admission only reserves the first chunk, so long outputs force preemption (vLLM's recompute policy)
    const s = await sim({
      speedup: 10,
      agg: { maxNumSeqs: 8, blockSize: 16, kvCapacityTokens: 256, prefixCaching: false, step: { decodeBaseMs: 4 } },
    });
    const results = await runConcurrent(4, 4, (i) => req(s.url, 20, 100, i));
    for (const r of results) expect(r.contentChunks).toBe(100);
    expect(s.metrics().preemptions).toBeGreaterThan(0);
  });

  it('kv routing lands shared prefixes on the worker that caches them; round-robin does not', async () => {
    const run = async (router: 'kv' | 'round-robin'): Promise<{ hits: number; queries: number; ttft: number }> => {
      const s = await sim({ speedup: 10, router, agg: { replicas: 4, step: { decodeBaseMs: 4 } } });
      // 4 documents of 512 tokens, each followed by 4 different 16-token questions, asked one after another
      const results: StreamResult[] = [];
      for (let d = 0; d < 4; d++) {
        for (let q = 0; q < 4; q++) {
          results.push(
            await streamRequest(s.url, 'completions', { prompt: prompt(512, d + 1) + prompt(16, 50 + q * 4 + d), max_tokens: 4, ignore_eos: true }),
          );
        }
      }
      const snap = s.metrics();
      return { hits: snap.prefixHitTokens, queries: snap.prefixQueryTokens, ttft: mean(results.map((r) => r.ttftMs)) };
    };
    const kv = await run('kv');
    const rr = await run('round-robin');
    expect(kv.queries).toBe(rr.queries);
    // kv: only the first question per document misses (12 of 16 requests hit all 512 prefix tokens)
    expect(kv.hits).toBe(12 * 512);
    // round-robin sends the questions about one document to a different worker each time: no reuse
    expect(rr.hits).toBe(0);
    expect(kv.ttft).toBeLessThan(rr.ttft);
  });

  it('disaggregated TTFT includes the KV transfer delay', async () => {
    const step = { decodeBaseMs: 4, kvBytesPerToken: 1_000_000 };
    const agg = await sim({ speedup: 1, agg: { step } });
    // 200 tokens × 1 MB at 2 GB/s = 100 ms transfer
    const dis = await sim({ speedup: 1, mode: 'disagg', transfer: { bandwidthGBs: 2, latencyMs: 0 }, prefill: { step }, decode: { step } });
    const ttft = async (url: string): Promise<number> => {
      const xs: number[] = [];
      for (let i = 0; i < 3; i++) xs.push((await req(url, 200, 4, i)).ttftMs);
      return median(xs);
    };
    const a = await ttft(agg.url);
    const d = await ttft(dis.url);
    expect(d - a).toBeGreaterThan(100 * 0.9);
    expect(d - a).toBeLessThan(100 + 20);
    // the decode pool generated the tokens; the prefill pool counted the prompts once
    const snap = dis.metrics();
    const byId = Object.fromEntries(snap.engines.map((e) => [e.engine, e]));
    expect(byId['prefill-0']!.promptTokens).toBe(600);
    expect(byId['decode-0']!.generationTokens).toBe(12);
    expect(byId['prefill-0']!.generationTokens).toBe(0);
  });

  it('is deterministic for a seed: same prompts give the same outputs and lengths', async () => {
    const a = await sim({ speedup: 20, seed: 7, meanOutputTokens: 10 });
    const b = await sim({ speedup: 20, seed: 7, meanOutputTokens: 10 });
    const c = await sim({ speedup: 20, seed: 8, meanOutputTokens: 10 });
    const body = { prompt: prompt(40, 3), max_tokens: 100 };
    const [ra, rb, rc] = await Promise.all([a, b, c].map((s) => streamRequest(s.url, 'completions', body)));
    expect(ra!.text).toBe(rb!.text);
    expect(rc!.text).not.toBe(ra!.text);
  });
});
