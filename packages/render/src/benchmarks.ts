import { posix } from 'node:path';
import { checkTraceBlocks, parseTrace, type TraceEntry } from '@llm-recipes/bench';
import { InvalidInputError, type Issue } from '@llm-recipes/errors';
import { goodputOf, totalGpus, type Benchmark, type GoodputSlo, type Recipe } from '@llm-recipes/recipe';
import { canonicalize } from './canonical.ts';
import { shortHash, toDnsName } from './names.ts';
import type { RecipeContext } from './recipe.ts';
import { renderTemplate } from './templates.ts';
import type { KubeObject, Manifest } from './types.ts';

/** AIPerf release the aiperf harness installs (pinned: results must be reproducible). */
export const AIPERF_VERSION = '0.10.0';
/** Small image with `wget` for the wait-for-model init container. */
export const WAIT_IMAGE = 'busybox:1.37.0';
/**
 * Most trace bytes a ConfigMap carries: the API server refuses ConfigMaps over 1 MiB (data and metadata together),
 * so a few KiB stay free for the object around it.
 */
export const TRACE_CONFIGMAP_MAX_BYTES = 1024 * 1024 - 8 * 1024;
/** Where the Job sees the trace: the ConfigMap's key, or the model cache mounted read-only. */
const TRACE_MOUNT = '/trace';
/** Where results are written (the results volume's mount). */
const RESULTS_MOUNT = '/results';

// Scripts read every value from the environment, so no recipe string is ever spliced into shell code. Optional
// flags are collected with `set --` and passed as "$@", which keeps every value one argument whatever it holds.
const WAIT_SCRIPT =
  'until wget -q -O - "$ENDPOINT/v1/models" | grep -qF "\\"$MODEL\\""; do echo "waiting for $MODEL at $ENDPOINT"; sleep 10; done';

/**
 * Shell lines collecting the flags every `recipes bench` run shares (seed, sampling, extra inputs, dataset size,
 * goodput) into "$@" from the env of benchmarkCommonEnv; the load flags come after.
 */
export const LLM_RECIPES_COMMON = [
  'set -eu',
  'set -- --random-seed "$SEED"',
  '[ "$IGNORE_EOS" = true ] || set -- "$@" --no-ignore-eos',
  '[ -z "${TEMPERATURE:-}" ] || set -- "$@" --temperature "$TEMPERATURE"',
  '[ -z "${REPETITION_PENALTY:-}" ] || set -- "$@" --repetition-penalty "$REPETITION_PENALTY"',
  '[ -z "${EXTRA_INPUTS:-}" ] || set -- "$@" --extra-inputs "$EXTRA_INPUTS"',
  '[ -z "${DATASET_ENTRIES:-}" ] || set -- "$@" --dataset-entries "$DATASET_ENTRIES"',
  '[ -z "${GOODPUT:-}" ] || set -- "$@" --goodput "$GOODPUT"',
];

const LLM_RECIPES_SCRIPTS: Record<Benchmark['load'], string> = {
  // one run over every concurrency: `recipes bench` computes max(REQUESTS, k × c) per point itself
  concurrency: [
    ...LLM_RECIPES_COMMON,
    'recipes bench --endpoint "$ENDPOINT" --model "$MODEL" --api "$API" --gpus "$GPUS" --matrix-isl-osl "${ISL}x${OSL}" \\',
    '  --concurrencies "$CONCURRENCY" --requests "$REQUESTS" --requests-per-concurrency "$REQUESTS_PER_CONCURRENCY" \\',
    '  --warmup "$WARMUP" --warmup-per-concurrency "$WARMUP_PER_CONCURRENCY" --out "$RESULTS" --json "$@"',
  ].join('\n'),
  rate: [
    ...LLM_RECIPES_COMMON,
    '[ -z "${MAX_CONCURRENCY:-}" ] || set -- "$@" --max-concurrency "$MAX_CONCURRENCY"',
    'recipes bench --endpoint "$ENDPOINT" --model "$MODEL" --api "$API" --gpus "$GPUS" --matrix-isl-osl "${ISL}x${OSL}" \\',
    '  --rates "$RATES" --arrival "$ARRIVAL" --burstiness "$BURSTINESS" --requests "$REQUESTS" --warmup "$WARMUP" \\',
    '  --out "$RESULTS" --json "$@"',
  ].join('\n'),
  trace: [
    ...LLM_RECIPES_COMMON,
    '[ "$FIXED_SCHEDULE" = true ] || set -- "$@" --no-fixed-schedule',
    '[ -z "${TRACE_REQUESTS:-}" ] || set -- "$@" --requests "$TRACE_REQUESTS"',
    'recipes bench --endpoint "$ENDPOINT" --model "$MODEL" --api "$API" --gpus "$GPUS" --trace "$TRACE_FILE" \\',
    '  --trace-block-size "$TRACE_BLOCK_SIZE" --trace-speed "$TRACE_SPEEDUP" --concurrencies "$CONCURRENCY" --warmup "$WARMUP" \\',
    '  --out "$RESULTS" --json "$@"',
  ].join('\n'),
};

