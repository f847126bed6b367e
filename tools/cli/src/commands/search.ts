import { CheckFailedError, UserError } from '@llm-recipes/errors';
import { estimateBand, search, workspaceCalibration, type Architecture, type BackendName, type Calibration, type Candidate, type Dtype, type EstimateBand, type Mode, type SearchResult } from '@llm-recipes/estimate';
import { resolveRecipe, writeVariant, type Recipe, type WrittenVariant } from '@llm-recipes/recipe';
import type { RegisterCommand } from './index.ts';
import { describeModel, openCatalog, toJson } from './estimate-catalog.ts';
import { lookupWorkspaceRoot } from './workspace-root.ts';

// Seed 004 defaults when the request omits workload and SLA.
const DEFAULTS = { isl: 512, osl: 128, ttftMs: 100, itlMs: 15 };

/** `ttft=100,itl=15` → { ttftMs, itlMs }. */
export function parseSla(text: string): { ttftMs?: number; itlMs?: number } {
  const out: { ttftMs?: number; itlMs?: number } = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(ttft|itl)\s*=\s*(\d+(?:\.\d+)?)$/.exec(part);
    if (!m) throw new UserError('SLA_INVALID', `cannot read SLA term "${part}"`, { hint: 'write --sla ttft=100,itl=15 (milliseconds)' });
    const v = Number(m[2]);
    if (!(v > 0)) throw new UserError('SLA_INVALID', `SLA bound ${part} must be positive`, { hint: 'write --sla ttft=100,itl=15' });
    if (m[1] === 'ttft') out.ttftMs = v;
    else out.itlMs = v;
  }
  return out;
}

const int = (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UserError('NOT_A_POSITIVE_INTEGER', `"${v}" is not a positive integer`, { hint: 'pass a whole number ≥ 1' });
  return Number(v);
};

/** What the uncertainty band of a search point needs: the model, the GPU and the calibration searched with. */
export interface BandContext {
  arch: Architecture;
  gpuId: string;
  calibration: Calibration;
}

function bandOf(c: Candidate, ctx: BandContext | undefined): EstimateBand | undefined {
  return ctx ? estimateBand(c.result, { backend: c.deployment.backend, gpuId: ctx.gpuId, arch: ctx.arch }, ctx.calibration) : undefined;
}

function describe(c: Candidate, ctx?: BandContext): Record<string, unknown> {
  const d = c.deployment;
  const band = bandOf(c, ctx);
  return {
    config: c.config,
    backend: d.backend,
    mode: d.mode,
    ...(d.mode === 'agg' ? { agg: d.agg } : { prefill: d.prefill, decode: d.decode }),
    dtype: d.dtype,
    kvDtype: d.kvDtype,
    gpus: c.gpus,
    concurrency: c.concurrency,
    ttftMs: c.result.ttftMs,
    itlMs: c.result.itlMs,
    tokensPerSecondPerUser: c.result.tokensPerSecondPerUser,
    tokensPerSecondPerGpu: c.result.tokensPerSecondPerGpu,
    outputTokensPerSecond: c.result.outputTokensPerSecond,
    maxBatch: c.result.maxBatch,
    ...(band ? { band } : {}),
  };
}

export function searchJson(r: SearchResult, ctx?: BandContext): Record<string, unknown> {
  return {
    status: r.status,
    workload: r.workload,
    sla: r.sla,
    gpuBudget: r.gpuBudget,
    configs: r.configs,
    points: r.points,
    selected: r.selected ? describe(r.selected, ctx) : null,
    top: r.top.map((t) => describe(t.best!, ctx)),
    closest: r.closest.map((c) => ({ ...describe(c.best!, ctx), reason: c.reason })),
    others: r.others.map((o) => ({ config: o.config, reason: o.reason })),
    pareto: r.pareto.map((p) => describe(p, ctx)),
  };
}

/** The engine flag that caps a replica's running sequences, per backend. */
const MAX_SEQS_ARG = { vllm: 'max-num-seqs', sglang: 'max-running-requests', trtllm: 'max-batch-size' } as const;

/**
 * The recipe variant that deploys a selected config: mode, pools (replicas, GPUs per replica as TP, EP for MoE), the
 * dtypes the estimate assumed and max-num-seqs at the batch the estimate found room for. Pools the base recipe has
 * but the selection does not are set to null (removed), and the planner is switched off for an aggregated selection.
 */
