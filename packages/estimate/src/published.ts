import { referenceModels, type ReferenceModel } from './reference.ts';
import type { BackendName, Dtype, SchedulingOverride } from './types.ts';

/** One row of data/perf-published.csv, as written. */
export type PublishedRow = Record<string, string>;

/** What a published row measures: offline throughput tables, or the means a streaming client reports. */
export type CaseMetricName = 'outputTokensPerSecond' | 'tokensPerSecondPerUser' | 'ttftMs' | 'tpotMs';

/** How a row was measured: the estimate is asked the same way (see `Workload`). */
export interface MeasurementProtocol {
  arrival: 'burst' | 'spread';
  /** Measured requests per client; `Infinity` = steady state (offline runs, steady-state measurement windows). */
  requestsPerSlot: number;
  client: 'http' | 'offline';
}

/** A published measurement the estimator can reproduce. */
export interface PublishedCase {
  /** Stable key of the row (what the train/test split hashes). */
  key: string;
  source: string;
  /** Publisher and method the row belongs to (leave-one-source-out folds): rows of one family share a protocol. */
  family: string;
  model: ReferenceModel;
  gpuId: string;
  numGpus: number;
  backend: BackendName;
  tp: number;
  ep: number;
  dtype: Dtype;
  kvDtype: Dtype | undefined;
  isl: number;
  osl: number;
  /** Closed-loop concurrency, or 'max' for offline runs (every replica at its max batch). */
  concurrency: number | 'max';
  /** The run used attention data parallelism (stated in the ep column or the notes). */
  attentionDp: boolean;
  maxBatch: number | undefined;
  maxNumTokens: number | undefined;
  /** Scheduler switches the run's engine flags set (chunked prefill on TensorRT-LLM, async scheduling on vLLM). */
  scheduling: SchedulingOverride | undefined;
  protocol: MeasurementProtocol;
  metric: CaseMetricName;
  value: number;
  framework: string;
  /** Conditions the source does not state and the row infers (empty when all are stated). */
  inferred: string;
}

export interface SkippedRow {
  key: string;
  reason: string;
}

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) → rows keyed by the header. */
export function parseCsv(text: string): PublishedRow[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      field = '';
      if (record.some((f) => f !== '')) records.push(record);
      record = [];
    } else field += ch;
  }
  record.push(field);
  if (record.some((f) => f !== '')) records.push(record);
  const [header, ...body] = records;
  if (!header) return [];
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

const GPU_NAMES: Record<string, string> = {
  'H100 SXM': 'h100_sxm',
  'H200 SXM': 'h200_sxm',
  B200: 'b200_sxm',
  GB200: 'gb200_sxm',
  'A100 SXM 80GB': 'a100_sxm',
  L40S: 'l40s',
};

function findModel(name: string): ReferenceModel | undefined {
  const bare = name.replace(/\s*\(.*\)\s*$/, '').trim().toLowerCase();
  return referenceModels.find((m) => m.id === bare || m.hfId.toLowerCase() === bare || m.aliases.some((a) => a.toLowerCase() === bare));
}

function parseDtypes(precision: string): { dtype: Dtype; kvDtype: Dtype | undefined } | undefined {
  const p = precision.toUpperCase();
  const dtype: Dtype | undefined = p.startsWith('FP4') ? 'fp4' : p.startsWith('FP8') ? 'fp8' : p.startsWith('FP16') ? 'fp16' : p.startsWith('BF16') ? 'bf16' : undefined;
  if (!dtype) return undefined;
  const kv = /(FP8|BF16) KV/.exec(p)?.[1];
  return { dtype, kvDtype: kv === 'FP8' ? 'fp8' : kv === 'BF16' ? 'bf16' : undefined };
}