/**
 * The aiperf harness, flag for flag what Dynamo's own perf Jobs pass (ai-dynamo/dynamo
 * recipes/llama-3-70b/vllm/agg/perf.yaml @0d348a12 for synthetic load, recipes/kimi-k2.6/perf/perf.yaml @01cadb10
 * for Mooncake trace replay), with the values from the recipe.
 */
const AIPERF_INSTALL = ['set -eu', 'pip install --quiet --no-cache-dir "aiperf==$AIPERF_VERSION"'];

/** Request-body extras through `--extra-inputs`, appended to "$@". */
const AIPERF_EXTRAS = [
  '  [ -z "${REPETITION_PENALTY:-}" ] || set -- "$@" --extra-inputs "repetition_penalty:$REPETITION_PENALTY"',
  '  [ -z "${TEMPERATURE:-}" ] || set -- "$@" --extra-inputs "temperature:$TEMPERATURE"',
  '  [ -z "${EXTRA_INPUTS:-}" ] || set -- "$@" --extra-inputs "$EXTRA_INPUTS"',
];

const AIPERF_SYNTHETIC = [
  '  set -- --model "$MODEL" --tokenizer "$TOKENIZER" --endpoint-type "$API" --streaming --url "$ENDPOINT" \\',
  '    --synthetic-input-tokens-mean "$ISL" --synthetic-input-tokens-stddev 0 --output-tokens-mean "$OSL" --output-tokens-stddev 0 \\',
  '    --extra-inputs "max_tokens:$OSL"',
  '  [ "$IGNORE_EOS" != true ] || set -- "$@" --extra-inputs "min_tokens:$OSL" --extra-inputs ignore_eos:true',
  ...AIPERF_EXTRAS,
];

/** Every point's tail: dataset size (one entry per request sent unless DATASET_ENTRIES), seed, SLOs, output. */
const AIPERF_TAIL = (dir: string) => [
  '  [ "$w" -eq 0 ] || set -- "$@" --warmup-request-count "$w"',
  '  set -- "$@" --num-dataset-entries "${DATASET_ENTRIES:-$((n + w))}" --random-seed "$SEED"',
  '  [ -z "${GOODPUT:-}" ] || set -- "$@" --goodput "$GOODPUT"',
  `  aiperf profile "$@" --artifact-dir "${dir}" --ui simple`,
];

