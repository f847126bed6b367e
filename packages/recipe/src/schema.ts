import { z } from 'zod';
import { PodSettingsSchema } from './pod.ts';

// These are the *resolved* shapes: what every consumer (render, estimate, sim, profile) sees after layering.
// Written files are validated against partial forms of the same schemas (see written.ts).

export const DtypeSchema = z.enum(['bf16', 'fp16', 'fp8', 'fp4']).describe('Numeric format of weights or KV cache.');
export type Dtype = z.output<typeof DtypeSchema>;

export const BackendNameSchema = z.enum(['vllm', 'sglang', 'trtllm']).describe('Serving engine.');
export type BackendName = z.output<typeof BackendNameSchema>;

/** DGDR `hardware.gpuSku` vocabulary; `-` and `_` are interchangeable on input. */
export const GpuSkuSchema = z
  .string()
  .regex(/^[a-z0-9_]+$/)
  .describe('GPU id in the DGDR hardware.gpuSku vocabulary, e.g. h100_sxm, h200_sxm, b200_sxm, gb200_sxm, a100_sxm, l40s.');

export const DnsLabelSchema = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label: lower-case letters, digits and "-"')
  .max(63);

/** Directory id of a model under recipes/: like a DNS label but dots are allowed (qwen3-0.6b, llama-3.1-8b). */
export const ModelIdSchema = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be lower-case letters, digits, "-" and "." (e.g. llama-3.1-8b)')
  .max(63);

export const QuantitySchema = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T)?$/, 'must be a Kubernetes quantity such as 200Gi');

// ---------------------------------------------------------------------------------------------
// Model card: recipes/<model>/model.yaml

export const MoeSchema = z.strictObject({
  experts: z.int().positive().describe('Routed experts per MoE layer.'),
  activeExperts: z.int().positive().describe('Routed experts active per token.'),
  sharedExperts: z.int().nonnegative().describe('Always-active shared experts per MoE layer.'),
  expertIntermediateSize: z.int().positive().describe('FFN width of one expert.'),
  denseLayers: z.int().nonnegative().describe('Leading layers with a dense FFN instead of experts (DeepSeek: 3).'),
});

export const MlaSchema = z.strictObject({
  kvLoraRank: z.int().positive().describe('Compressed KV latent width (DeepSeek: 512).'),
  qLoraRank: z.int().positive().optional().describe('Compressed query width (DeepSeek: 1536).'),
  qkRopeHeadDim: z.int().positive().describe('Decoupled RoPE key width cached per token (DeepSeek: 64).'),
  qkNopeHeadDim: z.int().positive().describe('Non-RoPE query/key width per head (DeepSeek: 128).'),
  vHeadDim: z.int().positive().describe('Value width per head (DeepSeek: 128).'),
});

export const ArchitectureSchema = z.strictObject({
  family: z.string().describe('HF config.json model_type, e.g. llama, qwen3, qwen3_moe, deepseek_v3, gpt_oss.'),
  layers: z.int().positive().describe('num_hidden_layers.'),
  hiddenSize: z.int().positive().describe('hidden_size.'),
  intermediateSize: z.int().positive().describe('Dense FFN width (intermediate_size).'),
  heads: z.int().positive().describe('num_attention_heads.'),
  kvHeads: z.int().positive().describe('num_key_value_heads (equal to heads for MHA; for MLA the cached latent is one "head").'),
  headDim: z.int().positive().describe('head_dim.'),
  vocabSize: z.int().positive().describe('vocab_size.'),
  attention: z.enum(['mha', 'gqa', 'mla']).describe('Attention kind; decides the KV-cache size per token.'),
  slidingWindow: z
    .strictObject({ size: z.int().positive(), everyNthLayerFull: z.int().positive() })
    .optional()
    .describe('Alternating sliding-window attention (gpt-oss: window 128, every 2nd layer full).'),
  mla: MlaSchema.optional(),
  moe: MoeSchema.optional(),
  totalParamsB: z.number().positive().describe('Total parameters, billions.'),
  activeParamsB: z.number().positive().describe('Parameters active per token, billions (equal to total for dense models).'),
  maxContext: z.int().positive().describe('max_position_embeddings after RoPE scaling.'),
  tiedEmbeddings: z.boolean().describe('tie_word_embeddings.'),
});
export type Architecture = z.output<typeof ArchitectureSchema>;

