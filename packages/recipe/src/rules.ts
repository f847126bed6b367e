import type { Issue } from '@llm-recipes/errors';
import { gpuDirName, normalizeGpuId } from './gpu-id.ts';
import { gpuSupports } from './layers.ts';
import { findGpu, type LoadedRecipe, type Workspace } from './loader.ts';
import type { Gpu, ModelCard, Recipe, Worker } from './schema.ts';

export const ROLES = ['agg', 'prefill', 'decode'] as const;
export type Role = (typeof ROLES)[number];

/** What a rule sees: the resolved recipe and where to point an issue. */
export interface RuleContext {
  ws: Workspace;
  loaded: LoadedRecipe;
  variant: string | undefined;
  recipe: Recipe;
  model: ModelCard;
  gpu: Gpu;
  issues: Issue[];
  /** File and position of the value at a path, in the layer that set it. */
  at: (path: (string | number)[]) => { file: string; line?: number; col?: number };
  /** Filled by the extraConfig rule with the files that exist. */
  engineFiles: { path: string; content: string }[];
  readEngineFile: (ref: string) => string | undefined;
  /** Filled by the benchmarkTrace rule when benchmark.trace.file exists. */
  benchmarkFiles: { path: string; content: string }[];
}

type Rule = (ctx: RuleContext) => void;

function push(ctx: RuleContext, code: string, path: (string | number)[], message: string, hint?: string): void {
  ctx.issues.push({ code, path, ...ctx.at(path), message, hint });
}

/** GPUs in one replica of a pool. */
export function gpusPerReplica(w: Pick<Worker, 'tp' | 'pp' | 'dp'>): number {
  return w.tp * w.pp * w.dp;
}

/** The pools a recipe deploys (agg, or prefill + decode). */
export function pools(recipe: Recipe): [Role, Worker][] {
  return ROLES.flatMap((r) => (recipe.topology[r] === undefined ? [] : [[r, recipe.topology[r]] as [Role, Worker]]));
}

/** Total GPUs a recipe occupies at its written replica counts. */
export function totalGpus(recipe: Recipe): number {
  return pools(recipe).reduce((n, [, w]) => n + w.replicas * gpusPerReplica(w), 0);
}

const recipePath: Rule = (ctx) => {
  const [model, backend, gpuDir] = ctx.loaded.id.split('/') as [string, string, string];
  const r = ctx.recipe;
  const dirGpu = findGpu(ctx.ws, gpuDir)?.gpu.id ?? normalizeGpuId(gpuDir);
  const expected = `${r.model}/${r.backend.name}/${gpuDirName(r.gpu)}`;
  const mismatch: [string, string, string][] = [];
  if (model !== r.model) mismatch.push(['model', model, r.model]);
  if (backend !== r.backend.name) mismatch.push(['backend', backend, r.backend.name]);
  if (dirGpu !== r.gpu) mismatch.push(['gpu', gpuDir, r.gpu]);
  for (const [field, dir, value] of mismatch) {
    push(
      ctx,
      'RECIPE_PATH_MISMATCH',
      field === 'backend' ? ['backend', 'name'] : [field],
      `the directory says ${field} "${dir}" but the file says "${value}"`,
      `move the recipe to recipes/${expected}/ or change ${field === 'backend' ? 'backend.name' : field} to match the directory`,
    );
  }
};

const topologyShape: Rule = (ctx) => {
  const t = ctx.recipe.topology;
  if (t.mode === 'agg') {
    if (t.agg === undefined) {
      push(ctx, 'RECIPE_AGG_NEEDS_WORKER', ['topology'], 'mode agg needs a topology.agg worker pool', 'add topology.agg: { replicas: 1, tp: 1 }');
    }
    for (const role of ['prefill', 'decode'] as const) {
      if (t[role] !== undefined) {
        push(ctx, 'RECIPE_AGG_HAS_DISAGG_POOL', ['topology', role], `mode agg does not use topology.${role}`, `remove topology.${role}, or set topology.mode: disagg`);
      }
    }
  } else {
    const missing = (['prefill', 'decode'] as const).filter((r) => t[r] === undefined);
    if (missing.length > 0) {
      push(
        ctx,
        'RECIPE_DISAGG_NEEDS_POOLS',
        ['topology'],
        `mode disagg needs both prefill and decode pools; missing: ${missing.map((m) => `topology.${m}`).join(', ')}`,
        `add ${missing.map((m) => `topology.${m}: { replicas: 1, tp: 1 }`).join(' and ')}`,
      );
    }
    if (t.agg !== undefined) {
      push(ctx, 'RECIPE_DISAGG_HAS_AGG', ['topology', 'agg'], 'mode disagg does not use topology.agg', 'remove topology.agg, or set topology.mode: agg');
    }
  }
  if (t.planner.enabled && t.mode !== 'disagg') {
    push(
      ctx,
      'RECIPE_PLANNER_NEEDS_DISAGG',
      ['topology', 'planner', 'enabled'],
      'the planner scales separate prefill and decode pools, so it needs mode disagg',
      'set topology.planner.enabled: false, or switch to topology.mode: disagg',
    );
  }
};

