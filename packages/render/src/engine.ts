import { posix } from 'node:path';
import { Document, parseDocument, isMap } from 'yaml';
import type { BackendName, Dtype, DynamoRelease, ModelCard, Recipe, Worker } from '@llm-recipes/recipe';
import type { Issue } from '@llm-recipes/errors';
import type { ResolvedRecipe } from './types.ts';

/** Where workers find the engine ConfigMap. */
export const ENGINE_MOUNT_PATH = '/etc/dynamo/engine';

export type Role = 'agg' | 'prefill' | 'decode';
export type ArgValue = string | number | boolean;

/**
 * How each backend's Dynamo worker takes its settings (components/src/dynamo/{vllm,sglang,trtllm} @ the commits in
 * docs/rendering.md): the module, the flags the recipe's structure sets (with the aliases argparse accepts for each,
 * so a duplicate is found however it is spelt) and how the engine reads an engine file. vLLM and SGLang read a YAML
 * of CLI flags with `--config` (flags win over the file), so structure stays on the command line and the file is
 * passed as written; TensorRT-LLM reads LLM-API options with `--extra-engine-args` and applies them over its flags,
 * so its structure is written into the engine file and the command line carries none of it.
 */
interface BackendEngine {
  module: string;
  modelFlag: string;
  configFlag: '--config' | '--extra-engine-args';
  /** Structural settings live on the command line (flags) or in the engine file the renderer writes (file). */
  structure: 'flags' | 'file';
  /** Canonical flag (without dashes) → every spelling that sets the same destination. */
  owned: Record<string, string[]>;
  /** Engine-file keys (dotted) the renderer owns, TensorRT-LLM only. */
  ownedFileKeys: string[];
}

export const ENGINES: Record<BackendName, BackendEngine> = {
  vllm: {
    module: 'dynamo.vllm',
    modelFlag: '--model',
    configFlag: '--config',
    structure: 'flags',
    owned: {
      model: ['model'],
      'served-model-name': ['served-model-name'],
      revision: ['revision'],
      'tensor-parallel-size': ['tensor-parallel-size', 'tp'],
      'pipeline-parallel-size': ['pipeline-parallel-size', 'pp'],
      'data-parallel-size': ['data-parallel-size', 'dp'],
      'enable-expert-parallel': ['enable-expert-parallel', 'ep'],
      'max-model-len': ['max-model-len'],
      dtype: ['dtype'],
      quantization: ['quantization', 'q'],
      'kv-cache-dtype': ['kv-cache-dtype'],
      'disaggregation-mode': ['disaggregation-mode'],
      'is-prefill-worker': ['is-prefill-worker'],
      'is-decode-worker': ['is-decode-worker'],
      config: ['config'],
    },
    ownedFileKeys: [],
  },
  sglang: {
    module: 'dynamo.sglang',
    modelFlag: '--model-path',
    configFlag: '--config',
    structure: 'flags',
    owned: {
      'model-path': ['model-path', 'model'],
      'served-model-name': ['served-model-name'],
      revision: ['revision'],
      'tp-size': ['tp-size', 'tp', 'tensor-parallel-size'],
      'pp-size': ['pp-size', 'pp', 'pipeline-parallel-size'],
      'dp-size': ['dp-size', 'dp', 'data-parallel-size'],
      'enable-dp-attention': ['enable-dp-attention'],
      'ep-size': ['ep-size', 'ep', 'expert-parallel-size'],
      'context-length': ['context-length'],
      dtype: ['dtype'],
      quantization: ['quantization'],
      'kv-cache-dtype': ['kv-cache-dtype'],
      'disaggregation-mode': ['disaggregation-mode'],
      config: ['config'],
    },
    ownedFileKeys: [],
  },
  trtllm: {
    module: 'dynamo.trtllm',
    modelFlag: '--model-path',
    configFlag: '--extra-engine-args',
    structure: 'file',
    owned: {
      'model-path': ['model-path', 'model'],
      'served-model-name': ['served-model-name'],
      'extra-engine-args': ['extra-engine-args'],
      'disaggregation-mode': ['disaggregation-mode'],
      // Dynamo's TRT-LLM worker also has these flags; the engine file the renderer writes is where they are set
      'tensor-parallel-size': ['tensor-parallel-size'],
      'pipeline-parallel-size': ['pipeline-parallel-size'],
      'expert-parallel-size': ['expert-parallel-size'],
      'enable-attention-dp': ['enable-attention-dp'],
      'max-seq-len': ['max-seq-len'],
      'override-engine-args': ['override-engine-args'],
    },
    ownedFileKeys: [
      'tensor_parallel_size',
      'pipeline_parallel_size',
      'moe_expert_parallel_size',
      'enable_attention_dp',
      'max_seq_len',
      'build_config.max_seq_len',
      'dtype',
      'kv_cache_config.dtype',
      'revision',
    ],
  },
};

