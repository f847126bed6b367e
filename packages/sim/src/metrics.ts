// Prometheus text exposition with vLLM's metric names and bucket boundaries, so dashboards, autoscalers and
// the harness's server-side cross-checks work unchanged against the simulator.

const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

/** vLLM's 1-2-5 series up to max_model_len, for the token-count histograms. */
function tokenBuckets(max: number): number[] {
  const out: number[] = [];
  for (let exp = 1; ; exp *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * exp > max) return out;
      out.push(m * exp);
    }
  }
}

class Histogram {
  readonly buckets: number[];
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(buckets: number[]) {
    this.buckets = buckets;
    this.counts = new Array<number>(buckets.length).fill(0);
  }
  /** Binary search for the first bound ≥ v: a handful of comparisons whatever the value (observed per token). */
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.buckets;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v <= b[mid]!) hi = mid;
      else lo = mid + 1;
    }
    // lo === b.length: above every bound, counted only in +Inf (count)
    if (lo < b.length) this.counts[lo]!++;
  }
}

export type HistogramName =
  | 'time_to_first_token_seconds'
  | 'inter_token_latency_seconds'
  | 'time_per_output_token_seconds'
  | 'request_time_per_output_token_seconds'
  | 'e2e_request_latency_seconds'
  | 'request_queue_time_seconds'
  | 'request_prefill_time_seconds'
  | 'request_decode_time_seconds'
  | 'request_inference_time_seconds'
  | 'request_prompt_tokens'
  | 'request_generation_tokens'
  | 'request_params_max_tokens';

const HELP: Record<string, string> = {
  num_requests_running: 'Number of requests in model execution batches.',
  num_requests_waiting: 'Number of requests waiting to be processed.',
  kv_cache_usage_perc: 'KV-cache usage. 1 means 100 percent usage.',
  gpu_cache_usage_perc: 'GPU KV-cache usage (legacy name). 1 means 100 percent usage.',
  prompt_tokens_total: 'Number of prefill tokens processed.',
  generation_tokens_total: 'Number of generation tokens processed.',
  request_success_total: 'Count of successfully processed requests.',
  prefix_cache_queries_total: 'Prefix cache queries, in terms of number of queried tokens.',
  prefix_cache_hits_total: 'Prefix cache hits, in terms of number of cached tokens.',
  num_preemptions_total: 'Cumulative number of preemptions from the engine.',
  time_to_first_token_seconds: 'Histogram of time to first token in seconds (from arrival, including queueing).',
  inter_token_latency_seconds: 'Histogram of inter-token latency in seconds.',
  time_per_output_token_seconds: 'Histogram of time per output token in seconds (deprecated name of inter_token_latency).',
  request_time_per_output_token_seconds: 'Histogram of time_per_output_token_seconds per request.',
  e2e_request_latency_seconds: 'Histogram of e2e request latency in seconds.',
  request_queue_time_seconds: 'Histogram of time spent in WAITING phase for request.',
  request_prefill_time_seconds: 'Histogram of time spent in PREFILL phase for request.',
  request_decode_time_seconds: 'Histogram of time spent in DECODE phase for request.',
  request_inference_time_seconds: 'Histogram of time spent in RUNNING phase for request.',
  request_prompt_tokens: 'Number of prefill tokens processed.',
  request_generation_tokens: 'Number of generation tokens processed.',
  request_params_max_tokens: 'Histogram of the max_tokens request parameter.',
  cache_config_info: 'Information of the LLMEngine CacheConfig.',
};

/** Per-engine gauges and counters sampled when /metrics is scraped. */
export interface EngineSample {
  engine: string;
  running: number;
  waiting: number;
  kvUsage: number;
  promptTokens: number;
  generationTokens: number;
  preemptions: number;
  prefixQueries: number;
  prefixHits: number;
  blockSize: number;
  numGpuBlocks: number;
  prefixCaching: boolean;
}

