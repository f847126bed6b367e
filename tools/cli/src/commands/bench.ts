import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidInputError, UserError, type Issue } from '@llm-recipes/errors';
import {
  BENCH_VERSION,
  EXPORT_FORMATS,
  formatSummaryTable,
  isExperimentDir,
  loadTokenizer,
  checkTraceBlocks,
  loadTrace,
  matrixPoints,
  MOONCAKE_BLOCK_SIZE,
  tracePrefixStats,
  originEpochMs,
  parseShard,
  rateShareOf,
  runBenchmark,
  shareOf,
  writeFileAtomic,
  runExperiment,
  type Arrival,
  type ExportFormat,
  type LoadSpec,
  type MatrixPoint,
  type Progress,
  type Summary,
} from '@llm-recipes/bench';
import { goodputOf, loadWorkspace, resolveRecipe, samplingBody, totalGpus } from '@llm-recipes/recipe';
import type { CliIo } from '../io.ts';
import type { RegisterCommand } from './index.ts';
import { lookupWorkspaceRoot } from './workspace-root.ts';

interface BenchFlags {
  endpoint?: string;
  model?: string;
  api: string;
  isl?: string;
  osl?: string;
  concurrency?: string;
  rate?: string;
  requests?: string;
  duration?: string;
  warmup?: string;
  out?: string;
  json?: boolean;
  matrixIslOsl?: string;
  concurrencies?: string;
  rates?: string;
  recipe?: string;
  variant?: string;
  manifests?: string;
  resume?: boolean;
  errorThreshold: string;
  arrival?: string;
  burstiness?: string;
  maxConcurrency?: string;
  rampUp?: string;
  timeout: string;
  stallTimeout?: string;
  trace?: string;
  traceSpeed: string;
  traceBlockSize: string;
  fixedSchedule: boolean;
  requestRate?: string;
  requestsPerConcurrency?: string;
  warmupPerConcurrency?: string;
  datasetEntries?: string;
  extraInputs: string[];
  temperature?: string;
  repetitionPenalty?: string;
  goodput?: string;
  randomSeed?: string;
  sharedPrefix?: string;
  islSpread: string;
  oslSpread: string;
  seed?: string;
  export?: string;
  tokenizer: string;
  header: string[];
  apiKey?: string;
  sloTtft?: string;
  sloTpot?: string;
  sloE2e?: string;
  gpus?: string;
  ignoreEos: boolean;
  continuousUsage?: boolean;
  promptPool?: string;
  shard?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Collects every flag problem so the user fixes them in one pass. */
class FlagIssues {
  readonly issues: Issue[] = [];
  add(flag: string, message: string, hint: string): void {
    this.issues.push({ code: 'BAD_FLAG', file: '<command line>', path: [flag], message: `--${flag}: ${message}`, hint });
  }
  num(flag: string, raw: string | undefined, o: { int?: boolean; min?: number; gt?: number } = {}): number | undefined {
    if (raw === undefined) return undefined;
    const v = Number(raw);
    const kind = o.int ? 'an integer' : 'a number';
    if (raw.trim() === '' || !Number.isFinite(v) || (o.int && !Number.isInteger(v))) {
      this.add(flag, `expected ${kind}, got "${raw}"`, `e.g. --${flag} ${o.int ? 16 : 2.5}`);
      return undefined;
    }
    if (o.min !== undefined && v < o.min) this.add(flag, `must be ≥ ${o.min}, got ${v}`, `e.g. --${flag} ${Math.max(o.min, 1)}`);
    if (o.gt !== undefined && v <= o.gt) this.add(flag, `must be > ${o.gt}, got ${v}`, `e.g. --${flag} ${o.gt + 1}`);
    return v;
  }
  list(flag: string, raw: string | undefined, o: { int?: boolean; gt?: number } = {}): number[] | undefined {
    if (raw === undefined) return undefined;
    const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (parts.length === 0) {
      this.add(flag, 'empty list', `e.g. --${flag} 1,4,16`);
      return undefined;
    }
    const out = parts.map((p) => this.num(flag, p, o));
    return out.every((v) => v !== undefined) ? (out as number[]) : undefined;
  }
  throwIfAny(): void {
    if (this.issues.length > 0) throw new InvalidInputError(this.issues);
  }
}

/** `1024x128,8192x1024` → [[1024,128],[8192,1024]]. */
function parseIslOsl(raw: string, issues: FlagIssues): [number, number][] | undefined {
  const out: [number, number][] = [];
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)\s*[x:/]\s*(\d+)$/i.exec(part);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) {
      issues.add('matrix-isl-osl', `"${part}" is not ISLxOSL`, 'e.g. --matrix-isl-osl 1024x128,8192x1024');
      return undefined;
    }
    out.push([Number(m[1]), Number(m[2])]);
  }
  return out;
}

