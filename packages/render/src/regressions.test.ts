import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '@llm-recipes/errors';
import { loadWorkspace, resolveRecipe, type Recipe } from '@llm-recipes/recipe';
import { renderRecipe } from './recipe.ts';
import * as f from './testing/fixtures.ts';
import type { RenderedRecipe, ResolvedRecipe } from './types.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const ws = loadWorkspace(REPO);

function dgdOf(out: RenderedRecipe): any {
  return out.manifests.find((m) => m.object.kind === 'DynamoGraphDeployment')!.object;
}

function component(out: RenderedRecipe, name: string): any {
  return dgdOf(out).spec.components.find((c: any) => c.name === name);
}

function main(out: RenderedRecipe, name: string): any {
  return component(out, name).podTemplate.spec.containers[0];
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
}

function renderError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidInputError) return err.message;
    throw err;
  }
  throw new Error('expected the render to fail');
}

describe('the long-context variant', () => {
  it('tells the engine its longer context (regression: its DGD differed from the base only in names)', () => {
    const cluster = ws.clusters.get('lab-argo')!.cluster;
    const base = resolveRecipe(ws, { recipe: 'qwen3-0.6b/vllm/l40s', cluster }).resolved!;
    const long = resolveRecipe(ws, { recipe: 'qwen3-0.6b/vllm/l40s', variant: 'long-context', cluster }).resolved!;
    const argsOf = (r: ResolvedRecipe) => main(renderRecipe(r, cluster, { apiVersion: 'v1beta1' }), 'worker').args as string[];
    expect(flag(argsOf(base), '--max-model-len')).toBe('16384');
    expect(flag(argsOf(long), '--max-model-len')).toBe('32768');
  });
});

describe('the planner', () => {
  const planned = (image: string): ResolvedRecipe => {
    const r = f.disaggRecipe();
    return f.resolved({ ...r, backend: { ...r.backend, image }, topology: { ...r.topology, planner: { enabled: true, minReplicas: 1, maxGpuBudget: 16, adjustmentIntervalS: 30 } } });
  };
  const configOf = (out: RenderedRecipe) => {
    const cm = out.manifests.find((m) => m.object.kind === 'ConfigMap' && (m.object.metadata as any).name.includes('-planner-'))!.object as any;
    return JSON.parse(cm.data['planner_config.json']);
  };

  it('runs python3 -m dynamo.planner --config on the dedicated planner image from Dynamo 1.1 (regression: planner_sla flags on the runtime image)', () => {
    const out = renderRecipe(planned('nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.3.0'), f.cluster({ dynamoVersion: '1.3.0' }));
    const planner = main(out, 'planner');
    expect(planner.image).toBe('nvcr.io/nvidia/ai-dynamo/dynamo-planner:1.3.0');
    expect([...planner.command, ...planner.args]).toEqual(['python3', '-m', 'dynamo.planner', '--config', '/workspace/planner_config/planner_config.json']);
    expect(planner.volumeMounts).toEqual([{ name: 'planner-config', mountPath: '/workspace/planner_config', readOnly: true }]);
    // 1.2.0 renamed the duration fields with their units; the old names are no longer read
    expect(configOf(out)).toMatchObject({ optimization_target: 'sla', ttft_ms: 100, itl_ms: 15, load_adjustment_interval_seconds: 30, max_gpu_budget: 16, mode: 'disagg', backend: 'vllm' });
    expect(configOf(out)).not.toHaveProperty('ttft');
  });

  it('follows the release the workers run: 1.1 field names, and the runtime image before 1.1', () => {
    const v11 = renderRecipe(planned('nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.1.1'), f.cluster());
    expect(main(v11, 'planner').image).toBe('nvcr.io/nvidia/ai-dynamo/dynamo-planner:1.1.1');
    expect(configOf(v11)).toMatchObject({ optimization_target: 'sla', ttft: 100, itl: 15, load_adjustment_interval: 30 });
    const v10 = renderRecipe(planned('nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.1'), f.cluster());
    expect(main(v10, 'planner').image).toBe('nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.1');
    expect(configOf(v10)).not.toHaveProperty('optimization_target');
  });

  it('is refused before Dynamo 1.0, whose SLA planner needs profiler output a recipe does not have', () => {
    expect(renderError(() => renderRecipe(planned('nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.9.1'), f.cluster()))).toMatch(/the planner cannot be rendered for Dynamo 0\.9\.1/);
  });
});

