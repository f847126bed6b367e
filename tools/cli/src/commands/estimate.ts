import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError, UserError, type Issue } from '@llm-recipes/errors';
import { defaultCalibration, estimate, estimateBand, workspaceCalibration, type BackendName, type Calibration, type Deployment, type Dtype, type Estimate, type EstimateBand } from '@llm-recipes/estimate';
import type { RegisterCommand } from './index.ts';
import { openCatalog, toJson, type Catalog } from './estimate-catalog.ts';
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

/** Checks a query and returns every problem at once (field paths are the camelCase names). */
export function checkQuery(q: Record<string, unknown>, file: string, line?: number): Issue[] {
  const issues: Issue[] = [];
  const add = (field: string, message: string, hint?: string): void => {
    issues.push({ code: 'ESTIMATE_QUERY', file, path: [field], line, col: 1, message, hint });
  };
  for (const k of Object.keys(q)) if (!KNOWN.has(k)) add(k, `unknown field "${k}"`, `fields: ${[...KNOWN].join(', ')}`);
  for (const f of ['model', 'gpu', 'backend'] as const) if (typeof q[f] !== 'string' || q[f] === '') add(f, `${f} is required`);
  if (typeof q['backend'] === 'string' && !BACKENDS.includes(q['backend'])) add('backend', `unknown backend "${q['backend']}"`, `one of ${BACKENDS.join(', ')}`);
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
  }
  return issues;
}

/** The contract fields plus the uncertainty band (absent when the deployment does not fit). */
export type EstimateWithBand = Estimate & { band?: EstimateBand | undefined };

export function runQuery(q: EstimateQuery, catalog: Catalog, calibration: Calibration = defaultCalibration): EstimateWithBand {
  const model = catalog.model(q.model);
  const gpu = catalog.gpu(q.gpu);
  const tp = q.tp ?? 1;
  // vLLM, SGLang and TensorRT-LLM all shard experts tensor-parallel unless expert parallelism is asked for
  // (vLLM --enable-expert-parallel, TensorRT-LLM moe_expert_parallel_size: tensorrt_llm/mapping.py defaults moe_ep 1)
  const pool = (t: number, r: number) => ({ tp: t, ep: q.ep ?? 1, replicas: r });
  const mode = q.mode === 'disagg' ? 'disagg' : 'agg';
  const deployment: Deployment = {
    backend: q.backend as BackendName,
    dtype: (q.dtype ?? model.dtype) as Dtype,
    kvDtype: q.kvDtype as Dtype | undefined,
    mode,
    ...(mode === 'agg'
      ? { agg: pool(tp, q.replicas ?? 1) }
      : { prefill: pool(q.prefillTp ?? tp, q.prefillReplicas ?? 1), decode: pool(q.decodeTp ?? tp, q.decodeReplicas ?? 1) }),
  };
  const r = estimate({
    arch: model.architecture,
    gpu,
    deployment,
    workload: { isl: q.isl, osl: q.osl },
    concurrency: q.concurrency,
    calibration,
  });
  const band = estimateBand(r, { backend: deployment.backend, gpuId: gpu.id, arch: model.architecture }, calibration);
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

const int = (v: string): number => (/^\d+$/.test(v) ? Number(v) : Number.NaN);

export const registerEstimate: RegisterCommand = (program, io) => {
  program
    .command('estimate')
    .description('Estimate TTFT, ITL and throughput of one deployment at one concurrency (calibrated roofline model).')
    .option('--model <id>', 'recipes/ model id or Hugging Face id')
    .option('--gpu <id>', 'GPU id (h100_sxm, h200_sxm, b200_sxm, gb200_sxm, a100_sxm, l40s)')
    .option('--backend <name>', 'vllm | sglang | trtllm')
    .option('--dtype <dtype>', 'weight dtype: bf16 | fp8 | fp4 (default: the model card dtype)')
    .option('--kv-dtype <dtype>', 'KV-cache dtype (default: fp8 with quantized weights on FP8 GPUs, else bf16)')
    .option('--tp <n>', 'tensor-parallel size per replica', int)
    .option('--ep <n>', 'expert-parallel size (MoE; default tp)', int)
    .option('--replicas <n>', 'agg replicas (default 1)', int)
    .option('--mode <mode>', 'agg | disagg', 'agg')
    .option('--prefill-tp <n>', 'disagg prefill TP', int)
    .option('--prefill-replicas <n>', 'disagg prefill replicas', int)
    .option('--decode-tp <n>', 'disagg decode TP', int)
    .option('--decode-replicas <n>', 'disagg decode replicas', int)
    .option('--isl <n>', 'input tokens per request', int)
    .option('--osl <n>', 'output tokens per request', int)
    .option('--concurrency <n>', 'requests in flight (closed loop)', int)
    .option('--batch <file>', 'JSONL file: one query per line (camelCase fields); prints one result per line')
    .option('--json', 'print the result object as JSON')
    .action((opts: Record<string, unknown>) => {
      const catalog = openCatalog(io.cwd);
      const calibration = workspaceCalibration(lookupWorkspaceRoot(io.cwd));
      if (typeof opts['batch'] === 'string') {
        const file = path.resolve(io.cwd, opts['batch']);
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (err) {
          throw new UserError('BATCH_UNREADABLE', `cannot read ${opts['batch']}: ${(err as Error).message}`, { hint: 'pass an existing JSONL file' });
        }
        const queries: EstimateQuery[] = [];
        const issues: Issue[] = [];
        text.split(/\r?\n/).forEach((line, i) => {
          if (line.trim() === '') return;
          let q: unknown;
          try {
            q = JSON.parse(line);
          } catch (err) {
            issues.push({ code: 'BATCH_JSON', file: opts['batch'] as string, path: [], line: i + 1, col: 1, message: `not JSON: ${(err as Error).message}`, hint: 'one JSON object per line' });
            return;
          }
          if (typeof q !== 'object' || q === null || Array.isArray(q)) {
            issues.push({ code: 'BATCH_JSON', file: opts['batch'] as string, path: [], line: i + 1, col: 1, message: 'each line must be a JSON object' });
            return;
          }
          const found = checkQuery(q as Record<string, unknown>, opts['batch'] as string, i + 1);
          issues.push(...found);
          if (found.length === 0) queries.push(q as EstimateQuery);
        });
        if (issues.length > 0) throw new InvalidInputError(issues);
        const out: string[] = [];
        for (const q of queries) out.push(toJson(runQuery(q, catalog, calibration)));
        io.stdout(out.length > 0 ? `${out.join('\n')}\n` : '');
        return;
      }
      const q: Record<string, unknown> = {};
      for (const k of ['model', 'gpu', 'backend', 'dtype', 'kvDtype', 'mode', ...INT_FIELDS]) if (opts[k] !== undefined) q[k] = opts[k];
      const issues = checkQuery(q, 'command line');
      if (issues.length > 0) throw new InvalidInputError(issues.map((i) => ({ ...i, path: [`--${String(i.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`] })));
      const r = runQuery(q as unknown as EstimateQuery, catalog, calibration);
      if (opts['json']) {
        io.stdout(`${toJson(r)}\n`);
        return;
      }
      const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '—');
      const b = r.band;
      const range = (x: [number, number] | undefined, d = 1): string => (x ? `   (${f(x[0], d)}–${f(x[1], d)})` : '');
      const lines = [
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
