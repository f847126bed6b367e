import type { Architecture, Dtype, Gpu } from './types.ts';

/** Bytes per stored element. FP4 counts the NVFP4/MXFP4 block scales (one 8-bit scale per 16 values). */
export function bytesPerElement(dtype: Dtype): number {
  switch (dtype) {
    case 'bf16':
    case 'fp16':
      return 2;
    case 'fp8':
      return 1;
    case 'fp4':
      return 0.5625;
  }
}

/** Parameter counts by role, derived from the architecture (norms and biases ignored). */
export interface ParamCounts {
  /** Attention projections, all layers. */
  attention: number;
  /** Dense FFNs (all layers of a dense model; the leading dense layers of an MoE). */
  denseFfn: number;
  /** One routed expert (gate, up, down). */
  expert: number;
  /** Layers with routed experts. */
  moeLayers: number;
  /** Shared experts + routers, all MoE layers. */
  sharedAndRouter: number;
  /** lm_head (always read at decode). */
  lmHead: number;
  /** Input embedding table (resident, looked up, not streamed). */
  embedding: number;
  /** Everything. */
  total: number;
  /** Linear parameters a token passes through: the 2·P of the FLOP count. */
  activeLinear: number;
}

export function paramCounts(a: Architecture): ParamCounts {
  const h = a.hiddenSize;
  let attnPerLayer: number;
  if (a.attention === 'mla' && a.mla) {
    const m = a.mla;
    const qk = m.qkNopeHeadDim + m.qkRopeHeadDim;
    const q = m.qLoraRank ? h * m.qLoraRank + m.qLoraRank * a.heads * qk : h * a.heads * qk;
    attnPerLayer = q + h * (m.kvLoraRank + m.qkRopeHeadDim) + m.kvLoraRank * a.heads * (m.qkNopeHeadDim + m.vHeadDim) + a.heads * m.vHeadDim * h;
  } else {
    attnPerLayer = 2 * h * a.heads * a.headDim + 2 * h * a.kvHeads * a.headDim;
  }
  const moe = a.moe;
  const denseLayers = moe ? moe.denseLayers : a.layers;
  const moeLayers = a.layers - denseLayers;
  const expert = moe ? 3 * h * moe.expertIntermediateSize : 0;
  const sharedAndRouter = moe ? moeLayers * (moe.sharedExperts * expert + h * moe.experts) : 0;
  const attention = a.layers * attnPerLayer;
  const denseFfn = denseLayers * 3 * h * a.intermediateSize;
  const lmHead = h * a.vocabSize;
  const embedding = a.tiedEmbeddings ? 0 : h * a.vocabSize;
  const routed = moe ? moeLayers * moe.experts * expert : 0;
  const total = attention + denseFfn + routed + sharedAndRouter + lmHead + embedding;
  const activeLinear = attention + denseFfn + (moe ? moeLayers * moe.activeExperts * expert : 0) + sharedAndRouter + lmHead;
  return { attention, denseFfn, expert, moeLayers, sharedAndRouter, lmHead, embedding, total, activeLinear };
}

/** Per-layer attention widths: FLOPs per (query, key) pair = 2·heads·(qkDim + vDim). */
export function attentionDims(a: Architecture, phase: 'prefill' | 'decode'): { qk: number; v: number } {
  if (a.attention === 'mla' && a.mla) {
    // Prefill runs MLA with decompressed heads; decode in the absorbed form (scores over latent + rope, values over latent).
    if (phase === 'prefill') return { qk: a.mla.qkNopeHeadDim + a.mla.qkRopeHeadDim, v: a.mla.vHeadDim };
    return { qk: a.mla.kvLoraRank + a.mla.qkRopeHeadDim, v: a.mla.kvLoraRank };
  }
  return { qk: a.headDim, v: a.headDim };
}

/** KV-cache bytes one token adds in one layer (whole model, no parallelism). */
export function kvBytesPerTokenLayer(a: Architecture, kvDtype: Dtype): number {
  const b = kvDtype === 'fp4' ? 0.5625 : bytesPerElement(kvDtype);
  if (a.attention === 'mla' && a.mla) return (a.mla.kvLoraRank + a.mla.qkRopeHeadDim) * b;
  return 2 * a.kvHeads * a.headDim * b;
}

/** Layers with full attention and layers capped at a sliding window. */
export function attentionLayers(a: Architecture): { full: number; windowed: number; window: number } {
  if (!a.slidingWindow) return { full: a.layers, windowed: 0, window: 0 };
  const full = Math.floor(a.layers / a.slidingWindow.everyNthLayerFull);
  return { full, windowed: a.layers - full, window: a.slidingWindow.size };
}

/** KV bytes of one sequence holding `tokens` of context (whole model). */
export function kvBytesForSequence(a: Architecture, kvDtype: Dtype, tokens: number): number {
  const per = kvBytesPerTokenLayer(a, kvDtype);
  const l = attentionLayers(a);
  return per * (l.full * tokens + l.windowed * Math.min(tokens, l.window));
}

/** KV bytes per token with every layer caching it (the figure model cards quote: Llama-3.1-8B BF16 = 128 KiB). */
export function kvBytesPerToken(a: Architecture, kvDtype: Dtype): number {
  return kvBytesPerTokenLayer(a, kvDtype) * a.layers;
}

/** Weight bytes by role at a weight dtype; embeddings, lm_head and routers stay BF16 as quantized checkpoints keep them. */
export interface WeightBytes {
  attention: number;
  denseFfn: number;
  expert: number;
  sharedAndRouter: number;
  lmHead: number;
  embedding: number;
  total: number;
}

export function weightBytes(a: Architecture, dtype: Dtype): WeightBytes {
  const p = paramCounts(a);
  const w = bytesPerElement(dtype);
  const attention = p.attention * w;
  const denseFfn = p.denseFfn * w;
  const expert = p.expert * w;
  const sharedAndRouter = p.sharedAndRouter * w;
  const lmHead = p.lmHead * 2;
  const embedding = p.embedding * 2;
  const routed = a.moe ? p.moeLayers * a.moe.experts * expert : 0;
  return { attention, denseFfn, expert, sharedAndRouter, lmHead, embedding, total: attention + denseFfn + routed + sharedAndRouter + lmHead + embedding };
}

/** Dense peak TFLOPS for a compute dtype; GPUs without FP8/FP4 tensor cores run those weights at BF16 rate. */
export function peakTflops(gpu: Gpu, dtype: Dtype): number {
  if (dtype === 'fp4') return gpu.tflops.fp4 ?? gpu.tflops.fp8 ?? gpu.tflops.bf16;
  if (dtype === 'fp8') return gpu.tflops.fp8 ?? gpu.tflops.bf16;
  return gpu.tflops.bf16;
}

/** Expected distinct experts hit by `tokens` tokens routed top-k over E experts (uniform routing). */
export function expertsTouched(experts: number, active: number, tokens: number): number {
  if (tokens <= 0) return 0;
  return experts * (1 - Math.pow(1 - active / experts, tokens));
}
