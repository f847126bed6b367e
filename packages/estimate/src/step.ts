import { attentionDims, attentionLayers, expertsTouched, kvBytesForSequence, kvBytesPerTokenLayer, paramCounts, peakTflops } from './facts.ts';
import type {
  Architecture,
  BackendName,
  Calibration,
  Correction,
  Dtype,
  Efficiency,
  EngineLimits,
  Gpu,
  Parallelism,
  Scheduling,
  SchedulingOverride,
  StepBatch,
  StepTime,
} from './types.ts';

const GiB = 1024 ** 3;

/**
 * Rows a GEMM pays for beyond its M tokens: tensor-core tiles are padded, so a GEMM of M rows runs at M/(M + 32) of its
 * large-shape rate. Small-M shapes use small tiles or swap A/B so the tokens sit on the wide N side (CUTLASS
 * `swap_ab` FP8 kernels in vLLM csrc/quantization/cutlass_w8a8, TensorRT-LLM's small-M FP8/NVFP4 GEMM tactics,
 * Marlin's 16-row tiles); at small M the weight read bounds the GEMM anyway.
 */
const GEMM_HALF_M = 32;
/**
 * Mean keys per query at which a causal FlashAttention prefill reaches half its long-sequence efficiency. Readings of
 * FlashAttention-3 forward, causal, head dim 128, BF16 on H100 (Shah et al. 2024, arXiv:2407.08608, Fig. 5): ≈ 0.30,
 * 0.42, 0.55, 0.62, 0.69 of peak at 512, 1k, 2k, 4k, 16k tokens, which `attnEff·s/(s + 360)` with s = T/2 follows.
 */
const ATTN_HALF_KEYS = 360;
/**
 * Kernels per transformer layer in a decode step (what the per-kernel fixed cost multiplies), counted from the forward
 * passes in vLLM's model_executor/models/{llama,qwen3,qwen3_moe,deepseek_v2,gpt_oss}.py and its fused_moe layer:
 * a dense layer runs input norm, QKV GEMM, RoPE, KV-cache write, attention, output GEMM, post-attention norm,
 * gate/up GEMM, activation, down GEMM (10); QK-norm adds 2 (Qwen3); MLA replaces the QKV GEMM by the fused q_a/kv_a
 * GEMM, two norms, q_b, the two absorption BMMs and the split-KV combine (+6); an MoE layer replaces the three FFN
 * kernels by router GEMM, two top-k kernels, block alignment, two grouped GEMMs, activation and the weighted sum (8),
 * and shared experts add their three kernels and the add (4). Collectives are counted separately.
 */
function kernelsPerLayer(a: Architecture): { dense: number; moe: number } {
  const attention = 10 + (a.family.startsWith('qwen3') ? 2 : 0) + (a.attention === 'mla' ? 6 : 0);
  const shared = (a.moe?.sharedExperts ?? 0) > 0 ? 4 : 0;
  return { dense: attention, moe: attention - 3 + 8 + shared };
}
/** Kernels outside the layers: embedding lookup, final norm, lm_head, sampling (softmax/top-k/argmax). */
const STEP_KERNELS = 6;

export interface StepModelInput {
  arch: Architecture;
  gpu: Gpu;
  backend: BackendName;
  parallelism: Parallelism;
  /** Weight dtype. */
  dtype: Dtype;
  kvDtype?: Dtype | undefined;
  calibration: Calibration;
  /** Engine limits the deployment sets (max-num-seqs, max-num-batched-tokens), over the backend's defaults. */
  limits?: Partial<Pick<EngineLimits, 'maxBatch' | 'maxNumTokens'>> | undefined;
  /** Scheduler switches the deployment's engine flags set, over the backend's defaults. */
  scheduling?: SchedulingOverride | undefined;
}

/**
 * The backend's scheduling with a deployment's switches applied. Asynchronous scheduling (vLLM `--async-scheduling`)
 * forms step n+1 before step n's outputs are returned, so a closed-loop arrival misses one more step: at least 2.
 */
export function schedulingWith(base: Scheduling, o: SchedulingOverride | undefined): Scheduling {
  if (!o) return base;
  return {
    ...base,
    ...(o.chunkedPrefill !== undefined ? { chunkedPrefill: o.chunkedPrefill } : {}),
    ...(o.asyncScheduling ? { waitSteps: Math.max(2, base.waitSteps) } : {}),
  };
}

/** Memory of one GPU of a replica and the KV capacity it leaves. */
export interface MemoryPlan {
  gpuBytes: number;
  weightBytesPerGpu: number;
  reserveBytes: number;
  kvBytesPerGpu: number;
  /** Whether the weights and reserve fit at all. */
  weightsFit: boolean;
}

