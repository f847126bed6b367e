import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson, type ExperimentManifest, type MatrixPoint, type Stats, type Summary } from '@llm-recipes/bench';

export interface FakePointResult {
  concurrency: number;
  ttftP50: number;
  itlP50: number;
  tokensPerSecondPerGpu: number;
  errorRate?: number;
  /** `failed` points have no summary. */
  state?: 'done' | 'failed';
}

function stats(p50: number): Stats {
  return { mean: p50 * 1.05, std: p50 * 0.1, min: p50 * 0.6, max: p50 * 2, p50, p90: p50 * 1.3, p95: p50 * 1.5, p99: p50 * 1.8, p99_9: p50 * 1.95 };
}

function summary(r: FakePointResult, gpus: number): Summary {
  const out = r.tokensPerSecondPerGpu * gpus;
  return {
    schema: 'llm-recipes/bench-summary@1',
    counts: { requests: 200, completed: Math.round(200 * (1 - (r.errorRate ?? 0))), failed: Math.round(200 * (r.errorRate ?? 0)), warmup: 8 },
    errors: {} as Summary['errors'],
    error_rate: r.errorRate ?? 0,
    duration_s: 60,
    ttft: stats(r.ttftP50),
    itl: stats(r.itlP50),
    itl_per_token: stats(r.itlP50),
    tpot: stats(r.itlP50),
    e2e: stats(r.ttftP50 + 127 * r.itlP50),
    tokens_per_second_per_user: stats(1000 / r.itlP50),
    queue: null,
    input_tokens: stats(1024),
    output_tokens: stats(128),
    request_throughput: out / 128,
    output_throughput: out,
    input_throughput: (out / 128) * 1024,
    total_token_throughput: out + (out / 128) * 1024,
    tokens_per_second_per_gpu: r.tokensPerSecondPerGpu,
    goodput: null,
    good_requests: null,
    slo: null,
    peak_output_throughput: out * 1.1,
    max_concurrent_requests: r.concurrency,
    schedule: { target_rate: null, achieved_rate: null, delay: null },
    token_counts: { source: 'server', input_server_total: 204800, input_client_total: 204800, output_server_total: 25600, output_client_total: 25600, input_discrepancy_pct: 0, output_discrepancy_pct: 0, osl_mismatch: 0 },
  };
}

/**
 * Writes an experiment directory in the bench format (manifest.json with a content-hash id, status.json,
 * points/<id>/{status,summary}.json) holding the given per-point results, as `recipes bench --recipe` would.
 */
export function writeFakeExperiment(dir: string, o: { recipe: string; variant?: string; recipeObject: unknown; gpus: number; results: FakePointResult[]; createdAt?: string }): ExperimentManifest {
  const points: MatrixPoint[] = o.results.map((r) => ({ id: `isl1024-osl128-c${r.concurrency}`, isl: 1024, osl: 128, concurrency: r.concurrency, rate: null }));
  const core = {
    inputs: { recipe: o.recipe, variant: o.variant ?? null, gpus: o.gpus, endpoint: 'http://127.0.0.1:8000' },
    recipe: o.recipeObject,
    manifests: { 'workloads/x/dgd.yaml': { sha256: createHash('sha256').update('kind: DynamoGraphDeployment\n').digest('hex') } },
    seeds: { seed: 42 },
    points,
  };
  const manifest: ExperimentManifest = {
    schema: 'llm-recipes/bench-experiment@1',
    id: createHash('sha256').update(canonicalJson(core)).digest('hex').slice(0, 16),
    createdAt: o.createdAt ?? '2025-06-01T12:00:00.000Z',
    ...core,
    tools: { 'llm-recipes-bench': '0.1.0' },
  };
  mkdirSync(path.join(dir, 'points'), { recursive: true });
  writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  o.results.forEach((r, i) => {
    const p = points[i]!;
    const pdir = path.join(dir, 'points', p.id);
    mkdirSync(pdir, { recursive: true });
    const state = r.state ?? 'done';
    if (state === 'done') writeFileSync(path.join(pdir, 'summary.json'), `${JSON.stringify(summary(r, o.gpus), null, 2)}\n`);
    writeFileSync(path.join(pdir, 'status.json'), JSON.stringify({ id: p.id, state, startedAt: null, finishedAt: null, error: state === 'failed' ? 'boom' : null, headline: null }));
  });
  return manifest;
}
