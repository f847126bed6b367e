import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ExitCode, formatIssue, InvalidInputError, UserError, type Issue } from '@llm-recipes/errors';
import { defaultCalibration, estimate, estimateBand, workspaceCalibration, type BackendName, type Calibration, type Deployment, type Dtype, type Estimate, type EstimateBand, type Gpu, type Pool } from '@llm-recipes/estimate';
import type { ResolvedModelId } from '@llm-recipes/recipe';
import type { RegisterCommand } from './index.ts';
import { describeModel, openCatalog, toJson, type Catalog, type CatalogModel } from './estimate-catalog.ts';
import { lookupWorkspaceRoot } from './workspace-root.ts';

/** One point query; the `--batch` JSONL lines use these names. */
export interface EstimateQuery {
  model: string;
  gpu: string;
  backend: string;
  dtype?: string | undefined;
  kvDtype?: string | undefined;
  tp?: number | undefined;
  ep?: number | undefined;
  replicas?: number | undefined;
  mode?: string | undefined;
  prefillTp?: number | undefined;
  prefillReplicas?: number | undefined;
  decodeTp?: number | undefined;
  decodeReplicas?: number | undefined;
  isl: number;
  osl: number;
  concurrency: number;
}

const BACKENDS = ['vllm', 'sglang', 'trtllm'];
const DTYPES = ['bf16', 'fp16', 'fp8', 'fp4'];
const INT_FIELDS = ['tp', 'ep', 'replicas', 'prefillTp', 'prefillReplicas', 'decodeTp', 'decodeReplicas', 'isl', 'osl', 'concurrency'] as const;
const KNOWN = new Set(['model', 'gpu', 'backend', 'dtype', 'kvDtype', 'mode', ...INT_FIELDS]);
const DISAGG_FIELDS = ['prefillTp', 'prefillReplicas', 'decodeTp', 'decodeReplicas'] as const;