/** What the recipe's structure sets: the flags, and for TensorRT-LLM the engine-file options. */
export interface EngineStructure {
  /** [flag without dashes, value]; `true` renders a bare switch. */
  flags: [string, ArgValue][];
  /** Dotted engine-file key → value (TensorRT-LLM). */
  file: [string, ArgValue][];
}

export interface EngineContext {
  resolved: ResolvedRecipe;
  recipe: Recipe;
  release: DynamoRelease;
  /** What the engine is given as its model: a path in the cache or the Hugging Face id. */
  modelRef: string;
  servedName: string;
  issues: Issue[];
  file: string;
}

function is16(d: Dtype): d is 'bf16' | 'fp16' {
  return d === 'bf16' || d === 'fp16';
}

const WIDTH: Record<Dtype, number> = { fp4: 4, fp8: 8, bf16: 16, fp16: 16 };
const TORCH: Record<'bf16' | 'fp16', string> = { bf16: 'bfloat16', fp16: 'float16' };

/** The dtype activations run in: the served 16-bit dtype, else the checkpoint's 16-bit format (bf16 unless fp16). */
export function activationDtype(recipe: Recipe, card: ModelCard): 'bf16' | 'fp16' {
  if (is16(recipe.dtype)) return recipe.dtype;
  return card.dtype === 'fp16' ? 'fp16' : 'bf16';
}

function layerOf(resolved: ResolvedRecipe, path: string): string | undefined {
  return resolved.provenance[path]?.layer;
}