/**
 * `--extra-inputs` values, AIPerf's syntax: `key:value` (the value read as JSON when it parses, else a string) or a
 * JSON object; later ones win.
 */
function parseExtraInputs(raw: readonly string[], issues: FlagIssues): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of raw) {
    const t = item.trim();
    if (t.startsWith('{')) {
      try {
        const v = JSON.parse(t) as unknown;
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        Object.assign(out, v);
      } catch (err) {
        issues.add('extra-inputs', `"${item}" is not a JSON object: ${(err as Error).message}`, 'e.g. --extra-inputs \'{"nvext": {"ignore_eos": true}}\'');
      }
      continue;
    }
    const i = t.indexOf(':');
    if (i <= 0) {
      issues.add('extra-inputs', `"${item}" is not KEY:VALUE or a JSON object`, 'e.g. --extra-inputs temperature:0.7');
      continue;
    }
    const value = t.slice(i + 1).trim();
    let v: unknown = value;
    try {
      v = JSON.parse(value);
    } catch {
      // a plain string value
    }
    out[t.slice(0, i).trim()] = v;
  }
  return out;
}

/** AIPerf metric tags accepted by `--goodput` (AIPerf's inter_token_latency is the per-request TPOT), and ours. */
const GOODPUT_TAGS: Record<string, 'ttftMs' | 'tpotMs' | 'e2eMs'> = {
  time_to_first_token: 'ttftMs',
  ttft: 'ttftMs',
  inter_token_latency: 'tpotMs',
  tpot: 'tpotMs',
  request_latency: 'e2eMs',
  e2el: 'e2eMs',
  e2e: 'e2eMs',
};

/** `--goodput "time_to_first_token:200 inter_token_latency:20"` (AIPerf and vLLM style, ms) → SLO bounds. */
function parseGoodput(raw: string, issues: FlagIssues): { ttftMs?: number; tpotMs?: number; e2eMs?: number } | undefined {
  const out: { ttftMs?: number; tpotMs?: number; e2eMs?: number } = {};
  for (const part of raw.split(/[\s,]+/).filter(Boolean)) {
    const m = /^([a-z_0-9]+)[:=]([0-9]*\.?[0-9]+)$/i.exec(part);
    const key = m ? GOODPUT_TAGS[m[1]!.toLowerCase()] : undefined;
    if (!m || key === undefined || !(Number(m[2]) > 0)) {
      issues.add('goodput', `"${part}" is not METRIC:MS with METRIC one of ${Object.keys(GOODPUT_TAGS).join(', ')}`, 'e.g. --goodput "time_to_first_token:200 inter_token_latency:20"');
      return undefined;
    }
    out[key] = Number(m[2]);
  }
  return out;
}

interface RecipeBench {
  recipe: unknown;
  id: string;
  /** The recipe's rendered workload manifests found under clusters/*\/workloads/<name>/, by repo path. */
  manifests: Record<string, string>;
  model: string;
  api: 'chat' | 'completions';
  islOsl: [number, number][];
  concurrency: number[];
  requests: number;
  requestsPerConcurrency: number;
  warmup: number;
  warmupPerConcurrency: number;
  load: 'concurrency' | 'rate' | 'trace';
  rates: number[] | undefined;
  arrival: Arrival;
  burstiness: number;
  maxConcurrency: number | undefined;
  seed: number;
  datasetEntries: number | undefined;
  ignoreEos: boolean;
  extraBody: Record<string, unknown>;
  gpus: number;
  slo: { ttftMs?: number | undefined; tpotMs?: number | undefined; e2eMs?: number | undefined } | undefined;
  /** Absolute path of benchmark.trace.file (volumePath traces live on the cluster only). */
  traceFile: string | undefined;
  trace: { blockSize: number; speedup: number; fixedSchedule: boolean; maxRequests: number | undefined };
  tokenizerHint: string;
}

