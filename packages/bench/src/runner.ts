import { OpenAIClient, type Api, type Observation, type PreparedRequest } from './client.ts';
import { monoNow } from './clock.ts';
import { summarizeRecords, type Slo, type Summary } from './metrics.ts';
import { toRecord, type RequestRecord } from './records.ts';
import type { BenchTokenizer } from './tokenizer.ts';
import { buildRequests, createRng, MOONCAKE_BLOCK_SIZE, tracePrefixStats, type RequestShape, type TraceEntry, type WorkloadOptions } from './workload.ts';

export type Arrival = 'poisson' | 'gamma' | 'constant';

export type LoadSpec =
  /** Closed loop: `concurrency` requests always in flight. */
  | { mode: 'concurrency'; concurrency: number }
  /** Open loop: arrivals at `rate` req/s, optionally capped by `maxConcurrency`. */
  | { mode: 'rate'; rate: number; arrival: Arrival; burstiness?: number | undefined; maxConcurrency?: number | undefined }
  /**
   * Replays a trace: at its timestamps (scaled by 1/speed), optionally capped by `maxConcurrency`; or, with
   * `fixedSchedule: false`, in trace order as fast as `maxConcurrency` (default 1) requests in flight allow.
   * `blockSize` is the tokens per hash_id block (Mooncake: 512).
   */
  | {
      mode: 'trace';
      entries: TraceEntry[];
      speed?: number | undefined;
      maxConcurrency?: number | undefined;
      fixedSchedule?: boolean | undefined;
      blockSize?: number | undefined;
    };

export interface RunOptions {
  endpoint: string;
  api: Api;
  model: string;
  headers?: Record<string, string> | undefined;
  load: LoadSpec;
  /** Stop after this many measured requests (default 100 when no duration is given). */
  requests?: number | undefined;
  /** Stop issuing after this many seconds; in-flight requests finish (bounded by the timeout). */
  durationS?: number | undefined;
  /** Requests sent before measuring, excluded from every metric. */
  warmup?: number | undefined;
  /** Linear ramp: concurrency slots open (or the rate rises) evenly over this many seconds. */
  rampUpS?: number | undefined;
  timeoutMs?: number | undefined;
  stallTimeoutMs?: number | undefined;
  workload: Omit<WorkloadOptions, 'api' | 'model' | 'requestIdPrefix'> & { requestIdPrefix?: string | undefined };
  tokenizer: BenchTokenizer;
  /** Distinct prompts prepared for duration-bounded closed-loop runs (they are reused round-robin). */
  promptPool?: number | undefined;
  slo?: Slo | undefined;
  gpus?: number | undefined;
  /** Called about every `progressMs` with live counters. */
  onProgress?: ((p: Progress) => void) | undefined;
  progressMs?: number | undefined;
}

export interface Progress {
  phase: 'warmup' | 'measure' | 'drain';
  elapsedS: number;
  sent: number;
  done: number;
  inflight: number;
  errors: number;
  /** Target request count, when known. */
  total: number | null;
  /** Output tokens/s over the last progress interval. */
  outputTokPerS: number;
}

export interface RunResult {
  records: RequestRecord[];
  summary: Summary;
  /** Clock origin of the records (ns on the harness clock). */
  originNs: number;
}

const DEFAULT_REQUESTS = 100;