const AIPERF_SCRIPTS: Record<Benchmark['load'], string> = {
  concurrency: [
    ...AIPERF_INSTALL,
    "for c in $(printf '%s' \"$CONCURRENCY\" | tr ',' ' '); do",
    // upstream: --request-count $((10*concurrency)) --warmup-request-count $concurrency
    '  n=$((REQUESTS_PER_CONCURRENCY * c)); [ "$n" -ge "$REQUESTS" ] || n=$REQUESTS',
    '  w=$((WARMUP_PER_CONCURRENCY * c)); [ "$w" -ge "$WARMUP" ] || w=$WARMUP',
    ...AIPERF_SYNTHETIC,
    '  set -- "$@" --concurrency "$c" --request-count "$n"',
    ...AIPERF_TAIL('$RESULTS/c$c'),
    'done',
  ].join('\n'),
  rate: [
    ...AIPERF_INSTALL,
    "for r in $(printf '%s' \"$RATES\" | tr ',' ' '); do",
    '  n=$REQUESTS; w=$WARMUP',
    ...AIPERF_SYNTHETIC,
    '  set -- "$@" --request-rate "$r" --arrival-pattern "$ARRIVAL" --request-count "$n"',
    '  [ "$ARRIVAL" != gamma ] || set -- "$@" --arrival-smoothness "$BURSTINESS"',
    '  [ -z "${MAX_CONCURRENCY:-}" ] || set -- "$@" --concurrency "$MAX_CONCURRENCY"',
    ...AIPERF_TAIL('$RESULTS/r$r'),
    'done',
  ].join('\n'),
  // Warmup is a separate synthetic run, as upstream does: trace rows as warmup would fill the prefix cache with
  // the very prompts about to be measured.
  trace: [
    ...AIPERF_INSTALL,
    'if [ "$WARMUP" -gt 0 ]; then',
    '  aiperf profile --model "$MODEL" --tokenizer "$TOKENIZER" --endpoint-type "$API" --streaming --url "$ENDPOINT" \\',
    '    --isl "$WARMUP_ISL" --osl "$WARMUP_OSL" --concurrency 1 --request-count "$WARMUP" --random-seed "$SEED" \\',
    '    --artifact-dir "$RESULTS/warmup" --ui simple',
    'fi',
    // each replay gets its own seed, so its prompts do not hit the prefix cache the previous level filled
    'i=0',
    "for c in $(printf '%s' \"$CONCURRENCY\" | tr ',' ' '); do",
    '  set -- --model "$MODEL" --tokenizer "$TOKENIZER" --endpoint-type "$API" --streaming --url "$ENDPOINT" \\',
    '    --input-file "$TRACE_FILE" --custom-dataset-type mooncake_trace --prompt-input-tokens-block-size "$TRACE_BLOCK_SIZE"',
    '  [ -z "${TRACE_REQUESTS:-}" ] || set -- "$@" --request-count "$TRACE_REQUESTS"',
    '  if [ "$FIXED_SCHEDULE" = true ]; then set -- "$@" --fixed-schedule; else set -- "$@" --no-fixed-schedule; fi',
    '  [ "$TRACE_SPEEDUP" = 1 ] || set -- "$@" --synthesis-speedup-ratio "$TRACE_SPEEDUP"',
    // per-request output lengths come from the trace; only ignore_eos is common to all of them
    '  set -- "$@" --use-server-token-count',
    '  [ "$IGNORE_EOS" != true ] || set -- "$@" --extra-inputs ignore_eos:true',
    ...AIPERF_EXTRAS,
    '  set -- "$@" --concurrency "$c" --random-seed "$((SEED + i))"',
    '  [ -z "${GOODPUT:-}" ] || set -- "$@" --goodput "$GOODPUT"',
    '  aiperf profile "$@" --artifact-dir "$RESULTS/c$c" --ui simple',
    '  i=$((i + 1))',
    'done',
  ].join('\n'),
};

