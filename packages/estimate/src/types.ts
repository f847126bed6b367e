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
   * attention weights (DeepSeek-style wide EP). Default off, as on every engine.
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
  /**
   * Attention-DP ranks the prompt tokens are spread over (default: all). Ranks prefill in different steps unless the
   * scheduler aligns them, and every rank waits for the slowest at the MoE collectives, so a prompt pack on one rank
   * sets the step's attention time.
   */
  prefillRanks?: number | undefined;
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

/**
 * Achieved-vs-peak efficiencies and fixed costs for one backend × GPU family: the bounded corrections the calibration
 * fits (each with a prior and a log-space spread in data/priors.json; docs/estimator.md says what each absorbs).
 */
export interface Efficiency {
  /** Fraction of dense tensor-core peak a large GEMM reaches (M of thousands of tokens). */
  gemmEff: number;
  /** NVFP4 GEMMs (FP4 weights and activations) reach this fraction of `gemmEff` of their own peak. */
  fp4Eff: number;
  /** Fraction of BF16 peak a long causal prefill attention reaches (FlashAttention-style kernels). */
  attnEff: number;
  /** Fraction of HBM bandwidth reached streaming weights and the KV cache. */
  bwEff: number;
  /** Fraction of HBM bandwidth grouped expert GEMMs reach when memory-bound (few rows per expert). */
  moeBwEff: number;
  /** GPU time per kernel a CUDA-graphed step cannot hide (launch gap, ramp-up, tail), µs. */
  kernelUs: number;
  /** Host time per kernel launch when a step is not graph-captured (eager PyTorch), µs. */
  eagerKernelUs: number;
  /** Host time per engine step that the GPU does not overlap (scheduling, sampling, output), ms. */
  stepMs: number;
  /** Host time per running sequence per step (input preparation, sampling, output bookkeeping), µs. */
  seqUs: number;
  /** Fraction of the scale-up link bandwidth collectives reach. */
  commEff: number;
  /** Latency of one all-reduce / all-to-all call inside a scale-up domain, µs. */
  collectiveUs: number;
  /** Routed-token load of the busiest expert-parallel rank over uniform routing's expectation (routing skew), ≥ 1. */
  moeSkew: number;
  /** Request handling outside the engine steps (HTTP, scheduling hand-off, first SSE chunk), ms per request. */
  requestMs: number;
  /** Tokenising the prompt in the API server, µs per prompt token. */
  tokenizeUs: number;
}

/** Scheduler limits an engine applies by default (what a search may raise, but the estimate assumes). */
export interface EngineLimits {
  /** Max sequences in one replica's batch (per attention-DP rank when attention DP is on). */
  maxBatch: number;
  /** Token budget of one step: prefill chunks (or whole prompts) must fit it beside the decode tokens. */
  maxNumTokens: number;
  /** Fraction of memory given to the KV cache; of the free memory after weights and reserve, or of the total. */
  kvMemFraction: number;
  /** Whether `kvMemFraction` is a fraction of the memory left after weights (TensorRT-LLM) or of the total (vLLM, SGLang). */
  kvFractionOf: 'free' | 'total';
  /** Memory held back per GPU for activations, CUDA graphs, NCCL buffers and the runtime, GiB. */
  reserveGiB: number;
}

/** How a backend forms its steps (from the engine's scheduler code; see docs/estimator.md). */
export interface Scheduling {
  /** Prompts are cut into chunks that fill the token budget (vLLM V1, SGLang); otherwise whole prompts must fit it. */
  chunkedPrefill: boolean;
  /**
   * Engine steps a closed-loop request waits before the step that prefills it: 1 when the scheduler forms the next
   * step after returning outputs (the request misses it), 2 with an overlap scheduler (one more step is already
   * queued on the GPU when the previous output leaves).
   */
  waitSteps: number;
  /** Largest decode batch run as a CUDA graph; larger steps launch kernels eagerly. */
  cudaGraphMaxBatch: number;
  /** Largest token count of a step that contains prefill and still runs as a (piecewise) CUDA graph (0 = never). */
  cudaGraphMaxPrefillTokens: number;
  /**
   * The capacity scheduler admits a request only with KV blocks for its whole ISL + OSL (TensorRT-LLM
   * GUARANTEED_NO_EVICT); otherwise blocks are taken as tokens arrive (vLLM, SGLang) and the batch is bounded by the
   * mean occupancy ISL + OSL/2.
   */
  reservesFullSequence: boolean;
}

