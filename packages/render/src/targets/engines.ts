import { DYNAMO_VERSION, dynamoRelease, type BackendName } from '@llm-recipes/recipe';
import { engineStructure, flagTokens, ownedFlag, type ArgValue } from '../engine.ts';
import { engineArgs } from '../recipe.ts';
import { ENGINE_MOUNT_PATH, ENGINE_PORT, type Pool, type TargetContext } from './common.ts';

/** How each engine's own OpenAI server starts (no Dynamo): the standalone and llm-d targets. */
interface NativeEngine {
  /** Command before the flags; the model follows where `modelPositional`. */
  command: string[];
  modelPositional: boolean;
  host: string;
  port: string;
  /** The flag that names the engine file (vLLM and SGLang: a YAML of flags; trtllm-serve: LLM-API options). */
  configFile: string;
}

// vLLM: `vllm serve` (docs.vllm.ai/en/latest/cli/serve.html); SGLang: `python3 -m sglang.launch_server`
// (docs.sglang.ai/advanced_features/server_arguments.html); TensorRT-LLM: `trtllm-serve`
// (nvidia.github.io/TensorRT-LLM/commands/trtllm-serve). The Dynamo runtime images ship all three. The settings the
// recipe's structure owns are the ones the Dynamo worker gets (engine.ts): the same flags for vLLM and SGLang, and
// for TensorRT-LLM the same per-pool engine file, which trtllm-serve reads with --extra_llm_api_options.
const NATIVE: Record<BackendName, NativeEngine> = {
  vllm: { command: ['vllm', 'serve'], modelPositional: true, host: '--host', port: '--port', configFile: 'config' },
  sglang: { command: ['python3', '-m', 'sglang.launch_server'], modelPositional: false, host: '--host', port: '--port', configFile: 'config' },
  trtllm: { command: ['trtllm-serve'], modelPositional: true, host: '--host', port: '--port', configFile: 'extra_llm_api_options' },
};

/** Flags only Dynamo's workers know: the disaggregation role (llm-d wires prefill/decode itself). */
const DYNAMO_ONLY = new Set(['disaggregation-mode', 'is-prefill-worker']);

/** `command` and `args` of one pool's engine server; `port` overrides the listening port (llm-d's sidecar). */
export function nativeServer(ctx: TargetContext, pool: Pool, port = ENGINE_PORT): { command: string[]; args: string[] } {
  const backend = ctx.recipe.backend.name;
  const e = NATIVE[backend];
  const structure = engineStructure(
    { resolved: ctx.resolved, recipe: ctx.recipe, release: dynamoRelease(DYNAMO_VERSION)!, modelRef: ctx.modelRef, servedName: ctx.servedName, issues: ctx.issues, file: ctx.file },
    pool.role,
    pool.worker,
  );
  const command = [...e.command];
  if (e.modelPositional) command.push(ctx.modelRef);
  const flags: [string, ArgValue][] = structure.flags.filter(([k]) => !DYNAMO_ONLY.has(k) && !(e.modelPositional && (k === 'model' || k === 'model-path')));
  // trtllm-serve spells its served-name flag with underscores
  if (backend === 'trtllm') for (const f of flags) if (f[0] === 'served-model-name') f[0] = 'served_model_name';
  flags.push([e.host.slice(2), '0.0.0.0'], [e.port.slice(2), port]);
  if (pool.engineKey !== null) flags.push([e.configFile, `${ENGINE_MOUNT_PATH}/${pool.engineKey}`]);
  const extra: Record<string, ArgValue> = {};
  const rendered = new Map(flags.map(([k, v]) => [k, v]));
  for (const [key, value] of Object.entries(pool.args)) {
    const owned = ownedFlag(backend, key);
    if (owned === undefined) {
      extra[key] = value;
      continue;
    }
    if (value === true && rendered.get(owned) === true) continue;
    ctx.issues.push({
      code: 'RENDER_ARG_CONFLICT',
      file: ctx.file,
      path: key in pool.worker.args ? ['topology', pool.role, 'args', key] : ['backend', 'args', key],
      message: `--${key} is set by the renderer from the recipe's structure`,
      hint: 'set it through topology (tp, pp, dp, ep), maxModelLen, dtype, kvCacheDtype or the model card instead',
    });
  }
  return { command, args: [...flagTokens(flags, 'structural'), ...engineArgs(extra, backend)] };
}