/** A float in the form upstream writes it: 0 → "0.0", 1 → "1.0", 0.7 → "0.7". */
function decimal(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/** AIPerf's `--goodput` string (ms; AIPerf's inter_token_latency is the per-request TPOT). */
export function aiperfGoodput(slo: GoodputSlo | null): string | null {
  if (slo === null) return null;
  const parts: string[] = [];
  if (slo.ttftMs !== undefined) parts.push(`time_to_first_token:${slo.ttftMs}`);
  if (slo.tpotMs !== undefined) parts.push(`inter_token_latency:${slo.tpotMs}`);
  if (slo.e2eMs !== undefined) parts.push(`request_latency:${slo.e2eMs}`);
  return parts.join(' ');
}

export type Env = { name: string; value?: string; valueFrom?: unknown };

/** The trace a trace-replay Job reads: a ConfigMap of the recipe's file, or a path on the model cache. */
interface TraceSource {
  configMap?: KubeObject;
  volume: Record<string, unknown>;
  file: string;
  /** Mean lengths for the aiperf harness's synthetic warmup. */
  meanIsl: number;
  meanOsl: number;
}

function traceSource(ctx: RecipeContext, issues: Issue[]): TraceSource | undefined {
  const { recipe, resolved } = ctx;
  const t = recipe.benchmark.trace;
  const at = { file: ctx.file, path: ['benchmark', 'trace'] };
  if (t.volumePath !== undefined) {
    if (ctx.engine === 'sim' || recipe.modelCache.accessMode !== 'ReadWriteMany') {
      issues.push({
        code: 'BENCH_TRACE_VOLUME',
        ...at,
        path: [...at.path, 'volumePath'],
        message: `benchmark.trace.volumePath needs the model cache mounted beside the workers (${ctx.engine === 'sim' ? 'engine: sim renders no model cache' : 'modelCache.accessMode is ReadWriteOnce'})`,
        hint: 'ship the trace with benchmark.trace.file (up to 1 MiB), or use a ReadWriteMany model cache',
      });
      return undefined;
    }
    return {
      volume: { name: 'trace', persistentVolumeClaim: { claimName: recipe.modelCache.pvcName, readOnly: true } },
      file: posix.join(TRACE_MOUNT, t.volumePath),
      meanIsl: recipe.workload.isl,
      meanOsl: recipe.workload.osl,
    };
  }
  const ref = t.file;
  const content = resolved.benchmarkFiles?.find((f) => f.path === ref)?.content;
  if (ref === undefined || content === undefined) return undefined; // reported by the recipe rules
  const file = posix.join('recipes', resolved.id, ref);
  const bytes = Buffer.byteLength(content, 'utf8');
  if (bytes > TRACE_CONFIGMAP_MAX_BYTES) {
    issues.push({
      code: 'BENCH_TRACE_TOO_LARGE',
      ...at,
      path: [...at.path, 'file'],
      message: `trace ${ref} is ${bytes} bytes; a ConfigMap holds at most ${TRACE_CONFIGMAP_MAX_BYTES} of trace (the API server's limit is 1 MiB per object)`,
      hint: `stage it on the model cache (kubectl cp ${ref} <pod>:<mount>/traces/) and set benchmark.trace.volumePath: traces/${posix.basename(ref)}, or cut it (head -n N)`,
    });
    return undefined;
  }
  let entries: TraceEntry[];
  try {
    entries = parseTrace(content, file);
    checkTraceBlocks(entries, t.blockSize, file);
  } catch (err) {
    if (err instanceof InvalidInputError) {
      issues.push(...err.issues);
      return undefined;
    }
    throw err;
  }
  const limit = Math.min(recipe.maxModelLen, resolved.model.architecture.maxContext);
  const tooLong = entries.filter((e) => e.isl + e.osl > limit);
  if (tooLong.length > 0) {
    issues.push({
      code: 'BENCH_TRACE_TOO_LONG',
      file,
      line: tooLong[0]!.line,
      col: 1,
      path: [],
      message: `${tooLong.length} trace request(s) need more than maxModelLen ${limit} tokens (first: line ${tooLong[0]!.line}, ${tooLong[0]!.isl} + ${tooLong[0]!.osl})`,
      hint: 'raise maxModelLen or drop those lines from the trace',
    });
    return undefined;
  }
  const name = toDnsName([ctx.dgdName, 'trace', shortHash(content, 8)], 63);
  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ctx.namespace, labels: { ...ctx.labels, 'llm-recipes.io/benchmark': 'trace' }, annotations: ctx.annotations },
    data: { 'trace.jsonl': content },
  };
  return {
    configMap,
    volume: { name: 'trace', configMap: { name } },
    file: posix.join(TRACE_MOUNT, 'trace.jsonl'),
    meanIsl: Math.round(entries.reduce((a, e) => a + e.isl, 0) / entries.length),
    meanOsl: Math.round(entries.reduce((a, e) => a + e.osl, 0) / entries.length),
  };
}

