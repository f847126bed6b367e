import { loadTokenizer, runBenchmark, type BenchTokenizer, type RequestRecord } from '@llm-recipes/bench';
import { resolveSimConfig, startSimulator } from '@llm-recipes/sim';
import { defaultCalibration } from './calibration-data.ts';
import { estimatorSimulation, type RecipeForEstimate } from './sim-seam.ts';
import type { Calibration, Workload } from './types.ts';

// Measures the simulator, stepping with the estimator, through the project's harness and compares it with the
// estimate: the check that "a simulated deployment behaves like the estimate". Exported on its own subpath
// (@llm-recipes/estimate/agreement) so the estimator's main surface does not pull in the HTTP harness.

/** Serving figures in simulated time: ms and output tokens/s. */
export interface AgreementFigures {
  ttftMs: number;
  itlMs: number;
  tpotMs: number;
  outputTokensPerSecond: number;
}

export interface AgreementPoint {
  concurrency: number;
  estimate: AgreementFigures;
  measured: AgreementFigures;
  /**
   * measured / estimate − 1 per figure. TTFT is compared with what a client at the measured loopback distance sees:
   * the estimate plus the part of the transport the engine did not spend anyway (see `clientTtftMs`).
   */
  deviation: AgreementFigures;
  /**
   * The estimated TTFT as the harness sees it: the estimator models TTFT from arrival at the engine. A closed-loop
   * client sends its next request as its previous one ends, just as the engine starts another step; when the engine
   * is busy the request would wait for that step anyway, so the transport overlaps the wait, and when it is idle
   * (one request per replica) the transport adds on top: estimate + max(0, transport − wait for the running step).
   */
  clientTtftMs: number;
  /** Loopback HTTP time per request (client TTFT − server TTFT), wall ms; counted once, never scaled. */
  transportMs: number;
  /** How late the simulator's step ends fired on average, wall ms (CPU contention shows here first). */
  lateMs: number;
  /** Runs of this level (a run whose steps slipped is repeated; see `maxLateMs`). */
  attempts: number;
  /** Measured requests (after one warmup round). */
  requests: number;
  wallS: number;
}

export interface AgreementOptions {
  resolved: RecipeForEstimate;
  workload: Workload;
  concurrencies: readonly number[];
  /**
   * Simulated time runs this many times faster than wall time (default 1). Above 1 the client's turnaround shrinks
   * the simulated wait by speedup × its wall time, so TTFT reads low at high concurrency; ITL, TPOT and throughput
   * are unaffected.
   */
  speedup?: number | undefined;
  /** Measured rounds per level: requests = rounds × concurrency (default 3, at least 4 requests). */
  rounds?: number | undefined;
  calibration?: Calibration | undefined;
  tokenizer?: BenchTokenizer | undefined;
  seed?: number | undefined;
  /**
   * A run is valid only if the simulator kept its schedule: when its step ends fired later than this on average
   * (wall ms; the machine was busy elsewhere), the level is run again, up to `attempts` times (default 1.5 ms, 3;
   * an otherwise idle 2-core machine shows 0.8–1.4 ms).
   */
  maxLateMs?: number | undefined;
  attempts?: number | undefined;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * Sustained output tokens/s (wall) while every slot of the closed loop is busy: tokens arriving between the first
 * measured send and the last send. A short run's `output_throughput` also spans the ramp and the drain, where fewer
 * requests are in flight, and reads low by about one round in `rounds + 1`.
 */
export function steadyOutputThroughput(records: readonly RequestRecord[]): number {
  const measured = records.filter((r) => !r.warmup);
  if (measured.length === 0) return 0;
  const from = Math.min(...measured.map((r) => r.sent_ms));
  const to = Math.max(...records.map((r) => r.sent_ms));
  if (!(to > from)) return 0;
  let tokens = 0;
  for (const r of records) {
    for (let i = 0; i < r.chunk_ms.length; i++) {
      const at = r.sent_ms + r.chunk_ms[i]!;
      if (at > from && at <= to) tokens += r.chunk_tokens[i] ?? 1;
    }
  }
  return (tokens * 1000) / (to - from);
}

function promValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Starts the recipe's simulator on the estimator's step models (a fresh one per level, so no prefix-cache carry-over),
 * drives it with `runBenchmark` at each concurrency and compares with `estimate(...)` for the same deployment and
 * workload. Closed-loop slots open over one estimated request lifetime (ramp-up), so requests run at spread phases as
 * in the steady state the estimator models; one warmup round precedes the measured ones.
 *
 * Simulated times are wall times × speedup, except the loopback HTTP time (client TTFT − server TTFT), which is
 * real time at any speedup: it is taken out before scaling and added back once.
 */
export async function measureAgreement(opts: AgreementOptions): Promise<AgreementPoint[]> {
  const speedup = opts.speedup ?? 1;
  const rounds = opts.rounds ?? 3;
  const tokenizer = opts.tokenizer ?? (await loadTokenizer('o200k_base'));
  const es = estimatorSimulation(opts.resolved, opts.calibration ?? defaultCalibration);
  // the harness below opens slots over a ramp and discards a warm-up round: evenly phased arrivals, steady state
  const w: Workload = { ...opts.workload, arrival: 'spread', requestsPerSlot: Number.POSITIVE_INFINITY };
  const out: AgreementPoint[] = [];
  const maxLate = opts.maxLateMs ?? 1.5;
  const attempts = Math.max(1, opts.attempts ?? 3);
  for (const c of opts.concurrencies) {
    let point: AgreementPoint | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      point = await measureLevel(c, attempt);
      if (point.lateMs <= maxLate) break;
    }
    out.push(point!);
  }
  return out;