/** Reads a recipe's benchmark section (matrix, request counts, SLA, GPU count) through the recipe package. */
function readRecipe(ref: string, variant: string | undefined, cwd: string): RecipeBench {
  const root = lookupWorkspaceRoot(cwd);
  if (!root) throw new UserError('NO_WORKSPACE', `--recipe ${ref}: no recipes/ directory above ${cwd}`, { hint: 'run inside an llm-recipes checkout' });
  const ws = loadWorkspace(root);
  const res = resolveRecipe(ws, { recipe: ref, variant, cwd });
  const errors = res.issues.filter((i) => i.severity !== 'warning');
  if (!res.resolved || errors.length > 0) throw new InvalidInputError(res.issues);
  const r = res.resolved;
  const b = r.recipe.benchmark;
  const manifests: Record<string, string> = {};
  const clustersDir = join(root, 'clusters');
  if (existsSync(clustersDir)) {
    for (const cluster of readdirSync(clustersDir)) {
      const dir = join(clustersDir, cluster, 'workloads', r.name);
      if (existsSync(dir)) Object.assign(manifests, readTree(dir, root));
    }
  }
  return {
    recipe: r.recipe,
    id: r.id,
    manifests,
    model: r.model.servedName,
    api: b.api,
    islOsl: b.islOsl.map(([i, o]) => [i, o] as [number, number]),
    concurrency: [...b.concurrency],
    requests: b.requestsPerPoint,
    requestsPerConcurrency: b.requestsPerConcurrency,
    warmup: b.warmupRequests,
    warmupPerConcurrency: b.warmupPerConcurrency,
    load: b.load,
    rates: b.requestRates ? [...b.requestRates] : undefined,
    arrival: b.arrival,
    burstiness: b.burstiness,
    maxConcurrency: b.maxConcurrency,
    seed: b.seed,
    datasetEntries: b.datasetEntries,
    ignoreEos: b.sampling.ignoreEos,
    extraBody: samplingBody(b),
    gpus: totalGpus(r.recipe),
    slo: goodputOf(r.recipe) ?? undefined,
    traceFile: b.trace.file === undefined ? undefined : join(root, r.dir, b.trace.file),
    trace: { blockSize: b.trace.blockSize, speedup: b.trace.speedup, fixedSchedule: b.trace.fixedSchedule, maxRequests: b.trace.maxRequests },
    tokenizerHint: r.model.tokenizer,
  };
}

/** Every file under `dir`, keyed by its path relative to `root` (for content hashes in the manifest). */
function readTree(dir: string, root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true }) as string[]) {
    const abs = join(dir, entry);
    if (statSync(abs).isFile()) out[relative(root, abs).split('\\').join('/')] = readFileSync(abs, 'utf8');
  }
  return out;
}

function progressLine(point: string, index: number, total: number, p: Progress): string {
  const reqs = p.total !== null ? `${p.done}/${p.total}` : `${p.done}`;
  return `[${index}/${total}] ${point} ${p.phase} ${p.elapsedS.toFixed(0)}s req ${reqs} inflight ${p.inflight} err ${p.errors} out ${p.outputTokPerS.toFixed(0)} tok/s`;
}