/** The dtype and KV-cache settings of one backend (flags or engine-file options), or issues where the engine cannot do it. */
function precision(ctx: EngineContext, backend: BackendName): { flags: [string, ArgValue][]; file: [string, ArgValue][] } {
  const { recipe, resolved } = ctx;
  const card = resolved.model;
  const flags: [string, ArgValue][] = [];
  const file: [string, ArgValue][] = [];
  const push = (path: string[], message: string, hint: string): void => {
    ctx.issues.push({ code: 'RENDER_DTYPE', file: ctx.file, path, message, hint });
  };
  const d = recipe.dtype;
  const c = card.dtype;
  // The GPU layer narrows the card's format for the performance model (MXFP4 on Hopper is costed as fp8); the
  // engine still serves the checkpoint as it is, so nothing is rendered for it.
  if (d !== c && layerOf(resolved, 'dtype') !== 'gpu') {
    if (is16(d) && is16(c)) {
      if (backend === 'trtllm') file.push(['dtype', TORCH[d]]);
      else flags.push(['dtype', TORCH[d]]);
    } else if (is16(c) && d === 'fp8' && backend !== 'trtllm') {
      // on-the-fly FP8 quantization of 16-bit weights (vLLM and SGLang --quantization fp8)
      flags.push(['quantization', 'fp8']);
    } else if (WIDTH[d] > WIDTH[c]) {
      push(['dtype'], `${card.id}'s weights are ${c}; no engine flag widens them to ${d}`, `use a ${d} checkpoint (a model card with hfId of one) or set dtype: ${c}`);
    } else {
      push(
        ['dtype'],
        backend === 'trtllm'
          ? `TensorRT-LLM serves pre-quantized checkpoints; it cannot quantize ${c} weights to ${d} on load`
          : `${backend === 'vllm' ? 'vLLM' : 'SGLang'} quantizes 16-bit weights on load only to fp8, not ${d}`,
        `use a ${d} checkpoint (a model card whose hfId is one, e.g. an NVFP4/FP8 release) or set dtype: ${c}`,
      );
    }
  }
  const k = recipe.kvCacheDtype;
  const a = activationDtype(recipe, card);
  if (is16(k)) {
    // a 16-bit cache is the activation dtype; the model card's default follows the served dtype
    const layer = layerOf(resolved, 'kvCacheDtype');
    if (k !== a && layer !== 'model' && layer !== 'default' && layer !== undefined) {
      push(['kvCacheDtype'], `a 16-bit KV cache is kept in the activation dtype (${a}), not ${k}`, `set kvCacheDtype: ${a}, or fp8`);
    }
  } else if (k === 'fp8') {
    if (backend === 'vllm') flags.push(['kv-cache-dtype', 'fp8']);
    else if (backend === 'sglang') flags.push(['kv-cache-dtype', 'fp8_e4m3']);
    else file.push(['kv_cache_config.dtype', 'fp8']);
  } else if (backend === 'vllm') {
    push(['kvCacheDtype'], 'vLLM has no fp4 KV cache', 'set kvCacheDtype: fp8');
  } else if (backend === 'sglang') {
    flags.push(['kv-cache-dtype', 'fp4_e2m1']);
  } else {
    file.push(['kv_cache_config.dtype', 'nvfp4']);
  }
  return { flags, file };
}

/** GPUs of one replica: tp × pp × dp (dp attention ranks of tp GPUs each). */
export function gpusOfReplica(worker: Pick<Worker, 'tp' | 'pp' | 'dp'>): number {
  return worker.tp * worker.pp * worker.dp;
}

/**
 * The flags (and TensorRT-LLM engine-file options) the recipe's structure sets for one pool: model, served name,
 * parallelism, context length, dtypes, disaggregation role. Everything else comes from backend.args, the pool's
 * args and the engine file.
 */
