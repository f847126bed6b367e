/** What one engine step (forward pass) processes; the step-time model turns it into a duration. */
export interface StepBatch {
  /** New (uncached) prompt tokens computed this step, summed over sequences in prefill (chunked). */
  prefillTokens: number;
  /** Sequences that computed prompt tokens this step. */
  prefillSeqs: number;
  /** Sequences that generated one token this step. */
  decodeSeqs: number;
  /** KV tokens the decode sequences attend over (sum of their context lengths). */
  decodeContextTokens: number;
  /** KV tokens already cached ahead of this step's prefill chunks (prefix hits + earlier chunks). */
  prefillContextTokens: number;
}

/**
 * The seam between the scheduler and a performance model: how long a step takes, how big a token's KV is and how
 * many tokens of KV one worker holds. The parametric default lives here; the calibrated estimator plugs in the same way.
 */
export interface StepTimeModel {
  /** Duration of one step in simulated milliseconds. */
  stepMs(batch: StepBatch): number;
  /** KV-cache bytes per token across the whole worker (all TP ranks); sizes disaggregated KV transfers. */
  readonly kvBytesPerToken: number;
  /** KV-cache capacity of one worker, tokens. */
  readonly kvCapacityTokens: number;
}

/** Knobs of the parametric step model (all simulated ms). */
export interface ParametricStepParams {
  /** Fixed cost of every step (weights read once per step): the ITL at batch 1. */
  decodeBaseMs: number;
  /** Added per decoding sequence (sampling, per-token compute): ITL growth with batch size. */
  decodeMsPerSeq: number;
  /** Added per 1,000 context tokens attended by decode sequences (KV reads): ITL growth with context. */
  decodeMsPerKContextToken: number;
  /** Added once to a step that carries any prefill. */
  prefillOverheadMs: number;
  /** Added per prompt token computed. */
  prefillMsPerToken: number;
  /** Added per prompt token per 1,000 tokens of context before it (causal attention's quadratic term). */
  prefillMsPerTokenPerKContext: number;
  kvBytesPerToken: number;
  kvCapacityTokens: number;
}

/** A laptop-friendly profile roughly shaped like an 8B dense model on one H100 at BF16 (see docs/simulator.md). */
export const DEFAULT_STEP_PARAMS: ParametricStepParams = {
  decodeBaseMs: 6,
  decodeMsPerSeq: 0.04,
  decodeMsPerKContextToken: 0.04,
  prefillOverheadMs: 2,
  prefillMsPerToken: 0.03,
  prefillMsPerTokenPerKContext: 0.002,
  kvBytesPerToken: 131_072,
  kvCapacityTokens: 400_000,
};

/** Linear step-time model: each term is one physical cost (weights, per-sequence work, KV reads, prefill compute). */
export class ParametricStepModel implements StepTimeModel {
  readonly params: ParametricStepParams;
  readonly kvBytesPerToken: number;
  readonly kvCapacityTokens: number;

  constructor(params: Partial<ParametricStepParams> = {}) {
    this.params = { ...DEFAULT_STEP_PARAMS, ...params };
    this.kvBytesPerToken = this.params.kvBytesPerToken;
    this.kvCapacityTokens = this.params.kvCapacityTokens;
  }

  stepMs(b: StepBatch): number {
    const p = this.params;
    let ms = p.decodeBaseMs;
    ms += p.decodeMsPerSeq * b.decodeSeqs + (p.decodeMsPerKContextToken * b.decodeContextTokens) / 1000;
    if (b.prefillTokens > 0) {
      ms += p.prefillOverheadMs + p.prefillMsPerToken * b.prefillTokens;
      // average context a prefill token attends over ≈ cached prefix + half of its own chunk
      const avgCtx = b.prefillSeqs > 0 ? b.prefillContextTokens / b.prefillSeqs + b.prefillTokens / (2 * b.prefillSeqs) : 0;
      ms += (p.prefillMsPerTokenPerKContext * b.prefillTokens * avgCtx) / 1000;
    }
    return ms;
  }
}

