import type { ErrorClass, Observation, PreparedRequest } from './client.ts';
import type { BenchTokenizer } from './tokenizer.ts';

/**
 * One request as written to `records.jsonl`. Times are ms since the run's clock origin (monotonic);
 * latencies are ms. Field names are stable: other tools parse these files.
 */
export interface RequestRecord {
  id: string;
  index: number;
  /** Warmup requests are recorded but excluded from every metric. */
  warmup: boolean;
  /** Planned send time (rate and trace modes); null in closed-loop modes. */
  scheduled_ms: number | null;
  sent_ms: number;
  /** Time the request waited for a concurrency slot after its scheduled time (rate mode with a cap). */
  queue_ms: number;
  headers_ms: number | null;
  first_token_ms: number | null;
  last_token_ms: number | null;
  end_ms: number;
  ok: boolean;
  http_status: number;
  error_class: ErrorClass | null;
  error: string | null;
  finish_reason: string | null;
  ttft_ms: number | null;
  e2e_ms: number | null;
  /** (e2e − ttft) / (output_tokens − 1); null when output_tokens ≤ 1. */
  tpot_ms: number | null;
  /** Arrival of every content chunk, ms after send. */
  chunk_ms: number[];
  /** Tokens in each content chunk: from usage deltas, else inferred (see token_source). */
  chunk_tokens: number[];
  /** Effective prompt tokens: the server's usage when reported, else the client tokenizer's. */
  input_tokens: number;
  input_tokens_server: number | null;
  input_tokens_client: number;
  /** Prompt tokens the server served from its prefix cache (`usage.prompt_tokens_details.cached_tokens`), when reported. */
  input_tokens_cached_server?: number | null;
  /** Effective output tokens: the server's usage when reported, else the client tokenizer's. */
  output_tokens: number;
  output_tokens_server: number | null;
  output_tokens_client: number;
  output_tokens_requested: number;
  token_source: 'server' | 'tokenizer';
}

/** Converts a raw observation into a record, counting output tokens with the client tokenizer (off the hot path). */
export function toRecord(
  req: PreparedRequest,
  obs: Observation,
  originNs: number,
  tok: BenchTokenizer | null,
  extra: { warmup: boolean; scheduledNs: number | null },
): RequestRecord {
  const ms = (ns: number): number => round3((ns - originNs) / 1e6);
  const n = obs.chunkNs.length;
  const text = obs.chunkText.join('');
  const outClient = tok ? tok.count(text) : n;
  const server = obs.usage;
  const outputTokens = server ? server.completionTokens : outClient;
  // a 200 stream without a single content chunk produced nothing to measure: count it as failed
  const error = obs.error ?? (n === 0 ? { class: 'empty' as const, message: 'stream completed without any content chunk' } : null);
  const ok = error === null;
  let chunkTokens: number[];
  if (obs.chunkTokens && obs.chunkTokens.length === n) chunkTokens = obs.chunkTokens;
  else if (outputTokens === n) chunkTokens = new Array<number>(n).fill(1);
  else if (tok) chunkTokens = obs.chunkText.map((t) => Math.max(1, tok.count(t)));
  else chunkTokens = new Array<number>(n).fill(1);
  const ttft = ok && n > 0 ? (obs.chunkNs[0]! - obs.sentNs) / 1e6 : null;
  const e2e = ok && n > 0 ? (obs.chunkNs[n - 1]! - obs.sentNs) / 1e6 : null;
  const tpot = ttft !== null && e2e !== null && outputTokens > 1 ? (e2e - ttft) / (outputTokens - 1) : null;
  return {
    id: req.requestId,
    index: req.index,
    warmup: extra.warmup,
    scheduled_ms: extra.scheduledNs === null ? null : ms(extra.scheduledNs),
    sent_ms: ms(obs.sentNs),
    queue_ms: extra.scheduledNs === null ? 0 : round3(Math.max(0, obs.sentNs - extra.scheduledNs) / 1e6),
    headers_ms: obs.headersNs < 0 ? null : ms(obs.headersNs),
    first_token_ms: n > 0 ? ms(obs.chunkNs[0]!) : null,
    last_token_ms: n > 0 ? ms(obs.chunkNs[n - 1]!) : null,
    end_ms: ms(obs.endNs < 0 ? obs.sentNs : obs.endNs),
    ok,
    http_status: obs.status,
    error_class: error?.class ?? null,
    error: error?.message ?? null,
    finish_reason: obs.finishReason,
    ttft_ms: ttft === null ? null : round3(ttft),
    e2e_ms: e2e === null ? null : round3(e2e),
    tpot_ms: tpot === null ? null : round3(tpot),
    chunk_ms: obs.chunkNs.map((t) => round3((t - obs.sentNs) / 1e6)),
    chunk_tokens: chunkTokens,
    input_tokens: server && server.promptTokens > 0 ? server.promptTokens : req.inputTokens,
    input_tokens_server: server ? server.promptTokens : null,
    input_tokens_client: req.inputTokens,
    input_tokens_cached_server: server ? server.cachedTokens : null,
    output_tokens: outputTokens,
    output_tokens_server: server ? server.completionTokens : null,
    output_tokens_client: outClient,
    output_tokens_requested: req.outputTokens,
    token_source: server ? 'server' : 'tokenizer',
  };
}

/** Microsecond resolution is ample for ms figures and keeps JSONL small. */
function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/**
 * Merges records of several shards (e.g. load generators on several hosts sharing one clock origin) into one
 * run: the union sorted by send time, with indexes kept. Summaries computed from the merge are exact, because
 * every metric is computed from records, never from per-shard summaries.
 */
export function mergeRecords(shards: readonly (readonly RequestRecord[])[]): RequestRecord[] {
  const all = shards.flat();
  all.sort((a, b) => a.sent_ms - b.sent_ms || a.index - b.index);
  return all;
}

export function recordsToJsonl(records: readonly RequestRecord[]): string {
  let out = '';
  for (const r of records) out += `${JSON.stringify(r)}\n`;
  return out;
}

export function parseRecordsJsonl(text: string): RequestRecord[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RequestRecord);
}
