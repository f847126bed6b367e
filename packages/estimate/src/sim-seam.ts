import type { Gpu, ModelCard, Recipe, Worker as RecipeWorker } from '@llm-recipes/recipe';
import { recipeEngineLimits, simConfigFromRecipe, type PoolRole, type SimConfigInput, type StepModelFactory } from '@llm-recipes/sim';
import { defaultCalibration } from './calibration-data.ts';
import { kvBytesPerToken } from './facts.ts';
import { estimate, kvLinkGBs, type ServingResult } from './serve.ts';
import { buildStepModel, type StepModel, type StepModelInput } from './step.ts';
import type { Calibration, Deployment, Pool, Workload } from './types.ts';

/** The simulator's step batch (structurally the same as its StepBatch). */
export interface SimStepBatch {
  prefillTokens: number;
  prefillSeqs: number;
  decodeSeqs: number;
  decodeContextTokens: number;
  prefillContextTokens: number;
}

/** What the simulator's step-time seam asks for: a step duration, KV size per token and a worker's KV capacity. */
export interface EstimatorStepTimeModel {
  stepMs(batch: SimStepBatch): number;
  readonly kvBytesPerToken: number;
  readonly kvCapacityTokens: number;
  /** The estimator's model behind it (engine limits, memory plan). */
  readonly model: StepModel;
}

/**
 * Builds the simulator's step-time model from the calibrated estimator, so a simulated deployment behaves like the
 * estimate. One model per worker (replica) with the given parallelism.
 */
export function estimatorStepTimeModel(input: StepModelInput): EstimatorStepTimeModel {
  const m = buildStepModel(input);
  const perToken = kvBytesPerToken(input.arch, m.kvDtype);
  // Capacity in tokens at long context: sequences of 1k tokens × 1k, replication included.
  const capacity = m.capacitySequences(1024) * 1024;
  return {
    model: m,
    kvBytesPerToken: perToken,
    kvCapacityTokens: capacity,
    stepMs(b: SimStepBatch): number {
      const seqs = Math.max(1, b.prefillSeqs);
      // Σ over prompt tokens of keys attended: each chunk of c after a prefix p adds c·p + c²/2.
      const attended = (b.prefillTokens * b.prefillContextTokens) / seqs + (b.prefillTokens * b.prefillTokens) / (2 * seqs);
      return m.step({ prefillTokens: b.prefillTokens, prefillAttended: attended, decodeSequences: b.decodeSeqs, contextTokens: b.decodeContextTokens }).totalMs;
    },
  };
}

/** A resolved recipe as far as the estimator needs it (structurally @llm-recipes/recipe's ResolvedRecipe). */
export interface RecipeForEstimate {
  recipe: Recipe;
  model: ModelCard;
  gpu: Gpu;
}

/** One recipe pool as the estimator sees it: GPUs per replica, EP, attention DP and the engine limits its args set. */
function poolOf(recipe: Recipe, w: RecipeWorker): Pool {
  const lim = recipeEngineLimits(recipe, w);
  // pipeline stages split the weights like TP here (the estimator does not model PP bubbles); attention DP ranks are
  // GPUs of the same replica running attention on their own sequences
  const tp = w.tp * w.pp * w.dp;
  const attentionDp = w.dp > 1;
  const limits: Pool['limits'] = {};
  // max-num-seqs is per attention-DP rank (the estimator's maxBatch is too)
  if (lim.maxNumSeqs !== undefined) limits.maxBatch = lim.maxNumSeqs;
  if (lim.maxBatchedTokens !== undefined) limits.maxNumTokens = lim.maxBatchedTokens;
  return { tp, ep: Math.min(w.ep, tp), attentionDp, replicas: Math.max(1, w.replicas), limits };
}

/** The estimator's Deployment for what a resolved recipe deploys (backend, dtypes, pools, engine limits). */
export function recipeDeployment({ recipe }: RecipeForEstimate): Deployment {
  const t = recipe.topology;
  const base = { backend: recipe.backend.name, dtype: recipe.dtype, kvDtype: recipe.kvCacheDtype };
  if (t.mode === 'agg') {
    if (!t.agg) throw new Error('agg recipe without topology.agg (the recipe loader rejects this)');
    return { ...base, mode: 'agg', agg: poolOf(recipe, t.agg) };
  }
  if (!t.prefill || !t.decode) throw new Error('disagg recipe without prefill and decode pools (the recipe loader rejects this)');
  return { ...base, mode: 'disagg', prefill: poolOf(recipe, t.prefill), decode: poolOf(recipe, t.decode) };
}

/** A simulator set up to behave like the estimate of one recipe, plus that estimate. */
export interface EstimatorSimulation {
  /** Simulator config: the recipe's topology, router and block size, engine limits as the estimator assumes them. */
  config: SimConfigInput;
  /** Pass to `startSimulator(config, { stepModels })`: the estimator's step model per pool. */
  stepModels: StepModelFactory;
  deployment: Deployment;
  /** The estimate for this deployment at a workload and concurrency (what the simulator should reproduce). */
  estimate(workload: Workload, concurrency: number): ServingResult;
}

/**
 * Wires a recipe's simulator to the estimator: each pool steps with the estimator's model for the recipe's model ×
 * GPU × backend × parallelism × dtype, engine limits agree (max-num-seqs and the step token budget from the recipe's
 * engine args, else the backend's defaults the estimator assumes; KV capacity from the estimator's memory plan) and
 * a disaggregated KV transfer runs over the link the estimator assumes.
 */
export function estimatorSimulation(r: RecipeForEstimate, calibration: Calibration = defaultCalibration): EstimatorSimulation {
  const deployment = recipeDeployment(r);
  const models: Partial<Record<PoolRole, EstimatorStepTimeModel>> = {};
  const modelFor = (role: PoolRole): EstimatorStepTimeModel => {
    const cached = models[role];
    if (cached) return cached;
    const pool = deployment[role];
    if (!pool) throw new Error(`the recipe has no ${role} pool`);
    const m = estimatorStepTimeModel({
      arch: r.model.architecture,
      gpu: r.gpu,
      backend: deployment.backend,
      parallelism: { tp: pool.tp, ep: pool.ep, attentionDp: pool.attentionDp },
      dtype: deployment.dtype,
      kvDtype: deployment.kvDtype,
      calibration,
      limits: pool.limits,
    });
    models[role] = m;
    return m;
  };

  const config = simConfigFromRecipe(r);
  const roles: PoolRole[] = deployment.mode === 'agg' ? ['agg'] : ['prefill', 'decode'];
  for (const role of roles) {
    const m = modelFor(role).model;
    const pool = { ...config[role] };
    // the parametric knobs do not apply; limits come from the estimator's engine model
    delete pool.step;
    delete pool.kvCapacityTokens;
    pool.maxNumSeqs = m.limits.maxBatch * (m.attentionDp ? m.gpus : 1);
    pool.maxBatchedTokens = m.limits.maxNumTokens;
    config[role] = pool;
  }
  if (deployment.mode === 'disagg') {
    const p = deployment.prefill!;
    const d = deployment.decode!;
    const total = p.replicas * p.tp + d.replicas * d.tp;
    config.transfer = { bandwidthGBs: kvLinkGBs(r.gpu, calibration, total) * Math.min(p.tp, d.tp), latencyMs: 0 };
  }
  return {
    config,
    stepModels: (role) => modelFor(role),
    deployment,
    estimate: (workload, concurrency) =>
      estimate({ arch: r.model.architecture, gpu: r.gpu, deployment, workload, concurrency, calibration }),
  };
}