/** What a rough roofline needs to know about a model and a GPU (the recipe's model card and GPU entry give it). */
export interface HardwareModelInput {
  layers: number;
  /** Parameters touched per token, billions (active params for MoE). */
  activeParamsB: number;
  /** Parameters held in memory, billions. */
  totalParamsB: number;
  /** Bytes per weight parameter (bf16 2, fp8 1, fp4 0.5). */
  weightBytes: number;
  /** KV bytes per token for the whole model (all layers, all KV heads). */
  kvBytesPerToken: number;
  /** Query heads × head dim: the width causal attention's FLOPs scale with. */
  attentionWidth: number;
  /** KV heads (or 1 for MLA's latent); TP beyond this replicates KV instead of splitting it. */
  kvHeads: number;
  gpuMemoryGiB: number;
  gpuBandwidthTBs: number;
  /** Dense TFLOPS at the serving dtype. */
  gpuTflops: number;
  tp: number;
  /** Fraction of HBM the engine may use (vLLM --gpu-memory-utilization). */
  memoryUtilization?: number;
  /** Achieved fraction of HBM bandwidth (decode). */
  bandwidthEfficiency?: number;
  /** Achieved fraction of peak FLOPS (prefill). */
  mfu?: number;
}

/**
 * Roofline-derived parameters: decode step ≈ weight bytes / HBM BW + KV reads, prefill ≈ 2·params·tokens / FLOPS,
 * KV capacity = usable HBM − weights. Formulas follow the usual first-principles serving model (2·P FLOPs per token,
 * KV = 2·layers·kv_heads·head_dim·bytes); efficiencies default to 0.8 of bandwidth and 0.5 of peak FLOPS.
 */
export function parametricFromHardware(h: HardwareModelInput): ParametricStepParams {
  const bwEff = h.bandwidthEfficiency ?? 0.8;
  const mfu = h.mfu ?? 0.5;
  const util = h.memoryUtilization ?? 0.9;
  const tp = h.tp;
  const bytesPerMs = (h.gpuBandwidthTBs * 1e12 * bwEff) / 1000; // per GPU
  const flopsPerMs = (h.gpuTflops * 1e12 * mfu) / 1000; // per GPU
  const weightBytesPerGpu = (h.totalParamsB * 1e9 * h.weightBytes) / tp;
  const activeWeightBytesPerGpu = (h.activeParamsB * 1e9 * h.weightBytes) / tp;
  // KV heads replicate once TP exceeds them, so per-GPU KV per token stops shrinking
  const kvPerGpuPerToken = h.kvBytesPerToken / Math.min(tp, h.kvHeads);
  // per-layer fixed costs (kernel launches, and two all-reduces per layer under TP)
  const perLayerMs = 0.012 + (tp > 1 ? 2 * 0.008 : 0);
  const freeBytesPerGpu = h.gpuMemoryGiB * 2 ** 30 * util - weightBytesPerGpu - 3e9;
  const flopsPerToken = 2 * h.activeParamsB * 1e9;
  return {
    decodeBaseMs: activeWeightBytesPerGpu / bytesPerMs + h.layers * perLayerMs,
    decodeMsPerSeq: flopsPerToken / tp / flopsPerMs,
    decodeMsPerKContextToken: (1000 * kvPerGpuPerToken) / bytesPerMs,
    prefillOverheadMs: h.layers * perLayerMs,
    prefillMsPerToken: flopsPerToken / tp / flopsPerMs,
    // causal attention: 4·layers·heads·head_dim FLOPs per token per context token
    prefillMsPerTokenPerKContext: (1000 * 4 * h.layers * h.attentionWidth) / tp / flopsPerMs,
    kvBytesPerToken: h.kvBytesPerToken,
    kvCapacityTokens: Math.max(0, Math.floor(freeBytesPerGpu / kvPerGpuPerToken)),
  };
}
