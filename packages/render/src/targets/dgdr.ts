import { compareVersions, parseDynamoVersion } from '@llm-recipes/recipe';
import type { KubeObject } from '../types.ts';
import { GROVE_NAME_LIMIT, toDnsName } from '../names.ts';
import { dgdrPlannerConfig } from '../planner.ts';
import { workerRelease } from '../recipe.ts';
import { sharedObjects, unsupported, yamlFile, type TargetContext, type TargetFile } from './common.ts';

/**
 * The profiler image for a backend image: the same registry and tag, image `dynamo-planner` from Dynamo 1.1.0 (the
 * profiler's dependencies left the runtime images, ai-dynamo/dynamo#8407), `dynamo-frontend` before. Null when the
 * backend image is not a Dynamo runtime image.
 */
export function profilerImageFor(backendImage: string): string | null {
  const m = /^(.*\/)(?:vllm|sglang|tensorrtllm|trtllm)-runtime:([^@]+)$/.exec(backendImage);
  if (!m) return null;
  const v = parseDynamoVersion(m[2]!);
  const planner = v === undefined || compareVersions(v, parseDynamoVersion('1.1.0')!) >= 0;
  return `${m[1]}${planner ? 'dynamo-planner' : 'dynamo-frontend'}:${m[2]}`;
}

/**
 * The DGDR `spec.hardware.gpuSku` vocabulary of the vendored CRD (nvidia.com_dynamographdeploymentrequests.yaml; a
 * test holds this list to it). A GPU outside it (gb300_sxm, b300_sxm) is left for the operator to detect from the
 * nodes: the API server would reject the request otherwise.
 */
export const DGDR_GPU_SKUS: readonly string[] = [
  'gb200_sxm', 'gb10', 'b200_sxm', 'h200_sxm', 'h100_sxm', 'h100_pcie', 'a100_sxm', 'a100_pcie', 'a30', 'l40s', 'l40',
  'l4', 'v100_sxm', 'v100_pcie', 't4', 'mi200', 'mi300',
];

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
  const release = workerRelease(recipe, cluster);
  if (planner.enabled && (release === undefined || release.planner.kind !== 'config')) {
    unsupported(ctx, ['topology', 'planner', 'enabled'], `the DGDR planner configuration is known from Dynamo 1.0.0; the workers run ${release?.version ?? 'an unknown release'}`, 'use a Dynamo 1.x runtime image or set topology.planner.enabled: false');
    return [];
  }
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
        gpuSku: DGDR_GPU_SKUS.includes(resolved.gpu.id) ? resolved.gpu.id : null,
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
      // Field names follow the release the workers run (the planner config module).
      features: planner.enabled && release !== undefined && release.planner.kind === 'config' ? { planner: dgdrPlannerConfig(release, recipe) } : null,
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
