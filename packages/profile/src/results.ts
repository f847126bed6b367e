import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { paretoFront, type ServingResult } from '@llm-recipes/estimate';
import type { Summary } from '@llm-recipes/bench';
import { selectBest } from './select.ts';

/** One measured (or, for rapid, estimated) point of one config. */
export interface MeasuredPoint {
  /** Unique in the experiment: `<config>/<bench point id>`. */
  id: string;
  /** Config id, e.g. `vllm agg 2×tp1`. */
  config: string;
  isl: number;
  osl: number;
  concurrency: number;
  gpus: number;
  ttftP50: number | null;
  ttftP90: number | null;
  itlP50: number | null;
  tpotP50: number | null;
  e2eP50: number | null;
  tokensPerSecondPerUser: number;
  tokensPerSecondPerGpu: number;
  outputTokensPerSecond: number;
  requestsPerSecond: number;
  errorRate: number;
  requests: number;
  meetsSla: boolean;
  /** measured: one benchmark run; estimated: the estimator; composed: a disaggregated config computed from measured prefill and decode sweeps. */
  source: 'measured' | 'estimated' | 'composed';
  /** False for a config whose weights or one sequence of KV cache do not fit (never selected). */
  fits?: boolean | undefined;
  /** Where the numbers come from (sweep points, ratio), for composed and estimated points. */
  evidence?: string | undefined;
  /** Bench point directory relative to the experiment (records.jsonl lives there), when measured locally. */
  recordsDir: string | null;
}

export interface ConfigInfo {
  config: string;
  mode: 'agg' | 'disagg';
  backend: string;
  gpus: number;
  /** Canonical YAML of the rendered DynamoGraphDeployment for this config. */
  dgdYaml: string;
  /** Topology summary: `agg 2×tp1` or `prefill 1×tp2, decode 1×tp4`. */
  topology: string;
}

export interface SweepRow {
  tp: number;
  x: number;
  latencyMs: number;
  tokensPerSecondPerGpu: number;
  /** Sweep point directory relative to the experiment (summary and records). */
  id?: string | undefined;
  tokensPerSecondPerUser?: number | undefined;
  /** Set on the point that ended its sweep early, with the reason. */
  stop?: string | undefined;
}

/** `<experiment>/results.json`: what collect produced and every report reads. */
export interface ExperimentResults {
  schema: 'llm-recipes/experiment-results@1';
  experiment: {
    id: string;
    recipe: string;
    variant: string | null;
    model: string;
    backend: string;
    gpu: string;
    mode: 'agg' | 'disagg';
    target: 'local' | 'endpoint' | 'cluster';
    strategy: 'benchmark' | 'rapid' | 'thorough';
    createdAt: string;
  };
  sla: { ttftMs: number; itlMs: number };
  gpuHourlyUsd: number | null;
  points: MeasuredPoint[];
  /** Point ids on the Pareto front (tokens/s/GPU vs tokens/s/user), best per-user first. */
  pareto: string[];
  selected: { pointId: string; config: string; reason: string } | null;
  top: { pointId: string; config: string; evidence: string }[];
  configs: ConfigInfo[];
  /** Thorough search: prefill (x = ISL), decode (x = concurrency) and the selected config's load sweep (x = concurrency). */
  sweeps: { prefill: SweepRow[]; decode: SweepRow[]; load?: SweepRow[] | undefined } | null;
  /** Every other config with the reason it lost to the selection (searches). */
  others?: { config: string; reason: string }[] | undefined;
}

const asServing = (p: MeasuredPoint): ServingResult =>
  ({
    fits: p.errorRate < 0.5 && p.fits !== false,
    tokensPerSecondPerGpu: p.tokensPerSecondPerGpu,
    tokensPerSecondPerUser: p.tokensPerSecondPerUser,
  }) as ServingResult;

/** Pareto front over measured points, reusing the estimator's front (same axes, same tie rules). */
export function measuredPareto(points: readonly MeasuredPoint[]): MeasuredPoint[] {
  return paretoFront(points.map((p) => ({ p, result: asServing(p) }))).map((x) => x.p);
}