/** 32-bit FNV-1a: the split rule hashes the row key, so it is deterministic and blind to the values. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function rowKey(r: PublishedRow): string {
  return [r['source'], r['model'], r['gpu'], r['num_gpus'], r['precision'], r['tp'], r['ep'], r['mode'], r['isl'], r['osl'], r['concurrency'], r['metric']].join('|');
}

/** Train half = even FNV-1a hash of the row key; the held-back test half = odd. */
export function splitOf(key: string): 'train' | 'test' {
  return fnv1a(key) % 2 === 0 ? 'train' : 'test';
}

/** Turns the published rows into cases the estimator can reproduce, and says why each other row cannot be used. */
export function publishedCases(rows: PublishedRow[]): { cases: PublishedCase[]; skipped: SkippedRow[] } {
  const cases: PublishedCase[] = [];
  const skipped: SkippedRow[] = [];
  for (const r of rows) {
    const key = rowKey(r);
    const skip = (reason: string): void => {
      skipped.push({ key, reason });
    };
    const model = findModel(r['model'] ?? '');
    const gpuId = GPU_NAMES[r['gpu'] ?? ''];
    const dt = parseDtypes(r['precision'] ?? '');
    const framework = r['framework'] ?? '';
    const notes = r['notes'] ?? '';
    if (!model) {
      skip(`model ${r['model']} not in the reference catalog`);
      continue;
    }
    if (!gpuId) {
      skip(`GPU ${r['gpu']} not in the DGDR GPU vocabulary`);
      continue;
    }
    if (!dt) {
      skip(`precision ${r['precision']} not recognised`);
      continue;
    }
    if (r['mode'] === 'disagg') {
      skip('disaggregated run whose prefill:decode split is not stated');
      continue;
    }
    if (!r['isl'] || !r['tp']) {
      skip('ISL and TP not stated (dataset-defined MLPerf run)');
      continue;
    }
    if (/MTP/.test(notes)) {
      skip('speculative decoding (MTP) is not modelled');
      continue;
    }
    const metric = r['metric'] === 'output_throughput_total' ? 'outputTokensPerSecond' : r['metric'] === 'output_tokens_per_s_per_user' ? 'tokensPerSecondPerUser' : undefined;
    if (!metric) {
      skip(`metric ${r['metric']} not modelled`);
      continue;
    }
    const tp = Number(r['tp']);
    const epRaw = Number.parseInt(r['ep'] ?? '', 10);
    const conc = Number(r['concurrency']);
    const mbs = /max_batch_size (\d+)/.exec(notes)?.[1];
    const mnt = /max_num_tokens (\d+)/.exec(notes)?.[1];
    cases.push({
      key,
      source: r['source'] ?? '',
      family: throughputFamily(r['source'] ?? ''),
      model,
      gpuId,
      numGpus: Number(r['num_gpus']),
      backend: backendOf(framework),
      tp,
      ep: Number.isFinite(epRaw) ? epRaw : model.architecture.moe ? tp : 1,
      dtype: dt.dtype,
      kvDtype: dt.kvDtype,
      isl: Number(r['isl']),
      osl: Number(r['osl']),
      concurrency: Number.isFinite(conc) && conc > 0 ? conc : 'max',
      attentionDp: /attention DP/i.test(`${r['ep']} ${notes}`),
      maxBatch: mbs ? Number(mbs) : undefined,
      maxNumTokens: mnt ? Number(mnt) : undefined,
      scheduling: undefined,
      // offline runs (trtllm-bench, MLPerf Offline) queue every request into the engine at once (no API server) and
      // run for many batch lifetimes: the steady state, with the first wave a negligible share
      protocol: OFFLINE,
      metric,
      value: Number(r['value']),
      framework,
      inferred: '',
    });
  }
  return { cases, skipped };
}

const OFFLINE: MeasurementProtocol = { arrival: 'burst', requestsPerSlot: Number.POSITIVE_INFINITY, client: 'offline' };

/** The source family of a throughput-table row, from its source. */
function throughputFamily(source: string): string {
  if (/perf-overview/.test(source)) return 'trtllm-perf-overview';
  if (/mlperf|inference_results/i.test(source)) return 'mlperf';
  if (/TensorRT-LLM.*blogs/.test(source)) return 'trtllm-blog';
  if (/lmsys/.test(source)) return 'lmsys-blog';
  return 'other';
}