export interface BackendCalibration {
  limits: EngineLimits;
  /** Limits on GPUs below `largeGpuMinGiB` of memory or named in `largeGpuExclude` (vLLM picks smaller defaults there). */
  smallGpuLimits?: Partial<EngineLimits> | undefined;
  largeGpuMinGiB?: number | undefined;
  largeGpuExclude?: string[] | undefined;
  scheduling: Scheduling;
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
  /** Uncertainty bands from held-out residuals (written by the fit; see `band`). */
  bands?: BandTable | undefined;
  /** Per GPU × backend corrections refitted from this project's own benchmark runs (`recipes calibrate`). */
  corrections?: Record<string, Correction> | undefined;
  fit?: unknown;
}

/** A bounded multiplicative correction of step-time terms for one GPU × backend, from measured runs. */
export interface Correction {
  /** GPU id and backend it applies to. */
  gpu: string;
  backend: BackendName;
  /** Scales the compute-bound time of GEMMs and attention (1 = the published fit). */
  computeScale: number;
  /** Scales the memory-bound time (weights, KV cache). */
  memoryScale: number;
  /** Scales fixed costs: per-kernel, per-step, per-sequence host time, collectives latency, request handling. */
  overheadScale: number;
  /** Measured points the refit used, and where they came from. */
  points: number;
  sources: string[];
  /** MAPE on those points before and after the refit, per metric. */
  before: { ttftPct: number; tpotPct: number };
  after: { ttftPct: number; tpotPct: number };
}

/** Log-normal band half-widths σ (of ln(measured/predicted)) by slice, and the coverage they are quoted at. */
export interface BandTable {
  /** z of the quoted central interval (1.645 = 90 %). */
  z: number;
  /** `backend|gpuFamily|modelFamily|metric` → σ and the held-out residuals it rests on. */
  slices: Record<string, { sigma: number; n: number }>;
  /** Fallbacks when a slice has fewer than `minResiduals`: by `backend|metric`, by metric, and a prior for no data. */
  byBackendMetric: Record<string, { sigma: number; n: number }>;
  byMetric: Record<string, { sigma: number; n: number }>;
  prior: Record<string, number>;
  minResiduals: number;
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
  /** Scheduler switches this pool's engine args set (see `SchedulingOverride`); unset ones are the backend's defaults. */
  scheduling?: SchedulingOverride | undefined;
}

/**
 * Scheduler switches an engine flag turns on or off: TensorRT-LLM `--enable_chunked_prefill` (chunkedPrefill),
 * vLLM `--async-scheduling` (asyncScheduling: the next step is scheduled while the current one runs, so a closed-loop
 * arrival waits one step more, as under an overlap scheduler).
 */
export interface SchedulingOverride {
  chunkedPrefill?: boolean | undefined;
  asyncScheduling?: boolean | undefined;
}

export interface Workload {
  isl: number;
  osl: number;
  /**
   * How the closed-loop clients start. `burst` (default): all of them send at once, as AIPerf, genai-perf and
   * `recipes bench` without a ramp do, so the first wave queues behind each other's prefills and the later waves keep
   * arriving in the packs the first wave was prefilled in. `spread`: slots opened over a request lifetime (a ramp),
   * so arrivals are evenly phased.
   */
  arrival?: 'burst' | 'spread' | undefined;
  /**
   * Measured requests per concurrency slot (requests ÷ concurrency) when the first wave is measured, default 10
   * (request count = 10 × concurrency, the common genai-perf/AIPerf practice). `Infinity` = steady state only (the
   * first wave was a warm-up, or an offline run).
   */
  requestsPerSlot?: number | undefined;
  /**
   * `http` (default): requests pass the engine's API server (HTTP, tokenisation), one at a time. `offline`: requests
   * are queued into the engine directly (trtllm-bench, MLPerf harnesses), with no per-request front-end time.
   */
  client?: 'http' | 'offline' | undefined;
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