export const registerBench: RegisterCommand = (program: Command, io: CliIo, state) => {
  program
    .command('bench')
    .description('Benchmark an OpenAI-compatible endpoint: streaming load at a concurrency or rate, TTFT/ITL/TPOT/E2E and throughput.')
    .option('--endpoint <url>', 'server base URL (http://host:8000, …/v1) or a full completions URL')
    .option('--model <name>', 'model name sent in requests')
    .option('--api <api>', 'chat | completions', 'chat')
    .option('--isl <n>', 'input tokens per prompt (client tokenizer, before the chat template)')
    .option('--osl <n>', 'output tokens per request (forced with ignore_eos + min_tokens)')
    .option('--concurrency <n>', 'closed loop: requests kept in flight')
    .option('--rate <r>', 'open loop: arrivals per second')
    .option('--request-rate <r>', 'the same as --rate (AIPerf name)')
    .option('--requests <n>', 'measured requests per point (default 100); in trace replay, the first N entries')
    .option('--requests-per-concurrency <k>', 'concurrency points measure max(--requests, k × concurrency) requests (upstream Dynamo perf Jobs: 10)')
    .option('--warmup-per-concurrency <k>', 'concurrency points warm up with max(--warmup, k × concurrency) requests')
    .option('--duration <s>', 'stop issuing after this many seconds')
    .option('--warmup <n>', 'requests sent before measuring (excluded from results)')
    .option('--out <dir>', 'experiment directory (manifest, per-point records, summaries, exports)')
    .option('--json', 'print the summary object on stdout')
    .option('--matrix-isl-osl <list>', 'matrix ISL×OSL pairs, e.g. 1024x128,8192x1024')
    .option('--concurrencies <list>', 'matrix concurrencies, e.g. 1,4,16')
    .option('--rates <list>', 'matrix rates (req/s), e.g. 1,2,4')
    .option('--recipe <dir>', "take the matrix, model, SLA and GPU count from a recipe's benchmark section")
    .option('--variant <name>', 'recipe variant')
    .option('--manifests <dir>', 'rendered manifests of the deployment under test; their content hashes go into the experiment manifest')
    .option('--resume', 'keep finished points of the experiment in --out and run the rest')
    .option('--error-threshold <pct>', 'exit 1 when a point’s failed-request share exceeds this percentage', '5')
    .option('--arrival <kind>', 'poisson | gamma | constant (rate mode; default poisson)')
    .option('--burstiness <k>', 'gamma shape: <1 burstier, >1 smoother, 1 = Poisson (default 1)')
    .option('--max-concurrency <n>', 'cap on in-flight requests in rate/trace mode')
    .option('--ramp-up <s>', 'linear ramp of concurrency slots or rate over this many seconds')
    .option('--timeout <s>', 'per-request deadline in seconds', '600')
    .option('--stall-timeout <s>', 'abort a request after this many seconds without a byte (default: --timeout)')
    .option('--trace <file.jsonl>', 'replay a Mooncake trace: {"timestamp": ms, "input_length": n, "output_length": n, "hash_ids": [...]} per line')
    .option('--trace-speed <x>', 'trace time scale (2 = twice as fast)', '1')
    .option('--trace-block-size <n>', `tokens per hash_ids block (Mooncake traces: ${MOONCAKE_BLOCK_SIZE})`, String(MOONCAKE_BLOCK_SIZE))
    .option('--no-fixed-schedule', 'trace replay: ignore timestamps and send back to back at --concurrency')
    .option('--shared-prefix <n>', 'tokens of a prefix shared by every prompt (inside --isl)')
    .option('--isl-spread <r>', 'draw ISL uniformly from [ISL(1−r), ISL(1+r)]', '0')
    .option('--osl-spread <r>', 'draw OSL uniformly from [OSL(1−r), OSL(1+r)]', '0')
    .option('--seed <n>', 'seed for prompts and arrivals (default 0)')
    .option('--random-seed <n>', 'the same as --seed (AIPerf name)')
    .option('--dataset-entries <n>', 'distinct prompts per point, reused in order past that (AIPerf --num-dataset-entries); default all distinct')
    .option('--extra-inputs <kv>', 'request-body field KEY:VALUE (value read as JSON) or a JSON object, merged last (repeatable)', collect, [])
    .option('--temperature <t>', 'temperature of every request')
    .option('--repetition-penalty <p>', 'repetition_penalty of every request')
    .option('--export <list>', `also write ${EXPORT_FORMATS.join(', ')} result files (needs --out)`)
    .option('--tokenizer <spec>', 'o200k_base | cl100k_base | path to a Hugging Face tokenizer.json (or its directory)', 'o200k_base')
    .option('--header <k:v>', 'extra request header (repeatable)', collect, [])
    .option('--api-key <key>', 'bearer token (default: $OPENAI_API_KEY)')
    .option('--slo-ttft <ms>', 'goodput bound on TTFT')
    .option('--slo-tpot <ms>', 'goodput bound on TPOT')
    .option('--slo-e2e <ms>', 'goodput bound on E2E latency')
    .option('--goodput <slos>', 'goodput bounds AIPerf-style, ms: "time_to_first_token:200 inter_token_latency:20 request_latency:5000"')
    .option('--gpus <n>', 'GPUs behind the endpoint (tokens/s/GPU)')
    .option('--no-ignore-eos', 'do not send ignore_eos/min_tokens (let the model stop early)')
    .option('--continuous-usage', 'ask for usage on every chunk (exact per-token ITL on vLLM)')
    .option('--prompt-pool <n>', 'distinct prompts for duration-bounded closed-loop runs')
    .option('--shard <i/N>', "run shard i of N load generators started together: its share of --concurrency/--rate and --requests (needs --out; merge with `recipes bench merge`)")
    .action(async (flags: BenchFlags) => {
      await runBenchCommand(flags, io, state);
    });
};