export function engineStructure(ctx: EngineContext, role: Role, worker: Worker): EngineStructure {
  const { recipe, resolved, release } = ctx;
  const backend = recipe.backend.name;
  const flags: [string, ArgValue][] = [];
  const file: [string, ArgValue][] = [];
  const hub = recipe.modelCache.layout === 'hub' && resolved.model.revision !== 'main';
  const issue = (field: string, message: string, hint: string): void => {
    ctx.issues.push({ code: 'RENDER_PARALLELISM', file: ctx.file, path: ['topology', role, field], message, hint });
  };
  const moe = resolved.model.architecture.moe !== undefined;

  flags.push([ENGINES[backend].modelFlag.slice(2), ctx.modelRef], ['served-model-name', ctx.servedName]);
  if (backend === 'vllm') {
    if (hub) flags.push(['revision', resolved.model.revision]);
    flags.push(['tensor-parallel-size', worker.tp]);
    if (worker.pp > 1) flags.push(['pipeline-parallel-size', worker.pp]);
    if (worker.dp > 1) flags.push(['data-parallel-size', worker.dp]);
    if (worker.ep > 1) {
      // vLLM spreads the experts over every GPU of the engine (EP = TP × DP); a smaller EP group is not a flag
      if (worker.ep !== worker.tp * worker.dp) {
        issue('ep', `vLLM expert parallelism spans all tp × dp = ${worker.tp * worker.dp} GPUs of a replica, not ${worker.ep}`, `set topology.${role}.ep to ${worker.tp * worker.dp} or 1`);
      }
      flags.push(['enable-expert-parallel', true]);
    }
    flags.push(['max-model-len', worker.maxModelLen ?? recipe.maxModelLen]);
  } else if (backend === 'sglang') {
    if (hub) flags.push(['revision', resolved.model.revision]);
    // SGLang's TP group spans every attention-DP rank: --tp-size is the replica's GPUs (per pipeline stage)
    flags.push(['tp-size', worker.tp * worker.dp]);
    if (worker.pp > 1) flags.push(['pp-size', worker.pp]);
    if (worker.dp > 1) flags.push(['dp-size', worker.dp], ['enable-dp-attention', true]);
    if (worker.ep > 1) flags.push(['ep-size', worker.ep]);
    flags.push(['context-length', worker.maxModelLen ?? recipe.maxModelLen]);
  } else {
    // TensorRT-LLM's attention DP gives each rank one GPU (attention_dp_size = tensor_parallel_size)
    if (worker.dp > 1 && worker.tp > 1) {
      issue('tp', `TensorRT-LLM attention data parallelism runs one GPU per attention rank, so tp must be 1 when dp is ${worker.dp}`, `set topology.${role}.tp: 1 and dp: ${worker.tp * worker.dp}`);
    }
    file.push(['tensor_parallel_size', worker.tp * worker.dp], ['pipeline_parallel_size', worker.pp], ['enable_attention_dp', worker.dp > 1]);
    if (moe) file.push(['moe_expert_parallel_size', worker.ep]);
    file.push(['max_seq_len', worker.maxModelLen ?? recipe.maxModelLen]);
    if (hub) file.push(['revision', resolved.model.revision]);
  }
  const p = precision(ctx, backend);
  flags.push(...p.flags);
  file.push(...p.file);
  if (role !== 'agg') {
    if (backend === 'vllm' && release.vllmRoleFlag === 'is-prefill-worker') {
      // before Dynamo 1.0 a vLLM worker is a decode worker unless it is told to prefill
      if (role === 'prefill') flags.push(['is-prefill-worker', true]);
    } else {
      flags.push(['disaggregation-mode', role]);
    }
  }
  return { flags, file };
}

/** Flag name as argparse compares it: no leading dashes; vLLM also reads `_` as `-`. */
export function flagKey(raw: string, backend: BackendName): string {
  const k = raw.replace(/^--?/, '');
  return backend === 'trtllm' ? k : k.replace(/_/g, '-');
}

/** The canonical owned flag a spelling sets, if any. */
export function ownedFlag(backend: BackendName, raw: string): string | undefined {
  const k = flagKey(raw, backend);
  for (const [canonical, spellings] of Object.entries(ENGINES[backend].owned)) {
    if (spellings.some((s) => flagKey(s, backend) === k)) return canonical;
  }
  return undefined;
}

/**
 * Turns flags into CLI tokens: `--key value`, `true` as a bare flag, `false` left out. A free-form value that starts
 * with "-" would read as a flag of its own, so it takes the `=` form; structural values (paths, names, sizes the
 * renderer derives) keep the two-token form the engines document.
 */
export function flagTokens(flags: readonly [string, ArgValue][], form: 'free' | 'structural' = 'free'): string[] {
  const out: string[] = [];
  for (const [key, value] of flags) {
    if (value === false) continue;
    const flag = `--${key}`;
    if (value === true) out.push(flag);
    else if (form === 'free' && String(value).startsWith('-')) out.push(`${flag}=${String(value)}`);
    else out.push(flag, String(value));
  }
  return out;
}

/** ConfigMap keys allow [-._a-zA-Z0-9]; a path like engine/prefill.yaml becomes engine-prefill.yaml. */
export function configMapKey(path: string): string {
  return posix.normalize(path).replace(/^(\.\/)+/, '').replace(/[^-._a-zA-Z0-9]+/g, '-');
}

function flatKeys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    out.push(key);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) out.push(...flatKeys(v, key));
  }
  return out;
}

// Parsed engine files by content: a workspace renders the same file once per cluster (and often for many recipes).
// Callers never change a cached Document (trtllmEngineFile clones it); the bound keeps a long-lived process small.
const parsedFiles = new Map<string, Document.Parsed>();
const PARSED_FILES_MAX = 512;