/** Environment every benchmark run of the recipe shares: endpoint, model, seed, sampling, extra inputs, SLOs. */
export function benchmarkCommonEnv(recipe: Recipe, endpoint: string, servedName: string): Env[] {
  const b = recipe.benchmark;
  const s = b.sampling;
  const goodput = aiperfGoodput(goodputOf(recipe));
  const opt = (name: string, value: string | number | undefined | null): Env[] => (value === undefined || value === null ? [] : [{ name, value: String(value) }]);
  return [
    { name: 'ENDPOINT', value: endpoint },
    { name: 'MODEL', value: servedName },
    { name: 'API', value: b.api },
    { name: 'RESULTS', value: RESULTS_MOUNT },
    { name: 'GPUS', value: String(totalGpus(recipe)) },
    { name: 'SEED', value: String(b.seed) },
    { name: 'IGNORE_EOS', value: String(s.ignoreEos) },
    ...opt('TEMPERATURE', s.temperature === undefined ? undefined : decimal(s.temperature)),
    ...opt('REPETITION_PENALTY', s.repetitionPenalty === undefined ? undefined : decimal(s.repetitionPenalty)),
    ...opt('EXTRA_INPUTS', Object.keys(b.extraInputs).length > 0 ? JSON.stringify(canonicalize(b.extraInputs)) : undefined),
    ...opt('DATASET_ENTRIES', b.datasetEntries),
    ...opt('GOODPUT', goodput),
  ];
}

/**
 * Benchmark Jobs. load: concurrency and rate — one Job per [ISL, OSL] pair, running its levels one after another
 * inside it: points of a pair share the server's warm state and never overlap (overlapping load would corrupt each
 * other's latencies), a pair stays short enough for one deadline, and editing one pair re-runs only that pair.
 * load: trace — one Job replaying the trace at each concurrency level, with the trace in a ConfigMap beside it (or
 * read from the model cache). Names end in a hash of the spec, so a changed matrix is a new Job instead of an
 * immutable-field error.
 */