function backendOf(framework: string): BackendName {
  return /TensorRT-LLM/i.test(framework) ? 'trtllm' : /sglang/i.test(framework) ? 'sglang' : 'vllm';
}

const LATENCY_METRICS: Record<string, CaseMetricName> = {
  ttft_mean_ms: 'ttftMs',
  tpot_mean_ms: 'tpotMs',
  output_throughput_total: 'outputTokensPerSecond',
};

/**
 * Rows of data/perf-latency.csv: means a streaming client measured at a fixed concurrency, each with its protocol
 * (`requests` measured, or `steady` for steady-state measurement windows; `arrival`; `client`). Engine flags the row
 * states in its notes (`max_num_tokens N`, `max_batch_size N`, `chunked prefill on`, `async scheduling on`) are applied.
 */
export function latencyCases(rows: PublishedRow[]): { cases: PublishedCase[]; skipped: SkippedRow[] } {
  const cases: PublishedCase[] = [];
  const skipped: SkippedRow[] = [];
  for (const r of rows) {
    const key = [r['family'], rowKey(r), r['isl'], r['osl'], r['framework'], r['notes']?.slice(0, 40)].join('|');
    const model = findModel(r['model'] ?? '');
    const gpuId = GPU_NAMES[r['gpu'] ?? ''];
    const dt = parseDtypes(r['precision'] ?? '');
    const metric = LATENCY_METRICS[r['metric'] ?? ''];
    const notes = r['notes'] ?? '';
    const why = !model ? `model ${r['model']} not in the reference catalog` : !gpuId ? `GPU ${r['gpu']} not in the DGDR GPU vocabulary` : !dt ? `precision ${r['precision']} not recognised` : !metric ? `metric ${r['metric']} not modelled` : r['mode'] !== 'agg' ? 'only aggregated serving rows are scored' : undefined;
    if (why || !model || !gpuId || !dt || !metric) {
      skipped.push({ key, reason: why ?? 'unusable row' });
      continue;
    }
    const tp = Number(r['tp']);
    const conc = Number(r['concurrency']);
    const requests = r['requests'] === 'steady' ? Number.POSITIVE_INFINITY : Number(r['requests']);
    const mbs = /max_batch_size (\d+)/.exec(notes)?.[1];
    const mnt = /max_num_tokens (\d+)/.exec(notes)?.[1];
    const scheduling: SchedulingOverride = {};
    if (/chunked prefill on/.test(notes)) scheduling.chunkedPrefill = true;
    if (/async scheduling on/.test(notes)) scheduling.asyncScheduling = true;
    const epRaw = Number.parseInt(r['ep'] ?? '', 10);
    cases.push({
      key,
      source: r['source'] ?? '',
      family: r['family'] ?? 'other',
      model,
      gpuId,
      numGpus: Number(r['num_gpus']),
      backend: backendOf(r['framework'] ?? ''),
      tp,
      ep: Number.isFinite(epRaw) ? epRaw : 1,
      dtype: dt.dtype,
      kvDtype: dt.kvDtype,
      isl: Number(r['isl']),
      osl: Number(r['osl']),
      concurrency: conc,
      attentionDp: /attention DP/i.test(notes),
      maxBatch: mbs ? Number(mbs) : undefined,
      maxNumTokens: mnt ? Number(mnt) : undefined,
      scheduling: Object.keys(scheduling).length > 0 ? scheduling : undefined,
      protocol: {
        arrival: r['arrival'] === 'spread' ? 'spread' : 'burst',
        requestsPerSlot: Number.isFinite(requests) ? Math.max(1, requests / conc) : Number.POSITIVE_INFINITY,
        client: r['client'] === 'offline' ? 'offline' : 'http',
      },
      metric,
      value: Number(r['value']),
      framework: r['framework'] ?? '',
      inferred: r['inferred'] ?? '',
    });
  }
  return { cases, skipped };
}