export function variantFromSelection(base: Recipe, c: Candidate, gpusPerNode: number): WrittenVariant {
  const d = c.deployment;
  const argName = MAX_SEQS_ARG[d.backend];
  const pool = (p: NonNullable<Candidate['deployment']['agg']>, maxSeqs: number | undefined) => ({
    replicas: p.replicas,
    tp: p.tp,
    pp: 1,
    ep: p.ep,
    dp: 1,
    nodes: Math.max(1, Math.ceil(p.tp / gpusPerNode)),
    ...(maxSeqs !== undefined ? { args: { [argName]: maxSeqs } } : {}),
  });
  const t: Record<string, unknown> = { mode: d.mode };
  if (d.mode === 'agg') {
    t['agg'] = pool(d.agg!, c.result.maxBatch);
    if (base.topology.prefill) t['prefill'] = null;
    if (base.topology.decode) t['decode'] = null;
    if (base.topology.planner.enabled) t['planner'] = { enabled: false };
  } else {
    t['prefill'] = pool(d.prefill!, undefined);
    t['decode'] = pool(d.decode!, c.result.maxBatch);
    if (base.topology.agg) t['agg'] = null;
  }
  return { dtype: d.dtype, ...(d.kvDtype ? { kvCacheDtype: d.kvDtype } : {}), topology: t as WrittenVariant['topology'] };
}

const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '—');