  async function measureLevel(c: number, attempt: number): Promise<AgreementPoint> {
    const est = es.estimate(w, c);
    if (!est.fits) throw new Error(`${c} concurrent requests of ${w.isl}+${w.osl} tokens do not fit this deployment`);
    const config = resolveSimConfig({ ...es.config, speedup, seed: opts.seed ?? 1 });
    const sim = await startSimulator(config, { port: 0, stepModels: es.stepModels });
    const t0 = performance.now();
    try {
      // a few short requests first, so JIT warm-up of the HTTP path stays out of the loopback time
      await runBenchmark({
        endpoint: sim.url,
        api: 'completions',
        model: config.model.name,
        load: { mode: 'concurrency', concurrency: 1 },
        requests: 3,
        workload: { isl: w.isl, osl: 2, seed: (opts.seed ?? 1) + 7 * c + 3 },
        tokenizer,
      });
      const before = await (await fetch(`${sim.url}/metrics`)).text();
      const lifetimeS = (est.ttftMs + (w.osl - 1) * est.itlMs) / 1000;
      const run = await runBenchmark({
        endpoint: sim.url,
        api: 'completions',
        model: config.model.name,
        load: { mode: 'concurrency', concurrency: c },
        requests: Math.max(4, rounds * c),
        warmup: c,
        rampUpS: lifetimeS / speedup,
        workload: { isl: w.isl, osl: w.osl, seed: (opts.seed ?? 1) + c },
        tokenizer,
      });
      const failed = run.records.filter((r) => !r.ok);
      if (failed.length > 0) throw new Error(`${failed.length} requests failed against the simulator: ${failed[0]!.error}`);
      const metrics = await (await fetch(`${sim.url}/metrics`)).text();
      const delta = (name: string): number => promValue(metrics, name) - promValue(before, name);
      const serverTtftMs = (delta('vllm:time_to_first_token_seconds_sum') * 1000) / delta('vllm:time_to_first_token_seconds_count');
      const transportMs = Math.max(0, mean(run.records.map((r) => r.ttft_ms!)) - serverTtftMs);
      const measuredRecs = run.records.filter((r) => !r.warmup);
      const s = run.summary;
      const measured: AgreementFigures = {
        ttftMs: (mean(measuredRecs.map((r) => r.ttft_ms!)) - transportMs) * speedup + transportMs,
        itlMs: s.itl!.mean * speedup,
        tpotMs: s.tpot!.mean * speedup,
        outputTokensPerSecond: steadyOutputThroughput(run.records) / speedup,
      };
      // the simulator models the engine, not the API server's request handling: compare without it
      const engineTtftMs = est.ttftMs - est.requestMs;
      const estimate: AgreementFigures = {
        ttftMs: engineTtftMs,
        itlMs: est.itlMs,
        tpotMs: est.tpotMs,
        outputTokensPerSecond: est.outputTokensPerSecond,
      };
      // the step a closed-loop arrival waits for: a whole decode step when others share the replica (agg), none
      // when it is alone or arrives at a disaggregated prefill pool
      const perReplica = es.deployment.mode === 'agg' ? c / es.deployment.agg!.replicas : 1;
      const runningStepMs = perReplica > 1 ? est.itlMs : 0;
      const clientTtftMs = engineTtftMs + Math.max(0, transportMs - runningStepMs);
      const dev = (k: keyof AgreementFigures): number => measured[k] / (k === 'ttftMs' ? clientTtftMs : estimate[k]) - 1;
      return {
        concurrency: c,
        estimate,
        measured,
        deviation: { ttftMs: dev('ttftMs'), itlMs: dev('itlMs'), tpotMs: dev('tpotMs'), outputTokensPerSecond: dev('outputTokensPerSecond') },
        transportMs,
        clientTtftMs,
        lateMs: sim.metrics().schedule.meanLateMs,
        attempts: attempt,
        requests: measuredRecs.length,
        wallS: (performance.now() - t0) / 1000,
      };
    } finally {
      await sim.close();
    }
  }
}