export const ModelCardSchema = z.strictObject({
  id: ModelIdSchema.describe('Directory id under recipes/, e.g. qwen3-32b.'),
  hfId: z
    .string()
    // `.` and `..` are not repository names, and as path segments they would move the weights' directory
    .regex(/^(?!\.\.?\/)[\w.-]+\/(?!\.\.?$)[\w.-]+$/, 'a Hugging Face repository id is <org>/<name> of letters, digits, _ . -')
    .describe('Hugging Face repository id, e.g. Qwen/Qwen3-32B.'),
  aliases: z
    .array(z.string().min(1))
    .optional()
    .describe(
      'Other Hugging Face ids with this architecture that `--model` should accept, e.g. a fine-tune or distillation (deepseek-ai/DeepSeek-R1-Distill-Llama-70B). Matched like every id: any case and publisher, variant, release tag and quantisation suffix stripped; each must name one card.',
    ),
  revision: z.string().min(1).describe('Pinned Hugging Face revision (commit sha or tag) the download Job fetches.'),
  servedName: z.string().min(1).describe('Model name the OpenAI API serves; defaults to hfId.'),
  dtype: DtypeSchema.describe('Native dtype of the published weights.'),
  architecture: ArchitectureSchema,
  tokenizer: z.string().min(1).describe('Tokenizer repository (HF id) whose tokenizer.json the harness uses.'),
  license: z.string().describe('SPDX id or name of the model license.'),
  source: z.string().url().describe('Where the architecture facts come from (the config.json URL).'),
});
export type ModelCard = z.output<typeof ModelCardSchema>;

// ---------------------------------------------------------------------------------------------
// GPU catalog: recipes/gpus/<id>.yaml

export const GpuSchema = z.strictObject({
  id: GpuSkuSchema,
  name: z.string().describe('Marketing name, e.g. NVIDIA H100 SXM5 80GB.'),
  aliases: z.array(z.string()).describe('Other names accepted on input (h100, h100-sxm, …).'),
  productLabel: z.string().describe('Value of the nvidia.com/gpu.product node label (GPU feature discovery).'),
  arch: z.enum(['amd64', 'arm64']).describe('CPU architecture of the hosts this GPU ships in.'),
  memoryGiB: z.number().positive().describe('HBM capacity per GPU in GiB.'),
  memoryBandwidthTBs: z.number().positive().describe('HBM bandwidth per GPU in TB/s.'),
  tflops: z
    .strictObject({ bf16: z.number().positive(), fp8: z.number().positive().optional(), fp4: z.number().positive().optional() })
    .describe('Dense tensor-core TFLOPS by dtype (without 2:4 sparsity); absent = not supported.'),
  interconnect: z.strictObject({
    kind: z.enum(['nvlink', 'pcie', 'infinity-fabric']),
    bandwidthGBs: z.number().positive().describe('Per-GPU unidirectional scale-up bandwidth, GB/s.'),
    domainSize: z.int().positive().describe('GPUs in one scale-up (NVLink) domain.'),
  }),
  gpusPerNode: z.int().positive().describe('GPUs in one node as sold (HGX: 8, GB200 NVL72 tray: 4).'),
  tdpW: z.number().positive().describe('Board power, watts.'),
  sources: z.array(z.string()).min(1).describe('References for the figures above.'),
});
export type Gpu = z.output<typeof GpuSchema>;

// ---------------------------------------------------------------------------------------------
// Recipe: recipes/<model>/<backend>/<gpu>/recipe.yaml

/**
 * Recipe fields that configure the engine: each must change the rendered engine flags or engine file of every
 * backend (a test walks this registry), so a setting that claims to configure the engine can never render nothing.
 */
export const ENGINE_FIELDS = z.registry<{ engine: string }>();