export const registerSearch: RegisterCommand = (program, io, state) => {
  program
    .command('search [recipe]')
    .description('Rapid search: Pareto front (tokens/s/GPU vs tokens/s/user) and the config that best meets the SLA.')
    .option('--model <id>', 'recipes/ model id or Hugging Face id (when no recipe is given); a quantisation suffix sets the dtype')
    .option('--gpu <id>', 'GPU id')
    .option('--gpus <n>', 'GPU budget', int)
    .option('--backend <name>', 'vllm | sglang | trtllm | any', 'any')
    .option('--dtype <dtype>', 'weight dtype (default: recipe or model card)')
    .option('--mode <mode>', 'agg | disagg | any', 'any')
    .option('--sla <terms>', 'latency bounds, e.g. ttft=100,itl=15 (default ttft=100,itl=15)')
    .option('--isl <n>', 'input tokens (default 512)', int)
    .option('--osl <n>', 'output tokens (default 128)', int)
    .option('--top <n>', 'SLA-meeting configs to list', int, 5)
    .option('--json', 'print the search result as JSON')
    .option('--write-variant <name>', 'write the selected config into the recipe as this variant (render it with recipes render --variant)')
    .option('--force', 'with --write-variant: replace an existing variant of that name')
    .action((recipeArg: string | undefined, opts: Record<string, unknown>) => {
      const catalog = openCatalog(io.cwd);
      let modelId = opts['model'] as string | undefined;
      let gpuId = opts['gpu'] as string | undefined;
      let backend = opts['backend'] as string;
      let dtype = opts['dtype'] as string | undefined;
      let budget = opts['gpus'] as number | undefined;
      let isl = opts['isl'] as number | undefined;
      let osl = opts['osl'] as number | undefined;
      let sla = opts['sla'] ? parseSla(opts['sla'] as string) : {};
      const variantName = opts['writeVariant'] as string | undefined;
      let baseRecipe: Recipe | undefined;
      if (variantName !== undefined && !recipeArg) {
        throw new UserError('SEARCH_USAGE', '--write-variant needs a recipe to write into', { hint: 'e.g. recipes search qwen3-32b/vllm/h100-sxm --write-variant rapid' });
      }
      if (recipeArg) {
        if (!catalog.ws) throw new UserError('NO_WORKSPACE', `no recipes/ directory above ${io.cwd}`, { hint: 'run inside the repository or pass --model/--gpu/--gpus' });
        const res = resolveRecipe(catalog.ws, { recipe: recipeArg, cwd: io.cwd });
        if (!res.resolved) throw new UserError('RECIPE_INVALID', res.issues.map((i) => i.message).join('; '), { hint: 'fix the recipe (recipes validate) or pass --model/--gpu/--gpus' });
        const r = res.resolved.recipe;
        baseRecipe = r;
        if (variantName !== undefined) {
          // a variant keeps the recipe's identity: same model, GPU and backend
          const clash = [
            ['--model', modelId, r.model],
            ['--gpu', gpuId, r.gpu],
            ['--backend', opts['backend'] === 'any' ? undefined : backend, r.backend.name],
          ].filter(
            ([flag, given, own]) =>
              given !== undefined &&
              given !== own &&
              !(flag === '--gpu' && catalog.gpu(given!).id === own) &&
              !(flag === '--model' && catalog.model(given!).model.id === own),
          );
          if (clash.length > 0) {
            throw new UserError('SEARCH_VARIANT_IDENTITY', `a variant of ${res.resolved.id} cannot change ${clash.map((c) => c[0]).join(', ')}`, {
              hint: 'drop those flags (the recipe sets them), or write a recipe for that model/backend/GPU with recipes new',
            });
          }
        }
        modelId ??= r.model;
        gpuId ??= r.gpu;
        if (opts['backend'] === 'any') backend = r.backend.name;
        dtype ??= r.dtype;
        const pools = r.topology.mode === 'agg' ? [r.topology.agg] : [r.topology.prefill, r.topology.decode];
        budget ??= pools.reduce((s, p) => s + (p ? p.replicas * p.tp * p.pp * p.dp : 0), 0);
        isl ??= r.workload.isl;
        osl ??= r.workload.osl;
        sla = { ttftMs: r.sla.ttftMs, itlMs: r.sla.itlMs, ...sla };
      }
      if (!modelId || !gpuId || !budget) {
        throw new UserError('SEARCH_USAGE', 'search needs a recipe or --model, --gpu and --gpus', { hint: 'e.g. recipes search --model llama-3.3-70b --gpu h100_sxm --gpus 8' });
      }
      if (!['any', 'vllm', 'sglang', 'trtllm'].includes(backend)) throw new UserError('UNKNOWN_BACKEND', `unknown backend "${backend}"`, { hint: 'vllm | sglang | trtllm | any' });
      if (!['any', 'agg', 'disagg'].includes(opts['mode'] as string)) throw new UserError('UNKNOWN_MODE', `unknown mode "${String(opts['mode'])}"`, { hint: 'agg | disagg | any' });
      if (dtype && !['bf16', 'fp16', 'fp8', 'fp4'].includes(dtype)) throw new UserError('UNKNOWN_DTYPE', `unknown dtype "${dtype}"`, { hint: 'bf16 | fp8 | fp4' });
      // an explicit or recipe dtype wins over the one the model id implies
      const resolved = catalog.model(modelId, dtype as Dtype | undefined);
      const model = resolved.model;
      const gpu = catalog.gpu(gpuId);
      const calibration = workspaceCalibration(lookupWorkspaceRoot(io.cwd));
      const ctx: BandContext = { arch: model.architecture, gpuId: gpu.id, calibration };
      const range = (c: Candidate, k: 'ttftMs' | 'itlMs' | 'tokensPerSecondPerGpu', d: number): string => {
        const b = bandOf(c, ctx)?.[k];
        return b ? ` (${f(b[0], d)}–${f(b[1], d)})` : '';
      };
      const result = search({
        arch: model.architecture,
        gpu,
        gpuBudget: budget,
        backends: backend === 'any' ? ['trtllm', 'vllm', 'sglang'] : [backend as BackendName],
        dtype: resolved.dtype,
        workload: { isl: isl ?? DEFAULTS.isl, osl: osl ?? DEFAULTS.osl },
        sla: { ttftMs: sla.ttftMs ?? DEFAULTS.ttftMs, itlMs: sla.itlMs ?? DEFAULTS.itlMs },
        calibration,
        modes: opts['mode'] === 'any' ? undefined : [opts['mode'] as Mode],
        topN: opts['top'] as number,
      });
      if (opts['json']) io.stdout(`${toJson(searchJson(result, ctx))}\n`);
      else {
        const lines: string[] = [];
        lines.push(`${describeModel(resolved)}; ${budget}× ${gpu.id}, ISL ${result.workload.isl} / OSL ${result.workload.osl}, SLA TTFT ≤ ${result.sla.ttftMs} ms, ITL ≤ ${result.sla.itlMs} ms — ${result.configs} configs, ${result.points} points`);
        lines.push('', 'Pareto front (tokens/s/GPU vs tokens/s/user):');
        for (const p of result.pareto) {
          lines.push(
            `  ${p.config.padEnd(34)} conc ${String(p.concurrency).padStart(5)}  ${f(p.result.tokensPerSecondPerUser).padStart(7)} tok/s/user  ${f(p.result.tokensPerSecondPerGpu).padStart(8)} tok/s/GPU${range(p, 'tokensPerSecondPerGpu', 0)}  TTFT ${f(p.result.ttftMs).padStart(7)} ms${range(p, 'ttftMs', 0)}  ITL ${f(p.result.itlMs, 2)} ms${range(p, 'itlMs', 2)}`,
          );
        }
        if (result.selected) {
          const s = result.selected;
          lines.push(
            '',
            `selected: ${s.config} at concurrency ${s.concurrency} — ${f(s.result.tokensPerSecondPerGpu)} tok/s/GPU${range(s, 'tokensPerSecondPerGpu', 0)}, ${f(s.result.tokensPerSecondPerUser)} tok/s/user, TTFT ${f(s.result.ttftMs)} ms${range(s, 'ttftMs', 0)}, ITL ${f(s.result.itlMs, 2)} ms${range(s, 'itlMs', 2)}`,
          );
          const sb = bandOf(s, ctx);
          if (sb) lines.push(`(ranges: ${Math.round(sb.coverage * 100)} % band from held-out error; TTFT ${sb.basis.ttft}, ITL ${sb.basis.tpot}, throughput ${sb.basis.throughput} — see docs/estimator.md)`);
          lines.push('top configs meeting the SLA:');
          for (const t of result.top) lines.push(`  ${t.config.padEnd(34)} conc ${String(t.best!.concurrency).padStart(5)}  ${f(t.best!.result.tokensPerSecondPerGpu).padStart(8)} tok/s/GPU`);
        } else {
          lines.push('', `no config meets the SLA (TTFT ≤ ${result.sla.ttftMs} ms, ITL ≤ ${result.sla.itlMs} ms). Closest candidates:`);
          for (const c of result.closest) lines.push(`  ${c.config.padEnd(34)} ${c.reason}`);
        }
        const shown = result.others.slice(0, 10);
        if (shown.length > 0) {
          lines.push('', `why the others lost (${result.others.length}; --json lists all):`);
          for (const o of shown) lines.push(`  ${o.config.padEnd(34)} ${o.reason}`);
        }
        io.stdout(`${lines.join('\n')}\n`);
      }
      if (result.selected && variantName !== undefined && baseRecipe !== undefined) {
        const sel = result.selected;
        const written = writeVariant({
          root: catalog.ws!.root,
          recipe: recipeArg!,
          cwd: io.cwd,
          name: variantName,
          force: opts['force'] === true,
          variant: variantFromSelection(baseRecipe, sel, gpu.gpusPerNode),
          comment: [
            `Written by recipes search: ${sel.config} at concurrency ${sel.concurrency}, ISL ${result.workload.isl} / OSL ${result.workload.osl}.`,
            `Estimate: ${f(sel.result.tokensPerSecondPerGpu)} tok/s/GPU, ${f(sel.result.tokensPerSecondPerUser)} tok/s/user, TTFT ${f(sel.result.ttftMs)} ms, ITL ${f(sel.result.itlMs, 2)} ms (SLA TTFT ≤ ${result.sla.ttftMs} ms, ITL ≤ ${result.sla.itlMs} ms).`,
          ].join('\n'),
        });
        const msg = `${written.replaced ? 'replaced' : 'wrote'} variant ${variantName} in ${written.file}; render it: recipes render --recipe ${written.resolved.dir} --variant ${variantName} --stdout\n`;
        if (opts['json']) io.stderr(msg);
        else io.stdout(msg);
      }
      if (!result.selected) {
        if (opts['json']) state.exitCode = 1;
        else throw new CheckFailedError('SLA_UNMET', 'no config meets the SLA', { hint: 'relax --sla, add GPUs (--gpus) or try another dtype/backend' });
      }
    });
};
