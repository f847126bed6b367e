import type { Architecture, BackendName, Dtype, Gpu } from '@llm-recipes/recipe';

export type { Architecture, BackendName, Dtype, Gpu };

/** How one replica (one engine instance) spreads over its GPUs. */
export interface Parallelism {
  /** Tensor-parallel size = GPUs in one replica. */
  tp: number;
  /** Expert-parallel size for MoE layers (1 = experts tensor-parallel). Must divide tp. */
  ep: number;
  /**
   * Attention data parallelism: every GPU of the replica runs attention for its own sequences with replicated
   * attention weights (DeepSeek-style wide EP). Default: on for MLA MoE models with tp > 1.
   */
  attentionDp?: boolean | undefined;
}

/** One engine iteration as the scheduler formed it. */
export interface StepBatch {
  /** Prompt tokens processed this step (all chunks of all prefilling sequences). */
  prefillTokens: number;
  /**
   * Σ over those prompt tokens of the keys each attends to; defaults to T²/2 (one fresh prompt of T tokens).
   * A chunk of c tokens after a prefix of p contributes c·p + c²/2.
   */
  prefillAttended?: number | undefined;
  /** Sequences producing one output token this step. */
  decodeSequences: number;
  /** Σ of the context lengths of those decode sequences (tokens read from the KV cache). */
  contextTokens: number;
}

/** Breakdown of one step's time, ms. */
export interface StepTime {
  totalMs: number;
  linearMs: number;
  attentionMs: number;
  commMs: number;
  overheadMs: number;
  /** Which side of the roofline dominated the linear layers. */
  bound: 'compute' | 'memory';
}

/** Efficiency factors for one backend × GPU family: the data the calibration fits. */
export interface Efficiency {
  /** Achievable fraction of dense tensor-core peak on large GEMMs and prefill attention. */
  mfu: number;
  /** Achievable fraction of HBM bandwidth for weight and KV reads. */
  bwEff: number;
  /** Fixed cost per transformer layer per step, µs (kernel launches, norms, small ops). */
  layerUs: number;
  /** Fixed cost per engine step, ms (scheduler, sampling, host sync). */
  stepMs: number;
  /** Achievable fraction of scale-up bandwidth in collectives. */
  commEff: number;
  /** Latency per collective call, µs. */
  collectiveUs: number;
  /** Tokens per GEMM at which a GEMM reaches half its large-shape efficiency (small-M ramp: util = mfu·m/(m+m0)). */
  gemmHalfTokens: number;
  /** Slowdown of the routed-expert path under expert parallelism (routing skew, grouped GEMMs, dispatch), fitted. */
  moeSlowdown: number;
}

/** Scheduler limits an engine applies by default (what a search may raise, but the estimate assumes). */
export interface EngineLimits {
  /** Max sequences in one replica's batch (per attention-DP rank when attention DP is on). */
  maxBatch: number;
  /** Token budget of one step: prefill chunks are cut to fit it. */
  maxNumTokens: number;
  /** Fraction of free GPU memory (after weights and reserve) given to the KV cache. */
  kvMemFraction: number;
  /** Memory held back per GPU for activations, CUDA graphs, NCCL buffers and the runtime, GiB. */
  reserveGiB: number;
}

export interface BackendCalibration {
  limits: EngineLimits;
  /** Efficiency by GPU family (see Calibration.gpuFamilies); `default` applies to unknown families. */
  families: Record<string, Efficiency>;
  /** Whether the factors were fitted on measurements or derived from priors only. */
  fitted: boolean;
  note: string;
}

export interface Calibration {
  version: number;
  /** GPU id → family name; families share efficiency factors. */
  gpuFamilies: Record<string, string>;
  /** Scale-out bandwidth per GPU (GB/s) by family, used when a replica spans nodes and for KV transfer. */
  networkGBs: Record<string, number>;
  backends: Record<BackendName, BackendCalibration>;
  fit?: unknown;
}

export type Mode = 'agg' | 'disagg';

/** The deployment a point query or a search candidate describes. */
export interface Deployment {
  backend: BackendName;
  /** Weight dtype. */
  dtype: Dtype;
  /** KV-cache dtype; default fp8 when weights are fp8/fp4 on a GPU with FP8, else bf16. */
  kvDtype?: Dtype | undefined;
  mode: Mode;
  /** agg: the worker pool. */
  agg?: Pool | undefined;
  prefill?: Pool | undefined;
  decode?: Pool | undefined;
}

export interface Pool extends Parallelism {
  replicas: number;
  /** Engine limits this pool's engine args set (e.g. max-num-seqs → maxBatch); unset ones are the backend's defaults. */
  limits?: Partial<Pick<EngineLimits, 'maxBatch' | 'maxNumTokens'>> | undefined;
}

export interface Workload {
  isl: number;
  osl: number;
}

/** The `recipes estimate --json` result object (DESIGN §7). */
export interface Estimate {
  ttftMs: number;
  itlMs: number;
  tpotMs: number;
  tokensPerSecondPerUser: number;
  tokensPerSecondPerGpu: number;
  outputTokensPerSecond: number;
  maxBatch: number;
  fits: boolean;
}