export const EngineArgValueSchema = z.union([z.string(), z.number(), z.boolean()]);

export const WorkerSchema = z.strictObject({
  replicas: z.int().nonnegative().describe('Worker replicas (each one engine of tp × pp × dp GPUs).'),
  tp: z
    .int()
    .positive()
    .describe('Tensor-parallel size of one attention rank (with dp > 1, each of the dp ranks has tp GPUs; GPUs per replica = tp × pp × dp).')
    .register(ENGINE_FIELDS, { engine: 'vLLM --tensor-parallel-size tp; SGLang --tp-size tp×dp; TensorRT-LLM tensor_parallel_size tp×dp' }),
  pp: z
    .int()
    .positive()
    .describe('Pipeline-parallel size per replica.')
    .register(ENGINE_FIELDS, { engine: 'vLLM --pipeline-parallel-size; SGLang --pp-size; TensorRT-LLM pipeline_parallel_size' }),
  ep: z
    .int()
    .positive()
    .describe('Expert-parallel size (MoE): experts are spread over ep GPUs; 1 when not used. vLLM spreads experts over every GPU of the replica, so there ep is 1 or tp × dp.')
    .register(ENGINE_FIELDS, { engine: 'vLLM --enable-expert-parallel; SGLang --ep-size; TensorRT-LLM moe_expert_parallel_size' }),
  dp: z
    .int()
    .positive()
    .describe(
      'Attention data-parallel ranks inside one replica (DeepSeek wide-EP); 1 when not used. SGLang\'s `--tp 16 --dp 16 --enable-dp-attention` is tp: 1, dp: 16; vLLM\'s `--tensor-parallel-size 1 --data-parallel-size 16` is the same; TensorRT-LLM\'s enable_attention_dp with tensor_parallel_size 32 is tp: 1, dp: 32.',
    )
    .register(ENGINE_FIELDS, { engine: 'vLLM --data-parallel-size; SGLang --dp-size + --enable-dp-attention; TensorRT-LLM enable_attention_dp' }),
  nodes: z.int().positive().describe('Nodes one replica spans (multinode when > 1); GPUs per node = tp×pp×dp / nodes.'),
  maxModelLen: z
    .int()
    .positive()
    .describe("This pool's context length instead of the recipe's maxModelLen (a prefill pool needs only the prompt, so it can reserve less).")
    .register(ENGINE_FIELDS, { engine: 'vLLM --max-model-len; SGLang --context-length; TensorRT-LLM max_seq_len' })
    .optional(),
  args: z.record(z.string(), EngineArgValueSchema).describe('Engine flags for this role, merged over backend.args.'),
  extraConfig: z
    .string()
    .optional()
    .describe('Engine config file for this role, relative to the recipe directory (vLLM and SGLang --config, TensorRT-LLM --extra-engine-args).'),
  pod: PodSettingsSchema.optional().describe("Kubernetes settings of this pool's pods, merged over the recipe-level pod settings."),
});
export type Worker = z.output<typeof WorkerSchema>;

export const BackendSchema = z.strictObject({
  name: BackendNameSchema,
  image: z
    .string()
    .min(1)
    .describe("Runtime image; default the Dynamo runtime image of the cluster's Dynamo version, e.g. nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.3.0."),
  runtimeVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'a Dynamo release such as 1.3.1')
    .optional()
    .describe(
      "Dynamo release the image runs, when its tag does not say (a custom build such as my-registry/sglang-wideep:my-tag). It decides the worker flags rendered, and is written as runtimeVersionOverride.",
    ),
  args: z.record(z.string(), EngineArgValueSchema).describe('Engine flags for every worker role (--key value).'),
  extraConfig: z
    .string()
    .optional()
    .describe(
      'Engine config file relative to the recipe directory, mounted from a ConfigMap and passed the way the engine reads it: vLLM and SGLang --config, TensorRT-LLM --extra-engine-args (merged with the settings the recipe owns).',
    ),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name is letters, digits and _, not starting with a digit'),
      z.string(),
    )
    .describe('Extra environment variables for every worker (names are shell identifiers: the Slurm target exports them).'),
});

