export { OpenAIClient, resolveEndpoint, ERROR_CLASSES } from './client.ts';
export type { Api, ClientOptions, ErrorClass, Observation, PreparedRequest } from './client.ts';
export { CLOCK_BASE_NS, monoNow, rebase } from './clock.ts';
export { SseParser, SseError } from './sse.ts';
export type { SseEvent } from './sse.ts';
export { percentile, percentileSorted, summarize, SUMMARY_PERCENTILES } from './stats.ts';
export type { Stats } from './stats.ts';
export { loadTokenizer, BUILTIN_TOKENIZERS, DEFAULT_TOKENIZER } from './tokenizer.ts';
export type { BenchTokenizer, BuiltinTokenizer } from './tokenizer.ts';
export {
  BlockPromptBuilder,
  buildRequests,
  checkTraceBlocks,
  createRng,
  drawLength,
  loadTrace,
  MOONCAKE_BLOCK_SIZE,
  parseTrace,
  PromptSynthesizer,
  requestBody,
  tracePrefixStats,
} from './workload.ts';
export type { LengthPair, RequestShape, TraceEntry, TracePrefixStats, WorkloadOptions } from './workload.ts';
export { mergeRecords, parseRecordsJsonl, recordsToJsonl, toRecord } from './records.ts';
export type { RequestRecord } from './records.ts';
export { summarizeRecords } from './metrics.ts';
export type { Slo, Summary, SummaryOptions } from './metrics.ts';
export { arrivalSchedule, runBenchmark } from './runner.ts';
export type { Arrival, LoadSpec, Progress, RunOptions, RunResult } from './runner.ts';
export { EXPORT_FILES, EXPORT_FORMATS, exportResult } from './exporters.ts';
export type { ExportContext, ExportFormat } from './exporters.ts';
export { canonicalJson, isExperimentDir, matrixPoints, runExperiment, writeFileAtomic } from './experiment.ts';
export type { ExperimentManifest, ExperimentOptions, ExperimentResult, MatrixPoint, PointState, PointStatus } from './experiment.ts';
export { formatSummaryTable } from './report.ts';
export type { SummaryRow } from './report.ts';
export { BENCH_VERSION } from './version.ts';
export { mergeShardRecords, originEpochMs, parseShard, rateShareOf, shareOf } from './shard.ts';
export type { Shard, ShardRecords } from './shard.ts';