/** Checks a query's fields and returns every problem at once (field paths are the camelCase names). */
export function checkQuery(q: Record<string, unknown>, file: string, line?: number): Issue[] {
  const issues: Issue[] = [];
  const add = (field: string, message: string, hint?: string): void => {
    issues.push({ code: 'ESTIMATE_QUERY', file, path: [field], line, col: 1, message, hint });
  };
  for (const k of Object.keys(q)) if (!KNOWN.has(k)) add(k, `unknown field "${k}"`, `fields: ${[...KNOWN].join(', ')}`);
  for (const f of ['model', 'gpu', 'backend'] as const) if (typeof q[f] !== 'string' || q[f] === '') add(f, `${f} is required`);
  if (typeof q['backend'] === 'string' && q['backend'] !== '' && !BACKENDS.includes(q['backend'])) add('backend', `unknown backend "${q['backend']}"`, `one of ${BACKENDS.join(', ')}`);
  for (const f of ['dtype', 'kvDtype'] as const) if (q[f] !== undefined && !DTYPES.includes(String(q[f]))) add(f, `unknown dtype "${String(q[f])}"`, `one of ${DTYPES.join(', ')}`);
  if (q['mode'] !== undefined && q['mode'] !== 'agg' && q['mode'] !== 'disagg') add('mode', `mode must be agg or disagg, not "${String(q['mode'])}"`);
  for (const f of INT_FIELDS) {
    const v = q[f];
    if (v === undefined) {
      if (f === 'isl' || f === 'osl' || f === 'concurrency') add(f, `${f} is required`, `pass a positive integer`);
      continue;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) add(f, `${f} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (q['mode'] === 'disagg') {
    for (const f of ['prefillTp', 'decodeTp'] as const) if (q[f] === undefined && q['tp'] === undefined) add(f, `disagg needs ${f} (or tp for both pools)`);
    if (q['replicas'] !== undefined) add('replicas', 'replicas applies to mode agg', 'a disaggregated query sets prefillReplicas and decodeReplicas');
  } else if (q['mode'] === undefined || q['mode'] === 'agg') {
    for (const f of DISAGG_FIELDS) if (q[f] !== undefined) add(f, `${f} applies to mode disagg`, 'add "mode": "disagg", or use tp and replicas for an aggregated deployment');
  }
  return issues;
}

/** A query that passed every check, with the model, GPU and deployment it resolved to. */
export interface PreparedQuery {
  query: EstimateQuery;
  model: ResolvedModelId<CatalogModel>;
  gpu: Gpu;
  deployment: Deployment;
}

const divisors = (n: number): string => {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out.join(', ');
};

/** What an engine refuses to shard: attention heads, KV heads and experts that do not split over the GPUs. */
function poolIssues(model: CatalogModel, pool: Pool, fields: { tp: string; ep: string | undefined }): { field: string; message: string; hint: string }[] {
  const a = model.architecture;
  const out: { field: string; message: string; hint: string }[] = [];
  const { tp, ep } = pool;
  // MLA models run attention data-parallel under TP (DeepSeek wide EP), so heads need not split
  if (a.attention !== 'mla') {
    if (a.heads % tp !== 0) {
      out.push({ field: fields.tp, message: `tp ${tp} does not divide the ${a.heads} attention heads of ${model.id}`, hint: `tp: one of ${divisors(a.heads)}` });
    } else if (tp <= a.kvHeads ? a.kvHeads % tp !== 0 : tp % a.kvHeads !== 0) {
      out.push({ field: fields.tp, message: `tp ${tp} neither divides nor is a multiple of the ${a.kvHeads} KV heads of ${model.id}`, hint: `tp: a divisor or a multiple of ${a.kvHeads}` });
    }
  }
  if (a.moe === undefined) {
    if (ep > 1) out.push({ field: fields.ep ?? 'ep', message: `ep ${ep} needs a mixture-of-experts model; ${model.id} is dense`, hint: 'drop ep (or set it to 1)' });
    return out;
  }
  const field = fields.ep ?? fields.tp;
  if (tp % ep !== 0) out.push({ field, message: `ep ${ep} does not divide tp ${tp}`, hint: 'expert parallelism spreads the experts over the GPUs of one replica: ep must divide tp' });
  if (a.moe.experts % ep !== 0) out.push({ field, message: `ep ${ep} does not divide the ${a.moe.experts} experts of ${model.id}`, hint: `ep: one of ${divisors(a.moe.experts)}` });
  return out;
}

/**
 * Checks a query, resolves its model and GPU and checks its parallelism against the architecture: every problem at
 * once, or the prepared query. Nothing here throws for bad input, so a batch reports a bad line and goes on.
 */
export function prepareQuery(q: Record<string, unknown>, catalog: Catalog, file: string, line?: number): { issues: Issue[]; prepared?: PreparedQuery } {
  const issues = checkQuery(q, file, line);
  const add = (code: string, field: string, message: string, hint?: string): void => {
    issues.push({ code, file, path: [field], line, col: 1, message, hint });
  };
  let model: ResolvedModelId<CatalogModel> | undefined;
  if (typeof q['model'] === 'string' && q['model'] !== '') {
    const dtype = typeof q['dtype'] === 'string' && DTYPES.includes(q['dtype']) ? (q['dtype'] as Dtype) : undefined;
    const r = catalog.models.resolve(q['model'], { dtype });
    if (r.ok) model = r;
    else add(r.error.code, 'model', r.error.message, r.error.hint);
  }
  let gpu: Gpu | undefined;
  if (typeof q['gpu'] === 'string' && q['gpu'] !== '') {
    const r = catalog.lookupGpu(q['gpu']);
    if (r.ok) gpu = r.gpu;
    else add(r.error.code, 'gpu', r.error.message, r.error.hint);
  }
  if (issues.length > 0 || model === undefined || gpu === undefined) return { issues };
  const query = q as unknown as EstimateQuery;
  const deployment = buildDeployment(query, model);
  const pools =
    deployment.mode === 'agg'
      ? [{ pool: deployment.agg!, tp: 'tp' }]
      : [
          { pool: deployment.prefill!, tp: query.prefillTp !== undefined ? 'prefillTp' : 'tp' },
          { pool: deployment.decode!, tp: query.decodeTp !== undefined ? 'decodeTp' : 'tp' },
        ];
  const seen = new Set<string>();
  for (const p of pools) {
    for (const i of poolIssues(model.model, p.pool, { tp: p.tp, ep: query.ep !== undefined ? 'ep' : undefined })) {
      if (seen.has(`${i.field}|${i.message}`)) continue;
      seen.add(`${i.field}|${i.message}`);
      add('IMPOSSIBLE_PARALLELISM', i.field, i.message, i.hint);
    }
  }
  if (issues.length > 0) return { issues };
  return { issues, prepared: { query, model, gpu, deployment } };
}

function buildDeployment(q: EstimateQuery, model: ResolvedModelId<CatalogModel>): Deployment {
  const tp = q.tp ?? 1;
  // vLLM, SGLang and TensorRT-LLM all shard experts tensor-parallel unless expert parallelism is asked for
  // (vLLM --enable-expert-parallel, TensorRT-LLM moe_expert_parallel_size: tensorrt_llm/mapping.py defaults moe_ep 1)
  const pool = (t: number, r: number): Pool => ({ tp: t, ep: q.ep ?? 1, replicas: r });
  const mode = q.mode === 'disagg' ? 'disagg' : 'agg';
  return {
    backend: q.backend as BackendName,
    dtype: model.dtype,
    kvDtype: q.kvDtype as Dtype | undefined,
    mode,
    ...(mode === 'agg'
      ? { agg: pool(tp, q.replicas ?? 1) }
      : { prefill: pool(q.prefillTp ?? tp, q.prefillReplicas ?? 1), decode: pool(q.decodeTp ?? tp, q.decodeReplicas ?? 1) }),
  };
}

/** The contract fields plus the uncertainty band (absent when the deployment does not fit). */
export type EstimateWithBand = Estimate & { band?: EstimateBand | undefined };

export function runQuery(p: PreparedQuery, calibration: Calibration = defaultCalibration): EstimateWithBand {
  const r = estimate({
    arch: p.model.model.architecture,
    gpu: p.gpu,
    deployment: p.deployment,
    workload: { isl: p.query.isl, osl: p.query.osl },
    concurrency: p.query.concurrency,
    calibration,
  });
  const band = estimateBand(r, { backend: p.deployment.backend, gpuId: p.gpu.id, arch: p.model.model.architecture }, calibration);
  // The contract fields (DESIGN §7), in order, then the band.
  return {
    ttftMs: r.ttftMs,
    itlMs: r.itlMs,
    tpotMs: r.tpotMs,
    tokensPerSecondPerUser: r.tokensPerSecondPerUser,
    tokensPerSecondPerGpu: r.tokensPerSecondPerGpu,
    outputTokensPerSecond: r.outputTokensPerSecond,
    maxBatch: r.maxBatch,
    fits: r.fits,
    ...(band ? { band } : {}),
  };
}

/** The output line of a query that failed: `{"line": n, "error": {code, message, hint?, issues: […]}}`. */
function errorLine(line: number, issues: Issue[]): string {
  const list = issues.map((i) => ({
    code: i.code,
    ...(i.path.length > 0 ? { field: String(i.path[0]) } : {}),
    message: i.message,
    ...(i.hint ? { hint: i.hint } : {}),
  }));
  const first = list[0]!;
  const error =
    list.length === 1
      ? { code: first.code, message: first.message, ...(first.hint ? { hint: first.hint } : {}), issues: list }
      : { code: 'INVALID_QUERY', message: `${list.length} problems: ${list.map((i) => `${'field' in i ? `${i.field}: ` : ''}${i.message}`).join('; ')}`, issues: list };
  return JSON.stringify({ line, error });
}

/**
 * Scores a JSONL batch: one output line per non-blank input line, in order — the estimate, or an error object for a
 * line that could not be scored. Returns the output lines and the problems of the failed lines.
 */
export function runBatch(text: string, file: string, catalog: Catalog, calibration: Calibration = defaultCalibration): { out: string[]; failed: { line: number; issues: Issue[] }[] } {
  const out: string[] = [];
  const failed: { line: number; issues: Issue[] }[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    const line = i + 1;
    const fail = (issues: Issue[]): void => {
      out.push(errorLine(line, issues));
      failed.push({ line, issues });
    };
    let q: unknown;
    try {
      q = JSON.parse(raw);
    } catch (err) {
      fail([{ code: 'BATCH_JSON', file, path: [], line, col: 1, message: `not JSON: ${(err as Error).message}`, hint: 'one JSON object per line' }]);
      return;
    }
    if (typeof q !== 'object' || q === null || Array.isArray(q)) {
      fail([{ code: 'BATCH_JSON', file, path: [], line, col: 1, message: 'each line must be a JSON object', hint: 'e.g. {"model": "llama-3.1-8b", "gpu": "h100_sxm", "backend": "vllm", "isl": 1024, "osl": 128, "concurrency": 16}' }]);
      return;
    }
    const { issues, prepared } = prepareQuery(q as Record<string, unknown>, catalog, file, line);
    if (prepared === undefined) fail(issues);
    else out.push(toJson(runQuery(prepared, calibration)));
  });
  return { out, failed };
}

const int = (v: string): number => (/^\d+$/.test(v) ? Number(v) : Number.NaN);
const QUERY_FLAGS = ['model', 'gpu', 'backend', 'dtype', 'kvDtype', 'mode', ...INT_FIELDS] as const;
/** `prefillTp` → `--prefill-tp`. */
const flag = (field: string): string => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export const registerEstimate: RegisterCommand = (program, io, state) => {
  program
    .command('estimate')
    .description('Estimate TTFT, ITL and throughput of one deployment at one concurrency (calibrated roofline model).')
    .option('--model <id>', 'recipes/ model id or Hugging Face id, e.g. nvidia/Llama-3.1-8B-Instruct-FP8 (a quantisation suffix sets the dtype)')
    .option('--gpu <id>', 'GPU id (h100_sxm, h200_sxm, b200_sxm, gb200_sxm, a100_sxm, l40s)')
    .option('--backend <name>', 'vllm | sglang | trtllm')
    .option('--dtype <dtype>', 'weight dtype: bf16 | fp16 | fp8 | fp4 (default: the one the model id implies, else the model card\'s)')
    .option('--kv-dtype <dtype>', 'KV-cache dtype (default: fp8 with quantized weights on FP8 GPUs, else bf16)')
    .option('--tp <n>', 'tensor-parallel size per replica', int)
    .option('--ep <n>', 'expert-parallel size (MoE; default 1: experts tensor-parallel, as every engine defaults)', int)
    .option('--replicas <n>', 'agg replicas (default 1)', int)
    .option('--mode <mode>', 'agg | disagg', 'agg')
    .option('--prefill-tp <n>', 'disagg prefill TP', int)
    .option('--prefill-replicas <n>', 'disagg prefill replicas', int)
    .option('--decode-tp <n>', 'disagg decode TP', int)
    .option('--decode-replicas <n>', 'disagg decode replicas', int)
    .option('--isl <n>', 'input tokens per request', int)
    .option('--osl <n>', 'output tokens per request', int)
    .option('--concurrency <n>', 'requests in flight (closed loop)', int)
    .option('--batch <file>', 'JSONL file: one query per line (camelCase fields); prints one result or error object per line, exit 1 if any failed')
    .option('--json', 'print the result object as JSON')
    .action((opts: Record<string, unknown>, cmd: Command) => {
      const catalog = openCatalog(io.cwd);
      const calibration = workspaceCalibration(lookupWorkspaceRoot(io.cwd));
      if (typeof opts['batch'] === 'string') {
        const given = QUERY_FLAGS.filter((k) => opts[k] !== undefined && cmd.getOptionValueSource(k) === 'cli');
        if (given.length > 0) {
          throw new UserError('ESTIMATE_USAGE', `--batch takes every query from the file; it cannot be combined with ${given.map(flag).join(', ')}`, {
            hint: 'put those fields on each JSONL line',
          });
        }
        const file = path.resolve(io.cwd, opts['batch']);
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (err) {
          throw new UserError('BATCH_UNREADABLE', `cannot read ${opts['batch']}: ${(err as Error).message}`, { hint: 'pass an existing JSONL file' });
        }
        const { out, failed } = runBatch(text, opts['batch'], catalog, calibration);
        io.stdout(out.length > 0 ? `${out.join('\n')}\n` : '');
        if (failed.length > 0) {
          const issues = failed.flatMap((f) => f.issues);
          io.stderr(`${failed.length} of ${out.length} queries failed (error objects in their place on stdout):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`);
          state.exitCode = ExitCode.CheckFailed;
        }
        return;
      }
      const q: Record<string, unknown> = {};
      for (const k of QUERY_FLAGS) if (opts[k] !== undefined) q[k] = opts[k];
      const { issues, prepared } = prepareQuery(q, catalog, 'command line');
      if (prepared === undefined) {
        // one problem about the model or GPU reads best as that error alone; several are listed with their flags
        const only = issues.length === 1 ? issues[0]! : undefined;
        if (only !== undefined && only.code !== 'ESTIMATE_QUERY' && only.code !== 'IMPOSSIBLE_PARALLELISM') throw new UserError(only.code, only.message, { hint: only.hint });
        throw new InvalidInputError(issues.map((i) => ({ ...i, path: [flag(String(i.path[0]))] })));
      }
      const r = runQuery(prepared, calibration);
      if (opts['json']) {
        io.stdout(`${toJson(r)}\n`);
        return;
      }
      const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '—');
      const b = r.band;
      const range = (x: [number, number] | undefined, d = 1): string => (x ? `   (${f(x[0], d)}–${f(x[1], d)})` : '');
      const lines = [
        `model                ${describeModel(prepared.model)}`,
        `fits                 ${r.fits ? 'yes' : 'no (weights + reserve exceed GPU memory, or no room for one sequence of KV)'}`,
        `max batch            ${r.maxBatch}`,
        `TTFT                 ${f(r.ttftMs)} ms${range(b?.ttftMs)}`,
        `ITL / TPOT           ${f(r.itlMs, 2)} ms${range(b?.itlMs, 2)}`,
        `tokens/s/user        ${f(r.tokensPerSecondPerUser)}${range(b?.tokensPerSecondPerUser)}`,
        `tokens/s/GPU         ${f(r.tokensPerSecondPerGpu)}${range(b?.tokensPerSecondPerGpu)}`,
        `output tokens/s      ${f(r.outputTokensPerSecond)}${range(b?.outputTokensPerSecond)}`,
      ];
      if (b) lines.push(`(ranges: ${Math.round(b.coverage * 100)} % band from held-out error; TTFT ${b.basis.ttft}, TPOT ${b.basis.tpot}, throughput ${b.basis.throughput} — see docs/estimator.md)`);
      io.stdout(`${lines.join('\n')}\n`);
    });
};
