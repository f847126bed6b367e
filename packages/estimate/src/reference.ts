import type { Architecture, Dtype, Gpu } from './types.ts';

// The models and GPUs of the published measurement set (data/perf-published.csv), so calibration and the accuracy
// benchmark are self-contained. Architecture figures are the models' Hugging Face config.json values; GPU figures are
// vendor datasheet values as collected in ai-dynamo/aiconfigurator aic-core/src/aiconfigurator_core/systems/*.yaml
// (commit 095f58a) and SemiAnalysisAI/InferenceX-app packages/app/src/lib/gpu-specs.ts (commit 77ca49a).
// The recipes/ catalog, when present, takes precedence for CLI lookups.

export interface ReferenceModel {
  id: string;
  hfId: string;
  /** Other names the published tables use. */
  aliases: string[];
  /** Native dtype of the published weights. */
  dtype: Dtype;
  architecture: Architecture;
  source: string;
}

const llama = (layers: number, hidden: number, inter: number, heads: number, vocab: number, ctx: number, totalB: number): Architecture => ({
  family: 'llama',
  layers,
  hiddenSize: hidden,
  intermediateSize: inter,
  heads,
  kvHeads: 8,
  headDim: 128,
  vocabSize: vocab,
  attention: 'gqa',
  totalParamsB: totalB,
  activeParamsB: totalB,
  maxContext: ctx,
  tiedEmbeddings: false,
});

const qwen3 = (layers: number, hidden: number, inter: number, heads: number, tied: boolean, totalB: number): Architecture => ({
  family: 'qwen3',
  layers,
  hiddenSize: hidden,
  intermediateSize: inter,
  heads,
  kvHeads: 8,
  headDim: 128,
  vocabSize: 151936,
  attention: 'gqa',
  totalParamsB: totalB,
  activeParamsB: totalB,
  maxContext: 40960,
  tiedEmbeddings: tied,
});

const gptOss = (layers: number, experts: number, totalB: number, activeB: number): Architecture => ({
  family: 'gpt_oss',
  layers,
  hiddenSize: 2880,
  intermediateSize: 2880,
  heads: 64,
  kvHeads: 8,
  headDim: 64,
  vocabSize: 201088,
  attention: 'gqa',
  slidingWindow: { size: 128, everyNthLayerFull: 2 },
  moe: { experts, activeExperts: 4, sharedExperts: 0, expertIntermediateSize: 2880, denseLayers: 0 },
  totalParamsB: totalB,
  activeParamsB: activeB,
  maxContext: 131072,
  tiedEmbeddings: false,
});

const deepseekV3: Architecture = {
  family: 'deepseek_v3',
  layers: 61,
  hiddenSize: 7168,
  intermediateSize: 18432,
  heads: 128,
  kvHeads: 128,
  headDim: 128,
  vocabSize: 129280,
  attention: 'mla',
  mla: { kvLoraRank: 512, qLoraRank: 1536, qkRopeHeadDim: 64, qkNopeHeadDim: 128, vHeadDim: 128 },
  moe: { experts: 256, activeExperts: 8, sharedExperts: 1, expertIntermediateSize: 2048, denseLayers: 3 },
  totalParamsB: 671,
  activeParamsB: 37.6,
  maxContext: 163840,
  tiedEmbeddings: false,
};

const hf = (id: string): string => `https://huggingface.co/${id}/blob/main/config.json`;

export const referenceModels: ReferenceModel[] = [
  { id: 'llama-3.1-8b', hfId: 'meta-llama/Llama-3.1-8B-Instruct', aliases: ['Llama-3.1-8B', 'Llama-3.1-8B-Instruct'], dtype: 'bf16', architecture: llama(32, 4096, 14336, 32, 128256, 131072, 8.03), source: hf('meta-llama/Llama-3.1-8B-Instruct') },
  { id: 'llama-3.3-70b', hfId: 'meta-llama/Llama-3.3-70B-Instruct', aliases: ['Llama-3.3-70B-Instruct', 'Llama-3.1-70B', 'Llama-3.1-70B-Instruct', 'meta-llama/Llama-3.1-70B-Instruct'], dtype: 'bf16', architecture: llama(80, 8192, 28672, 64, 128256, 131072, 70.55), source: hf('meta-llama/Llama-3.3-70B-Instruct') },
  { id: 'llama-3.1-405b', hfId: 'meta-llama/Llama-3.1-405B-Instruct', aliases: ['Llama-3.1-405B', 'Llama-3.1-405B-Instruct'], dtype: 'bf16', architecture: llama(126, 16384, 53248, 128, 128256, 131072, 405.8), source: hf('meta-llama/Llama-3.1-405B-Instruct') },
  { id: 'llama-2-70b', hfId: 'meta-llama/Llama-2-70b-chat-hf', aliases: ['Llama-2-70B-chat'], dtype: 'bf16', architecture: llama(80, 8192, 28672, 64, 32000, 4096, 69), source: hf('meta-llama/Llama-2-70b-chat-hf') },
  { id: 'qwen3-0.6b', hfId: 'Qwen/Qwen3-0.6B', aliases: [], dtype: 'bf16', architecture: qwen3(28, 1024, 3072, 16, true, 0.6), source: hf('Qwen/Qwen3-0.6B') },
  { id: 'qwen3-8b', hfId: 'Qwen/Qwen3-8B', aliases: [], dtype: 'bf16', architecture: qwen3(36, 4096, 12288, 32, false, 8.19), source: hf('Qwen/Qwen3-8B') },
  { id: 'qwen3-32b', hfId: 'Qwen/Qwen3-32B', aliases: [], dtype: 'bf16', architecture: qwen3(64, 5120, 25600, 64, false, 32.76), source: hf('Qwen/Qwen3-32B') },
  {
    id: 'qwen3-235b-a22b',
    hfId: 'Qwen/Qwen3-235B-A22B',
    aliases: ['Qwen3-235B-A22B'],
    dtype: 'bf16',
    architecture: {
      ...qwen3(94, 4096, 12288, 64, false, 235.1),
      family: 'qwen3_moe',
      kvHeads: 4,
      moe: { experts: 128, activeExperts: 8, sharedExperts: 0, expertIntermediateSize: 1536, denseLayers: 0 },
      activeParamsB: 22.2,
    },
    source: hf('Qwen/Qwen3-235B-A22B'),
  },
  { id: 'deepseek-r1', hfId: 'deepseek-ai/DeepSeek-R1', aliases: ['DeepSeek-R1', 'DeepSeek-R1-0528', 'DeepSeek-V3', 'deepseek-ai/DeepSeek-V3', 'deepseek-ai/DeepSeek-R1-0528'], dtype: 'fp8', architecture: deepseekV3, source: hf('deepseek-ai/DeepSeek-R1') },
  { id: 'gpt-oss-120b', hfId: 'openai/gpt-oss-120b', aliases: [], dtype: 'fp4', architecture: gptOss(36, 128, 116.8, 5.1), source: hf('openai/gpt-oss-120b') },
  { id: 'gpt-oss-20b', hfId: 'openai/gpt-oss-20b', aliases: [], dtype: 'fp4', architecture: gptOss(24, 32, 20.9, 3.6), source: hf('openai/gpt-oss-20b') },
];

