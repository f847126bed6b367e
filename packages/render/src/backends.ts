import type { BackendName } from '@llm-recipes/recipe';

/** How each engine's Dynamo worker is started and which flags carry the structural settings. */
export interface BackendFlags {
  /** Python module of the Dynamo worker. */
  module: string;
  model: string;
  servedName: string;
  tp: string;
  pp: string;
  /** Attention data-parallel ranks; null when the engine takes it from its config file instead. */
  dp: string | null;
  /** Expert parallelism: a sized flag, or a bare switch (vLLM derives EP = TP × DP). */
  ep: { flag: string; sized: boolean } | null;
  disaggregationMode: string;
  /** The engine's own flag for a config file, passed in addition to DYNAMO_EXTRA_CONFIG. */
  configFile: string | null;
}

// Flag names follow the Dynamo worker CLIs (components/src/dynamo/{vllm,sglang,trtllm}); vLLM reads a YAML file of
// engine args through its `--config` flag, TensorRT-LLM through `--extra-engine-args`.
export const BACKENDS: Record<BackendName, BackendFlags> = {
  vllm: {
    module: 'dynamo.vllm',
    model: '--model',
    servedName: '--served-model-name',
    tp: '--tensor-parallel-size',
    pp: '--pipeline-parallel-size',
    dp: '--data-parallel-size',
    ep: { flag: '--enable-expert-parallel', sized: false },
    disaggregationMode: '--disaggregation-mode',
    configFile: '--config',
  },
  sglang: {
    module: 'dynamo.sglang',
    model: '--model-path',
    servedName: '--served-model-name',
    tp: '--tp-size',
    pp: '--pp-size',
    dp: '--dp-size',
    ep: { flag: '--ep-size', sized: true },
    disaggregationMode: '--disaggregation-mode',
    configFile: null,
  },
  trtllm: {
    module: 'dynamo.trtllm',
    model: '--model-path',
    servedName: '--served-model-name',
    tp: '--tensor-parallel-size',
    pp: '--pipeline-parallel-size',
    dp: null,
    ep: { flag: '--expert-parallel-size', sized: true },
    disaggregationMode: '--disaggregation-mode',
    configFile: '--extra-engine-args',
  },
};