async function runBenchCommand(flags: BenchFlags, io: CliIo, state: { exitCode: number }): Promise<void> {
  const v = new FlagIssues();
  const rec = flags.recipe ? readRecipe(flags.recipe, flags.variant, io.cwd) : undefined;
  const api = flags.api === 'completions' ? 'completions' : flags.api === 'chat' ? 'chat' : undefined;
  if (!api) v.add('api', `expected chat or completions, got "${flags.api}"`, 'e.g. --api chat');
  if (!flags.endpoint) v.add('endpoint', 'required', 'e.g. --endpoint http://127.0.0.1:8000');
  const model = flags.model ?? rec?.model;
  if (!model) v.add('model', 'required (or --recipe)', 'e.g. --model Qwen/Qwen3-32B');
  const arrivalRaw = flags.arrival ?? rec?.arrival ?? 'poisson';
  const arrival = (['poisson', 'gamma', 'constant'] as const).find((a) => a === arrivalRaw);
  if (!arrival) v.add('arrival', `expected poisson, gamma or constant, got "${arrivalRaw}"`, 'e.g. --arrival gamma --burstiness 0.5');
  const isl = v.num('isl', flags.isl, { int: true, min: 1 });
  const osl = v.num('osl', flags.osl, { int: true, min: 1 });
  const concurrency = v.num('concurrency', flags.concurrency, { int: true, min: 1 });
  if (flags.rate !== undefined && flags.requestRate !== undefined) v.add('request-rate', 'give --rate or --request-rate, not both', 'drop one of them');
  const rate = v.num(flags.requestRate !== undefined ? 'request-rate' : 'rate', flags.rate ?? flags.requestRate, { gt: 0 });
  const requests = v.num('requests', flags.requests, { int: true, min: 1 });
  // the recipe's multiples apply unless the count is given on the command line
  const perC = v.num('requests-per-concurrency', flags.requestsPerConcurrency, { int: true, min: 0 }) ?? (flags.requests === undefined ? rec?.requestsPerConcurrency : undefined);
  const warmPerC = v.num('warmup-per-concurrency', flags.warmupPerConcurrency, { int: true, min: 0 }) ?? (flags.warmup === undefined ? rec?.warmupPerConcurrency : undefined);
  const duration = v.num('duration', flags.duration, { gt: 0 });
  const warmup = v.num('warmup', flags.warmup, { int: true, min: 0 });
  const threshold = v.num('error-threshold', flags.errorThreshold, { min: 0 }) ?? 5;
  const burstiness = v.num('burstiness', flags.burstiness, { gt: 0 }) ?? rec?.burstiness ?? 1;
  const maxConcurrency = v.num('max-concurrency', flags.maxConcurrency, { int: true, min: 1 }) ?? rec?.maxConcurrency;
  const rampUp = v.num('ramp-up', flags.rampUp, { min: 0 });
  const timeoutS = v.num('timeout', flags.timeout, { gt: 0 }) ?? 600;
  const stallS = v.num('stall-timeout', flags.stallTimeout, { gt: 0 });
  const traceSpeed = v.num('trace-speed', flags.traceSpeed, { gt: 0 }) ?? 1;
  const traceBlockSize = v.num('trace-block-size', flags.traceBlockSize, { int: true, min: 1 }) ?? MOONCAKE_BLOCK_SIZE;
  const sharedPrefix = v.num('shared-prefix', flags.sharedPrefix, { int: true, min: 0 });
  const islSpread = v.num('isl-spread', flags.islSpread, { min: 0 }) ?? 0;
  const oslSpread = v.num('osl-spread', flags.oslSpread, { min: 0 }) ?? 0;
  if (flags.seed !== undefined && flags.randomSeed !== undefined) v.add('random-seed', 'give --seed or --random-seed, not both', 'drop one of them');
  const seed = v.num(flags.randomSeed !== undefined ? 'random-seed' : 'seed', flags.seed ?? flags.randomSeed, { int: true, min: 0 }) ?? rec?.seed ?? 0;
  const datasetEntries = v.num('dataset-entries', flags.datasetEntries, { int: true, min: 1 }) ?? rec?.datasetEntries;
  const temperature = v.num('temperature', flags.temperature, { min: 0 });
  const repetitionPenalty = v.num('repetition-penalty', flags.repetitionPenalty, { gt: 0 });
  const extraInputs = parseExtraInputs(flags.extraInputs, v);
  const sloTtft = v.num('slo-ttft', flags.sloTtft, { gt: 0 });
  const sloTpot = v.num('slo-tpot', flags.sloTpot, { gt: 0 });
  const sloE2e = v.num('slo-e2e', flags.sloE2e, { gt: 0 });
  const goodputFlag = flags.goodput === undefined ? undefined : parseGoodput(flags.goodput, v);
  const gpus = v.num('gpus', flags.gpus, { int: true, min: 1 }) ?? rec?.gpus;
  const promptPool = v.num('prompt-pool', flags.promptPool, { int: true, min: 1 });
  const concurrencies = v.list('concurrencies', flags.concurrencies, { int: true, gt: 0 });
  const rates = v.list('rates', flags.rates, { gt: 0 });
  const matrix = flags.matrixIslOsl ? parseIslOsl(flags.matrixIslOsl, v) : undefined;
  const exportsList: ExportFormat[] = [];
  for (const e of (flags.export ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const f = EXPORT_FORMATS.find((x) => x === e);
    if (f) exportsList.push(f);
    else v.add('export', `unknown format "${e}"`, `choose from ${EXPORT_FORMATS.join(', ')}`);
  }
  if (exportsList.length > 0 && !flags.out) v.add('export', 'needs --out (exports are files in the experiment directory)', 'add --out results/my-run');
  if (flags.resume && !flags.out) v.add('resume', 'needs --out (the experiment directory to resume)', 'add --out results/my-run');
  if (concurrency !== undefined && rate !== undefined) v.add('rate', 'give --concurrency or --rate, not both', 'use --max-concurrency to cap a rate run');
  if (requests !== undefined && duration !== undefined) v.add('duration', 'give --requests or --duration, not both', 'drop one of them');
  if (goodputFlag && (sloTtft ?? sloTpot ?? sloE2e) !== undefined) v.add('goodput', 'give --goodput or --slo-ttft/--slo-tpot/--slo-e2e, not both', 'drop one of them');
  const headers: Record<string, string> = {};
  for (const h of flags.header) {
    const i = h.indexOf(':');
    if (i <= 0) v.add('header', `"${h}" is not NAME:VALUE`, 'e.g. --header "x-tenant: a"');
    else headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const apiKey = flags.apiKey ?? io.env['OPENAI_API_KEY'];
  if (apiKey) headers['authorization'] = `Bearer ${apiKey}`;

  // the points: trace, matrix flags, recipe, or the single point given by --isl/--osl and --concurrency/--rate
  const traceFlag = flags.trace ? (isAbsolute(flags.trace) ? flags.trace : join(io.cwd, flags.trace)) : undefined;
  const tracePath = traceFlag ?? (rec?.load === 'trace' && !matrix && isl === undefined ? rec.traceFile : undefined);
  if (rec?.load === 'trace' && tracePath === undefined && !matrix && isl === undefined) {
    v.add('trace', "the recipe's trace is staged on the cluster (benchmark.trace.volumePath)", 'pass a local copy with --trace FILE');
  }
  const trace = tracePath ? loadTrace(tracePath) : undefined;
  const fromRecipeTrace = traceFlag === undefined && trace !== undefined;
  const traceOpts = {
    blockSize: flags.traceBlockSize === String(MOONCAKE_BLOCK_SIZE) && fromRecipeTrace ? rec!.trace.blockSize : traceBlockSize,
    speed: flags.traceSpeed === '1' && fromRecipeTrace ? rec!.trace.speedup : traceSpeed,
    fixedSchedule: fromRecipeTrace && flags.fixedSchedule ? rec!.trace.fixedSchedule : flags.fixedSchedule,
  };
  if (trace) checkTraceBlocks(trace, traceOpts.blockSize, tracePath!);
  let points: MatrixPoint[] = [];
  if (trace) {
    const meanIsl = Math.round(trace.reduce((a, e) => a + e.isl, 0) / trace.length);
    const meanOsl = Math.round(trace.reduce((a, e) => a + e.osl, 0) / trace.length);
    // one replay per concurrency level: the in-flight cap (fixed schedule) or the closed-loop streams
    const caps = concurrencies ?? (concurrency !== undefined ? [concurrency] : fromRecipeTrace ? rec!.concurrency : undefined);
    points = caps
      ? caps.map((c) => ({ id: `trace-c${c}`, isl: meanIsl, osl: meanOsl, concurrency: c, rate: null }))
      : [{ id: 'trace', isl: meanIsl, osl: meanOsl, concurrency: null, rate: null }];
  } else {
    const pairs = matrix ?? (isl !== undefined && osl !== undefined ? [[isl, osl] as [number, number]] : rec?.islOsl);
    const cs = concurrencies ?? (concurrency !== undefined ? [concurrency] : undefined);
    const rs = rates ?? (rate !== undefined ? [rate] : undefined);
    if (!pairs) {
      if (isl === undefined) v.add('isl', 'required (or --matrix-isl-osl, --recipe, --trace)', 'e.g. --isl 1024 --osl 128');
      if (osl === undefined) v.add('osl', 'required (or --matrix-isl-osl, --recipe, --trace)', 'e.g. --isl 1024 --osl 128');
    }
    const recipeRates = rec?.load === 'rate' ? rec.rates : undefined;
    const loads = cs ?? (rs || recipeRates ? undefined : rec?.concurrency);
    const rateLevels = rs ?? (cs ? undefined : recipeRates);
    if (!loads && !rateLevels) v.add('concurrency', 'give --concurrency N or --rate R (or --concurrencies/--rates, --recipe)', 'e.g. --concurrency 16');
    if (pairs && (loads || rateLevels)) points = matrixPoints(pairs, { concurrency: loads ?? [], rate: rateLevels ?? [] });
  }
  v.throwIfAny();
  if (flags.out && !flags.resume && isExperimentDir(resolve(io.cwd, flags.out))) {
    io.stderr(`note: ${flags.out} already holds an experiment; its points will be re-run (pass --resume to keep finished ones)\n`);
  }

  let manifestFiles: Record<string, string> = {};
  if (flags.manifests) {
    const dir = resolve(io.cwd, flags.manifests);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new UserError('BAD_FLAG', `--manifests ${flags.manifests}: not a directory`, { hint: 'pass the rendered directory, e.g. --manifests clusters/prod/workloads/my-recipe' });
    }
    manifestFiles = readTree(dir, io.cwd);
  }
  const tokenizer = await loadTokenizer(flags.tokenizer, io.cwd);
  const slo = goodputFlag ?? ((sloTtft ?? sloTpot ?? sloE2e) !== undefined ? { ttftMs: sloTtft, tpotMs: sloTpot, e2eMs: sloE2e } : rec?.slo);
  const traceLimit = trace ? (requests ?? (fromRecipeTrace ? rec!.trace.maxRequests : undefined)) : undefined;
  const measuredRequests = trace ? traceLimit : (requests ?? (duration === undefined ? (rec?.requests ?? 100) : undefined));
  const warmupN = warmup ?? rec?.warmup ?? 0;
  // concurrency points scale with their load (upstream: --request-count 10×c, --warmup-request-count c)
  const requestsFor = (p: MatrixPoint): number | undefined =>
    !trace && measuredRequests !== undefined && p.concurrency !== null && perC ? Math.max(measuredRequests, perC * p.concurrency) : measuredRequests;
  const warmupFor = (p: MatrixPoint): number => (!trace && p.concurrency !== null && warmPerC ? Math.max(warmupN, warmPerC * p.concurrency) : warmupN);
  const extraBody: Record<string, unknown> = {
    ...(flags.temperature === undefined && flags.repetitionPenalty === undefined && Object.keys(extraInputs).length === 0 ? rec?.extraBody : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(repetitionPenalty !== undefined ? { repetition_penalty: repetitionPenalty } : {}),
    ...extraInputs,
  };
  const ignoreEos = flags.ignoreEos && (rec?.ignoreEos ?? true);
  const theoretical = trace ? tracePrefixStats(trace.slice(0, traceLimit ?? trace.length), traceOpts.blockSize) : undefined;
  if (theoretical) {
    io.stderr(`trace: ${theoretical.requests} requests, ${theoretical.inputTokens} prompt tokens, theoretical prefix hit rate ${(theoretical.hitRate * 100).toFixed(1)}% (${traceOpts.blockSize}-token blocks)\n`);
  }
  const live = io.isTTY;
  let lastPlain = 0;

  // --shard: this process runs its share of every point; `recipes bench merge` joins the shards' raw records.
  const shard = flags.shard === undefined ? undefined : parseShard(flags.shard);
  if (shard && !flags.out) throw new UserError('BAD_FLAG', '--shard needs --out (the merge reads each shard\'s records)', { hint: 'add --out /results/shard-$JOB_COMPLETION_INDEX' });
  const origins: Record<string, number> = {};
  const loadFor = (p: MatrixPoint): LoadSpec => {
    if (trace) {
      const cap = p.concurrency ?? maxConcurrency;
      return {
        mode: 'trace',
        entries: trace,
        speed: traceOpts.speed,
        maxConcurrency: shard && cap !== undefined ? Math.max(1, shareOf(cap, shard)) : cap,
        fixedSchedule: traceOpts.fixedSchedule,
        blockSize: traceOpts.blockSize,
      };
    }
    if (p.concurrency !== null) return { mode: 'concurrency', concurrency: shard ? Math.max(1, shareOf(p.concurrency, shard)) : p.concurrency };
    return { mode: 'rate', rate: shard ? rateShareOf(p.rate!, shard) : p.rate!, arrival: arrival as Arrival, burstiness, maxConcurrency };
  };
  const runPoint = async (p: MatrixPoint, index: number) =>
    runBenchmark({
      endpoint: flags.endpoint!,
      api: api!,
      model: model!,
      headers,
      load: loadFor(p),
      requests: ((n) => (shard && n !== undefined && !trace ? Math.max(1, shareOf(n, shard)) : n))(requestsFor(p)),
      durationS: duration,
      warmup: warmupFor(p),
      rampUpS: rampUp,
      timeoutMs: timeoutS * 1000,
      stallTimeoutMs: stallS === undefined ? undefined : stallS * 1000,
      workload: {
        isl: p.isl,
        osl: p.osl,
        islSpread,
        oslSpread,
        sharedPrefix,
        // each replay of a trace draws its own block contents, so a later level never hits what an earlier one cached
        seed: trace ? seed + points.findIndex((q) => q.id === p.id) : seed,
        datasetEntries,
        forceOutputLength: ignoreEos,
        continuousUsage: flags.continuousUsage ?? false,
        extraBody: Object.keys(extraBody).length > 0 ? extraBody : undefined,
      },
      tokenizer,
      promptPool,
      slo,
      gpus,
      progressMs: live ? 250 : 10_000,
      onProgress: (pr) => {
        const text = progressLine(p.id, index + 1, points.length, pr);
        if (live) io.stderr(`\r\x1b[2K${text}`);
        else if (Date.now() - lastPlain >= 9_000) {
          lastPlain = Date.now();
          io.stderr(`${text}\n`);
        }
      },
    });

  const rows: { point: string; summary: Summary | null; error: string | null }[] = [];
  const onDone = (id: string, summary: Summary | null, error: string | null, resumed = false): void => {
    if (live) io.stderr('\r\x1b[2K');
    rows.push({ point: id, summary, error });
    const head = summary
      ? `${summary.counts.completed}/${summary.counts.requests} ok, TTFT p50 ${summary.ttft?.p50.toFixed(1) ?? '—'} ms, ${summary.output_throughput.toFixed(0)} tok/s`
      : `failed: ${error}`;
    io.stderr(`${resumed ? 'kept' : 'done'} ${id}: ${head}\n`);
  };

  let experimentId: string | null = null;
  if (flags.out) {
    const dir = resolve(io.cwd, flags.out);
    let index = 0;
    const startedIds = new Set<string>();
    const result = await runExperiment({
      dir,
      resume: flags.resume ?? false,
      inputs: {
        endpoint: flags.endpoint,
        model,
        api,
        tokenizer: tokenizer.name,
        requests: measuredRequests ?? null,
        requestsPerConcurrency: perC ?? null,
        duration: duration ?? null,
        warmup: warmupN,
        warmupPerConcurrency: warmPerC ?? null,
        datasetEntries: datasetEntries ?? null,
        extraBody,
        arrival,
        burstiness,
        maxConcurrency: maxConcurrency ?? null,
        rampUp: rampUp ?? null,
        timeoutS,
        stallS: stallS ?? null,
        trace: tracePath ? relative(io.cwd, tracePath) : null,
        traceSpeed: traceOpts.speed,
        traceBlockSize: trace ? traceOpts.blockSize : null,
        fixedSchedule: trace ? traceOpts.fixedSchedule : null,
        sharedPrefix: sharedPrefix ?? null,
        islSpread,
        oslSpread,
        ignoreEos,
        continuousUsage: flags.continuousUsage ?? false,
        slo: slo ?? null,
        gpus: gpus ?? null,
        recipe: rec?.id ?? null,
        variant: flags.variant ?? null,
      },
      recipe: rec?.recipe,
      manifests: { ...rec?.manifests, ...manifestFiles },
      seed,
      points,
      tools: { 'llm-recipes-bench': BENCH_VERSION, node: process.version, tokenizer: tokenizer.name },
      exports: exportsList,
      runPoint: async (p) => {
        startedIds.add(p.id);
        const result = await runPoint(p, index++);
        origins[p.id] = originEpochMs(result.originNs);
        return result;
      },
      exportContext: (p, started, finished) => ({
        model: model!,
        endpoint: flags.endpoint!,
        api: api!,
        tokenizer: tokenizer.name,
        isl: p.isl,
        osl: p.osl,
        concurrency: p.concurrency ?? maxConcurrency ?? null,
        rate: p.rate,
        burstiness: p.rate !== null ? burstiness : null,
        startTime: started.toISOString(),
        endTime: finished.toISOString(),
        toolVersion: BENCH_VERSION,
        args: { ...flags },
      }),
      onPoint: (st, summary) => {
        if (!startedIds.has(st.id)) index++;
        onDone(st.id, summary, st.error, !startedIds.has(st.id));
      },
    });
    experimentId = result.id;
    // Written last: the merge Job waits for every shard's shard.json.
    if (shard) writeFileAtomic(join(dir, 'shard.json'), `${JSON.stringify({ index: shard.index, count: shard.count, originEpochMs: origins }, null, 2)}\n`);
  } else {
    for (const [i, p] of points.entries()) {
      try {
        onDone(p.id, (await runPoint(p, i)).summary, null);
      } catch (err) {
        if (err instanceof UserError) throw err;
        onDone(p.id, null, err instanceof Error ? err.message : String(err));
      }
    }
  }

  if (flags.json) {
    // one point: the summary object itself (DESIGN §7); a matrix: every point with its summary
    const single = points.length === 1 && rows.length === 1 && rows[0]!.summary !== null;
    const payload = single
      ? rows[0]!.summary
      : { experiment: experimentId, points: rows.map((r) => ({ id: r.point, ...points.find((p) => p.id === r.point), summary: r.summary, error: r.error })) };
    io.stdout(`${JSON.stringify(payload, null, 2)}\n`);
  } else {
    io.stdout(`${formatSummaryTable(rows)}\n`);
    io.stdout('latencies in ms (TTFT/TPOT/ITL/E2E); out tok/s = output tokens per second over the run; tok/s/user = 1000/TPOT\n');
    if (flags.out) io.stdout(`experiment ${experimentId} → ${flags.out}\n`);
  }

  const failedPoints = rows.filter((r) => r.summary === null);
  const overThreshold = rows.filter((r) => r.summary && r.summary.error_rate * 100 > threshold);
  for (const r of overThreshold) {
    const errs = Object.entries(r.summary!.errors).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
    io.stderr(`error rate ${(r.summary!.error_rate * 100).toFixed(1)}% at ${r.point} exceeds --error-threshold ${threshold}% (${errs})\n`);
  }
  if (failedPoints.length > 0 || overThreshold.length > 0) state.exitCode = 1;
}
