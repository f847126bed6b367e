import type { KubeObject } from '../types.ts';
import { GROVE_NAME_LIMIT, toDnsName } from '../names.ts';
import { sharedObjects, unsupported, yamlFile, type TargetContext, type TargetFile } from './common.ts';

/**
 * The profiler image for a backend image: the same registry and tag, image `dynamo-planner` (Dynamo ≥ 1.1 docs:
 * `nvcr.io/nvidia/ai-dynamo/dynamo-planner:<version>`). Null when the backend image is not a Dynamo runtime image.
 */
export function profilerImageFor(backendImage: string): string | null {
  const m = /^(.*\/)(?:vllm|sglang|tensorrtllm|trtllm)-runtime:([^@]+)$/.exec(backendImage);
  return m ? `${m[1]}dynamo-planner:${m[2]}` : null;
}

/**
 * A DynamoGraphDeploymentRequest (nvidia.com/v1beta1): the operator profiles the model on the cluster's GPUs for the
 * recipe's workload and SLA, then (autoApply) deploys the config it selects. The recipe's own topology is not
 * sent: finding one is the DGDR's job. The model cache PVC and download Job of the DGD rendering come along, so the
 * profiler reads weights from the PVC instead of downloading them per profiling job.
 */
export function renderDgdr(ctx: TargetContext): TargetFile[] {
  const { recipe, resolved, cluster } = ctx;
  const inventory = cluster.gpus[resolved.gpu.id];
  const gpusPerNode = resolved.gpu.gpusPerNode;
  // The DGD the operator generates takes the DGDR's name; keep it within Grove's budget like ours.
  const name = toDnsName([resolved.name], GROVE_NAME_LIMIT - 1 - 'frontend'.length);
  const image = ctx.options.profilerImage ?? profilerImageFor(recipe.backend.image);
  const planner = recipe.topology.planner;
  const settings = recipe.dgdr;
  if (settings.backend === 'auto' && planner.enabled) {
    // PlannerConfig names one backend; with `auto` it is not known until the profiler has chosen.
    unsupported(ctx, ['dgdr', 'backend'], 'dgdr.backend auto cannot be combined with the planner, whose configuration names the backend', 'set dgdr.backend: recipe, or topology.planner.enabled: false');
    return [];
  }
  const dgdr: KubeObject = {
    apiVersion: 'nvidia.com/v1beta1',
    kind: 'DynamoGraphDeploymentRequest',
    metadata: { name, namespace: ctx.namespace, labels: ctx.labels, annotations: ctx.annotations },
    spec: {
      model: resolved.model.hfId,
      backend: settings.backend === 'auto' ? 'auto' : recipe.backend.name,
      image,
      searchStrategy: settings.searchStrategy,
      autoApply: settings.autoApply,
      workload: { isl: recipe.workload.isl, osl: recipe.workload.osl },
      sla: { ttft: recipe.sla.ttftMs, itl: recipe.sla.itlMs, e2eLatency: recipe.sla.e2eMs ?? null },
      hardware: {
        gpuSku: resolved.gpu.id,
        vramMb: Math.round(resolved.gpu.memoryGiB * 1024),
        numGpusPerNode: gpusPerNode,
        // The search budget: what the cluster has of this GPU (the auto-discovered count is capped at 32).
        totalGpus: inventory ? inventory.nodes * gpusPerNode : null,
      },
      modelCache: { pvcName: recipe.modelCache.pvcName, pvcModelPath: resolved.model.hfId, pvcMountPath: recipe.modelCache.mountPath },
      // The CRD keeps `features.planner` opaque (preserve-unknown): it is Dynamo's PlannerConfig, whose pydantic model
      // ignores unknown keys, so a misspelt key would silently fall back to a default. Field names are PlannerConfig's
      // (https://docs.nvidia.com/dynamo/dev/knowledge-base/modular-components/planner/planner-guide#plannerconfig-reference).
      // `optimization_target: sla` makes the planner scale on the recipe's TTFT/ITL (the other targets ignore them).
      features: planner.enabled
        ? {
            planner: {
              mode: recipe.topology.mode,
              backend: recipe.backend.name,
              optimization_target: 'sla',
              ttft: recipe.sla.ttftMs,
              itl: recipe.sla.itlMs,
              throughput_adjustment_interval: planner.adjustmentIntervalS,
              max_gpu_budget: planner.maxGpuBudget,
              min_endpoint: planner.minReplicas,
            },
          }
        : null,
      // A partial DGD merged into the generated one: our labels, so the generated DGD is found like a rendered one.
      overrides: {
        dgd: {
          apiVersion: 'nvidia.com/v1beta1',
          kind: 'DynamoGraphDeployment',
          metadata: { labels: ctx.labels, annotations: ctx.annotations },
        },
      },
    },
  };
  const shared = sharedObjects(ctx);
  return [yamlFile(ctx, 'model-cache.yaml', shared.modelCache), yamlFile(ctx, 'dgdr.yaml', [dgdr], 'immutable once profiling starts: delete and re-apply to change it')];
}
