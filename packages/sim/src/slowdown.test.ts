import { describe, expect, it } from 'vitest';
import { resolveSimConfig } from './config.ts';
import { median, simulators, streamRequest } from './test-support.ts';

// The slowdown knob scales every step time: a controlled regression for run-vs-run comparison checks.

const sim = simulators();

async function itlMedian(slowdown: number): Promise<number> {
  const s = await sim({ speedup: 1, slowdown, agg: { step: { decodeBaseMs: 8, decodeMsPerSeq: 0, decodeMsPerKContextToken: 0 } } });
  const r = await streamRequest(s.url, 'completions', { prompt: 'hello world', max_tokens: 40, ignore_eos: true });
  return median(r.itlMs);
}

describe('slowdown', () => {
  it('defaults to 1 and rejects non-positive values', () => {
    expect(resolveSimConfig({}).slowdown).toBe(1);
    expect(() => resolveSimConfig({ slowdown: 0 })).toThrow(/slowdown/);
  });

  it('1.5 makes inter-token latency about 1.5× longer', async () => {
    const base = await itlMedian(1);
    const slow = await itlMedian(1.5);
    expect(base).toBeGreaterThan(8 * 0.8);
    expect(slow / base).toBeGreaterThan(1.3);
    expect(slow / base).toBeLessThan(1.75);
  });
});