/** A replica's step-time function plus the facts search and serving need; built once, evaluated many times. */
export interface StepModel {
  readonly input: StepModelInput;
  readonly gpus: number;
  readonly kvDtype: Dtype;
  readonly attentionDp: boolean;
  readonly efficiency: Efficiency;
  readonly limits: EngineLimits;
  readonly scheduling: Scheduling;
  readonly memory: MemoryPlan;
  /** The GPU × backend correction applied (identity when none is committed). */
  readonly correction: Pick<Correction, 'computeScale' | 'memoryScale' | 'overheadScale'>;
  /** Request handling outside the steps for a prompt of `isl` tokens (HTTP, tokenisation), ms, correction applied. */
  requestMs(isl: number): number;
  /** Duration of one engine step for this batch. */
  step(batch: StepBatch): StepTime;
  /** Sequences of `tokens` context the replica's KV cache holds at once. */
  capacitySequences(tokens: number): number;
  /** Max batch for sequences growing to `tokens`: KV capacity capped by the engine's batch limit. */
  maxBatch(tokens: number): number;
  /** Max batch for a workload: KV reserved for ISL + OSL, or held at the mean ISL + OSL/2 (see `reservesFullSequence`). */
  batchFor(isl: number, osl: number): number;
}

/**
 * Default KV dtype. TensorRT-LLM serves FP8/NVFP4 ModelOpt checkpoints with their FP8 KV cache on GPUs with FP8; vLLM
 * and SGLang keep `--kv-cache-dtype auto` = the activation dtype (BF16) unless told otherwise; gpt-oss's MXFP4
 * checkpoint has no KV quantization.
 */
export function defaultKvDtype(gpu: Gpu, dtype: Dtype, backend: BackendName = 'trtllm', arch?: Architecture): Dtype {
  if (backend !== 'trtllm' || arch?.family === 'gpt_oss') return 'bf16';
  return (dtype === 'fp8' || dtype === 'fp4') && gpu.tflops.fp8 !== undefined ? 'fp8' : 'bf16';
}

export function gpuFamily(calibration: Calibration, gpuId: string): string {
  return calibration.gpuFamilies[gpuId] ?? 'default';
}

export function efficiencyFor(calibration: Calibration, backend: BackendName, gpuId: string): Efficiency {
  const b = calibration.backends[backend];
  const fam = gpuFamily(calibration, gpuId);
  const e = b.families[fam] ?? b.families['default'];
  if (!e) throw new Error(`calibration has no efficiency for ${backend} on ${fam} and no default`);
  return e;
}

/**
 * The backend's default limits on this GPU. vLLM picks max_num_batched_tokens 8192 / max_num_seqs 1024 for its
 * OpenAI server on GPUs of ≥ 70 GiB other than A100, else 2048 / 256 (vllm/engine/arg_utils.py
 * `EngineArgs.get_batch_defaults`, vllm-project/vllm@99d7eb5).
 */
export function engineLimitsFor(calibration: Calibration, backend: BackendName, gpu: Gpu): EngineLimits {
  const b = calibration.backends[backend];
  const small =
    b.smallGpuLimits !== undefined &&
    (gpu.memoryGiB < (b.largeGpuMinGiB ?? 0) || (b.largeGpuExclude ?? []).some((x) => `${gpu.id} ${gpu.name}`.toLowerCase().includes(x)));
  return { ...b.limits, ...(small ? b.smallGpuLimits : {}) };
}

const IDENTITY = { computeScale: 1, memoryScale: 1, overheadScale: 1 };

/** The committed correction for this GPU × backend, if `recipes calibrate` wrote one. */
export function correctionFor(calibration: Calibration, backend: BackendName, gpuId: string): Pick<Correction, 'computeScale' | 'memoryScale' | 'overheadScale'> {
  return calibration.corrections?.[`${gpuId}/${backend}`] ?? IDENTITY;
}

/** Bytes per weight and the tensor-core rate its GEMMs run at, per role. */
interface RoleQuant {
  bytes: number;
  /** Dense peak TFLOPS of the GEMM (activation × weight dtype the kernels use). */
  tflops: number;
  /** W4A4 NVFP4 GEMM (block-scaled FP4 on both sides). */
  fp4: boolean;
}