export const TopologySchema = z.strictObject({
  mode: z.enum(['agg', 'disagg']).describe('Aggregated (prefill and decode in one worker) or disaggregated.'),
  router: z.enum(['kv', 'random', 'round-robin']).describe('Frontend routing policy.'),
  frontend: z.strictObject({
    replicas: z.int().positive(),
    args: z
      .record(z.string(), EngineArgValueSchema)
      .describe('Frontend flags beyond --router-mode and --http-port (e.g. router-kv-events, kv-cache-block-size, router-reset-states).'),
    pod: PodSettingsSchema.optional().describe("Kubernetes settings of the frontend pods (the recipe-level pod settings do not apply to the frontend)."),
  }),
  agg: WorkerSchema.optional().describe('The worker pool when mode is agg.'),
  prefill: WorkerSchema.optional().describe('The prefill pool when mode is disagg.'),
  decode: WorkerSchema.optional().describe('The decode pool when mode is disagg.'),
  planner: z
    .strictObject({
      enabled: z.boolean(),
      minReplicas: z.int().positive().describe('Lower bound per worker pool.'),
      maxGpuBudget: z.int().positive().describe('Upper bound on GPUs the planner may use.'),
      adjustmentIntervalS: z.int().positive().describe('Seconds between scaling decisions.'),
    })
    .describe('Dynamo SLA planner (seed 004 enableAutoScaling).'),
});
export type Topology = z.output<typeof TopologySchema>;

export const ModelCacheSchema = z.strictObject({
  pvcName: DnsLabelSchema.describe('PersistentVolumeClaim holding the weights.'),
  size: QuantitySchema.describe('PVC size.'),
  storageClass: z.string().optional().describe('StorageClass; the cluster profile usually sets it.'),
  accessMode: z.enum(['ReadWriteMany', 'ReadWriteOnce']),
  mountPath: z
    .string()
    .regex(/^\/[A-Za-z0-9._\/-]*$/, 'an absolute path of letters, digits and . _ / - (compose, pyxis and Kubernetes split mount specs on : and ,)')
    .describe('Where workers mount the cache.'),
  download: z.boolean().describe('Render a download Job that fills the PVC.'),
  hfTokenSecret: DnsLabelSchema.describe('Secret (key HF_TOKEN) read by the download Job and workers; referenced by name only.'),
  hfTokenFrom: z
    .enum(['key', 'secret', 'none'])
    .describe(
      "How workers read the token: key (HF_TOKEN from the Secret's HF_TOKEN key, optional), secret (every key of the Secret as environment variables, envFromSecret) or none (no token: public weights already in the cache).",
    ),
  layout: z
    .enum(['dir', 'hub'])
    .describe(
      'dir: the weights are in <mountPath>/<dir> and the engine is given that path; hub: the Hugging Face hub cache under HF_HOME=<mountPath>, and the engine is given the Hugging Face id (and the revision unless it is main).',
    ),
  dir: z
    .string()
    .regex(/^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._\/-]+$/, 'a relative path of letters, digits and . _ / - without . or .. segments')
    .optional()
    .describe('With layout dir: the weights\' directory inside the cache (default: the Hugging Face id, e.g. Qwen/Qwen3-32B).'),
  mountOnFrontend: z.boolean().describe('Mount the cache on the frontend too, with HF_HOME set (the frontend reads the tokenizer and chat template from it).'),
});

export const WorkloadSchema = z.strictObject({
  isl: z.int().positive().describe('Input sequence length, tokens (seed 004 default 512).'),
  osl: z.int().positive().describe('Output sequence length, tokens (seed 004 default 128).'),
});

export const SlaSchema = z.strictObject({
  ttftMs: z.number().positive().describe('Time-to-first-token bound, ms (seed 004 default 100).'),
  itlMs: z.number().positive().describe('Inter-token latency bound, ms (seed 004 default 15).'),
  e2eMs: z.number().positive().optional().describe('End-to-end latency bound, ms.'),
});