/**
 * The latency the ITL bound is checked against: p50 TPOT (each request's mean inter-token gap, which is what AIPerf
 * reports as ITL), else the pooled chunk-gap p50. Pooled gaps under-read when a server's chunks arrive coalesced.
 */
export function slaItl(p: Pick<MeasuredPoint, 'tpotP50' | 'itlP50'>): number | null {
  return p.tpotP50 ?? p.itlP50;
}

/** SLA check on a measured point: p50 TTFT and p50 ITL (see slaItl) within the bounds, and few errors. */
export function pointMeetsSla(p: Pick<MeasuredPoint, 'ttftP50' | 'itlP50' | 'tpotP50' | 'errorRate'>, sla: { ttftMs: number; itlMs: number }): boolean {
  const itl = slaItl(p);
  return p.ttftP50 !== null && itl !== null && p.ttftP50 <= sla.ttftMs && itl <= sla.itlMs && p.errorRate <= 0.01;
}

/** Best fitting SLA-meeting point by tokens/s/GPU (then per-user, fewer GPUs); none meeting → the closest point, flagged. */
export function selectPoint(points: readonly MeasuredPoint[], sla: { ttftMs: number; itlMs: number }): { point: MeasuredPoint; reason: string; meetsSla: boolean } | null {
  const byId = new Map(points.map((p) => [p.id, p]));
  const sel = selectBest(points.map((p) => ({ ...p, itlMs: slaItl(p) })), sla);
  return sel ? { point: byId.get(sel.point.id)!, reason: sel.reason, meetsSla: sel.meetsSla } : null;
}

/** Condenses a bench summary into a measured point. */
/**
 * Condenses a bench summary into a measured point. `timeScale` converts wall time to the deployment's time: a
 * simulator at speedup X runs X× faster than the hardware it models, so latencies are ×X and rates ÷X (1 elsewhere).
 */
export function pointFromSummary(
  base: { id: string; config: string; isl: number; osl: number; concurrency: number; gpus: number; recordsDir: string | null },
  s: Summary,
  sla: { ttftMs: number; itlMs: number },
  timeScale = 1,
): MeasuredPoint {
  const k = timeScale;
  const ms = (v: number | undefined): number | null => (v === undefined ? null : v * k);
  const tpot = ms(s.tpot?.p50);
  const p: MeasuredPoint = {
    ...base,
    ttftP50: ms(s.ttft?.p50),
    ttftP90: ms(s.ttft?.p90),
    itlP50: ms(s.itl?.p50),
    tpotP50: tpot,
    e2eP50: ms(s.e2e?.p50),
    tokensPerSecondPerUser: tpot && tpot > 0 ? 1000 / tpot : 0,
    tokensPerSecondPerGpu: s.output_throughput / k / Math.max(1, base.gpus),
    outputTokensPerSecond: s.output_throughput / k,
    requestsPerSecond: s.request_throughput / k,
    errorRate: s.error_rate,
    requests: s.counts.requests,
    meetsSla: false,
    source: 'measured',
  };
  p.meetsSla = pointMeetsSla(p, sla);
  return p;
}

/** Reads `<experiment>/results.json`. */
export function readResults(dir: string): ExperimentResults | null {
  const p = join(dir, 'results.json');
  if (!existsSync(p)) return null;
  const r = JSON.parse(readFileSync(p, 'utf8')) as ExperimentResults;
  return r.schema === 'llm-recipes/experiment-results@1' ? r : null;
}

/** Finished bench points under a bench experiment directory: id → summary. */
export function readBenchPoints(benchDir: string): Map<string, Summary> {
  const out = new Map<string, Summary>();
  const pdir = join(benchDir, 'points');
  if (!existsSync(pdir)) return out;
  for (const id of readdirSync(pdir)) {
    try {
      const st = JSON.parse(readFileSync(join(pdir, id, 'status.json'), 'utf8')) as { state: string };
      if (st.state !== 'done') continue;
      out.set(id, JSON.parse(readFileSync(join(pdir, id, 'summary.json'), 'utf8')) as Summary);
    } catch {
      // an unfinished point: not collected
    }
  }
  return out;
}
