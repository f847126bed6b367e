// Child-process entry for the simulator suite's load generator: runs one level with the project harness
// (runBenchmark) in a fresh process, so the client's heap and GC history are the level's own and not the bench
// runner's, and sends the analysed result back over IPC.
import { CLOCK_BASE_NS, loadTokenizer, monoNow, runBenchmark, type RequestRecord } from '@llm-recipes/bench';
import { steadyJitter, type JitterStats } from './sim-jitter.ts';

export interface SimClientJob {
  url: string;
  streams: number;
  osl: number;
  isl: number;
  intendedMs: number;
}

export interface SimClientResult {
  jitter: JitterStats;
  /** Steady window on CLOCK_MONOTONIC, ns (to line up with the server's steps). */
  windowNs: { start: number; end: number };
  failed: number;
  /** This process's CPU µs per chunk received inside the steady window. */
  cpuPerChunkUs: number;
  outputTokPerS: number;
}

/** CPU µs per chunk received in [fromNs, toNs] (harness ns), from (time, cumulative CPU µs) samples. */
function cpuPerChunk(samples: readonly number[], records: readonly RequestRecord[], originNs: number, fromNs: number, toNs: number): number {
  let first = -1;
  let last = -1;
  for (let i = 0; i < samples.length; i += 2) {
    const t = samples[i]!;
    if (t < fromNs || t > toNs) continue;
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0 || last === first) return Number.NaN;
  const t0 = samples[first]!;
  const t1 = samples[last]!;
  let chunks = 0;
  for (const rec of records) {
    const sent = originNs + rec.sent_ms * 1e6;
    for (const c of rec.chunk_ms) {
      const t = sent + c * 1e6;
      if (t > t0 && t <= t1) chunks++;
    }
  }
  return chunks > 0 ? (samples[last + 1]! - samples[first + 1]!) / chunks : Number.NaN;
}

const job = JSON.parse(process.argv[2] ?? '{}') as SimClientJob;
const tokenizer = await loadTokenizer('o200k_base');
const pass = (seed: number) =>
  runBenchmark({
    endpoint: job.url,
    api: 'completions',
    model: 'sim-model',
    load: { mode: 'concurrency', concurrency: job.streams },
    requests: job.streams,
    workload: { isl: job.isl, osl: job.osl, seed },
    tokenizer,
    timeoutMs: 60_000,
  });
// Unmeasured warm-up pass of the same level first. A fresh process (and, at the first level, the simulator) is
// still tiering up its per-chunk code for the first seconds: V8 compiles the hot write/parse paths with Maglev
// then Turbofan, and deoptimizes and recompiles some, on background threads that share the pinned core with the
// event loop, so a step's burst of chunks stalls for several ms whenever a compile lands in it — across every
// stream at once, which alone puts the p99 of a 3-s window above 1 ms. The parent marks the simulator's window
// between the passes (`warmed` → `go`).
await pass(6);
if (process.send) {
  const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
  process.send({ type: 'warmed' });
  await go;
}
const samples: number[] = [];
const sampler = setInterval(() => {
  const c = process.cpuUsage();
  samples.push(monoNow(), c.user + c.system);
}, 20);
const r = await pass(5);
clearInterval(sampler);
const jitter = steadyJitter(r.records, job.intendedMs);
const rel = (ms: number): number => r.originNs + ms * 1e6;
const result: SimClientResult = {
  jitter,
  windowNs: { start: Number(CLOCK_BASE_NS) + rel(jitter.window.startMs), end: Number(CLOCK_BASE_NS) + rel(jitter.window.endMs) },
  failed: r.summary.counts.failed,
  cpuPerChunkUs: cpuPerChunk(samples, r.records, r.originNs, rel(jitter.window.startMs), rel(jitter.window.endMs)),
  outputTokPerS: r.summary.output_throughput,
};
process.send?.(result, () => process.exit(0));
