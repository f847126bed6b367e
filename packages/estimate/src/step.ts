import {
  attentionDims,
  attentionLayers,
  expertsTouched,
  kvBytesForSequence,
  kvBytesPerTokenLayer,
  paramCounts,
  peakTflops,
  weightBytes,
} from './facts.ts';
import type {
  Architecture,
  BackendName,
  Calibration,
  Dtype,
  Efficiency,
  EngineLimits,
  Gpu,
  Parallelism,
  StepBatch,
  StepTime,
} from './types.ts';

const GiB = 1024 ** 3;

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
  readonly memory: MemoryPlan;
  /** Duration of one engine step for this batch. */
  step(batch: StepBatch): StepTime;
  /** Sequences of `tokens` context the replica's KV cache holds at once. */
  capacitySequences(tokens: number): number;
  /** Max batch for sequences growing to `tokens`: KV capacity capped by the engine's batch limit. */
  maxBatch(tokens: number): number;
}

/** Default KV dtype: FP8 when the weights are quantized and the GPU has FP8 tensor cores (as TensorRT-LLM serves them). */
export function defaultKvDtype(gpu: Gpu, dtype: Dtype): Dtype {
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

export function buildStepModel(input: StepModelInput): StepModel {
  const { arch: a, gpu, backend, parallelism, dtype, calibration } = input;
  const G = parallelism.tp;
  const ep = Math.max(1, parallelism.ep);
  const kvDtype = input.kvDtype ?? defaultKvDtype(gpu, dtype);
  const attentionDp = parallelism.attentionDp ?? (a.attention === 'mla' && a.moe !== undefined && G > 1);
  const eff = efficiencyFor(calibration, backend, gpu.id);
  const limits: EngineLimits = { ...calibration.backends[backend].limits };
  if (input.limits?.maxBatch !== undefined) limits.maxBatch = input.limits.maxBatch;
  if (input.limits?.maxNumTokens !== undefined) limits.maxNumTokens = input.limits.maxNumTokens;
  const fam = gpuFamily(calibration, gpu.id);

  const p = paramCounts(a);
  const w = weightBytes(a, dtype);
  const routedBytes = a.moe ? p.moeLayers * a.moe.experts * w.expert : 0;

  // --- memory: attention weights replicate under attention DP, everything else splits over the replica
  const attnPerGpu = attentionDp ? w.attention : w.attention / G;
  const weightBytesPerGpu = attnPerGpu + (w.denseFfn + w.sharedAndRouter + w.lmHead + w.embedding + routedBytes) / G;
  const gpuBytes = gpu.memoryGiB * GiB;
  const reserveBytes = limits.reserveGiB * GiB;
  const free = gpuBytes - weightBytesPerGpu - reserveBytes;
  const kvBytesPerGpu = Math.max(0, free * limits.kvMemFraction);
  const memory: MemoryPlan = { gpuBytes, weightBytesPerGpu, reserveBytes, kvBytesPerGpu, weightsFit: free > 0 };

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

  // --- step time
  const peakLin = peakTflops(gpu, dtype) * 1e12 * eff.mfu * G;
  const peakAttn = peakTflops(gpu, 'bf16') * 1e12 * eff.mfu * G;
  const bw = gpu.memoryBandwidthTBs * 1e12 * eff.bwEff * G;
  const layers = attentionLayers(a);
  const dPre = attentionDims(a, 'prefill');
  const dDec = attentionDims(a, 'decode');
  const kvTokLayer = kvBytesPerTokenLayer(a, kvDtype);
  const nonExpertRead = w.attention * (attentionDp ? G : 1) + w.denseFfn + w.sharedAndRouter + w.lmHead;
  const linNoHead = p.activeLinear - p.lmHead;
  const expertActive = a.moe ? p.moeLayers * a.moe.activeExperts * p.expert : 0;
  const ramp = (m: number): number => m / (m + eff.gemmHalfTokens);
  // Routing skew only shows when experts live on different ranks.
  const imbalance = ep > 1 ? eff.moeSlowdown : 1;
  const crossesNodes = G > gpu.interconnect.domainSize;
  const commBw = (crossesNodes ? (calibration.networkGBs[fam] ?? 25) : gpu.interconnect.bandwidthGBs) * 1e9 * eff.commEff;
  const collectiveMs = (eff.collectiveUs * (crossesNodes ? 3 : 1)) / 1000;
  const actBytes = 2;
  const overheadMs = (a.layers * eff.layerUs) / 1000 + eff.stepMs;

  const step = (batch: StepBatch): StepTime => {
    const P = Math.max(0, batch.prefillTokens);
    const D = Math.max(0, batch.decodeSequences);
    const C = Math.max(0, batch.contextTokens);
    const tokens = P + D;
    if (tokens <= 0) return { totalMs: 0, linearMs: 0, attentionMs: 0, commMs: 0, overheadMs: 0, bound: 'memory' };
    const attended = batch.prefillAttended ?? (P * P) / 2;

    // Linear layers: FLOPs over every token (lm_head only for tokens that sample) vs streaming the weights once.
    // Dense GEMMs see all tokens as M; each routed expert sees tokens·k/E of them, so its GEMMs run at small M.
    const sampling = D + (P > 0 ? 1 : 0);
    const denseFlops = 2 * (linNoHead - expertActive) * tokens + 2 * p.lmHead * sampling;
    const denseCompute = (denseFlops / (peakLin * ramp(attentionDp ? tokens / G : tokens))) * 1000;
    const denseMem = (nonExpertRead / bw) * 1000;
    let expertMs = 0;
    let expertCompute = 0;
    let expertMem = 0;
    if (a.moe) {
      const perExpert = (tokens * a.moe.activeExperts) / a.moe.experts;
      expertCompute = ((2 * expertActive * tokens) / (peakLin * ramp(perExpert))) * 1000 * imbalance;
      expertMem = ((p.moeLayers * expertsTouched(a.moe.experts, a.moe.activeExperts, tokens) * w.expert) / bw) * 1000 * imbalance;
      expertMs = Math.max(expertCompute, expertMem);
    }
    const linCompute = denseCompute + expertCompute;
    const linMem = denseMem + expertMem;
    const linearMs = Math.max(denseCompute, denseMem) + expertMs;

    // Attention: causal prefill FLOPs plus decode reads of the KV cache (windowed layers capped at the window).
    const winAttended = layers.windowed > 0 ? Math.min(attended, P * layers.window) : 0;
    const winCtx = layers.windowed > 0 ? Math.min(C, D * layers.window) : 0;
    const preFlops = 2 * a.heads * (dPre.qk + dPre.v) * (layers.full * attended + layers.windowed * winAttended);
    const decFlops = 2 * a.heads * (dDec.qk + dDec.v) * (layers.full * C + layers.windowed * winCtx);
    const kvRead = kvTokLayer * (layers.full * C + layers.windowed * winCtx) * kvReplication;
    const kvWrite = kvTokLayer * a.layers * tokens * kvReplication;
    const attentionMs = Math.max(((preFlops + decFlops) / peakAttn) * 1000, ((kvRead + kvWrite) / bw) * 1000);

    // Collectives: two ring all-reduces per layer under TP; two all-to-alls per MoE layer under EP.
    let commMs = 0;
    if (G > 1) {
      if (!attentionDp) {
        const m = tokens * a.hiddenSize * actBytes;
        commMs += 2 * a.layers * (((2 * (G - 1)) / G) * (m / commBw) * 1000 + collectiveMs);
      }
      if (a.moe && (ep > 1 || attentionDp)) {
        const perGpu = ((tokens / G) * a.moe.activeExperts * a.hiddenSize * actBytes * (G - 1)) / G;
        commMs += 2 * p.moeLayers * ((perGpu / commBw) * 1000 + collectiveMs);
      }
    }
    const totalMs = linearMs + attentionMs + commMs + overheadMs;
    return { totalMs, linearMs, attentionMs, commMs, overheadMs, bound: linCompute >= linMem ? 'compute' : 'memory' };
  };

  return { input, gpus: G, kvDtype, attentionDp, efficiency: eff, limits, memory, step, capacitySequences, maxBatch };
}
