import { ERROR_CLASSES, type ErrorClass } from './client.ts';
import type { RequestRecord } from './records.ts';
import { summarize as summarizeExact, type Stats } from './stats.ts';

/** Stats rounded to 1 ns (6 decimals of ms): JSON without float noise such as 53.261427000000005. */
function summarize(values: ArrayLike<number>): Stats | null {
  const st = summarizeExact(values);
  if (st === null) return null;
  for (const k of Object.keys(st) as (keyof Stats)[]) st[k] = Math.round(st[k] * 1e6) / 1e6;
  return st;
}

/** SLA bounds for goodput; a request is good when every bound given holds (DESIGN §6). */
export interface Slo {
  ttftMs?: number | undefined;
  tpotMs?: number | undefined;
  e2eMs?: number | undefined;
}

export interface SummaryOptions {
  slo?: Slo | undefined;
  /** GPUs serving the endpoint; enables tokens_per_second_per_gpu. */
  gpus?: number | undefined;
  /** Target arrival rate (req/s) in rate mode, for achieved-vs-target. */
  targetRate?: number | undefined;
  /** Trace replay: the trace's theoretical prefix-cache hit rate (see tracePrefixStats). */
  theoreticalPrefixHitRate?: number | undefined;
}

/**
 * The summary of one run (`summary.json`, `recipes bench --json`). Latency metrics are Stats in ms; throughputs
 * are per second over the window from the first send to the last response.
 */
export interface Summary {
  schema: 'llm-recipes/bench-summary@1';
  counts: { requests: number; completed: number; failed: number; warmup: number };
  errors: Record<ErrorClass, number>;
  error_rate: number;
  duration_s: number;
  /** first content chunk − send (role-only chunks excluded). */
  ttft: Stats | null;
  /** every gap between consecutive content chunks, pooled over requests. */
  itl: Stats | null;
  /** the same gaps split evenly over the tokens of the later chunk (k values of gap/k). */
  itl_per_token: Stats | null;
  /** (e2e − ttft) / (output_tokens − 1), one value per request with ≥ 2 output tokens. */
  tpot: Stats | null;
  /** last content chunk − send. */
  e2e: Stats | null;
  /** 1000 / tpot_ms, per request. */
  tokens_per_second_per_user: Stats | null;
  /** time spent waiting for a concurrency slot (rate mode with a cap). */
  queue: Stats | null;
  input_tokens: Stats | null;
  output_tokens: Stats | null;
  request_throughput: number;
  output_throughput: number;
  input_throughput: number;
  total_token_throughput: number;
  tokens_per_second_per_gpu: number | null;
  /** good requests/s; null when no SLO was given. */
  goodput: number | null;
  good_requests: number | null;
  slo: Slo | null;
  /** highest output tokens in any 1-s window (tokens, not chunks). */
  peak_output_throughput: number;
  max_concurrent_requests: number;
  schedule: {
    target_rate: number | null;
    /** (sent − 1) / (last send − first send). */
    achieved_rate: number | null;
    /** actual send − scheduled send, ms (includes queueing for a concurrency slot). */
    delay: Stats | null;
  };
  token_counts: {
    source: 'server' | 'tokenizer' | 'mixed';
    input_server_total: number | null;
    input_client_total: number;
    output_server_total: number | null;
    output_client_total: number;
    /** (server − client) / client × 100 over requests that have both counts. */
    input_discrepancy_pct: number | null;
    output_discrepancy_pct: number | null;
    /** Requests whose server output count differs from the requested max (OSL not honoured). */
    osl_mismatch: number;
  };
  /**
   * Prefix reuse: `theoretical_hit_rate` is the trace's own (unbounded cache, block-granular; null outside trace
   * replay); `server_hit_rate` is Σ cached_tokens / Σ prompt tokens over requests whose server reported
   * `usage.prompt_tokens_details.cached_tokens` (null when none did).
   */
  prefix_cache?: {
    theoretical_hit_rate: number | null;
    server_cached_tokens: number | null;
    server_hit_rate: number | null;
  };
}