export function renderBenchmarks(ctx: RecipeContext): Manifest[] {
  const { recipe, cluster } = ctx;
  const bench = recipe.benchmark;
  const image = cluster.benchmarkImage ?? bench.image;
  // Sim mode renders no model cache, so results stay in the pod (and the --json summary in the Job log).
  const rwx = ctx.engine !== 'sim' && recipe.modelCache.accessMode === 'ReadWriteMany';
  const aiperf = bench.harness === 'aiperf';
  const harnessEnv: Env[] = aiperf
    ? [
        { name: 'AIPERF_VERSION', value: AIPERF_VERSION },
        { name: 'TOKENIZER', value: ctx.resolved.model.tokenizer },
        { name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: recipe.modelCache.hfTokenSecret, key: 'HF_TOKEN', optional: true } } },
      ]
    : [];
  const common = benchmarkCommonEnv(recipe, ctx.frontendUrl, ctx.servedName);
  const jobs: { key: string; env: Env[]; trace?: TraceSource }[] = [];
  if (bench.load === 'trace') {
    const issues: Issue[] = [];
    const trace = traceSource(ctx, issues);
    if (issues.length > 0) throw new InvalidInputError(issues);
    if (trace === undefined) return [];
    const t = bench.trace;
    jobs.push({
      key: 'trace',
      trace,
      env: [
        ...common,
        { name: 'CONCURRENCY', value: bench.concurrency.join(',') },
        { name: 'WARMUP', value: String(bench.warmupRequests) },
        ...(aiperf ? [{ name: 'WARMUP_ISL', value: String(trace.meanIsl) }, { name: 'WARMUP_OSL', value: String(trace.meanOsl) }] : []),
        { name: 'TRACE_FILE', value: trace.file },
        { name: 'TRACE_BLOCK_SIZE', value: String(t.blockSize) },
        { name: 'TRACE_SPEEDUP', value: String(t.speedup) },
        { name: 'FIXED_SCHEDULE', value: String(t.fixedSchedule) },
        ...(t.maxRequests === undefined ? [] : [{ name: 'TRACE_REQUESTS', value: String(t.maxRequests) }]),
      ],
    });
  } else {
    for (const [isl, osl] of bench.islOsl) {
      const load: Env[] =
        bench.load === 'rate'
          ? [
              { name: 'RATES', value: (bench.requestRates ?? []).join(',') },
              { name: 'ARRIVAL', value: bench.arrival },
              { name: 'BURSTINESS', value: String(bench.burstiness) },
              ...(bench.maxConcurrency === undefined ? [] : [{ name: 'MAX_CONCURRENCY', value: String(bench.maxConcurrency) }]),
              { name: 'REQUESTS', value: String(bench.requestsPerPoint) },
              { name: 'WARMUP', value: String(bench.warmupRequests) },
            ]
          : [
              { name: 'CONCURRENCY', value: bench.concurrency.join(',') },
              { name: 'REQUESTS', value: String(bench.requestsPerPoint) },
              { name: 'REQUESTS_PER_CONCURRENCY', value: String(bench.requestsPerConcurrency) },
              { name: 'WARMUP', value: String(bench.warmupRequests) },
              { name: 'WARMUP_PER_CONCURRENCY', value: String(bench.warmupPerConcurrency) },
            ];
      jobs.push({ key: `${isl}x${osl}`, env: [...common, { name: 'ISL', value: String(isl) }, { name: 'OSL', value: String(osl) }, ...load] });
    }
  }

  const out: Manifest[] = [];
  for (const job of jobs) {
    const labels = { ...ctx.labels, 'llm-recipes.io/benchmark': job.key };
    const context = {
      namespace: ctx.namespace,
      labels,
      annotations: { ...ctx.annotations, 'llm-recipes.io/harness': bench.harness, 'llm-recipes.io/load': bench.load },
      backoffLimit: 1,
      // Generous: every point runs warmup + requests; a stuck server must not hold the Job forever.
      activeDeadlineSeconds: 4 * 3600,
      // Benchmarks are applied on demand, not synced by GitOps, so cleaning finished ones up is safe.
      ttlSecondsAfterFinished: 7 * 24 * 3600,
      waitImage: WAIT_IMAGE,
      waitCommand: ['sh', '-c', WAIT_SCRIPT],
      waitEnv: [
        { name: 'ENDPOINT', value: ctx.frontendUrl },
        { name: 'MODEL', value: ctx.servedName },
      ],
      image,
      command: ['sh', '-c', (aiperf ? AIPERF_SCRIPTS : LLM_RECIPES_SCRIPTS)[bench.load]],
      env: [...job.env, ...harnessEnv],
      // On a shared (RWX) model cache results outlive the pod; otherwise they stay in the pod and its log (--json).
      resultsVolume: rwx
        ? { name: 'results', persistentVolumeClaim: { claimName: recipe.modelCache.pvcName } }
        : { name: 'results', emptyDir: {} },
      resultsMount: RESULTS_MOUNT,
      resultsSubPath: null as string | null,
      traceVolume: job.trace?.volume ?? null,
      // a ConfigMap mounts as a directory of its keys; the model cache is mounted whole, the path is in TRACE_FILE
      traceMount: job.trace ? { name: 'trace', mountPath: TRACE_MOUNT, readOnly: true } : null,
    };
    const base = toDnsName(['bench', ctx.dgdName, job.key], 63 - 9);
    // The hash covers everything in the Job except its own name (the trace through its content-named ConfigMap).
    const hash = shortHash(JSON.stringify(canonicalize({ ...context, base })));
    const name = `${base}-${hash}`;
    if (rwx) context.resultsSubPath = `benchmarks/${name}`;
    if (job.trace?.configMap) out.push({ group: 'benchmark', file: `${name}.yaml`, object: job.trace.configMap });
    const docs = renderTemplate('benchmark-job', { ...context, name });
    for (const object of docs) out.push({ group: 'benchmark', file: `${name}.yaml`, object: object as KubeObject });
  }
  return out;
}
