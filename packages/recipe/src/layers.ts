import { defaultRuntimeImage, DYNAMO_VERSION } from './dynamo.ts';
import type { BackendName, Dtype, Gpu, ModelCard } from './schema.ts';

export { DYNAMO_VERSION };
/** Image of the product's own benchmark harness. */
export const HARNESS_IMAGE = 'ghcr.io/llm-recipes/llm-recipes:0.1.0';

/** Engine flags every recipe of a backend starts from (memory headroom the engines document as safe). */
const BACKEND_ARGS: Record<BackendName, Record<string, string | number | boolean>> = {
  vllm: { 'gpu-memory-utilization': 0.9 },
  sglang: { 'mem-fraction-static': 0.85 },
  trtllm: {},
};

/** Values of a worker pool nobody wrote; applied under each pool the recipe declares. */
export const WORKER_DEFAULTS = { replicas: 1, tp: 1, pp: 1, ep: 1, dp: 1, nodes: 1, args: {} } as const;

/**
 * Pod settings every worker pool starts from: GPU nodes are commonly tainted nvidia.com/gpu:NoSchedule by the GPU
 * Operator, and a pool runs on nodes of the recipe's GPU. Both are ordinary values: `tolerations: []` or
 * `gpuNodes: any` in any layer removes them.
 */
export const WORKER_POD_DEFAULTS = {
  tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
  gpuNodes: 'product',
} as const;

/** Built-in defaults: the lowest layer. Workload and SLA follow the DGDR proposal's defaults (512/128, 100/15 ms). */
export function builtinDefaults(): Record<string, unknown> {
  return {
    backend: { args: {}, env: {} },
    topology: {
      mode: 'agg',
      router: 'kv',
      frontend: { replicas: 1, args: {} },
      planner: { enabled: false, minReplicas: 1, maxGpuBudget: 8, adjustmentIntervalS: 60 },
    },
    modelCache: {
      accessMode: 'ReadWriteMany',
      mountPath: '/opt/models',
      download: true,
      hfTokenSecret: 'hf-token-secret',
      hfTokenFrom: 'key',
      layout: 'dir',
      mountOnFrontend: false,
    },
    pod: structuredClone(WORKER_POD_DEFAULTS),
    workload: { isl: 512, osl: 128 },
    sla: { ttftMs: 100, itlMs: 15 },
    benchmark: {
      harness: 'llm-recipes',
      image: HARNESS_IMAGE,
      api: 'chat',
      load: 'concurrency',
      islOsl: [
        [1024, 1024],
        [8192, 1024],
      ],
      concurrency: [1, 4, 16, 64],
      arrival: 'poisson',
      burstiness: 1,
      requestsPerPoint: 200,
      // upstream Dynamo perf Jobs: --request-count 10×concurrency, --warmup-request-count concurrency, --random-seed 100,
      // temperature 0 and repetition_penalty 1 (ai-dynamo/dynamo recipes/llama-3-70b/vllm/agg/perf.yaml @0d348a12)
      requestsPerConcurrency: 10,
      warmupRequests: 10,
      warmupPerConcurrency: 1,
      seed: 100,
      sampling: { ignoreEos: true, temperature: 0, repetitionPenalty: 1 },
      extraInputs: {},
      goodput: 'sla',
      // Mooncake's block size (AIPerf mooncake_trace default, ai-dynamo/aiperf prompt_config.py @11574fed)
      trace: { blockSize: 512, speedup: 1, fixedSchedule: true },
    },
    observability: false,
    // the CRD's own defaults, written out so `recipes recipe explain` shows them
    dgdr: { searchStrategy: 'rapid', autoApply: true, backend: 'recipe' },
  };
}

const BYTES_PER_PARAM: Record<Dtype, number> = { bf16: 2, fp16: 2, fp8: 1, fp4: 0.5 };

/** PVC size for a model's weights: parameters × bytes, +15 % for tokenizer/config/shards, rounded up to 10 Gi. */
export function modelCacheSize(card: ModelCard): string {
  const gib = (card.architecture.totalParamsB * 1e9 * BYTES_PER_PARAM[card.dtype] * 1.15) / 2 ** 30;
  return `${Math.max(10, Math.ceil(gib / 10) * 10)}Gi`;
}

/** Weight bytes per GPU-independent parameter for a dtype. */
export function bytesPerParam(dtype: Dtype): number {
  return BYTES_PER_PARAM[dtype];
}

/** Model-card layer and, per output path, the card field it comes from (for provenance). */
export function modelLayer(card: ModelCard): { data: Record<string, unknown>; origin: Record<string, (string | number)[]> } {
  return {
    data: {
      dtype: card.dtype,
      // quantized checkpoints (fp8/fp4 weights) still keep a 16-bit KV cache unless the recipe asks otherwise
      kvCacheDtype: card.dtype === 'fp16' ? 'fp16' : 'bf16',
      maxModelLen: card.architecture.maxContext,
      modelCache: { pvcName: `${dnsLabel(card.id).slice(0, 57)}-cache`, size: modelCacheSize(card) },
    },
    origin: {
      dtype: ['dtype'],
      kvCacheDtype: ['dtype'],
      maxModelLen: ['architecture', 'maxContext'],
      'modelCache.pvcName': ['id'],
      'modelCache.size': ['architecture', 'totalParamsB'],
    },
  };
}

/** Backend layer: the runtime image of `dynamoVersion` (the cluster's, else the pinned one) and the engine's defaults. */
export function backendLayer(name: BackendName, dynamoVersion: string = DYNAMO_VERSION): Record<string, unknown> {
  return { backend: { image: defaultRuntimeImage(name, dynamoVersion), args: { ...BACKEND_ARGS[name] } } };
}

/** True when the GPU has tensor cores for `dtype` (16-bit everywhere; fp8 from Ada/Hopper; fp4 on Blackwell). */
export function gpuSupports(gpu: Gpu, dtype: Dtype): boolean {
  if (dtype === 'bf16' || dtype === 'fp16') return true;
  return gpu.tflops[dtype] !== undefined;
}

const WIDER: Record<Dtype, Dtype | undefined> = { fp4: 'fp8', fp8: 'bf16', bf16: undefined, fp16: undefined };

function fit(gpu: Gpu, dtype: Dtype): Dtype {
  let d: Dtype | undefined = dtype;
  while (d !== undefined && !gpuSupports(gpu, d)) d = WIDER[d];
  return d ?? 'bf16';
}

/** GPU layer: a card dtype the GPU cannot run (fp4 before Blackwell, fp8 on A100) falls back to the next wider one. */
export function gpuLayer(gpu: Gpu, card: ModelCard | undefined): Record<string, unknown> {
  if (card === undefined) return {};
  const out: Record<string, unknown> = {};
  const dtype = fit(gpu, card.dtype);
  if (dtype !== card.dtype) out.dtype = dtype;
  return out;
}

/** Model ids may hold dots (llama-3.1-8b); Kubernetes names may not. */
export function dnsLabel(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
}