export function summarizeRecords(all: readonly RequestRecord[], options: SummaryOptions = {}): Summary {
  const records = all.filter((r) => !r.warmup);
  const good = records.filter((r) => r.ok);
  const errors = Object.fromEntries(ERROR_CLASSES.map((c) => [c, 0])) as Record<ErrorClass, number>;
  for (const r of records) if (!r.ok && r.error_class) errors[r.error_class]++;

  const ttft: number[] = [];
  const e2e: number[] = [];
  const tpot: number[] = [];
  const tpsUser: number[] = [];
  const itl: number[] = [];
  const itlTok: number[] = [];
  const inTok: number[] = [];
  const outTok: number[] = [];
  let outTotal = 0;
  let inTotal = 0;
  for (const r of good) {
    if (r.ttft_ms !== null) ttft.push(r.ttft_ms);
    if (r.e2e_ms !== null) e2e.push(r.e2e_ms);
    if (r.tpot_ms !== null) {
      tpot.push(r.tpot_ms);
      if (r.tpot_ms > 0) tpsUser.push(1000 / r.tpot_ms);
    }
    for (let i = 1; i < r.chunk_ms.length; i++) {
      const gap = r.chunk_ms[i]! - r.chunk_ms[i - 1]!;
      itl.push(gap);
      const k = r.chunk_tokens[i] ?? 1;
      for (let j = 0; j < k; j++) itlTok.push(gap / k);
    }
    inTok.push(r.input_tokens);
    outTok.push(r.output_tokens);
    outTotal += r.output_tokens;
    inTotal += r.input_tokens;
  }

  // window: first send → last response of the measured requests (the tail is included, as in vLLM/AIPerf)
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const r of records) {
    first = Math.min(first, r.sent_ms);
    last = Math.max(last, r.last_token_ms ?? r.end_ms, r.end_ms);
  }
  const durationS = records.length > 0 ? Math.max(0, last - first) / 1000 : 0;
  const perS = (x: number): number => (durationS > 0 ? x / durationS : 0);

  let goodCount: number | null = null;
  const slo = options.slo && (options.slo.ttftMs ?? options.slo.tpotMs ?? options.slo.e2eMs) !== undefined ? options.slo : null;
  if (slo) {
    goodCount = 0;
    for (const r of good) {
      const t = r.tpot_ms ?? 0; // vLLM: TPOT is 0 for single-token outputs
      if (slo.ttftMs !== undefined && (r.ttft_ms ?? Infinity) > slo.ttftMs) continue;
      if (slo.tpotMs !== undefined && t > slo.tpotMs) continue;
      if (slo.e2eMs !== undefined && (r.e2e_ms ?? Infinity) > slo.e2eMs) continue;
      goodCount++;
    }
  }

  const scheduled = records.filter((r) => r.scheduled_ms !== null);
  const sends = records.map((r) => r.sent_ms).sort((a, b) => a - b);
  const sendSpan = sends.length > 1 ? (sends[sends.length - 1]! - sends[0]!) / 1000 : 0;

  let inServer = 0;
  let inClient = 0;
  let inBoth = 0;
  let outServer = 0;
  let outClient = 0;
  let outBoth = 0;
  let anyServer = false;
  let anyClient = false;
  let inServerSum = 0;
  let inClientSum = 0;
  let outServerSum = 0;
  let outClientSum = 0;
  let oslMismatch = 0;
  let cachedSum = 0;
  let cachedPrompt = 0;
  let cachedReports = 0;
  for (const r of good) {
    const cached = r.input_tokens_cached_server;
    if (typeof cached === 'number') {
      cachedReports++;
      cachedSum += cached;
      cachedPrompt += r.input_tokens_server ?? r.input_tokens;
    }
    inClientSum += r.input_tokens_client;
    outClientSum += r.output_tokens_client;
    if (r.token_source === 'server') anyServer = true;
    else anyClient = true;
    if (r.input_tokens_server !== null) {
      inServerSum += r.input_tokens_server;
      inServer += r.input_tokens_server;
      inClient += r.input_tokens_client;
      inBoth++;
    }
    if (r.output_tokens_server !== null) {
      outServerSum += r.output_tokens_server;
      outServer += r.output_tokens_server;
      outClient += r.output_tokens_client;
      outBoth++;
      if (r.output_tokens_server !== r.output_tokens_requested) oslMismatch++;
    }
  }
  const pct = (s: number, c: number, n: number): number | null => (n > 0 && c > 0 ? round((100 * (s - c)) / c, 3) : null);

  return {
    schema: 'llm-recipes/bench-summary@1',
    counts: { requests: records.length, completed: good.length, failed: records.length - good.length, warmup: all.length - records.length },
    errors,
    error_rate: records.length > 0 ? (records.length - good.length) / records.length : 0,
    duration_s: round(durationS, 6),
    ttft: summarize(ttft),
    itl: summarize(itl),
    itl_per_token: summarize(itlTok),
    tpot: summarize(tpot),
    e2e: summarize(e2e),
    tokens_per_second_per_user: summarize(tpsUser),
    queue: scheduled.length > 0 ? summarize(scheduled.map((r) => r.queue_ms)) : null,
    input_tokens: summarize(inTok),
    output_tokens: summarize(outTok),
    request_throughput: perS(good.length),
    output_throughput: perS(outTotal),
    input_throughput: perS(inTotal),
    total_token_throughput: perS(inTotal + outTotal),
    tokens_per_second_per_gpu: options.gpus ? perS(outTotal) / options.gpus : null,
    goodput: goodCount === null ? null : perS(goodCount),
    good_requests: goodCount,
    slo,
    peak_output_throughput: peakTokensPerSecond(good),
    max_concurrent_requests: maxConcurrent(records),
    schedule: {
      target_rate: options.targetRate ?? null,
      achieved_rate: sendSpan > 0 ? (sends.length - 1) / sendSpan : null,
      delay: scheduled.length > 0 ? summarize(scheduled.map((r) => r.sent_ms - r.scheduled_ms!)) : null,
    },
    token_counts: {
      source: anyServer && anyClient ? 'mixed' : anyServer ? 'server' : 'tokenizer',
      input_server_total: inBoth > 0 ? inServerSum : null,
      input_client_total: inClientSum,
      output_server_total: outBoth > 0 ? outServerSum : null,
      output_client_total: outClientSum,
      input_discrepancy_pct: pct(inServer, inClient, inBoth),
      output_discrepancy_pct: pct(outServer, outClient, outBoth),
      osl_mismatch: oslMismatch,
    },
    prefix_cache: {
      theoretical_hit_rate: options.theoreticalPrefixHitRate === undefined ? null : round(options.theoreticalPrefixHitRate, 6),
      server_cached_tokens: cachedReports > 0 ? cachedSum : null,
      server_hit_rate: cachedReports > 0 && cachedPrompt > 0 ? round(cachedSum / cachedPrompt, 6) : null,
    },
  };
}

/** Highest token count in any 1-s bucket aligned to the first send, counting each chunk's tokens. */
function peakTokensPerSecond(records: readonly RequestRecord[]): number {
  const buckets = new Map<number, number>();
  let origin = Number.POSITIVE_INFINITY;
  for (const r of records) origin = Math.min(origin, r.sent_ms);
  for (const r of records) {
    for (let i = 0; i < r.chunk_ms.length; i++) {
      const b = Math.floor((r.sent_ms + r.chunk_ms[i]! - origin) / 1000);
      buckets.set(b, (buckets.get(b) ?? 0) + (r.chunk_tokens[i] ?? 1));
    }
  }
  let peak = 0;
  for (const v of buckets.values()) peak = Math.max(peak, v);
  return peak;
}

/** Sweep line over [sent, end]: the most requests in flight at once. */
function maxConcurrent(records: readonly RequestRecord[]): number {
  const ev: [number, number][] = [];
  for (const r of records) {
    ev.push([r.sent_ms, 1], [r.end_ms, -1]);
  }
  // ends before starts at equal times: a slot freed and reused is not two in flight
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) {
    cur += d;
    if (cur > max) max = cur;
  }
  return max;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
