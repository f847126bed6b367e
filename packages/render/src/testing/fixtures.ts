import { WORKER_POD_DEFAULTS, type Cluster, type Gpu, type ModelCard, type PodSettings, type Recipe } from '@llm-recipes/recipe';
import type { ResolvedRecipe } from '../types.ts';

// Test data shaped like the loader's output; values are realistic but the tests only rely on their structure.

export function modelCard(overrides: Partial<ModelCard> = {}): ModelCard {
  return {
    id: 'qwen3-32b',
    hfId: 'Qwen/Qwen3-32B',
    revision: '9216db5781bf21249d130ec9da846c4624c16137',
    servedName: 'Qwen/Qwen3-32B',
    dtype: 'bf16',
    architecture: {
      family: 'qwen3',
      layers: 64,
      hiddenSize: 5120,
      intermediateSize: 25600,
      heads: 64,
      kvHeads: 8,
      headDim: 128,
      vocabSize: 151936,
      attention: 'gqa',
      totalParamsB: 32.8,
      activeParamsB: 32.8,
      maxContext: 40960,
      tiedEmbeddings: false,
    },
    tokenizer: 'Qwen/Qwen3-32B',
    license: 'Apache-2.0',
    source: 'https://huggingface.co/Qwen/Qwen3-32B/blob/main/config.json',
    ...overrides,
  };
}

export function gpu(overrides: Partial<Gpu> = {}): Gpu {
  return {
    id: 'h100_sxm',
    name: 'NVIDIA H100 SXM5 80GB',
    aliases: ['h100', 'h100-sxm'],
    productLabel: 'NVIDIA-H100-80GB-HBM3',
    arch: 'amd64',
    memoryGiB: 80,
    memoryBandwidthTBs: 3.35,
    tflops: { bf16: 989, fp8: 1979 },
    interconnect: { kind: 'nvlink', bandwidthGBs: 450, domainSize: 8 },
    gpusPerNode: 8,
    tdpW: 700,
    sources: ['https://www.nvidia.com/en-us/data-center/h100/'],
    ...overrides,
  };
}

/** The pod settings every resolved worker pool starts from (the built-in layer's). */
export function workerPod(overrides: PodSettings = {}): PodSettings {
  return { ...(structuredClone(WORKER_POD_DEFAULTS) as unknown as PodSettings), ...overrides };
}

export function worker(overrides: Partial<Recipe['topology']['prefill'] & object> = {}): NonNullable<Recipe['topology']['agg']> {
  return { replicas: 1, tp: 1, pp: 1, ep: 1, dp: 1, nodes: 1, args: {}, pod: workerPod(), ...overrides };
}

export function recipe(overrides: Partial<Recipe> = {}): Recipe {
  return {
    model: 'qwen3-32b',
    backend: {
      name: 'vllm',
      image: 'nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.0',
      args: { 'max-num-seqs': 256, 'enable-prefix-caching': true, 'gpu-memory-utilization': 0.9 },
      extraConfig: 'engine/vllm.yaml',
      env: { VLLM_LOGGING_LEVEL: 'INFO' },
    },
    gpu: 'h100_sxm',
    dtype: 'bf16',
    kvCacheDtype: 'bf16',
    maxModelLen: 32768,
    topology: {
      mode: 'agg',
      router: 'kv',
      frontend: { replicas: 1, args: {} },
      agg: worker({ replicas: 2, tp: 2 }),
      planner: { enabled: false, minReplicas: 1, maxGpuBudget: 8, adjustmentIntervalS: 60 },
    },
    modelCache: {
      pvcName: 'qwen3-32b-cache',
      size: '200Gi',
      accessMode: 'ReadWriteMany',
      mountPath: '/opt/models',
      download: true,
      hfTokenSecret: 'hf-token',
      hfTokenFrom: 'key',
      layout: 'dir',
      mountOnFrontend: false,
    },
    workload: { isl: 512, osl: 128 },
    sla: { ttftMs: 100, itlMs: 15 },
    benchmark: {
      harness: 'llm-recipes',
      image: 'ghcr.io/llm-recipes/llm-recipes:0.1.0',
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
      requestsPerConcurrency: 10,
      warmupRequests: 10,
      warmupPerConcurrency: 1,
      seed: 100,
      sampling: { ignoreEos: true, temperature: 0, repetitionPenalty: 1 },
      extraInputs: {},
      goodput: 'sla',
      trace: { blockSize: 512, speedup: 1, fixedSchedule: true },
    },
    observability: false,
    dgdr: { searchStrategy: 'rapid', autoApply: true, backend: 'recipe' },
    ...overrides,
  };
}

export function disaggRecipe(overrides: Partial<Recipe> = {}): Recipe {
  const base = recipe();
  return {
    ...base,
    topology: {
      ...base.topology,
      mode: 'disagg',
      agg: undefined,
      prefill: worker({ replicas: 2, tp: 2, args: { 'max-num-batched-tokens': 16384 } }),
      decode: worker({ replicas: 1, tp: 4, args: { 'max-num-seqs': 512 } }),
    },
    ...overrides,
  };
}

export function resolved(r: Recipe = recipe(), extra: Partial<ResolvedRecipe> = {}): ResolvedRecipe {
  const id = `${r.model}/${r.backend.name}/h100-sxm`;
  return {
    id,
    name: `${r.model}-${r.backend.name}-h100-sxm`,
    dir: `recipes/${id}`,
    recipe: r,
    model: modelCard(),
    gpu: gpu(),
    engineFiles: r.backend.extraConfig ? [{ path: r.backend.extraConfig, content: 'max-num-batched-tokens: 8192\nblock-size: 16\n' }] : [],
    provenance: {},
    ...extra,
  };
}

export function cluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    name: 'prod',
    dynamoApiVersion: 'v1beta1',
    namespace: 'llm',
    storageClass: 'fast-rwx',
    gitops: ['flux', 'argocd'],
    repo: { url: 'https://github.com/example/llm-recipes.git', branch: 'main', path: 'clusters/prod' },
    gpus: { h100_sxm: { nodes: 4, nodeSelector: { 'node.kubernetes.io/pool': 'gpu-h100' } } },
    recipes: [{ recipe: 'qwen3-32b/vllm/h100-sxm' }],
    ...overrides,
  };
}

/** The same value with every object's keys in another order (seeded), for determinism properties. */
export function reorder(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v) => reorder(v, seed));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    const k = entries.length === 0 ? 0 : seed % entries.length;
    const rotated = [...entries.slice(k), ...entries.slice(0, k)];
    if (seed % 2 === 1) rotated.reverse();
    return Object.fromEntries(rotated.map(([key, v]) => [key, reorder(v, seed + 1)]));
  }
  return value;
}