const parallelism: Rule = (ctx) => {
  const g = ctx.gpu;
  for (const [role, w] of pools(ctx.recipe)) {
    const n = gpusPerReplica(w);
    const formula = `tp ${w.tp} × pp ${w.pp} × dp ${w.dp}`;
    if (n % w.nodes !== 0) {
      push(
        ctx,
        'RECIPE_NODES_UNEVEN',
        ['topology', role, 'nodes'],
        `topology.${role}: ${n} GPUs per replica (${formula}) do not split evenly over ${w.nodes} nodes`,
        `use a node count that divides ${n}`,
      );
    } else if (n / w.nodes > g.gpusPerNode) {
      const nodes = Math.ceil(n / g.gpusPerNode);
      const fits = n % nodes === 0 ? `set topology.${role}.nodes: ${nodes}` : `use tp × pp × dp that is a multiple of ${g.gpusPerNode}`;
      // SGLang's --tp N --dp N --enable-dp-attention (TensorRT-LLM's enable_attention_dp) counts N GPUs, not N × N
      const attentionDp =
        w.dp > 1 && w.tp > 1 && w.tp % w.dp === 0
          ? `; dp counts attention ranks of tp GPUs each, so SGLang's --tp ${w.tp} --dp ${w.dp} --enable-dp-attention is tp: ${w.tp / w.dp}, dp: ${w.dp}`
          : '';
      push(
        ctx,
        'RECIPE_GPUS_PER_NODE',
        ['topology', role, 'tp'],
        `topology.${role} needs ${n / w.nodes} GPUs per node (${formula} over ${w.nodes} node${w.nodes === 1 ? '' : 's'}), but a ${g.id} node has ${g.gpusPerNode}`,
        `${fits} to span nodes, or lower tp to ${Math.min(w.tp, g.gpusPerNode)}${attentionDp}`,
      );
    }
    if ((w.tp * w.dp) % w.ep !== 0) {
      push(
        ctx,
        'RECIPE_EP_DIVIDES',
        ['topology', role, 'ep'],
        `topology.${role}.ep ${w.ep} must divide tp × dp = ${w.tp * w.dp}`,
        `use ep ${divisors(w.tp * w.dp).join(', ')}`,
      );
    }
    if (w.ep > 1 && ctx.model.architecture.moe === undefined) {
      push(ctx, 'RECIPE_EP_NEEDS_MOE', ['topology', role, 'ep'], `${ctx.model.id} has no experts, so expert parallelism does not apply`, 'set ep: 1');
    }
  }
};

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let i = 1; i <= n; i++) if (n % i === 0) out.push(i);
  return out;
}

/** Catalog GPUs with fp4 tensor cores, so the hint grows with the catalog. */
function fp4Gpus(ws: Workspace): string {
  return [...ws.gpus.values()].map((g) => g.gpu).filter((g) => gpuSupports(g, 'fp4')).map((g) => g.id).sort().join(', ');
}

const dtype: Rule = (ctx) => {
  for (const field of ['dtype', 'kvCacheDtype'] as const) {
    const d = ctx.recipe[field];
    if (!gpuSupports(ctx.gpu, d)) {
      const supported = (['bf16', 'fp16', 'fp8', 'fp4'] as const).filter((x) => gpuSupports(ctx.gpu, x));
      push(
        ctx,
        'RECIPE_DTYPE_UNSUPPORTED',
        [field],
        `${ctx.gpu.id} has no ${d} tensor cores (${field} is ${d})`,
        `use one of ${supported.join(', ')}${d === 'fp4' ? ` (fp4 needs Blackwell: ${fp4Gpus(ctx.ws)})` : d === 'fp8' ? ' (fp8 needs Ada, Hopper or Blackwell)' : ''}`,
      );
    }
  }
};

const extraConfig: Rule = (ctx) => {
  const refs: [(string | number)[], string][] = [];
  if (ctx.recipe.backend.extraConfig) refs.push([['backend', 'extraConfig'], ctx.recipe.backend.extraConfig]);
  for (const [role, w] of pools(ctx.recipe)) if (w.extraConfig) refs.push([['topology', role, 'extraConfig'], w.extraConfig]);
  const seen = new Set<string>();
  for (const [p, ref] of refs) {
    if (ref.startsWith('/') || ref.split(/[\\/]/).includes('..')) {
      push(ctx, 'RECIPE_EXTRA_CONFIG_OUTSIDE', p, `extraConfig "${ref}" must stay inside the recipe directory`, 'put the file under engine/ next to recipe.yaml and reference it as engine/<file>');
      continue;
    }
    const content = ctx.readEngineFile(ref);
    if (content === undefined) {
      push(ctx, 'RECIPE_EXTRA_CONFIG_MISSING', p, `extraConfig file "${ref}" does not exist in ${ctx.loaded.dir}`, `create ${ctx.loaded.dir}/${ref} or fix the path`);
    } else if (!seen.has(ref)) {
      seen.add(ref);
      ctx.engineFiles.push({ path: ref, content });
    }
  }
};

