import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '@llm-recipes/bench';
import { steadyJitter, stepStats } from './sim-jitter.ts';

function rec(sentMs: number, chunkMs: number[], ok = true): RequestRecord {
  return { sent_ms: sentMs, chunk_ms: chunkMs, ok, warmup: false } as RequestRecord;
}

describe('steadyJitter', () => {
  it('counts only gaps inside the window where every stream is decoding', () => {
    // stream A starts first; its early gaps (before B's first token) and B's late gaps (after A's last) are outside
    const a = rec(0, [10, 60, 110, 160, 210]);
    const b = rec(55, [50, 100, 150.5, 203, 250]); // absolute 105, 155, 205.5, 258, 305
    const j = steadyJitter([a, b], 50);
    expect(j.window).toEqual({ startMs: 105, endMs: 210 });
    // inside: A 110→160, 160→210 (0, 0); B 105→155 (0), 155→205.5 (0.5)
    expect(j.gaps).toBe(4);
    expect(j.maxMs).toBeCloseTo(0.5, 9);
    expect(j.p50Ms).toBeCloseTo(0, 9);
    // all gaps include B's 2.5 ms late one
    expect(j.all.gaps).toBe(8);
    expect(j.all.p99Ms).toBeGreaterThan(2);
  });

  it('ignores failed records and reports NaN without data', () => {
    const j = steadyJitter([rec(0, [0, 50, 100], false)], 50);
    expect(j.gaps).toBe(0);
    expect(Number.isNaN(j.p99Ms)).toBe(true);
  });
});

describe('stepStats', () => {
  it('takes lateness, handling and CPU per chunk from the steps in range', () => {
    const ms = 1e6;
    // intended, fired, emitted, flushed (ns), seqs, cumulative CPU µs
    const steps = [
      0, 0.1 * ms, 1 * ms, 2 * ms, 100, 1000, // out of range
      50 * ms, 50.2 * ms, 51 * ms, 52.2 * ms, 100, 2000,
      100 * ms, 100.4 * ms, 101 * ms, 102.4 * ms, 100, 3000,
      150 * ms, 150 * ms, 151 * ms, 0, 100, 4500, // flush not recorded: emitted time stands in
    ];
    const s = stepStats(steps, 40 * ms, 200 * ms);
    expect(s.steps).toBe(3);
    expect(s.lateP50Ms).toBeCloseTo(0.2, 9);
    expect(s.handleP50Ms).toBeCloseTo(2, 9);
    expect(s.perChunkUs).toBeCloseTo(20, 9);
    // (4500 − 2000) µs over the 200 chunks of the two steps after the first in range
    expect(s.cpuPerChunkUs).toBeCloseTo(12.5, 9);
  });
});
