import type { Gpu, ModelCard, Recipe, Worker as RecipeWorker } from '@llm-recipes/recipe';
import type { SimConfigInput } from './config.ts';
import { parametricFromHardware, type ParametricStepParams } from './step-model.ts';

// Maps a resolved recipe to the simulator topology it would deploy. Types only from @llm-recipes/recipe: the
// simulator never needs the loader, callers hand it what they resolved.

const DTYPE_BYTES = { bf16: 2, fp16: 2, fp8: 1, fp4: 0.5 } as const;

/** Cross-node KV transfer bandwidth per GPU pair (400 Gb/s RDMA NIC ≈ 50 GB/s), scaled by the smaller pool's TP. */
const RDMA_GBS_PER_GPU = 50;

export interface RecipeForSim {
  recipe: Recipe;
  model: ModelCard;
  gpu: Gpu;
}

/** KV-cache bytes per token for the whole model: GQA/MHA 2·layers·kv_heads·head_dim·b; MLA layers·(latent+rope)·b. */
export function kvBytesPerToken(model: ModelCard, kvDtype: keyof typeof DTYPE_BYTES): number {
  const a = model.architecture;
  const b = DTYPE_BYTES[kvDtype];
  if (a.attention === 'mla' && a.mla) return a.layers * (a.mla.kvLoraRank + a.mla.qkRopeHeadDim) * b;
  return 2 * a.layers * a.kvHeads * a.headDim * b;
}

function argOf(recipe: Recipe, worker: RecipeWorker, ...names: string[]): string | number | boolean | undefined {
  for (const name of names) {
    const v = worker.args[name] ?? recipe.backend.args[name];
    if (v !== undefined) return v;
  }
  return undefined;
}

