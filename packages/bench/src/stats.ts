/** Statistics of one metric; every latency metric in a summary is one of these, in milliseconds. */
export interface Stats {
  mean: number;
  std: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p99_9: number;
}

/** The percentiles every summary reports (DESIGN §6). */
export const SUMMARY_PERCENTILES = [50, 90, 95, 99, 99.9] as const;

/**
 * Percentile `p` (0–100) of ascending-sorted values by linear interpolation between closest ranks —
 * numpy's default (`np.percentile(..., method="linear")`), the method vLLM, AIPerf and inference-perf use.
 */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${p}`);
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  // a + (b - a) * f stays within [a, b] and exact when a === b
  return a + (b - a) * (rank - lo);
}

/** Percentile of unsorted values (copies and sorts). */
export function percentile(values: ArrayLike<number>, p: number): number {
  return percentileSorted(sortedCopy(values), p);
}

function sortedCopy(values: ArrayLike<number>): Float64Array {
  // typed-array sort is numeric and avoids the comparator call of Array#sort
  const out = Float64Array.from(values as ArrayLike<number>);
  out.sort();
  return out;
}

/** Mean, population std (numpy's default ddof=0), min, max and the summary percentiles; null when empty. */
export function summarize(values: ArrayLike<number>): Stats | null {
  const n = values.length;
  if (n === 0) return null;
  const sorted = sortedCopy(values);
  // Welford's update: numerically stable for long runs of similar values
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const x = sorted[i]!;
    const d = x - mean;
    mean += d / (i + 1);
    m2 += d * (x - mean);
  }
  return {
    mean,
    std: Math.sqrt(m2 / n),
    min: sorted[0]!,
    max: sorted[n - 1]!,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
    p99_9: percentileSorted(sorted, 99.9),
  };
}