/** How `--target dgdr` asks the operator to profile the recipe (DynamoGraphDeploymentRequest v1beta1 spec fields). */
export const DgdrSchema = z
  .strictObject({
    searchStrategy: z
      .enum(['rapid', 'thorough'])
      .describe('spec.searchStrategy: rapid simulates candidate configurations with AI Configurator (seconds, no GPUs); thorough deploys and measures them on the cluster (hours).'),
    autoApply: z
      .boolean()
      .describe('spec.autoApply: deploy the selected configuration when profiling ends (true), or stop at phase Ready with it in status for review (false).'),
    backend: z
      .enum(['recipe', 'auto'])
      .describe("spec.backend: recipe sends the recipe's backend; auto lets the profiler choose among vLLM, SGLang and TensorRT-LLM (not with topology.planner.enabled)."),
  })
  .describe('DynamoGraphDeploymentRequest settings used by `recipes render --target dgdr` (defaults: rapid, autoApply true, backend recipe).');

/** SLO bounds for goodput; a request is good when every bound given holds. */
export const GoodputBoundsSchema = z
  .strictObject({
    ttftMs: z.number().positive().optional().describe('Time-to-first-token bound, ms (AIPerf time_to_first_token).'),
    tpotMs: z
      .number()
      .positive()
      .optional()
      .describe('Per-request time-per-output-token bound, ms: (E2E − TTFT) / (output tokens − 1) (AIPerf inter_token_latency).'),
    e2eMs: z.number().positive().optional().describe('End-to-end latency bound, ms (AIPerf request_latency).'),
  })
  .describe('Explicit goodput bounds.');

export const BenchmarkTraceSchema = z
  .strictObject({
    file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Mooncake trace (JSONL: timestamp ms, input_length, output_length, hash_ids) relative to the recipe directory. Shipped to the Job in a ConfigMap, so at most 1 MiB; stage a larger one on the model cache and use volumePath.',
      ),
    volumePath: z
      .string()
      .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._\/-]+$/, 'a path inside the model cache of letters, digits and . _ / -, without ".."')
      .optional()
      .describe('Trace already staged on the model-cache PVC (needs ReadWriteMany), relative to the volume root, e.g. traces/conversation_trace.jsonl. Use it for traces over 1 MiB.'),
    blockSize: z
      .int()
      .positive()
      .describe('Prompt tokens per hash_ids block: 512 in Mooncake\'s traces (AIPerf --prompt-input-tokens-block-size).'),
    speedup: z.number().positive().describe('Replay speed: timestamps are divided by it, so 2 replays twice as fast (AIPerf --synthesis-speedup-ratio).'),
    fixedSchedule: z
      .boolean()
      .describe('true: send each request at its timestamp, at most `concurrency` in flight (AIPerf --fixed-schedule); false: ignore timestamps and replay back to back at each concurrency level (AIPerf --no-fixed-schedule).'),
    maxRequests: z.int().positive().optional().describe('Replay only the first N entries (AIPerf --request-count); default all of them.'),
  })
  .describe('Trace replay for load: trace.');