function intArg<F extends number | undefined>(recipe: Recipe, worker: RecipeWorker, fallback: F, ...names: string[]): number | F {
  const v = argOf(recipe, worker, ...names);
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Roofline step parameters for one pool of the recipe (what the estimator will later calibrate). */
export function stepParamsForPool({ recipe, model, gpu }: RecipeForSim, worker: RecipeWorker): ParametricStepParams {
  const a = model.architecture;
  const tflops = (recipe.dtype === 'fp8' ? gpu.tflops.fp8 : recipe.dtype === 'fp4' ? gpu.tflops.fp4 : undefined) ?? gpu.tflops.bf16;
  const util = Number(argOf(recipe, worker, 'gpu-memory-utilization', 'mem-fraction-static', 'free-gpu-memory-fraction') ?? 0.9);
  return parametricFromHardware({
    layers: a.layers,
    activeParamsB: a.activeParamsB,
    totalParamsB: a.totalParamsB,
    weightBytes: DTYPE_BYTES[recipe.dtype],
    kvBytesPerToken: kvBytesPerToken(model, recipe.kvCacheDtype),
    attentionWidth: a.heads * a.headDim,
    kvHeads: a.attention === 'mla' ? 1 : a.kvHeads,
    gpuMemoryGiB: gpu.memoryGiB,
    gpuBandwidthTBs: gpu.memoryBandwidthTBs,
    gpuTflops: tflops,
    // tensor parallel and pipeline stages both split the weights across GPUs
    tp: worker.tp * worker.pp,
    memoryUtilization: Number.isFinite(util) && util > 0 && util <= 1 ? util : 0.9,
  });
}

/** Scheduler limits a pool's engine args set (vLLM, SGLang and TensorRT-LLM spellings); unset ones are undefined. */
export interface RecipeEngineLimits {
  maxNumSeqs?: number | undefined;
  maxBatchedTokens?: number | undefined;
  blockSize?: number | undefined;
  prefixCaching: boolean;
}

/** The engine limits a recipe pool's args (worker args over backend args) set, so every model of it agrees. */
export function recipeEngineLimits(recipe: Recipe, worker: RecipeWorker): RecipeEngineLimits {
  const prefixOff = argOf(recipe, worker, 'no-enable-prefix-caching', 'disable-radix-cache') === true ||
    argOf(recipe, worker, 'enable-prefix-caching') === false;
  return {
    maxNumSeqs: intArg(recipe, worker, undefined, 'max-num-seqs', 'max-running-requests', 'max-batch-size'),
    maxBatchedTokens: intArg(recipe, worker, undefined, 'max-num-batched-tokens', 'chunked-prefill-size', 'max-num-tokens'),
    blockSize: intArg(recipe, worker, undefined, 'block-size', 'page-size', 'tokens-per-block'),
    prefixCaching: !prefixOff,
  };
}

/** SimConfig input for what the recipe deploys: its pools, router, engine limits and a roofline step model. */
export function simConfigFromRecipe(r: RecipeForSim): SimConfigInput {
  const { recipe, model } = r;
  const t = recipe.topology;
  const pool = (worker: RecipeWorker) => {
    const step = stepParamsForPool(r, worker);
    const lim = recipeEngineLimits(recipe, worker);
    return {
      replicas: Math.max(1, worker.replicas),
      tp: worker.tp,
      maxNumSeqs: lim.maxNumSeqs ?? 256,
      maxBatchedTokens: lim.maxBatchedTokens ?? 8192,
      blockSize: lim.blockSize ?? 16,
      prefixCaching: lim.prefixCaching,
      step,
    };
  };
  const cfg: SimConfigInput = {
    model: { name: model.servedName, maxModelLen: recipe.maxModelLen },
    mode: t.mode,
    router: t.router,
  };
  if (t.mode === 'agg' && t.agg) cfg.agg = pool(t.agg);
  if (t.mode === 'disagg' && t.prefill && t.decode) {
    cfg.prefill = pool(t.prefill);
    cfg.decode = pool(t.decode);
    cfg.transfer = { bandwidthGBs: RDMA_GBS_PER_GPU * Math.min(t.prefill.tp, t.decode.tp), latencyMs: 0.5 };
  }
  return cfg;
}

/** One pool of a rendered deployment, as the renderer knows it. */
export interface SimWorkerRole {
  /** Served model name. */
  servedName: string;
  maxModelLen: number;
  /** agg, or prefill/decode in a disaggregated deployment (each pod runs one simulated engine). */
  role: 'agg' | 'prefill' | 'decode';
  maxNumSeqs?: number | undefined;
  maxBatchedTokens?: number | undefined;
  blockSize?: number | undefined;
  /** Roofline step knobs for this role (stepParamsForPool), so in-cluster timing matches `recipes sim`. */
  step?: Partial<ParametricStepParams> | undefined;
  /** Port the worker container listens on (Dynamo/vLLM workers: 8000). */
  port?: number | undefined;
  speedup?: number | undefined;
  /** Recipe id; the image carries recipes/, so the pod can resolve it itself instead of passing every knob. */
  recipe?: string | undefined;
  /**
   * Path (inside the pod) of the resolved recipe as JSON (`simRecipeJson`): the pod serves exactly what was rendered
   * (variant, cluster `set`, golden) with the estimator's step model for its pool, whatever recipes/ the image holds.
   */
  recipeJson?: string | undefined;
}

/** The resolved recipe as `recipes sim --recipe-json` reads it: what the estimator's step model needs, no more. */
export interface SimRecipeFile {
  id: string;
  variant?: string | undefined;
  recipe: Recipe;
  model: ModelCard;
  gpu: Gpu;
}

/** JSON text of a resolved recipe for `recipes sim --recipe-json` (the renderer's sim mode mounts it from a ConfigMap). */
export function simRecipeJson(r: RecipeForSim & { id: string; variant?: string | undefined }): string {
  const file: SimRecipeFile = { id: r.id, ...(r.variant === undefined ? {} : { variant: r.variant }), recipe: r.recipe, model: r.model, gpu: r.gpu };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * The command of a pod that serves a whole recipe deployment in one process (every pool, its replicas and its router,
 * as `recipes sim --recipe` does): the renderer's sim mode runs it in the frontend, which is what clients call.
 */
export function simFrontendCommand(o: { recipeJson: string; port?: number | undefined; speedup?: number | undefined }): { command: string[]; args: string[] } {
  const args = ['sim', '--host', '0.0.0.0', '--port', String(o.port ?? 8000), '--recipe-json', o.recipeJson];
  if (o.speedup !== undefined) args.push('--speedup', String(o.speedup));
  return { command: ['recipes'], args };
}

/**
 * The container command a simulator pod runs in place of an engine worker: the project image's `recipes sim`, one
 * engine per pod (replicas come from the Deployment), listening on 0.0.0.0 so Services and probes reach it.
 * /health is its readiness and liveness path; /metrics serves vLLM names for PodMonitors.
 */
export function simWorkerCommand(w: SimWorkerRole): { command: string[]; args: string[] } {
  const args = ['sim', '--host', '0.0.0.0', '--port', String(w.port ?? 8000)];
  if (w.recipeJson) args.push('--recipe-json', w.recipeJson);
  else if (w.recipe) args.push('--recipe', w.recipe);
  // A recipe serves all of its pools; --pool keeps this pod to the one engine it stands in for.
  if (w.recipeJson || w.recipe) args.push('--pool', w.role);
  args.push('--model-name', w.servedName, '--max-model-len', String(w.maxModelLen), '--replicas', '1');
  if (w.maxNumSeqs !== undefined) args.push('--max-num-seqs', String(w.maxNumSeqs));
  if (w.maxBatchedTokens !== undefined) args.push('--max-batched-tokens', String(w.maxBatchedTokens));
  if (w.blockSize !== undefined) args.push('--block-size', String(w.blockSize));
  if (w.speedup !== undefined) args.push('--speedup', String(w.speedup));
  const s = w.step ?? {};
  if (s.decodeBaseMs !== undefined) args.push('--itl-ms', fmt(s.decodeBaseMs));
  if (s.decodeMsPerSeq !== undefined) args.push('--decode-ms-per-seq', fmt(s.decodeMsPerSeq));
  if (s.decodeMsPerKContextToken !== undefined) args.push('--decode-ms-per-ktoken', fmt(s.decodeMsPerKContextToken));
  if (s.prefillOverheadMs !== undefined) args.push('--ttft-ms', fmt(s.prefillOverheadMs));
  if (s.prefillMsPerToken !== undefined) args.push('--prefill-ms-per-token', fmt(s.prefillMsPerToken));
  if (s.kvCapacityTokens !== undefined) args.push('--kv-capacity-tokens', String(s.kvCapacityTokens));
  return { command: ['recipes'], args };
}

function fmt(n: number): string {
  return String(Number(n.toPrecision(6)));
}