const AIC = 'https://github.com/ai-dynamo/aiconfigurator/tree/095f58a/aic-core/src/aiconfigurator_core/systems';
const IX = 'https://github.com/SemiAnalysisAI/InferenceX-app/blob/77ca49a/packages/app/src/lib/gpu-specs.ts';

export const referenceGpus: Gpu[] = [
  { id: 'h100_sxm', name: 'NVIDIA H100 SXM5 80GB', aliases: ['h100', 'h100-sxm', 'H100 SXM'], productLabel: 'NVIDIA-H100-80GB-HBM3', arch: 'amd64', memoryGiB: 80, memoryBandwidthTBs: 3.35, tflops: { bf16: 989, fp8: 1979 }, interconnect: { kind: 'nvlink', bandwidthGBs: 450, domainSize: 8 }, gpusPerNode: 8, tdpW: 700, sources: [AIC, IX] },
  { id: 'h200_sxm', name: 'NVIDIA H200 SXM 141GB', aliases: ['h200', 'h200-sxm', 'H200 SXM'], productLabel: 'NVIDIA-H200', arch: 'amd64', memoryGiB: 141, memoryBandwidthTBs: 4.8, tflops: { bf16: 989, fp8: 1979 }, interconnect: { kind: 'nvlink', bandwidthGBs: 450, domainSize: 8 }, gpusPerNode: 8, tdpW: 700, sources: [AIC, IX] },
  { id: 'b200_sxm', name: 'NVIDIA B200 180GB', aliases: ['b200', 'b200-sxm', 'B200'], productLabel: 'NVIDIA-B200', arch: 'amd64', memoryGiB: 167.6, memoryBandwidthTBs: 7.7, tflops: { bf16: 2250, fp8: 4500, fp4: 9000 }, interconnect: { kind: 'nvlink', bandwidthGBs: 900, domainSize: 8 }, gpusPerNode: 8, tdpW: 1000, sources: [AIC, IX] },
  { id: 'gb200_sxm', name: 'NVIDIA GB200 (NVL72)', aliases: ['gb200', 'GB200'], productLabel: 'NVIDIA-GB200', arch: 'arm64', memoryGiB: 185, memoryBandwidthTBs: 8, tflops: { bf16: 2500, fp8: 5000, fp4: 10000 }, interconnect: { kind: 'nvlink', bandwidthGBs: 900, domainSize: 72 }, gpusPerNode: 4, tdpW: 1200, sources: [AIC, IX] },
  { id: 'a100_sxm', name: 'NVIDIA A100 SXM4 80GB', aliases: ['a100', 'a100-sxm', 'A100 SXM 80GB'], productLabel: 'NVIDIA-A100-SXM4-80GB', arch: 'amd64', memoryGiB: 80, memoryBandwidthTBs: 2.039, tflops: { bf16: 312 }, interconnect: { kind: 'nvlink', bandwidthGBs: 300, domainSize: 8 }, gpusPerNode: 8, tdpW: 400, sources: [AIC, 'https://github.com/hahnyuan/LLM-Viewer/blob/472f71f/hardwares/hardware_params.py'] },
  { id: 'l40s', name: 'NVIDIA L40S 48GB', aliases: ['L40S'], productLabel: 'NVIDIA-L40S', arch: 'amd64', memoryGiB: 45, memoryBandwidthTBs: 0.864, tflops: { bf16: 362.05, fp8: 733 }, interconnect: { kind: 'pcie', bandwidthGBs: 32, domainSize: 8 }, gpusPerNode: 8, tdpW: 350, sources: [AIC] },
];