describe('the Dynamo release of the cluster', () => {
  it('picks the default runtime image and the worker flags that moved (vLLM role flag before 1.0)', () => {
    const cluster = { ...ws.clusters.get('lab-argo')!.cluster, dynamoVersion: '0.8.1' };
    const r = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', cluster }).resolved!;
    expect(r.recipe.backend.image).toBe('nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.8.1');
    // lab-argo serves v1alpha1: services{}, extraPodSpec.mainContainer
    const alphaArgs = (out: RenderedRecipe, name: string): string[] => dgdOf(out).spec.services[name].extraPodSpec.mainContainer.args;
    const out = renderRecipe(r, cluster);
    expect(alphaArgs(out, 'prefill')).toContain('--is-prefill-worker');
    expect(alphaArgs(out, 'decode')).not.toContain('--disaggregation-mode');
    const current = renderRecipe(resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm' }).resolved!, ws.clusters.get('lab-argo')!.cluster);
    expect(flag(alphaArgs(current, 'decode'), '--disaggregation-mode')).toBe('decode');
  });

  it('refuses v1beta1 on an operator that serves v1alpha1 only, and a release it does not know', () => {
    const r = f.resolved(f.recipe());
    expect(renderError(() => renderRecipe(r, f.cluster({ dynamoVersion: '1.1.0' })))).toMatch(/serves DynamoGraphDeployment v1alpha1 only/);
    expect(renderError(() => renderRecipe(r, f.cluster({ dynamoVersion: '0.4.0' })))).toMatch(/Dynamo 0\.4\.0 is not a release known here/);
  });
});

describe('attention data parallelism', () => {
  it('renders SGLang DP attention as upstream runs it, with 8 GPUs per node over 2 nodes (regression: dp 16 asked for 128 GPUs per node)', () => {
    const r: Recipe = f.disaggRecipe();
    const backend = { ...r.backend, name: 'sglang' as const, image: 'nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.3.0', args: {}, extraConfig: undefined };
    const wide = f.worker({ replicas: 1, tp: 1, dp: 16, ep: 16, nodes: 2 });
    const out = renderRecipe(f.resolved({ ...r, backend, topology: { ...r.topology, prefill: structuredClone(wide), decode: wide } }, { gpu: f.gpu({ id: 'h200_sxm', productLabel: 'NVIDIA-H200' }) }), f.cluster({ gpus: { h200_sxm: { nodes: 4 } } }));
    const decode = component(out, 'decode');
    const args: string[] = decode.podTemplate.spec.containers[0].args;
    expect(flag(args, '--tp-size')).toBe('16');
    expect(flag(args, '--dp-size')).toBe('16');
    expect(args).toContain('--enable-dp-attention');
    expect(flag(args, '--ep-size')).toBe('16');
    expect(decode.multinode).toEqual({ nodeCount: 2 });
    expect(decode.podTemplate.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe('8');
  });

  it('gives TensorRT-LLM enable_attention_dp with tensor_parallel_size = tp × dp, and vLLM --data-parallel-size', () => {
    const r: Recipe = f.disaggRecipe();
    const wide = f.worker({ replicas: 1, tp: 1, dp: 8, ep: 8 });
    const trt = renderRecipe(
      f.resolved({ ...r, backend: { ...r.backend, name: 'trtllm', image: 'nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.3.0', args: {}, extraConfig: undefined }, topology: { ...r.topology, decode: wide } }, { engineFiles: [] }),
      f.cluster(),
    );
    expect(trt.engineFiles.find((e) => e.key === 'decode.yaml')!.content).toMatch(/tensor_parallel_size: 8\npipeline_parallel_size: 1\nenable_attention_dp: true/);
    const vllm = renderRecipe(f.resolved({ ...r, topology: { ...r.topology, decode: wide } }), f.cluster());
    const args = main(vllm, 'decode').args as string[];
    expect([flag(args, '--tensor-parallel-size'), flag(args, '--data-parallel-size')]).toEqual(['1', '8']);
    expect(args).toContain('--enable-expert-parallel');
  });
});

describe('engine switches and per-pool context', () => {
  it('renders a vLLM switch set to false as --no-<flag> (regression: false left the flag out, so prefix caching stayed on)', () => {
    const r = f.recipe();
    const out = renderRecipe(f.resolved({ ...r, backend: { ...r.backend, args: { 'enable-prefix-caching': false, 'no-enable-log-requests': true } } }), f.cluster());
    const args = main(out, 'worker').args as string[];
    expect(args).toContain('--no-enable-prefix-caching');
    expect(args).not.toContain('--enable-prefix-caching');
    expect(args).toContain('--no-enable-log-requests');
  });

  it("gives each pool its own context length when it sets one, on every backend", () => {
    const r = f.disaggRecipe();
    const topology = { ...r.topology, prefill: f.worker({ tp: 2, maxModelLen: 2048 }), decode: f.worker({ tp: 2 }) };
    const vllm = renderRecipe(f.resolved({ ...r, topology }), f.cluster());
    expect([flag(main(vllm, 'prefill').args, '--max-model-len'), flag(main(vllm, 'decode').args, '--max-model-len')]).toEqual(['2048', '32768']);
    const trt = renderRecipe(
      f.resolved({ ...r, backend: { ...r.backend, name: 'trtllm', image: 'nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.3.0', args: {}, extraConfig: undefined }, topology }, { engineFiles: [] }),
      f.cluster(),
    );
    expect(trt.engineFiles.find((e) => e.key === 'prefill.yaml')!.content).toContain('max_seq_len: 2048');
    expect(trt.engineFiles.find((e) => e.key === 'decode.yaml')!.content).toContain('max_seq_len: 32768');
  });
});