const lengths: Rule = (ctx) => {
  const r = ctx.recipe;
  const max = ctx.model.architecture.maxContext;
  if (r.maxModelLen > max) {
    push(ctx, 'RECIPE_MAX_MODEL_LEN', ['maxModelLen'], `maxModelLen ${r.maxModelLen} exceeds ${ctx.model.id}'s context of ${max} tokens`, `set maxModelLen to at most ${max}`);
  }
  // a pool may run a shorter context than the recipe (a prefill pool needs only the prompt); a generating pool
  // (agg, decode) bounds prompt + output, a prefill pool the prompt
  let limit = Math.min(r.maxModelLen, max);
  let where = 'maxModelLen';
  let promptLimit = limit;
  let promptWhere = where;
  for (const role of ['agg', 'prefill', 'decode'] as const) {
    const own = r.topology[role]?.maxModelLen;
    if (own === undefined) continue;
    const field = `topology.${role}.maxModelLen`;
    if (own > max) push(ctx, 'RECIPE_MAX_MODEL_LEN', ['topology', role, 'maxModelLen'], `${field} ${own} exceeds ${ctx.model.id}'s context of ${max} tokens`, `set it to at most ${max}`);
    if (role === 'prefill') {
      if (own < promptLimit) [promptLimit, promptWhere] = [own, field];
    } else if (own < limit) {
      [limit, where] = [own, field];
    }
  }
  for (const [i, [isl, osl]] of r.benchmark.islOsl.entries()) {
    if (isl + osl > limit || isl >= promptLimit) {
      const [need, cap, name] = isl + osl > limit ? [isl + osl, limit, where] : [isl, promptLimit, promptWhere];
      push(
        ctx,
        'RECIPE_BENCHMARK_TOO_LONG',
        ['benchmark', 'islOsl', i],
        `benchmark.islOsl[${i}] = [${isl}, ${osl}] needs ${need} tokens, more than ${name} ${cap}`,
        `lower ISL+OSL to ${cap} or raise ${name}`,
      );
    }
  }
  if (r.workload.isl + r.workload.osl > limit) {
    push(ctx, 'RECIPE_WORKLOAD_TOO_LONG', ['workload'], `workload isl ${r.workload.isl} + osl ${r.workload.osl} exceeds ${where} ${limit}`, `lower the workload or raise ${where}`);
  } else if (r.workload.isl >= promptLimit) {
    push(ctx, 'RECIPE_WORKLOAD_TOO_LONG', ['workload'], `workload isl ${r.workload.isl} does not fit ${promptWhere} ${promptLimit}`, `lower the workload or raise ${promptWhere}`);
  }
};

/** A trace replay needs exactly one trace source; a recipe-directory trace is read here so render can ship it. */
const benchmarkTrace: Rule = (ctx) => {
  const b = ctx.recipe.benchmark;
  const p = ['benchmark', 'trace'];
  const { file, volumePath } = b.trace;
  if (file !== undefined && volumePath !== undefined) {
    push(ctx, 'RECIPE_TRACE_TWO_SOURCES', [...p, 'volumePath'], 'benchmark.trace has both file and volumePath', 'keep file (shipped in a ConfigMap) or volumePath (staged on the model cache), not both');
  }
  if (b.load === 'trace' && file === undefined && volumePath === undefined) {
    push(ctx, 'RECIPE_TRACE_MISSING', [...p], 'benchmark.load is trace but benchmark.trace has no file or volumePath', 'set benchmark.trace.file: traces/<name>.jsonl (a file next to recipe.yaml)');
  }
  if (b.load === 'rate' && b.requestRates === undefined) {
    push(ctx, 'RECIPE_RATES_MISSING', ['benchmark', 'requestRates'], 'benchmark.load is rate but benchmark.requestRates is not set', 'set benchmark.requestRates: [1, 2, 4] (req/s)');
  }
  if (file === undefined) return;
  if (file.startsWith('/') || file.split(/[\\/]/).includes('..')) {
    push(ctx, 'RECIPE_TRACE_OUTSIDE', [...p, 'file'], `trace "${file}" must stay inside the recipe directory`, 'put it under traces/ next to recipe.yaml and reference it as traces/<file>');
    return;
  }
  const content = ctx.readEngineFile(file);
  if (content === undefined) push(ctx, 'RECIPE_TRACE_FILE_MISSING', [...p, 'file'], `trace file "${file}" does not exist in ${ctx.loaded.dir}`, `create ${ctx.loaded.dir}/${file} or fix the path`);
  else ctx.benchmarkFiles.push({ path: file, content });
};

const RULES: Rule[] = [recipePath, topologyShape, parallelism, dtype, extraConfig, lengths, benchmarkTrace];

/** Runs every cross-file rule; each pushes issues and none stops the others. */
export function runRules(ctx: RuleContext): void {
  for (const rule of RULES) rule(ctx);
}