/** Runs one load point end to end: prepare prompts, pre-open connections, warm up, measure, summarise. */
export async function runBenchmark(options: RunOptions): Promise<RunResult> {
  const load = options.load;
  const peak = peakConcurrency(load, options);
  const measuredCount = plannedCount(load, options);
  const seed = options.workload.seed;
  const workload: WorkloadOptions = {
    ...options.workload,
    api: options.api,
    model: options.model,
    requestIdPrefix: options.workload.requestIdPrefix ?? `bench-${seed.toString(36)}-${Date.now().toString(36)}`,
  };
  // a trace replays its first `requests` entries (all of them by default)
  const traceEntries = load.mode === 'trace' ? load.entries.slice(0, measuredCount.prepare) : undefined;
  const blockSize = load.mode === 'trace' ? (load.blockSize ?? MOONCAKE_BLOCK_SIZE) : undefined;
  const lengths: RequestShape[] | undefined = traceEntries?.map((e) => ({ isl: e.isl, osl: e.osl, hashIds: e.hashIds }));
  const warmupN = options.warmup ?? 0;
  const prepared = buildRequests(options.tokenizer, { ...workload, traceBlockSize: blockSize }, measuredCount.prepare, lengths, 0);
  // warmup prompts are synthetic and never share a trace block, so they warm the server without seeding its cache
  const warmups = warmupN > 0 ? buildRequests(options.tokenizer, { ...workload, datasetEntries: undefined, seed: seed + 7919 }, warmupN, undefined, -warmupN) : [];

  const client = new OpenAIClient({
    endpoint: options.endpoint,
    api: options.api,
    connections: peak,
    timeoutMs: options.timeoutMs ?? 600_000,
    stallTimeoutMs: options.stallTimeoutMs,
    headers: options.headers,
  });
  const records: RequestRecord[] = [];
  const live = { sent: 0, done: 0, inflight: 0, errors: 0, tokens: 0, phase: 'warmup' as Progress['phase'] };
  let progressTimer: NodeJS.Timeout | null = null;
  const runStart = monoNow();
  try {
    await client.preconnect(preconnectCount(load, peak));
    if (options.onProgress) {
      let lastTokens = 0;
      let lastT = monoNow();
      const every = options.progressMs ?? 1000;
      progressTimer = setInterval(() => {
        const now = monoNow();
        const rate = ((live.tokens - lastTokens) * 1e9) / Math.max(1, now - lastT);
        lastTokens = live.tokens;
        lastT = now;
        options.onProgress?.({
          phase: live.phase,
          elapsedS: (now - runStart) / 1e9,
          sent: live.sent,
          done: live.done,
          inflight: live.inflight,
          errors: live.errors,
          total: measuredCount.fixed ? measuredCount.prepare : null,
          outputTokPerS: rate,
        });
      }, every);
      progressTimer.unref();
    }

    const pending: { req: PreparedRequest; obs: Observation; warmup: boolean; scheduledNs: number | null }[] = [];
    const observe = async (req: PreparedRequest, warmup: boolean, scheduledNs: number | null): Promise<void> => {
      live.inflight++;
      if (!warmup) live.sent++;
      const obs: Observation = await client.send(req);
      live.inflight--;
      // progress counts measured requests; warmup shows as the phase only
      if (!warmup) {
        live.done++;
        if (obs.error) live.errors++;
      }
      live.tokens += obs.usage?.completionTokens ?? obs.chunkNs.length;
      // raw observations are kept; conversion (tokenizer counts) happens after the run, off the hot path
      pending.push({ req, obs, warmup, scheduledNs });
    };

    const rampNs = (options.rampUpS ?? 0) * 1e9;
    let t0 = monoNow();
    if (load.mode === 'concurrency') {
      // closed loop: warmup flows straight into measurement (no barrier), so measured requests start in steady
      // state instead of as one synchronized burst; the measured window opens at the first measured send
      const warmSet = new Set(warmups);
      const all = [...warmups, ...prepared];
      const limit = measuredCount.fixed ? all.length : Number.POSITIVE_INFINITY;
      let stopAtNs = Number.POSITIVE_INFINITY;
      let measuring = warmups.length === 0;
      if (measuring) {
        live.phase = 'measure';
        if (options.durationS !== undefined) stopAtNs = t0 + options.durationS * 1e9;
      }
      await closedLoop(all, load.concurrency, () => stopAtNs, rampNs, (r) => {
        const warm = warmSet.has(r);
        if (!warm && !measuring) {
          measuring = true;
          live.phase = 'measure';
          t0 = monoNow();
          if (options.durationS !== undefined) stopAtNs = t0 + options.durationS * 1e9;
        }
        return observe(r, warm, null);
      }, limit, warmups.length);
    } else if (load.mode === 'trace' && load.fixedSchedule === false) {
      // the trace's requests in order, closed loop: timestamps ignored
      if (warmups.length > 0) await closedLoop(warmups, Math.min(load.maxConcurrency ?? 1, warmups.length), () => Number.POSITIVE_INFINITY, 0, (r) => observe(r, true, null));
      live.phase = 'measure';
      t0 = monoNow();
      const stopAtNs = options.durationS !== undefined ? t0 + options.durationS * 1e9 : Number.POSITIVE_INFINITY;
      await closedLoop(prepared, load.maxConcurrency ?? 1, () => stopAtNs, rampNs, (r) => observe(r, false, null));
    } else {
      if (warmups.length > 0) {
        if (load.mode === 'rate') {
          // warm up at the run's own arrival process, so the server meets the load shape it is measured under
          const d = arrivalSchedule(warmups.length, load.rate, load.arrival, load.burstiness ?? 1, seed + 1, rampNs);
          await openLoop(warmups, d, monoNow(), Number.POSITIVE_INFINITY, load.maxConcurrency, (r) => observe(r, true, null));
        } else {
          await closedLoop(warmups, Math.min(load.maxConcurrency ?? 16, warmups.length), () => Number.POSITIVE_INFINITY, 0, (r) => observe(r, true, null));
        }
      }
      live.phase = 'measure';
      t0 = monoNow();
      const stopAtNs = options.durationS !== undefined ? t0 + options.durationS * 1e9 : Number.POSITIVE_INFINITY;
      const deadlines =
        load.mode === 'rate'
          ? arrivalSchedule(prepared.length, load.rate, load.arrival, load.burstiness ?? 1, seed, rampNs)
          : traceEntries!.map((e) => (e.atMs * 1e6) / (load.speed ?? 1));
      await openLoop(prepared, deadlines, t0, stopAtNs, load.maxConcurrency, (r, s) => observe(r, false, s));
    }
    live.phase = 'drain';
    for (const p of pending) records.push(toRecord(p.req, p.obs, t0, options.tokenizer, { warmup: p.warmup, scheduledNs: p.scheduledNs }));
    records.sort((a, b) => a.sent_ms - b.sent_ms || a.index - b.index);
    const summary = summarizeRecords(records, {
      slo: options.slo,
      gpus: options.gpus,
      targetRate: load.mode === 'rate' ? load.rate : undefined,
      theoreticalPrefixHitRate: traceEntries ? tracePrefixStats(traceEntries, blockSize!).hitRate : undefined,
    });
    return { records, summary, originNs: t0 };
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    await client.close();
  }
}