function parseCached(content: string): Document.Parsed {
  let doc = parsedFiles.get(content);
  if (doc === undefined) {
    if (parsedFiles.size >= PARSED_FILES_MAX) parsedFiles.clear();
    doc = parseDocument(content, { prettyErrors: false, uniqueKeys: true });
    parsedFiles.set(content, doc);
  }
  return doc;
}

/** Parses an engine file as YAML; an issue (and undefined) when it is not a mapping. */
export function parseEngineFile(content: string, where: { issues: Issue[]; file: string; path: (string | number)[]; name: string }): Document | undefined {
  const doc = parseCached(content);
  const problem = doc.errors[0];
  if (problem !== undefined) {
    where.issues.push({ code: 'RENDER_ENGINE_FILE', file: where.file, path: where.path, message: `engine file ${where.name} is not valid YAML: ${problem.message.split('\n')[0]}`, hint: 'fix the YAML syntax' });
    return undefined;
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    where.issues.push({ code: 'RENDER_ENGINE_FILE', file: where.file, path: where.path, message: `engine file ${where.name} must be a YAML mapping of options`, hint: 'write one option per line, e.g. max-num-seqs: 256' });
    return undefined;
  }
  return doc;
}

/**
 * Checks that an engine file sets nothing the recipe's structure owns (one source of truth per setting): for vLLM
 * and SGLang its keys are CLI flags, for TensorRT-LLM LLM-API options.
 */
export function checkEngineFileOwnership(
  backend: BackendName,
  doc: Document,
  where: { issues: Issue[]; file: string; path: (string | number)[]; name: string },
): void {
  const keys = flatKeys(doc.toJS() ?? {});
  for (const key of keys) {
    const owned = backend === 'trtllm' ? ENGINES.trtllm.ownedFileKeys.includes(key) : !key.includes('.') && ownedFlag(backend, key) !== undefined;
    if (!owned) continue;
    where.issues.push({
      code: 'RENDER_ENGINE_FILE_CONFLICT',
      file: where.file,
      path: where.path,
      message: `engine file ${where.name} sets ${key}, which the recipe sets from its structure`,
      hint: `remove ${key} from the file; set it through ${OWNER_HINT[key.replace(/_/g, '-').replace(/^build-config\./, '')] ?? 'the recipe (topology, maxModelLen, dtype, kvCacheDtype, the model card)'}`,
    });
  }
}

const OWNER_HINT: Record<string, string> = {
  'tensor-parallel-size': 'topology.<pool>.tp and dp',
  'tp-size': 'topology.<pool>.tp and dp',
  tp: 'topology.<pool>.tp and dp',
  'pipeline-parallel-size': 'topology.<pool>.pp',
  'moe-expert-parallel-size': 'topology.<pool>.ep',
  'ep-size': 'topology.<pool>.ep',
  'enable-attention-dp': 'topology.<pool>.dp',
  'enable-dp-attention': 'topology.<pool>.dp',
  'data-parallel-size': 'topology.<pool>.dp',
  'dp-size': 'topology.<pool>.dp',
  'max-seq-len': 'maxModelLen',
  'max-model-len': 'maxModelLen',
  'context-length': 'maxModelLen',
  dtype: 'dtype',
  'kv-cache-config.dtype': 'kvCacheDtype',
  'kv-cache-dtype': 'kvCacheDtype',
  quantization: 'dtype',
};

/**
 * The TensorRT-LLM engine file of one pool: the recipe's engine file (comments and order kept) with the options the
 * structure owns set in it.
 */
export function trtllmEngineFile(base: Document | undefined, options: readonly [string, ArgValue][]): string {
  const doc = base === undefined ? new Document({}) : base.clone();
  if (doc.contents === null) doc.contents = doc.createNode({}) as never;
  for (const [key, value] of options) doc.setIn(key.split('.'), value);
  const text = doc.toString({ lineWidth: 0 });
  return text.trim() === '{}' ? '' : text;
}
