import type { Summary } from './metrics.ts';
import type { RequestRecord } from './records.ts';
import { percentileSorted, type Stats } from './stats.ts';

export const EXPORT_FORMATS = ['vllm', 'aiperf', 'llmd'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What an exporter needs to know about the run besides its records and summary. */
export interface ExportContext {
  model: string;
  endpoint: string;
  api: 'chat' | 'completions';
  tokenizer: string;
  isl: number;
  osl: number;
  concurrency: number | null;
  rate: number | null;
  burstiness: number | null;
  /** ISO-8601 start and end of the measured run. */
  startTime: string;
  endTime: string;
  experimentId: string;
  pointId: string;
  toolVersion: string;
  args: Record<string, unknown>;
}

/** File name each format is written under inside a point directory. */
export const EXPORT_FILES: Record<ExportFormat, string> = {
  vllm: 'vllm-result.json',
  aiperf: 'profile_export_aiperf.json',
  llmd: 'benchmark_report_v0.2.json',
};

export function exportResult(format: ExportFormat, summary: Summary, records: readonly RequestRecord[], ctx: ExportContext): unknown {
  switch (format) {
    case 'vllm':
      return toVllm(summary, records, ctx);
    case 'aiperf':
      return toAiperf(summary, records, ctx);
    case 'llmd':
      return toLlmd(summary, records, ctx);
  }
}

/**
 * vLLM `bench serve --save-result` JSON: the keys llm-d-benchmark's and InferenceX's importers read, with
 * `--save-detailed` arrays (seconds, as vLLM writes them). `request_goodput:` with the trailing colon is the
 * legacy script's spelling; both are written so either importer finds it.
 */
function toVllm(s: Summary, records: readonly RequestRecord[], ctx: ExportContext): Record<string, unknown> {
  const measured = records.filter((r) => !r.warmup);
  const ok = measured.filter((r) => r.ok);
  const out: Record<string, unknown> = {
    date: ctx.startTime.replace(/[-:]/g, '').replace('T', '-').slice(0, 15),
    endpoint_type: ctx.api === 'chat' ? 'openai-chat' : 'openai',
    backend: ctx.api === 'chat' ? 'openai-chat' : 'openai',
    label: ctx.pointId,
    model_id: ctx.model,
    tokenizer_id: ctx.tokenizer,
    num_prompts: s.counts.requests,
    request_rate: ctx.rate ?? 'inf',
    burstiness: ctx.burstiness ?? 1,
    max_concurrency: ctx.concurrency,
    duration: s.duration_s,
    completed: s.counts.completed,
    failed: s.counts.failed,
    total_input_tokens: ok.reduce((a, r) => a + r.input_tokens, 0),
    total_output_tokens: ok.reduce((a, r) => a + r.output_tokens, 0),
    request_throughput: s.request_throughput,
    request_goodput: s.goodput,
    'request_goodput:': s.goodput,
    output_throughput: s.output_throughput,
    total_token_throughput: s.total_token_throughput,
    max_output_tokens_per_s: s.peak_output_throughput,
    max_concurrent_requests: s.max_concurrent_requests,
  };
  const metric = (name: string, st: Stats | null): void => {
    out[`mean_${name}_ms`] = st?.mean ?? 0;
    out[`median_${name}_ms`] = st?.p50 ?? 0;
    out[`std_${name}_ms`] = st?.std ?? 0;
    for (const [p, v] of [['50', st?.p50], ['90', st?.p90], ['95', st?.p95], ['99', st?.p99], ['99.9', st?.p99_9]] as const) {
      out[`p${p}_${name}_ms`] = v ?? 0;
    }
  };
  metric('ttft', s.ttft);
  metric('tpot', s.tpot);
  metric('itl', s.itl);
  metric('e2el', s.e2e);
  out['input_lens'] = measured.map((r) => r.input_tokens);
  out['output_lens'] = measured.map((r) => (r.ok ? r.output_tokens : 0));
  out['ttfts'] = measured.map((r) => (r.ttft_ms ?? 0) / 1000);
  out['itls'] = measured.map((r) => r.chunk_ms.slice(1).map((t, i) => (t - r.chunk_ms[i]!) / 1000));
  out['latencies'] = measured.map((r) => (r.e2e_ms ?? 0) / 1000);
  out['start_times'] = measured.map((r) => r.sent_ms / 1000);
  out['errors'] = measured.map((r) => r.error ?? '');
  return out;
}

interface Dist {
  n: number;
  sum: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  min: number;
  max: number;
  at: (p: number) => number;
}

/** Percentile block over raw (non-empty) values: AIPerf's and llm-d's distributions carry more points than the summary. */
function dist(values: number[]): Dist {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = sum / n;
  let m2 = 0;
  for (const x of sorted) m2 += (x - mean) ** 2;
  return { n, sum, mean, std: Math.sqrt(m2 / n), min: sorted[0]!, max: sorted[n - 1]!, at: (p) => percentileSorted(sorted, p) };
}

function metricValues(records: readonly RequestRecord[]): Record<string, number[]> {
  const ok = records.filter((r) => !r.warmup && r.ok);
  return {
    ttft: ok.map((r) => r.ttft_ms!),
    ttst: ok.filter((r) => r.chunk_ms.length > 1).map((r) => r.chunk_ms[1]! - r.chunk_ms[0]!),
    tpot: ok.filter((r) => r.tpot_ms !== null).map((r) => r.tpot_ms!),
    icl: ok.flatMap((r) => r.chunk_ms.slice(1).map((t, i) => t - r.chunk_ms[i]!)),
    e2e: ok.map((r) => r.e2e_ms!),
    ntpot: ok.filter((r) => r.output_tokens > 0).map((r) => r.e2e_ms! / r.output_tokens),
    isl: ok.map((r) => r.input_tokens),
    osl: ok.map((r) => r.output_tokens),
    tpsUser: ok.filter((r) => (r.tpot_ms ?? 0) > 0).map((r) => 1000 / r.tpot_ms!),
  };
}

/**
 * AIPerf `profile_export_aiperf.json`: one block per metric {unit, avg, min, max, p1…p99, std, count, sum}.
 * AIPerf's `inter_token_latency` is the per-request TPOT; per-chunk gaps are its `inter_chunk_latency`.
 */
function toAiperf(s: Summary, records: readonly RequestRecord[], ctx: ExportContext): Record<string, unknown> {
  const v = metricValues(records);
  const block = (unit: string, values: number[]): Record<string, number | string> | undefined => {
    if (values.length === 0) return undefined;
    const d = dist(values);
    const out: Record<string, number | string> = { unit, avg: d.mean, min: d.min, max: d.max };
    for (const p of [1, 5, 10, 25, 50, 75, 90, 95, 99]) out[`p${p}`] = d.at(p);
    out['std'] = d.std;
    out['count'] = d.n;
    out['sum'] = d.sum;
    return out;
  };
  const scalar = (unit: string, avg: number | null) => (avg === null ? undefined : { unit, avg });
  const metrics: Record<string, unknown> = {
    time_to_first_token: block('ms', v['ttft']!),
    time_to_second_token: block('ms', v['ttst']!),
    inter_token_latency: block('ms', v['tpot']!),
    inter_chunk_latency: block('ms', v['icl']!),
    request_latency: block('ms', v['e2e']!),
    output_token_throughput_per_user: block('tokens/sec/user', v['tpsUser']!),
    input_sequence_length: block('tokens', v['isl']!),
    output_sequence_length: block('tokens', v['osl']!),
    request_throughput: scalar('requests/sec', s.request_throughput),
    output_token_throughput: scalar('tokens/sec', s.output_throughput),
    total_token_throughput: scalar('tokens/sec', s.total_token_throughput),
    request_count: scalar('requests', s.counts.completed),
    error_request_count: scalar('requests', s.counts.failed),
    good_request_count: scalar('requests', s.good_requests),
    goodput: scalar('requests/sec', s.goodput),
    benchmark_duration: scalar('sec', s.duration_s),
  };
  for (const k of Object.keys(metrics)) if (metrics[k] === undefined) delete metrics[k];
  return {
    schema_version: '1.5',
    aiperf_version: `llm-recipes ${ctx.toolVersion}`,
    benchmark_id: `${ctx.experimentId}/${ctx.pointId}`,
    start_time: ctx.startTime,
    end_time: ctx.endTime,
    was_cancelled: false,
    ...metrics,
    input_config: {
      endpoint: { model_names: [ctx.model], type: ctx.api, url: ctx.endpoint, streaming: true },
      input: { prompt: { input_tokens: { mean: ctx.isl }, output_tokens: { mean: ctx.osl } } },
      loadgen: { concurrency: ctx.concurrency, request_rate: ctx.rate },
      tokenizer: { name: ctx.tokenizer },
    },
    error_summary: Object.entries(s.errors)
      .filter(([, n]) => n > 0)
      .map(([cls, count]) => ({ error_details: { type: cls }, count })),
  };
}

/** llm-d-benchmark "benchmark report" v0.2 (its Statistics: units, mean, stddev, min, p0p1 … p99p9, max). */
function toLlmd(s: Summary, records: readonly RequestRecord[], ctx: ExportContext): Record<string, unknown> {
  const v = metricValues(records);
  const stats = (units: string, values: number[]): Record<string, number | string> | undefined => {
    if (values.length === 0) return undefined;
    const d = dist(values);
    const out: Record<string, number | string> = { units, mean: d.mean, stddev: d.std, min: d.min };
    for (const [k, p] of [['p0p1', 0.1], ['p1', 1], ['p5', 5], ['p10', 10], ['p25', 25], ['p50', 50], ['p75', 75], ['p90', 90], ['p95', 95], ['p99', 99], ['p99p9', 99.9]] as const) {
      out[k] = d.at(p);
    }
    out['max'] = d.max;
    return out;
  };
  const start = Date.parse(ctx.startTime);
  const end = Date.parse(ctx.endTime);
  const seqLen = (value: number, values: number[]) => {
    const min = values.length ? Math.min(...values) : value;
    const max = values.length ? Math.max(...values) : value;
    return min === max ? { distribution: 'fixed', value } : { distribution: 'random', value, min, max };
  };
  return {
    version: '0.2',
    run: {
      uid: `${ctx.experimentId}-${ctx.pointId}`,
      eid: ctx.experimentId,
      time: { start: ctx.startTime, end: ctx.endTime, duration: `PT${Math.max(0, (end - start) / 1000).toFixed(3)}S` },
    },
    scenario: {
      load: {
        metadata: { schema_version: '0.0.1', cfg_id: ctx.pointId, description: `llm-recipes bench ${ctx.pointId}` },
        standardized: {
          tool: 'llm-recipes-bench',
          tool_version: ctx.toolVersion,
          stage: 1,
          input_seq_len: seqLen(ctx.isl, v['isl']!),
          output_seq_len: seqLen(ctx.osl, v['osl']!),
          ...(ctx.rate !== null ? { rate_qps: ctx.rate } : {}),
          ...(ctx.concurrency !== null ? { concurrency: ctx.concurrency } : {}),
        },
        Native: { args: ctx.args },
      },
    },
    results: {
      request_performance: {
        aggregate: {
          requests: {
            total: s.counts.requests,
            failures: s.counts.failed,
            input_length: stats('count', v['isl']!),
            output_length: stats('count', v['osl']!),
          },
          latency: {
            time_to_first_token: stats('ms', v['ttft']!),
            normalized_time_per_output_token: stats('ms/token', v['ntpot']!),
            time_per_output_token: stats('ms/token', v['tpot']!),
            // per-chunk gaps pooled (vLLM's ITL), not the per-request TPOT
            inter_token_latency: stats('ms/token', v['icl']!),
            request_latency: stats('ms', v['e2e']!),
          },
          throughput: {
            input_token_rate: { units: 'token/s', mean: s.input_throughput },
            output_token_rate: { units: 'token/s', mean: s.output_throughput },
            total_token_rate: { units: 'token/s', mean: s.total_token_throughput },
            requests_rate: { units: 'qps', mean: s.request_throughput },
          },
        },
      },
    },
  };
}