function peakConcurrency(load: LoadSpec, options: RunOptions): number {
  if (load.mode === 'concurrency') return load.concurrency;
  if (load.mode === 'trace' && load.fixedSchedule === false) return load.maxConcurrency ?? 1;
  if (load.maxConcurrency) return load.maxConcurrency;
  // open loop without a cap: enough connections for the expected in-flight count, bounded
  const rate = load.mode === 'rate' ? load.rate : load.entries.length / Math.max(1e-3, (load.entries.at(-1)?.atMs ?? 1000) / 1000);
  const guess = Math.ceil(rate * Math.max(1, (options.timeoutMs ?? 600_000) / 1000 / 60));
  return Math.max(16, Math.min(4096, guess));
}

/**
 * Connections to open before the clock starts: all of them in closed loop or under a cap; for an uncapped open
 * loop, half a second of arrivals (the pool still grows on demand, up to `peak`).
 */
function preconnectCount(load: LoadSpec, peak: number): number {
  if (load.mode === 'concurrency' || load.maxConcurrency || (load.mode === 'trace' && load.fixedSchedule === false)) return peak;
  const rate = load.mode === 'rate' ? load.rate : 100;
  return Math.min(peak, Math.max(16, Math.ceil(rate / 2)));
}

function plannedCount(load: LoadSpec, options: RunOptions): { prepare: number; fixed: boolean } {
  if (load.mode === 'trace') return { prepare: Math.min(load.entries.length, options.requests ?? load.entries.length), fixed: true };
  if (options.requests !== undefined) return { prepare: options.requests, fixed: true };
  if (options.durationS === undefined) return { prepare: DEFAULT_REQUESTS, fixed: true };
  if (load.mode === 'rate') {
    // ramp: the first rampUpS/2 seconds deliver half the rate on average
    const effective = Math.max(0, options.durationS - (options.rampUpS ?? 0) / 2);
    return { prepare: Math.max(1, Math.ceil(load.rate * effective)), fixed: true };
  }
  return { prepare: options.promptPool ?? options.workload.datasetEntries ?? Math.max(256, load.concurrency * 8), fixed: false };
}

/**
 * Closed loop: `concurrency` workers, each sending its next request when the previous completes.
 * With a ramp, worker i starts at i/concurrency of the ramp time.
 */