export const BenchmarkSchema = z.strictObject({
  harness: z.enum(['llm-recipes', 'aiperf']).describe('Which client the benchmark Jobs run.'),
  image: z.string().min(1).describe('Harness image.'),
  api: z.enum(['chat', 'completions']),
  load: z
    .enum(['concurrency', 'rate', 'trace'])
    .describe(
      'concurrency: closed loop, `concurrency` requests in flight per point; rate: open loop at each of `requestRates` (req/s); trace: replay `trace` once per `concurrency` level.',
    ),
  islOsl: z.array(z.tuple([z.int().positive(), z.int().positive()])).min(1).describe('[ISL, OSL] pairs (load: concurrency and rate); one Job per pair.'),
  concurrency: z
    .array(z.int().positive())
    .min(1)
    .describe('Concurrency levels per [ISL, OSL] pair (load: concurrency), or the in-flight cap of each trace replay (load: trace).'),
  requestRates: z.array(z.number().positive()).min(1).optional().describe('Request rates, req/s, one point each (load: rate).'),
  arrival: z.enum(['poisson', 'gamma', 'constant']).describe('Arrival process of load: rate (AIPerf --arrival-pattern).'),
  burstiness: z
    .number()
    .positive()
    .describe('Gamma shape of arrival: gamma; < 1 burstier, > 1 smoother, 1 = Poisson (AIPerf --arrival-smoothness, vLLM --burstiness).'),
  maxConcurrency: z.int().positive().optional().describe('Cap on in-flight requests of load: rate (AIPerf --concurrency with --request-rate).'),
  requestsPerPoint: z
    .int()
    .positive()
    .describe('Measured requests per point (after warmup); with requestsPerConcurrency, the least a concurrency point gets.'),
  requestsPerConcurrency: z
    .int()
    .nonnegative()
    .describe(
      'Measured requests of a concurrency point as a multiple of its concurrency: max(requestsPerPoint, k × concurrency); 0 = always requestsPerPoint. Upstream Dynamo perf Jobs run 10 × concurrency.',
    ),
  warmupRequests: z.int().nonnegative().describe('Warmup requests per point, excluded from results; with warmupPerConcurrency, the least.'),
  warmupPerConcurrency: z
    .int()
    .nonnegative()
    .describe('Warmup requests of a concurrency point as a multiple of its concurrency: max(warmupRequests, k × concurrency); upstream runs 1 × concurrency.'),
  seed: z.int().nonnegative().describe('Seed of prompts, lengths and arrivals: the same seed sends the same requests (AIPerf --random-seed).'),
  datasetEntries: z
    .int()
    .positive()
    .optional()
    .describe('Distinct prompts per point, reused in order past that (AIPerf --num-dataset-entries); default one per request, so no prompt repeats.'),
  sampling: z
    .strictObject({
      ignoreEos: z
        .boolean()
        .describe('Force every output to OSL: ignore_eos: true and min_tokens = OSL (max_tokens is always OSL).'),
      temperature: z.number().nonnegative().optional().describe('temperature sent on every request (0 = greedy).'),
      repetitionPenalty: z.number().positive().optional().describe('repetition_penalty sent on every request (1 = off).'),
    })
    .describe('Sampling fields of every request body.'),
  extraInputs: z
    .record(z.string(), z.json())
    .describe('Further request-body fields, merged last over everything else (AIPerf --extra-inputs), e.g. {nvext: {ignore_eos: true}}.'),
  goodput: z
    .union([z.enum(['sla', 'none']), GoodputBoundsSchema])
    .describe('Goodput SLOs: sla = the recipe\'s sla (ttftMs, itlMs as the TPOT bound, e2eMs); none; or explicit bounds.'),
  trace: BenchmarkTraceSchema,
});
export type Benchmark = z.output<typeof BenchmarkSchema>;

export const RecipeSchema = z.strictObject({
  model: ModelIdSchema.describe('Model id: a directory under recipes/ holding model.yaml.'),
  backend: BackendSchema,
  gpu: GpuSkuSchema,
  dtype: DtypeSchema.describe(
    'Weight dtype served: the checkpoint\'s (the model card\'s, rendered as nothing: the engine reads it from the checkpoint), the other 16-bit format, or fp8 quantized on the fly (vLLM, SGLang).',
  ).register(ENGINE_FIELDS, { engine: 'vLLM/SGLang --dtype or --quantization fp8; TensorRT-LLM dtype' }),
  kvCacheDtype: DtypeSchema.describe('KV-cache dtype; a 16-bit cache is kept in the activation dtype.').register(ENGINE_FIELDS, {
    engine: 'vLLM/SGLang --kv-cache-dtype; TensorRT-LLM kv_cache_config.dtype',
  }),
  maxModelLen: z
    .int()
    .positive()
    .describe('Context length the engine is configured for.')
    .register(ENGINE_FIELDS, { engine: 'vLLM --max-model-len; SGLang --context-length; TensorRT-LLM max_seq_len' }),
  topology: TopologySchema,
  pod: PodSettingsSchema.optional().describe('Kubernetes settings of every worker pool\'s pods (not the frontend); each pool\'s topology.<pool>.pod merges over them.'),
  modelCache: ModelCacheSchema,
  workload: WorkloadSchema,
  sla: SlaSchema,
  benchmark: BenchmarkSchema,
  observability: z.boolean().describe('Render a PodMonitor per component (seed 000 observability switch).'),
  dgdr: DgdrSchema,
});
export type Recipe = z.output<typeof RecipeSchema>;