/**
 * How a checkpoint of `dtype` quantizes each role. gpt-oss ships MXFP4 experts only (4-bit values + one E8M0 scale per
 * 32 = 4.25 bit) with BF16 attention, router, embeddings and lm_head (its config.json `quantization_config`); the
 * expert GEMMs run MXFP4×MXFP8 on Blackwell (FP8 rate) and as weight-only W4A16 on Hopper (BF16 rate). Other FP8 /
 * NVFP4 checkpoints (ModelOpt, DeepSeek block-FP8) quantize every linear layer but lm_head.
 */
function quantPlan(a: Architecture, gpu: Gpu, dtype: Dtype): { attention: RoleQuant; dense: RoleQuant; expert: RoleQuant; lmHead: RoleQuant } {
  const bf16: RoleQuant = { bytes: 2, tflops: gpu.tflops.bf16, fp4: false };
  if (a.family === 'gpt_oss' && dtype === 'fp4') {
    const blackwellFp4 = gpu.tflops.fp4 !== undefined;
    return { attention: bf16, dense: bf16, expert: { bytes: 4.25 / 8, tflops: blackwellFp4 ? (gpu.tflops.fp8 ?? gpu.tflops.bf16) : gpu.tflops.bf16, fp4: false }, lmHead: bf16 };
  }
  const q: RoleQuant = { bytes: dtype === 'fp4' ? 0.5625 : dtype === 'fp8' ? 1 : 2, tflops: peakTflops(gpu, dtype), fp4: dtype === 'fp4' && gpu.tflops.fp4 !== undefined };
  return { attention: q, dense: q, expert: q, lmHead: bf16 };
}

