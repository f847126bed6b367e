import { describe, expect, it } from 'vitest';
import { simulators, streamRequest } from './test-support.ts';

const sim = simulators();

const body = { prompt: 'fault injection probe', max_tokens: 20, ignore_eos: true };

describe('fault injection', () => {
  it('answers an injected error rate with HTTP 500 and an OpenAI error body', async () => {
    const s = await sim({ speedup: 10, faults: { errorRate: 1 } });
    const r = await streamRequest(s.url, 'completions', body);
    expect(r.status).toBe(500);
    expect((r.error as any).error.message).toMatch(/Injected fault/);
    expect(s.metrics().requests.rejected['500']).toBe(1);
  });

  it('applies the error rate to roughly that fraction of requests, deterministically per seed', async () => {
    const s = await sim({ speedup: 20, seed: 3, faults: { errorRate: 0.3 } });
    const rs = await Promise.all(Array.from({ length: 60 }, () => streamRequest(s.url, 'completions', { ...body, max_tokens: 2 })));
    const errors = rs.filter((r) => r.status === 500).length;
    expect(errors).toBeGreaterThan(8);
    expect(errors).toBeLessThan(32);
  });

  it('stalls a stream mid-generation for stallMs', async () => {
    const s = await sim({ speedup: 1, agg: { step: { decodeBaseMs: 3 } }, faults: { stallMs: 150 } });
    const r = await streamRequest(s.url, 'completions', body);
    expect(r.contentChunks).toBe(20);
    const longest = Math.max(...r.itlMs);
    expect(longest).toBeGreaterThan(150 * 0.9);
    expect(longest).toBeLessThan(150 + 60);
    // the stall sits in the middle, after 10 tokens
    expect(r.itlMs.indexOf(longest)).toBe(9);
  });

  it('cuts streams mid-response without a final chunk', async () => {
    const s = await sim({ speedup: 10, faults: { disconnectRate: 1 } });
    const r = await streamRequest(s.url, 'completions', body);
    expect(r.status).toBe(200);
    expect(r.contentChunks).toBe(10);
    expect(r.sawDone).toBe(false);
    expect(r.error).toBeDefined();
    await new Promise((res) => setTimeout(res, 20));
    expect(s.cluster.workers[0]!.kv.usedBlocks).toBe(0);
  });

  it('reports not-ready (503) until the readiness delay passes', async () => {
    const s = await sim({ speedup: 10, faults: { readyDelayMs: 200 } });
    expect((await fetch(`${s.url}/health`)).status).toBe(503);
    expect((await fetch(`${s.url}/live`)).status).toBe(200);
    const early = await streamRequest(s.url, 'completions', body);
    expect(early.status).toBe(503);
    await new Promise((res) => setTimeout(res, 220));
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect((await streamRequest(s.url, 'completions', body)).status).toBe(200);
  });
});