// ---------------------------------------------------------------------------------------------
// Cluster profile: clusters/<cluster>/cluster.yaml

export const ClusterRecipeRefSchema = z.strictObject({
  recipe: z.string().describe('Recipe directory relative to recipes/, e.g. qwen3-32b/vllm/h100-sxm.'),
  variant: z.string().optional().describe('Variant of that recipe to deploy.'),
  set: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional().describe('Per-cluster --set overrides.'),
});

export const ClusterSchema = z.strictObject({
  name: DnsLabelSchema,
  dynamoApiVersion: z.enum(['v1beta1', 'v1alpha1']).describe('DGD API version the cluster serves.'),
  dynamoVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'a Dynamo release such as 1.3.0')
    .optional()
    .describe(
      'Dynamo release the cluster runs (default: the project\'s pinned release). It picks the default runtime images, and what the planner and the worker command lines look like for that release.',
    ),
  pod: PodSettingsSchema.optional().describe(
    'Pod settings every pod of this cluster gets (frontends and workers): pull secrets, tolerations, node selectors. A layer under the recipe: the recipe\'s own settings win.',
  ),
  workerPod: PodSettingsSchema.optional().describe(
    'Pod settings every worker pod of this cluster gets, over `pod`: RDMA devices, GPU-node tolerations, compute domains. A layer under the recipe.',
  ),
  namespace: DnsLabelSchema,
  storageClass: z.string().optional(),
  gitops: z.array(z.enum(['flux', 'argocd'])).min(1),
  repo: z
    .strictObject({ url: z.string(), branch: z.string(), path: z.string() })
    .describe('Git repository the GitOps tool syncs from; path is this cluster directory.'),
  gpus: z
    .record(z.string(), z.strictObject({ nodes: z.int().positive(), nodeSelector: z.record(z.string(), z.string()).optional() }))
    .describe('GPU inventory by gpuSku: node count and optional extra node labels.'),
  benchmarkImage: z.string().optional().describe('Overrides every recipe benchmark image on this cluster.'),
  engine: z
    .enum(['dynamo', 'sim'])
    .optional()
    .describe(
      'What serves the models (default dynamo). sim swaps every engine worker and the frontend for the project simulator (`recipes sim`, CPU-only, no weights), so a cluster without GPUs (kind) runs the GitOps and benchmark path; the DGD keeps its components, replicas and names.',
    ),
  simImage: z
    .string()
    .min(1)
    .optional()
    .describe('Image the simulated components run with engine: sim (the project image, ENTRYPOINT recipes); default ghcr.io/llm-recipes/llm-recipes:<version>.'),
  observability: z.boolean().optional().describe('Overrides every recipe observability switch on this cluster.'),
  golden: z
    .boolean()
    .optional()
    .describe(
      "Deploy each recipe's promoted configuration (its golden.yaml: backend, dtypes, context length, topology as measured) instead of the recipe as written, where the golden was measured on the variant listed. Set it on production clusters: they change only when a configuration is promoted.",
    ),
  recipes: z.array(ClusterRecipeRefSchema).describe('What this cluster runs.'),
  targets: z
    .array(z.enum(['dgd', 'dgdr', 'standalone', 'argo-workflow', 'distributed-bench']))
    .min(1)
    .optional()
    .describe(
      'What to render per recipe (default [dgd]). dgd is the GitOps tree under workloads/; every other target is rendered to targets/<target>/<recipe>/, applied on demand. llm-d, compose, slurm and helm render with `recipes render --target … --out`.',
    ),
});
export type Cluster = z.output<typeof ClusterSchema>;