async function closedLoop(
  reqs: readonly PreparedRequest[],
  concurrency: number,
  stopAtNs: () => number,
  rampNs: number,
  send: (r: PreparedRequest) => Promise<void>,
  limit = reqs.length,
  /** Leading entries sent once only (warmup); the rest are reused round-robin by duration runs. */
  fixedHead = 0,
): Promise<void> {
  let next = 0;
  const cycle = reqs.length - fixedHead;
  const worker = async (w: number): Promise<void> => {
    if (rampNs > 0 && w > 0) await sleepNs((rampNs * w) / concurrency);
    while (next < limit && monoNow() < stopAtNs()) {
      const i = next++;
      if (i < reqs.length) {
        await send(reqs[i]!);
        continue;
      }
      // duration runs reuse prompts round-robin, but every send keeps a unique index and request id
      const k = i - fixedHead;
      const proto = reqs[fixedHead + (k % cycle)]!;
      await send({ ...proto, index: k, requestId: `${proto.requestId}-r${Math.floor(k / cycle)}` });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, (_, w) => worker(w)));
}

/**
 * Open loop: each request is sent at its absolute deadline (t0 + d_i), so timer lateness never accumulates;
 * everything already due is sent at once. With a cap, due requests wait in FIFO order for a free slot.
 */
async function openLoop(
  reqs: readonly PreparedRequest[],
  deadlinesNs: readonly number[],
  t0: number,
  stopAtNs: number,
  cap: number | undefined,
  send: (r: PreparedRequest, scheduledNs: number) => Promise<void>,
): Promise<void> {
  const running: Promise<void>[] = [];
  const queue: number[] = [];
  let inflight = 0;
  let i = 0;
  let wake: (() => void) | null = null;
  const launch = (k: number): void => {
    inflight++;
    const p = send(reqs[k]!, t0 + deadlinesNs[k]!).then(() => {
      inflight--;
      const q = queue.shift();
      if (q !== undefined) launch(q);
      else if (wake) wake();
    });
    running.push(p);
  };
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = monoNow();
      // 0.25 ms early is sooner than a timer can fire again; sending it now is the most accurate option
      while (i < reqs.length && t0 + deadlinesNs[i]! <= now + 250_000) {
        if (t0 + deadlinesNs[i]! > stopAtNs) {
          i = reqs.length;
          break;
        }
        if (cap !== undefined && inflight >= cap) queue.push(i);
        else launch(i);
        i++;
      }
      if (i >= reqs.length) {
        resolve();
        return;
      }
      const waitMs = (t0 + deadlinesNs[i]! - monoNow()) / 1e6;
      setTimeout(tick, Math.max(0, Math.floor(waitMs)));
    };
    tick();
  });
  // drain: queued requests start as slots free up; wait for all of them
  while (queue.length > 0 || inflight > 0) {
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 50);
    });
    wake = null;
  }
  await Promise.all(running);
}

/**
 * Arrival offsets (ns from t0) for `n` requests at `rate` req/s. Gaps are exponential (Poisson), gamma with
 * shape = burstiness (burstiness < 1 is burstier, > 1 smoother; 1 = Poisson) or constant; the cumulative schedule
 * is rescaled so the last arrival lands at (n−1)/rate exactly (vLLM's fix for under-delivery). A linear ramp maps
 * each offset u to the time at which a rate rising linearly over `rampNs` has delivered as many requests.
 */
export function arrivalSchedule(n: number, rate: number, arrival: Arrival, burstiness: number, seed: number, rampNs = 0): number[] {
  const rng = createRng(seed ^ 0xa5a5a5);
  const out = new Array<number>(n);
  let acc = 0;
  out[0] = 0;
  for (let k = 1; k < n; k++) {
    let gap: number;
    if (arrival === 'constant') gap = 1;
    else if (arrival === 'poisson') gap = -Math.log(1 - rng());
    else gap = sampleGamma(burstiness, rng) / burstiness;
    acc += gap;
    out[k] = acc;
  }
  const scale = n > 1 && acc > 0 ? ((n - 1) / rate) * 1e9 / acc : 0;
  for (let k = 0; k < n; k++) {
    const u = out[k]! * scale;
    // cumulative requests of a linear ramp: R·t²/(2T) for t < T, then R·(t − T/2)
    out[k] = rampNs > 0 ? (u < rampNs / 2 ? Math.sqrt(2 * rampNs * u) : u + rampNs / 2) : u;
  }
  return out;
}

/** Marsaglia–Tsang gamma(shape, 1) sampler; shape < 1 uses the boost u^(1/shape). */
function sampleGamma(shape: number, rng: () => number): number {
  if (shape < 1) return sampleGamma(shape + 1, rng) * Math.pow(rng(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      // Box–Muller normal
      x = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function sleepNs(ns: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, Math.round(ns / 1e6))));
}
