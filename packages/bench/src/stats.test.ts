import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { percentile, percentileSorted, summarize } from './stats.ts';

const values = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 });

/** Brute force numpy "linear": sort, rank = p/100·(n−1), interpolate. */
function reference(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const r = (p / 100) * (s.length - 1);
  const lo = Math.floor(r);
  const hi = Math.ceil(r);
  return s[lo]! + (s[hi]! - s[lo]!) * (r - lo);
}

describe('percentile (linear interpolation, numpy default)', () => {
  it('matches numpy on known values', () => {
    // np.percentile([1,2,3,4], [50, 90, 99.9]) → 2.5, 3.7, 3.997
    expect(percentile([4, 1, 3, 2], 50)).toBeCloseTo(2.5, 12);
    expect(percentile([4, 1, 3, 2], 90)).toBeCloseTo(3.7, 12);
    expect(percentile([4, 1, 3, 2], 99.9)).toBeCloseTo(3.997, 12);
    expect(percentile([7], 99)).toBe(7);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
    expect(() => percentileSorted([1], 101)).toThrow(RangeError);
  });

  it('matches a brute-force sort', () => {
    fc.assert(
      fc.property(values, fc.double({ min: 0, max: 100, noNaN: true }), (xs, p) => {
        const got = percentile(xs, p);
        const want = reference(xs, p);
        expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
      }),
    );
  });

  it('is monotone in p and stays within [min, max]', () => {
    fc.assert(
      fc.property(values, fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (xs, a, b) => {
        const [p, q] = a <= b ? [a, b] : [b, a];
        const vp = percentile(xs, p);
        const vq = percentile(xs, q);
        expect(vp).toBeLessThanOrEqual(vq);
        expect(vp).toBeGreaterThanOrEqual(Math.min(...xs));
        expect(vq).toBeLessThanOrEqual(Math.max(...xs));
      }),
    );
  });
});

describe('summarize', () => {
  it('reports population std, min, max and ordered percentiles', () => {
    const s = summarize([2, 4, 4, 4, 5, 5, 7, 9])!;
    expect(s.mean).toBe(5);
    expect(s.std).toBe(2); // the textbook population std example
    expect(s.min).toBe(2);
    expect(s.max).toBe(9);
    expect(s.p50).toBe(4.5);
    expect(summarize([])).toBeNull();
  });

  it('orders its statistics for any input', () => {
    fc.assert(
      fc.property(values, (xs) => {
        const s = summarize(xs)!;
        const seq = [s.min, s.p50, s.p90, s.p95, s.p99, s.p99_9, s.max];
        for (let i = 1; i < seq.length; i++) expect(seq[i - 1]!).toBeLessThanOrEqual(seq[i]!);
        expect(s.mean).toBeGreaterThanOrEqual(s.min - 1e-6 * Math.abs(s.min));
        expect(s.mean).toBeLessThanOrEqual(s.max + 1e-6 * Math.abs(s.max));
        expect(s.std).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});