export function buildStepModel(input: StepModelInput): StepModel {
  const { arch: a, gpu, backend, parallelism, dtype, calibration } = input;
  const G = parallelism.tp;
  const ep = Math.max(1, Math.min(parallelism.ep, G));
  const kvDtype = input.kvDtype ?? defaultKvDtype(gpu, dtype, backend, a);
  // attention DP is opt-in on every engine (TensorRT-LLM enable_attention_dp=False, vLLM --data-parallel-size with
  // --enable-expert-parallel, SGLang --enable-dp-attention)
  const attentionDp = (parallelism.attentionDp ?? false) && G > 1;
  const eff = efficiencyFor(calibration, backend, gpu.id);
  const sched = schedulingWith(calibration.backends[backend].scheduling, input.scheduling);
  const limits = engineLimitsFor(calibration, backend, gpu);
  if (input.limits?.maxBatch !== undefined) limits.maxBatch = input.limits.maxBatch;
  if (input.limits?.maxNumTokens !== undefined) limits.maxNumTokens = input.limits.maxNumTokens;
  const fam = gpuFamily(calibration, gpu.id);
  const corr = correctionFor(calibration, backend, gpu.id);

  const p = paramCounts(a);
  const qp = quantPlan(a, gpu, dtype);
  const E = a.moe?.experts ?? 0;
  const k = a.moe?.activeExperts ?? 0;
  const wAttn = p.attention * qp.attention.bytes;
  const wDense = (p.denseFfn + p.sharedAndRouter) * qp.dense.bytes;
  const wExpert = p.expert * qp.expert.bytes;
  const wRouted = a.moe ? p.moeLayers * E * wExpert : 0;
  const wHead = p.lmHead * 2;
  const wEmbed = p.embedding * 2;

  // --- memory: attention weights replicate under attention DP, everything else splits over the replica
  const attnPerGpu = attentionDp ? wAttn : wAttn / G;
  const weightBytesPerGpu = attnPerGpu + (wDense + wHead + wEmbed + wRouted) / G;
  const gpuBytes = gpu.memoryGiB * GiB;
  const reserveBytes = limits.reserveGiB * GiB;
  const free = gpuBytes - weightBytesPerGpu - reserveBytes;
  const kvBytesPerGpu = Math.max(0, limits.kvFractionOf === 'total' ? gpuBytes * limits.kvMemFraction - weightBytesPerGpu - reserveBytes : free * limits.kvMemFraction);
  const memory: MemoryPlan = { gpuBytes, weightBytesPerGpu, reserveBytes, kvBytesPerGpu, weightsFit: free > 0 && kvBytesPerGpu > 0 };

  // How many copies of a token's KV the replica stores: GQA heads replicate once tp exceeds the KV heads; the MLA
  // latent is replicated on every TP rank unless attention is data-parallel.
  const kvReplication = attentionDp ? 1 : a.attention === 'mla' ? G : Math.max(1, G / a.kvHeads);

  const capacitySequences = (tokens: number): number => {
    const perSeq = kvBytesForSequence(a, kvDtype, Math.max(1, tokens)) * kvReplication;
    if (attentionDp) return G * Math.floor(kvBytesPerGpu / perSeq);
    return Math.floor((G * kvBytesPerGpu) / perSeq);
  };
  const batchCap = limits.maxBatch * (attentionDp ? G : 1);
  const maxBatch = (tokens: number): number => Math.min(batchCap, capacitySequences(tokens));

  // --- step time (per GPU of the replica; every GPU does 1/G of the work except where noted)
  const bw = gpu.memoryBandwidthTBs * 1e12 * eff.bwEff;
  const flops = (q: RoleQuant): number => q.tflops * 1e12 * eff.gemmEff * (q.fp4 ? eff.fp4Eff : 1);
  const attnPeak = gpu.tflops.bf16 * 1e12 * eff.attnEff;
  const layers = attentionLayers(a);
  const dPre = attentionDims(a, 'prefill');
  const dDec = attentionDims(a, 'decode');
  const kvTokLayer = kvBytesPerTokenLayer(a, kvDtype);
  const ramp = (m: number): number => m / (m + GEMM_HALF_M);
  const crossesNodes = G > gpu.interconnect.domainSize;
  const linkBw = (crossesNodes ? (calibration.networkGBs[fam] ?? 25) : gpu.interconnect.bandwidthGBs) * 1e9 * eff.commEff;
  const collectiveMs = (eff.collectiveUs * (crossesNodes ? 3 : 1)) / 1000;
  const actBytes = 2;
  const kpl = kernelsPerLayer(a);
  const kernels = (a.layers - p.moeLayers) * kpl.dense + p.moeLayers * kpl.moe + STEP_KERNELS;
  const collectives = G > 1 ? (attentionDp ? (a.moe ? 2 * p.moeLayers : 0) : 2 * a.layers) : 0;
  const skew = Math.max(1, eff.moeSkew);
  const { computeScale: cS, memoryScale: mS, overheadScale: oS } = corr;

  /** One GEMM role: FLOPs over `m` tokens per GEMM vs its weights streamed once (per GPU). */
  const gemm = (params: number, tokens: number, m: number, q: RoleQuant, bytesPerGpu: number): { c: number; mem: number } => {
    const c = m > 0 ? ((2 * params * tokens) / (G * flops(q) * ramp(m))) * 1000 : 0;
    return { c, mem: (bytesPerGpu / bw) * 1000 };
  };

  const step = (batch: StepBatch): StepTime => {
    const P = Math.max(0, batch.prefillTokens);
    const D = Math.max(0, batch.decodeSequences);
    const C = Math.max(0, batch.contextTokens);
    const tokens = P + D;
    if (tokens <= 0) return { totalMs: 0, linearMs: 0, attentionMs: 0, commMs: 0, overheadMs: 0, bound: 'memory' };
    const attended = batch.prefillAttended ?? (P * P) / 2;
    // under attention DP the busiest rank carries its share of the decodes plus the prompt tokens of its ranks
    const pr = attentionDp ? Math.min(G, Math.max(1, batch.prefillRanks ?? G)) : G;
    const rankTokens = attentionDp ? P / pr + D / G : tokens;

    // Linear layers, per role: max(compute, weight read). Attention projections see each rank's tokens under attention
    // DP (weights replicated, so each GPU reads all of them); lm_head runs for the sampling tokens only.
    const sampling = D + (P > 0 ? 1 : 0);
    const roles = [
      gemm(p.attention, attentionDp ? rankTokens * G : tokens, rankTokens, qp.attention, attnPerGpu),
      gemm(p.denseFfn + p.sharedAndRouter, tokens, tokens, qp.dense, wDense / G),
      gemm(p.lmHead, sampling, sampling, qp.lmHead, wHead / G),
    ];
    let linC = 0;
    let linM = 0;
    let linearMs = 0;
    for (const r of roles) {
      linC += r.c * cS;
      linM += r.mem * mS;
      linearMs += Math.max(r.c * cS, r.mem * mS);
    }
    if (a.moe) {
      // Routed experts: the batch touches `touched` distinct experts per layer, each a GEMM of tokens·k/touched rows
      // padded like any GEMM (so compute is 2·P_e·(tokens·k + 32·touched) per layer). Under EP the busiest rank sets the
      // pace: for uniform routing its load over the mean is 1 + √(2 ln ep)·√((ep−1)/load) (Gaussian maximum of ep
      // binomial loads), for routed tokens (times the routing skew of real traffic) and for the experts it must read.
      const touched = expertsTouched(E, k, tokens);
      const z = ep > 1 ? Math.sqrt(2 * Math.log(ep)) : 0;
      const over = (load: number): number => (ep > 1 ? Math.min(ep, 1 + z * Math.sqrt((ep - 1) / Math.max(1, load))) : 1);
      const tokenImbalance = ep > 1 ? Math.min(ep, over(tokens * k) * skew) : 1;
      const readImbalance = over(touched);
      const c = ((2 * p.expert * p.moeLayers * (tokens * k + GEMM_HALF_M * touched)) / (G * flops(qp.expert))) * 1000 * tokenImbalance * cS;
      const mem = ((p.moeLayers * touched * wExpert * readImbalance) / (G * gpu.memoryBandwidthTBs * 1e12 * eff.moeBwEff)) * 1000 * mS;
      linC += c;
      linM += mem;
      linearMs += Math.max(c, mem);
    }

    // Attention: causal prefill FLOPs at a FlashAttention efficiency that grows with the keys per query; decode reads
    // the KV cache (windowed layers capped at the window); MLA decode in the absorbed form.
    const winAttended = layers.windowed > 0 ? Math.min(attended, P * layers.window) : 0;
    const winCtx = layers.windowed > 0 ? Math.min(C, D * layers.window) : 0;
    const keysPerQuery = P > 0 ? attended / P : 0;
    const faFull = keysPerQuery / (keysPerQuery + ATTN_HALF_KEYS);
    const winKeys = P > 0 ? winAttended / P : 0;
    const faWin = winKeys / (winKeys + ATTN_HALF_KEYS);
    const preFull = 2 * a.heads * (dPre.qk + dPre.v) * layers.full * attended;
    const preWin = 2 * a.heads * (dPre.qk + dPre.v) * layers.windowed * winAttended;
    const decFlops = 2 * a.heads * (dDec.qk + dDec.v) * (layers.full * C + layers.windowed * winCtx);
    const preRanks = attentionDp ? pr : G;
    const attnC =
      ((preFull > 0 ? preFull / (preRanks * attnPeak * faFull) : 0) + (preWin > 0 ? preWin / (preRanks * attnPeak * faWin) : 0) + decFlops / (G * attnPeak)) * 1000 * cS;
    const kvRead = kvTokLayer * (layers.full * C + layers.windowed * winCtx) * kvReplication;
    const kvWrite = kvTokLayer * a.layers * tokens * kvReplication;
    const attnM = (((kvRead + kvWrite) / G / bw) * 1000) * mS;
    const attentionMs = Math.max(attnC, attnM);

    // Collectives: two all-reduces per layer under TP (ring volume 2(G−1)/G of the activations plus a latency); under
    // attention DP a dispatch and a combine per MoE layer carrying each rank's tokens × k to the expert ranks.
    let commMs = 0;
    if (G > 1) {
      if (!attentionDp) {
        const m = tokens * a.hiddenSize * actBytes;
        commMs += 2 * a.layers * (((2 * (G - 1)) / G) * (m / linkBw) * 1000 + collectiveMs * oS);
      } else if (a.moe) {
        const perGpu = ((tokens / G) * k * a.hiddenSize * actBytes * (G - 1)) / G;
        commMs += 2 * p.moeLayers * ((perGpu / linkBw) * 1000 + collectiveMs * oS);
      }
    }

    // Fixed costs: per kernel on the GPU when the step is a CUDA graph; an eager step is bound by launching the kernels
    // from the host unless the GPU work is longer. Host time per step and per sequence the GPU does not overlap.
    const graphed = P === 0 ? D <= sched.cudaGraphMaxBatch : tokens <= sched.cudaGraphMaxPrefillTokens;
    const kernelMs = ((kernels * eff.kernelUs) / 1000) * oS;
    let gpuMs = linearMs + attentionMs + commMs + kernelMs;
    if (!graphed) gpuMs = Math.max(gpuMs, (((kernels + collectives) * eff.eagerKernelUs) / 1000) * oS);
    const hostMs = (eff.stepMs + (D * eff.seqUs) / 1000) * oS;
    const totalMs = gpuMs + hostMs;
    return { totalMs, linearMs, attentionMs, commMs, overheadMs: totalMs - linearMs - attentionMs - commMs, bound: linC >= linM ? 'compute' : 'memory' };
  };

  return {
    input,
    gpus: G,
    kvDtype,
    attentionDp,
    efficiency: eff,
    limits,
    scheduling: sched,
    memory,
    correction: corr,
    requestMs: (isl: number) => (eff.requestMs + (eff.tokenizeUs * isl) / 1000) * oS,
    step,
    capacitySequences,
    maxBatch,
    batchFor: (isl: number, osl: number) => maxBatch(sched.reservesFullSequence ? isl + osl : Math.ceil(isl + osl / 2)),
  };
}
