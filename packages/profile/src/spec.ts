import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '@llm-recipes/errors';
import { writeAtomic } from './status.ts';

export type TargetSpec =
  | { kind: 'local'; speedup: number; slowdown: number }
  | { kind: 'endpoint'; url: string }
  | { kind: 'cluster'; kubeconfig: string | null; context: string | null; namespace: string | null; timeoutS: number; pollMs: number };

/** What `recipes profile` searches over (DGDR spec fields: workload, SLA, GPU budget, autoApply). */
export interface ProfileSettings {
  mode: 'agg' | 'disagg' | 'any';
  /** GPU budget (default: what the recipe deploys). */
  gpus?: number | undefined;
  sla?: { ttftMs?: number | undefined; itlMs?: number | undefined } | undefined;
  isl?: number | undefined;
  osl?: number | undefined;
  /** Variant name to write the selection as, then render and deploy it; null/absent: stop at Ready. */
  autoApply?: string | null | undefined;
  /** Replace an existing variant of that name. */
  force?: boolean | undefined;
  /** Thorough: cap on the decode sweep's concurrency (default 256; the KV capacity caps it too). */
  maxConcurrency?: number | undefined;
  /** Thorough: measured requests per decode/load point (default max(8, 2 × concurrency)). */
  requests?: number | undefined;
  /** Thorough: measured requests per prefill point (default 4). */
  prefillRequests?: number | undefined;
  /** How many SLA-meeting configs to list (default 5). */
  top?: number | undefined;
}

/** `<experiment>/experiment.json`: the inputs; every step reads them, so a step can run alone later. */
export interface ExperimentSpec {
  schema: 'llm-recipes/experiment@1';
  /** Recipe id, e.g. qwen3-0.6b/vllm/l40s. */
  recipe: string;
  variant: string | null;
  set: string[];
  target: TargetSpec;
  strategy: 'benchmark' | 'rapid' | 'thorough';
  matrix: { islOsl: [number, number][]; concurrency: number[]; requests: number; warmup: number };
  seed: number;
  /** GPU price for cost per million tokens; null: no cost column. */
  gpuHourlyUsd: number | null;
  /** Leave the deployment running after the benchmark (phase ends Deployed instead of Ready). */
  keep: boolean;
  /** rapid/thorough: what the profile searches over. */
  profile?: ProfileSettings | undefined;
  createdAt: string;
}

export const SPEC_FILE = 'experiment.json';

export function readSpec(dir: string): ExperimentSpec | null {
  const p = join(dir, SPEC_FILE);
  if (!existsSync(p)) return null;
  const s = JSON.parse(readFileSync(p, 'utf8')) as ExperimentSpec;
  if (s.schema !== 'llm-recipes/experiment@1') throw new UserError('EXPERIMENT_SCHEMA', `${p} is not an llm-recipes experiment (schema ${String(s.schema)})`, { hint: 'pass a directory written by recipes up/profile' });
  return s;
}

/** The fields that decide what is measured: a resumed run must agree on them. */
function identity(s: ExperimentSpec): string {
  const t = s.target.kind === 'local' ? { kind: 'local', slowdown: s.target.slowdown, speedup: s.target.speedup } : { kind: s.target.kind };
  const { autoApply: _a, force: _f, ...searched } = s.profile ?? { mode: 'any' };
  return JSON.stringify([s.recipe, s.variant, s.set, t, s.strategy, s.matrix, s.seed, s.profile ? searched : null]);
}

/** Writes the spec, or checks a resumed run against the one already there. */
export function saveSpec(dir: string, spec: ExperimentSpec): ExperimentSpec {
  const prior = readSpec(dir);
  if (prior) {
    if (identity(prior) !== identity(spec)) {
      throw new UserError('EXPERIMENT_MISMATCH', `${join(dir, SPEC_FILE)} holds a different experiment (${prior.recipe}, ${prior.strategy}, target ${prior.target.kind})`, {
        hint: 're-run with the same recipe, matrix and target to resume it, or pass a new --out directory',
      });
    }
    const merged = { ...spec, createdAt: prior.createdAt };
    writeAtomic(join(dir, SPEC_FILE), `${JSON.stringify(merged, null, 2)}\n`);
    return merged;
  }
  writeAtomic(join(dir, SPEC_FILE), `${JSON.stringify(spec, null, 2)}\n`);
  return spec;
}
