import type { DynamoRelease, Recipe } from '@llm-recipes/recipe';
import { gpusOfReplica } from './engine.ts';

/**
 * The planner's PlannerConfig for a DGD rendered from a recipe: SLA targets from the recipe, scaling bounds from
 * topology.planner. A recipe carries no profiler output, so the planner scales on live forward-pass metrics
 * (load-based scaling, which needs no pre-deployment data) rather than on profiled interpolation curves.
 * Field names follow the release (components/src/dynamo/planner/config/planner_config.py; units in the names from
 * 1.2.0, `optimization_target` from 1.1.0).
 */
export function plannerConfig(release: DynamoRelease, recipe: Recipe): Record<string, unknown> {
  const planner = release.planner;
  if (planner.kind !== 'config') throw new Error(`no planner configuration for Dynamo ${release.version}`);
  const p = recipe.topology.planner;
  const k = planner.keys;
  const pool = (role: 'prefill' | 'decode'): number => {
    const w = recipe.topology[role];
    return w === undefined ? 1 : gpusOfReplica(w);
  };
  return {
    environment: 'kubernetes',
    backend: recipe.backend.name,
    mode: recipe.topology.mode,
    // without `sla` (1.1.0+) the planner ignores the TTFT/ITL targets and scales on static thresholds
    ...(planner.optimizationTarget ? { optimization_target: 'sla' } : {}),
    enable_load_scaling: true,
    enable_throughput_scaling: false,
    [k.ttft]: recipe.sla.ttftMs,
    [k.itl]: recipe.sla.itlMs,
    [k.loadInterval]: p.adjustmentIntervalS,
    max_gpu_budget: p.maxGpuBudget,
    min_endpoint: p.minReplicas,
    prefill_engine_num_gpu: pool('prefill'),
    decode_engine_num_gpu: pool('decode'),
  };
}

/**
 * The planner section of a DynamoGraphDeploymentRequest: there the profiler measures or simulates the engines, so
 * throughput-based (predictive) scaling runs at topology.planner.adjustmentIntervalS on the profiled curves.
 */
export function dgdrPlannerConfig(release: DynamoRelease, recipe: Recipe): Record<string, unknown> {
  const planner = release.planner;
  if (planner.kind !== 'config') throw new Error(`no planner configuration for Dynamo ${release.version}`);
  const p = recipe.topology.planner;
  const k = planner.keys;
  return {
    mode: recipe.topology.mode,
    backend: recipe.backend.name,
    ...(planner.optimizationTarget ? { optimization_target: 'sla' } : {}),
    [k.ttft]: recipe.sla.ttftMs,
    [k.itl]: recipe.sla.itlMs,
    [k.throughputInterval]: p.adjustmentIntervalS,
    max_gpu_budget: p.maxGpuBudget,
    min_endpoint: p.minReplicas,
  };
}
