import type { ExperimentResults, MeasuredPoint } from '@llm-recipes/profile';

// A fixed, hand-made results object for golden files and the browser test (numbers are illustrative, not measured).
const pt = (config: string, gpus: number, c: number, tpu: number, tpg: number, ttft: number, itl: number, meets: boolean): MeasuredPoint => ({
  id: `${config}/isl512-osl128-c${c}`,
  config,
  isl: 512,
  osl: 128,
  concurrency: c,
  gpus,
  ttftP50: ttft,
  ttftP90: ttft * 1.3,
  itlP50: itl,
  tpotP50: 1000 / tpu,
  e2eP50: ttft + 127 * itl,
  tokensPerSecondPerUser: tpu,
  tokensPerSecondPerGpu: tpg,
  outputTokensPerSecond: tpg * gpus,
  requestsPerSecond: (tpg * gpus) / 128,
  errorRate: 0,
  requests: 32,
  meetsSla: meets,
  source: 'measured',
  recordsDir: null,
});

export function fixtureResults(): ExperimentResults {
  const a = 'vllm agg 2×tp1';
  const points = [pt(a, 2, 1, 210, 105, 18, 4.7, true), pt(a, 2, 4, 190, 380, 22, 5.2, true), pt(a, 2, 16, 140, 1120, 41, 7.1, true), pt(a, 2, 64, 60, 1920, 160, 16.5, false), pt(a, 2, 8, 120, 300, 30, 8, true)];
  return {
    schema: 'llm-recipes/experiment-results@1',
    experiment: { id: '0123456789abcdef', recipe: 'qwen3-0.6b/vllm/l40s', variant: null, model: 'Qwen/Qwen3-0.6B', backend: 'vllm', gpu: 'l40s', mode: 'agg', target: 'local', strategy: 'benchmark', createdAt: '2026-01-01T00:00:00.000Z' },
    sla: { ttftMs: 100, itlMs: 15 },
    gpuHourlyUsd: 1.5,
    points,
    pareto: [points[0]!.id, points[1]!.id, points[2]!.id, points[3]!.id],
    selected: { pointId: points[2]!.id, config: a, reason: 'highest tokens/s/GPU (1120.0) among 4 point(s) meeting TTFT ≤ 100 ms and ITL ≤ 15 ms' },
    top: [{ pointId: points[2]!.id, config: a, evidence: 'TTFT p50 41.0 ms, ITL p50 7.10 ms at concurrency 16 (ISL 512/OSL 128), 32 requests, 0.0% errors' }],
    configs: [{ config: a, mode: 'agg', backend: 'vllm', gpus: 2, topology: 'agg 2×tp1', dgdYaml: 'apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata:\n  name: qwen3-0-6b-vllm-l40s\n' }],
    sweeps: null,
  };
}
