import type { BackendName } from '@llm-recipes/recipe';
import { engineArgs } from '../recipe.ts';
import { ENGINE_MOUNT_PATH, ENGINE_PORT, type Pool, type TargetContext } from './common.ts';

/** How each engine's own OpenAI server starts (no Dynamo): the standalone and llm-d targets. */
interface NativeEngine {
  /** Command before the flags; the model path follows where `modelPositional`. */
  command: string[];
  modelPositional: boolean;
  modelFlag: string | null;
  servedName: string;
  host: string;
  port: string;
  tp: string;
  pp: string;
  dp: string | null;
  ep: { flag: string; sized: boolean } | null;
  configFile: string | null;
}

// vLLM: `vllm serve` (docs.vllm.ai/en/latest/cli/serve.html); SGLang: `python3 -m sglang.launch_server`
// (docs.sglang.ai/advanced_features/server_arguments.html); TensorRT-LLM: `trtllm-serve`
// (nvidia.github.io/TensorRT-LLM/commands/trtllm-serve). The Dynamo runtime images ship all three.
const NATIVE: Record<BackendName, NativeEngine> = {
  vllm: {
    command: ['vllm', 'serve'],
    modelPositional: true,
    modelFlag: null,
    servedName: '--served-model-name',
    host: '--host',
    port: '--port',
    tp: '--tensor-parallel-size',
    pp: '--pipeline-parallel-size',
    dp: '--data-parallel-size',
    ep: { flag: '--enable-expert-parallel', sized: false },
    configFile: '--config',
  },
  sglang: {
    command: ['python3', '-m', 'sglang.launch_server'],
    modelPositional: false,
    modelFlag: '--model-path',
    servedName: '--served-model-name',
    host: '--host',
    port: '--port',
    tp: '--tp-size',
    pp: '--pp-size',
    dp: '--dp-size',
    ep: { flag: '--ep-size', sized: true },
    configFile: null,
  },
  trtllm: {
    command: ['trtllm-serve'],
    modelPositional: true,
    modelFlag: null,
    servedName: '--served_model_name',
    host: '--host',
    port: '--port',
    tp: '--tp_size',
    pp: '--pp_size',
    dp: null,
    ep: { flag: '--ep_size', sized: true },
    configFile: '--extra_llm_api_options',
  },
};

/** `command` and `args` of one pool's engine server; `port` overrides the listening port (llm-d's sidecar). */
export function nativeServer(ctx: TargetContext, pool: Pool, port = ENGINE_PORT): { command: string[]; args: string[] } {
  const e = NATIVE[ctx.recipe.backend.name];
  const w = pool.worker;
  const command = [...e.command];
  const structural: string[] = [];
  if (e.modelPositional) command.push(ctx.modelPath);
  else if (e.modelFlag) structural.push(e.modelFlag, ctx.modelPath);
  // trtllm-serve has no served-name flag in older releases; vLLM and SGLang always do.
  structural.push(e.servedName, ctx.servedName, e.host, '0.0.0.0', e.port, String(port), e.tp, String(w.tp));
  if (w.pp > 1) structural.push(e.pp, String(w.pp));
  if (w.dp > 1 && e.dp) structural.push(e.dp, String(w.dp));
  if (w.ep > 1 && e.ep) structural.push(...(e.ep.sized ? [e.ep.flag, String(w.ep)] : [e.ep.flag]));
  if (pool.engineKey !== null && e.configFile) structural.push(e.configFile, `${ENGINE_MOUNT_PATH}/${pool.engineKey}`);
  const extra: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(pool.args)) {
    const at = structural.indexOf(`--${key}`);
    if (at === -1) {
      extra[key] = value;
      continue;
    }
    const bare = at === structural.length - 1 || structural[at + 1]!.startsWith('--');
    if (bare && value === true) continue;
    ctx.issues.push({
      code: 'RENDER_ARG_CONFLICT',
      file: ctx.file,
      path: key in pool.worker.args ? ['topology', pool.role, 'args', key] : ['backend', 'args', key],
      message: `--${key} is set by the renderer from the recipe's structure`,
      hint: 'set it through topology (tp, pp, dp, ep), the model card or backend.extraConfig instead',
    });
  }
  return { command, args: [...structural, ...engineArgs(extra)] };
}
