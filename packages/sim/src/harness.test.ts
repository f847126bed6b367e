import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, runBenchmark, type BenchTokenizer, type RunResult } from '@llm-recipes/bench';
import type { RunningSimulator } from './server.ts';
import { parseProm, promSum, simulators } from './test-support.ts';

// The project's benchmark harness against the simulator: what a profiling run would see.

let tokenizer: BenchTokenizer;
beforeAll(async () => {
  tokenizer = await loadTokenizer('o200k_base');
});
const sim = simulators('file');

function bench(s: RunningSimulator, concurrency: number, requests: number, isl = 64, osl = 24, api: 'chat' | 'completions' = 'chat'): Promise<RunResult> {
  return runBenchmark({
    endpoint: s.url,
    api,
    model: s.config.model.name,
    load: { mode: 'concurrency', concurrency },
    requests,
    warmup: Math.min(concurrency, 4),
    workload: { isl, osl, seed: 11 },
    tokenizer,
  });
}

describe('harness against the simulator', () => {
  it('sees TTFT rise with queueing past max-num-seqs while ITL stays flat', async () => {
    const s = await sim({ speedup: 2, agg: { maxNumSeqs: 4, prefixCaching: false, step: { decodeBaseMs: 8, decodeMsPerSeq: 0 } } });
    const at4 = await bench(s, 4, 12);
    const at16 = await bench(s, 16, 32);
    expect(at16.summary.ttft!.p50).toBeGreaterThan(at4.summary.ttft!.p50 + 30);
    expect(at16.summary.itl!.mean).toBeLessThan(at4.summary.itl!.mean * 1.5);
    expect(at16.summary.counts.failed).toBe(0);
  });

  it('sees ITL grow with batch size per the step model', async () => {
    const s = await sim({ speedup: 1, agg: { maxNumSeqs: 64, step: { decodeBaseMs: 4, decodeMsPerSeq: 0.5, decodeMsPerKContextToken: 0 } } });
    const at1 = await bench(s, 1, 3, 16, 30);
    const at16 = await bench(s, 16, 16, 16, 30);
    expect(at1.summary.itl!.p50).toBeGreaterThan(4.5 * 0.8);
    expect(at1.summary.itl!.p50).toBeLessThan(4.5 * 1.3);
    expect(at16.summary.itl!.p50).toBeGreaterThan(12 * 0.85);
    expect(at16.summary.itl!.p50).toBeLessThan(12 * 1.3);
  });

  it('reconciles server usage, the client tokenizer and /metrics counters', async () => {
    const s = await sim({ speedup: 10, agg: { replicas: 2, maxNumSeqs: 8 }, router: 'kv' });
    const before = parseProm(await (await fetch(`${s.url}/metrics`)).text());
    const r = await bench(s, 8, 24, 100, 16, 'completions');
    const after = parseProm(await (await fetch(`${s.url}/metrics`)).text());
    const all = r.records; // warmup included: the server counted those too
    for (const rec of all) {
      expect(rec.input_tokens_server).toBe(rec.input_tokens_client);
      expect(rec.output_tokens_server).toBe(rec.output_tokens_client);
      expect(rec.output_tokens).toBe(16);
    }
    const delta = (name: string): number => promSum(after, name) - promSum(before, name);
    expect(delta('vllm:prompt_tokens_total')).toBe(all.reduce((a, x) => a + x.input_tokens, 0));
    expect(delta('vllm:generation_tokens_total')).toBe(all.reduce((a, x) => a + x.output_tokens, 0));
    expect(delta('vllm:request_success_total')).toBe(all.length);
    expect(r.summary.counts.completed).toBe(24);
  });
});