/** Histograms and finish-reason counters observed by the HTTP layer (model-wide, like one vLLM frontend). */
export class SimMetrics {
  readonly modelName: string;
  private readonly hist = new Map<HistogramName, Histogram>();
  readonly success = new Map<string, number>();

  constructor(modelName: string, maxModelLen: number) {
    this.modelName = modelName;
    const tok = tokenBuckets(maxModelLen);
    const make = (n: HistogramName, b: number[]): void => void this.hist.set(n, new Histogram(b));
    make('time_to_first_token_seconds', TTFT_BUCKETS);
    make('inter_token_latency_seconds', ITL_BUCKETS);
    make('time_per_output_token_seconds', ITL_BUCKETS);
    make('request_time_per_output_token_seconds', ITL_BUCKETS);
    for (const n of ['e2e_request_latency_seconds', 'request_queue_time_seconds', 'request_prefill_time_seconds', 'request_decode_time_seconds', 'request_inference_time_seconds'] as const)
      make(n, LATENCY_BUCKETS);
    make('request_prompt_tokens', tok);
    make('request_generation_tokens', tok);
    make('request_params_max_tokens', tok);
  }

  observe(name: HistogramName, value: number): void {
    this.hist.get(name)!.observe(value);
  }

  countFinish(reason: string): void {
    this.success.set(reason, (this.success.get(reason) ?? 0) + 1);
  }

  /** Prometheus text format 0.0.4. */
  render(engines: readonly EngineSample[]): string {
    const lines: string[] = [];
    const m = esc(this.modelName);
    const head = (name: string, type: string): void => {
      lines.push(`# HELP vllm:${name} ${HELP[name] ?? name}`, `# TYPE vllm:${name} ${type}`);
    };
    const perEngine = (name: string, type: string, pick: (e: EngineSample) => number): void => {
      head(name, type);
      for (const e of engines) lines.push(`vllm:${name}{engine="${esc(e.engine)}",model_name="${m}"} ${fmt(pick(e))}`);
    };
    perEngine('num_requests_running', 'gauge', (e) => e.running);
    perEngine('num_requests_waiting', 'gauge', (e) => e.waiting);
    perEngine('kv_cache_usage_perc', 'gauge', (e) => e.kvUsage);
    perEngine('gpu_cache_usage_perc', 'gauge', (e) => e.kvUsage);
    perEngine('prompt_tokens_total', 'counter', (e) => e.promptTokens);
    perEngine('generation_tokens_total', 'counter', (e) => e.generationTokens);
    perEngine('num_preemptions_total', 'counter', (e) => e.preemptions);
    perEngine('prefix_cache_queries_total', 'counter', (e) => e.prefixQueries);
    perEngine('prefix_cache_hits_total', 'counter', (e) => e.prefixHits);
    head('cache_config_info', 'gauge');
    for (const e of engines)
      lines.push(`vllm:cache_config_info{block_size="${e.blockSize}",enable_prefix_caching="${e.prefixCaching}",engine="${esc(e.engine)}",num_gpu_blocks="${e.numGpuBlocks}"} 1`);
    head('request_success_total', 'counter');
    for (const reason of ['stop', 'length', 'abort'])
      lines.push(`vllm:request_success_total{finished_reason="${reason}",model_name="${m}"} ${this.success.get(reason) ?? 0}`);
    for (const [name, h] of this.hist) {
      head(name, 'histogram');
      let cum = 0;
      for (let i = 0; i < h.buckets.length; i++) {
        cum += h.counts[i]!;
        lines.push(`vllm:${name}_bucket{le="${fmt(h.buckets[i]!)}",model_name="${m}"} ${cum}`);
      }
      lines.push(`vllm:${name}_bucket{le="+Inf",model_name="${m}"} ${h.count}`);
      lines.push(`vllm:${name}_sum{model_name="${m}"} ${fmt(h.sum)}`);
      lines.push(`vllm:${name}_count{model_name="${m}"} ${h.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function fmt(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}
function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
