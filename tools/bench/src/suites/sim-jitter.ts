import { percentile, type RequestRecord } from '@llm-recipes/bench';

// Analysis behind the simulator suite. "ITL jitter" is how far each inter-token gap a client sees strays from the
// engine's intended step time. It is measured over the steady window of a level: after the last stream received
// its first token and before the first stream received its last, so no request arrives, is admitted or leaves
// inside it and every step carries exactly the level's number of streams.

export interface JitterStats {
  /** Steady window, ms on the records' clock (since the measured window opened). */
  window: { startMs: number; endMs: number };
  /** Gaps with both ends inside the window. */
  gaps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Every gap of every successful request, admission steps included. */
  all: { gaps: number; p50Ms: number; p99Ms: number };
}

function stats(dev: number[]): { p50: number; p99: number; max: number } {
  if (dev.length === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  let max = 0;
  for (const d of dev) if (d > max) max = d;
  return { p50: percentile(dev, 50), p99: percentile(dev, 99), max };
}

/** |gap − intendedMs| statistics of successful streamed records, over the steady window and over all gaps. */
export function steadyJitter(records: readonly RequestRecord[], intendedMs: number): JitterStats {
  const ok = records.filter((r) => r.ok && !r.warmup && r.chunk_ms.length > 1);
  let startMs = Number.NEGATIVE_INFINITY;
  let endMs = Number.POSITIVE_INFINITY;
  for (const r of ok) {
    startMs = Math.max(startMs, r.sent_ms + r.chunk_ms[0]!);
    endMs = Math.min(endMs, r.sent_ms + r.chunk_ms[r.chunk_ms.length - 1]!);
  }
  const steady: number[] = [];
  const all: number[] = [];
  for (const r of ok) {
    const c = r.chunk_ms;
    for (let i = 1; i < c.length; i++) {
      const d = Math.abs(c[i]! - c[i - 1]! - intendedMs);
      all.push(d);
      if (r.sent_ms + c[i - 1]! >= startMs && r.sent_ms + c[i]! <= endMs) steady.push(d);
    }
  }
  const s = stats(steady);
  const a = stats(all);
  return {
    window: { startMs, endMs },
    gaps: steady.length,
    p50Ms: s.p50,
    p99Ms: s.p99,
    maxMs: s.max,
    all: { gaps: all.length, p50Ms: a.p50, p99Ms: a.p99 },
  };
}

export interface StepStats {
  steps: number;
  /** Timer fired − intended step end, ms. */
  lateP50Ms: number;
  lateP99Ms: number;
  /** Timer fired → every stream's write flushed, ms (the step's handling cost on the server). */
  handleP50Ms: number;
  handleP99Ms: number;
  /** Handling time per stream in the batch, µs (median step). */
  perChunkUs: number;
  /** Server CPU time per chunk emitted over these steps, µs (everything the process did meanwhile). */
  cpuPerChunkUs: number;
}

/**
 * Server-side step statistics over [fromNs, toNs] (CLOCK_MONOTONIC ns); `steps` holds 6 numbers per step:
 * intended end, fired, emitted, flushed (ns), batch size and cumulative CPU µs, as the suite's child reports them.
 */
export function stepStats(steps: readonly number[], fromNs: number, toNs: number): StepStats {
  const late: number[] = [];
  const handle: number[] = [];
  const perChunk: number[] = [];
  let cpuFirst = Number.NaN;
  let cpuLast = Number.NaN;
  let chunksAfterFirst = 0;
  for (let i = 0; i + 5 < steps.length; i += 6) {
    const intended = steps[i]!;
    if (intended < fromNs || intended > toNs) continue;
    // CPU between the first and the last step in range is charged to the chunks of every step after the first
    if (Number.isNaN(cpuFirst)) cpuFirst = steps[i + 5]!;
    else chunksAfterFirst += steps[i + 4]!;
    cpuLast = steps[i + 5]!;
    const fired = steps[i + 1]!;
    const flushed = steps[i + 3]! || steps[i + 2]!;
    late.push((fired - intended) / 1e6);
    handle.push((flushed - fired) / 1e6);
    if (steps[i + 4]! > 0) perChunk.push((flushed - fired) / 1e3 / steps[i + 4]!);
  }
  const l = stats(late);
  const h = stats(handle);
  return {
    steps: late.length,
    lateP50Ms: l.p50,
    lateP99Ms: l.p99,
    handleP50Ms: h.p50,
    handleP99Ms: h.p99,
    perChunkUs: perChunk.length ? percentile(perChunk, 50) : Number.NaN,
    cpuPerChunkUs: chunksAfterFirst > 0 ? (cpuLast - cpuFirst) / chunksAfterFirst : Number.NaN,
  };
}
