import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomicLib from 'write-file-atomic';
import { UserError } from '@llm-recipes/errors';
import { EXPORT_FILES, exportResult, type ExportContext, type ExportFormat } from './exporters.ts';
import type { Summary } from './metrics.ts';
import { recordsToJsonl } from './records.ts';
import type { RunResult } from './runner.ts';

/** One cell of the benchmark matrix: an ISL/OSL pair at one concurrency or one rate. */
export interface MatrixPoint {
  /** Stable directory name, e.g. `isl1024-osl128-c16` or `isl1024-osl128-r2.5`. */
  id: string;
  isl: number;
  osl: number;
  concurrency: number | null;
  rate: number | null;
}

/** ISL/OSL pairs × concurrencies (or rates); concurrency takes precedence when both lists are given. */
export function matrixPoints(islOsl: readonly (readonly [number, number])[], loads: { concurrency?: readonly number[]; rate?: readonly number[] }): MatrixPoint[] {
  const out: MatrixPoint[] = [];
  for (const [isl, osl] of islOsl) {
    if (loads.concurrency && loads.concurrency.length > 0) {
      for (const c of loads.concurrency) out.push({ id: `isl${isl}-osl${osl}-c${c}`, isl, osl, concurrency: c, rate: null });
    } else {
      for (const r of loads.rate ?? []) out.push({ id: `isl${isl}-osl${osl}-r${r}`, isl, osl, concurrency: null, rate: r });
    }
  }
  return out;
}

/** Everything needed to reproduce the experiment; its content hash is the experiment id. */
export interface ExperimentManifest {
  schema: 'llm-recipes/bench-experiment@1';
  /** sha256 of the canonical JSON of inputs, recipe, manifests, seeds and points (first 16 hex). */
  id: string;
  createdAt: string;
  /** Resolved command inputs (flags after defaults), minus output-only options. */
  inputs: Record<string, unknown>;
  /** The resolved recipe, when the run came from one. */
  recipe: unknown;
  /** Rendered manifests of the deployment under test, by path, with content hashes. */
  manifests: Record<string, { sha256: string }>;
  seeds: { seed: number };
  points: MatrixPoint[];
  tools: Record<string, string>;
}

export type PointState = 'pending' | 'running' | 'done' | 'failed';

export interface PointStatus {
  id: string;
  state: PointState;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  /** Condensed headline numbers for the status table. */
  headline: { requests: number; errorRate: number; ttftP50: number | null; tpotP50: number | null; outputThroughput: number } | null;
}

export interface ExperimentOptions {
  dir: string;
  resume: boolean;
  inputs: Record<string, unknown>;
  recipe?: unknown;
  /** Rendered manifest contents by path (hashed into the manifest, not copied). */
  manifests?: Record<string, string> | undefined;
  seed: number;
  points: MatrixPoint[];
  tools: Record<string, string>;
  exports: readonly ExportFormat[];
  /** Runs one point; a throw marks the point failed and the experiment moves on. */
  runPoint: (point: MatrixPoint) => Promise<RunResult>;
  exportContext: (point: MatrixPoint, started: Date, finished: Date) => Omit<ExportContext, 'experimentId' | 'pointId'>;
  onPoint?: ((status: PointStatus, summary: Summary | null) => void) | undefined;
}

export interface ExperimentResult {
  id: string;
  dir: string;
  points: PointStatus[];
  summaries: Record<string, Summary>;
}

/**
 * Writes an experiment file atomically (temp file + rename): a kill leaves either the old file or the new one, never
 * half of one. No fsync: experiment files are rewritten often (status on every phase change, one set per point) and
 * resumable, so surviving a kill matters and surviving a power cut does not; fsync costs ~0.7 ms a file here.
 */
export function writeFileAtomic(path: string, data: string): void {
  writeFileAtomicLib.sync(path, data, { fsync: false });
}

function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Canonical JSON (sorted keys) so equal inputs hash equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Runs a matrix into an experiment directory:
 * ```
 * <dir>/manifest.json            inputs, resolved recipe, manifest hashes, tool versions, seeds → id
 * <dir>/status.json              every point's state and headline numbers
 * <dir>/points/<point>/status.json   written last: `done` means records and summary are complete
 * <dir>/points/<point>/records.jsonl, summary.json, exports…
 * ```
 * Points are independent: a failed point is recorded and the rest run. With `resume`, points already `done`
 * are kept as they are.
 */
export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResult> {
  const manifestCore = {
    inputs: options.inputs,
    recipe: options.recipe ?? null,
    manifests: Object.fromEntries(Object.entries(options.manifests ?? {}).map(([p, c]) => [p, { sha256: sha256(c) }])),
    seeds: { seed: options.seed },
    points: options.points,
  };
  const id = sha256(canonicalJson(manifestCore)).slice(0, 16);
  mkdirSync(join(options.dir, 'points'), { recursive: true });
  const manifestPath = join(options.dir, 'manifest.json');
  const existing = readJson<ExperimentManifest>(manifestPath);
  if (existing && existing.id !== id && options.resume) {
    throw new UserError('EXPERIMENT_MISMATCH', `${manifestPath} belongs to experiment ${existing.id}, but these inputs make experiment ${id}`, {
      hint: 'resume with the same flags/recipe as the original run, or pass a new --out directory',
    });
  }
  const manifest: ExperimentManifest = {
    schema: 'llm-recipes/bench-experiment@1',
    id,
    createdAt: existing?.id === id ? existing.createdAt : new Date().toISOString(),
    ...manifestCore,
    tools: options.tools,
  };
  writeJson(manifestPath, manifest);

  const statuses: PointStatus[] = [];
  const summaries: Record<string, Summary> = {};
  const writeStatus = (): void =>
    writeJson(join(options.dir, 'status.json'), { experiment: id, points: [...statuses, ...options.points.slice(statuses.length).map(pendingStatus)] });

  for (const point of options.points) {
    const pdir = join(options.dir, 'points', point.id);
    const statusPath = join(pdir, 'status.json');
    const prior = readJson<PointStatus>(statusPath);
    if (options.resume && prior?.state === 'done') {
      const summary = readJson<Summary>(join(pdir, 'summary.json'));
      if (summary) {
        statuses.push(prior);
        summaries[point.id] = summary;
        options.onPoint?.(prior, summary);
        continue;
      }
    }
    // a fresh (or re-run) point starts from an empty directory: no stale records survive
    rmSync(pdir, { recursive: true, force: true });
    mkdirSync(pdir, { recursive: true });
    const started = new Date();
    const running: PointStatus = { id: point.id, state: 'running', startedAt: started.toISOString(), finishedAt: null, error: null, headline: null };
    writeJson(statusPath, running);
    statuses.push(running);
    writeStatus();
    let status: PointStatus;
    let summary: Summary | null = null;
    try {
      const result = await options.runPoint(point);
      const finished = new Date();
      summary = result.summary;
      writeFileAtomic(join(pdir, 'records.jsonl'), recordsToJsonl(result.records));
      writeJson(join(pdir, 'summary.json'), summary);
      const ctx: ExportContext = { ...options.exportContext(point, started, finished), experimentId: id, pointId: point.id };
      for (const fmt of options.exports) writeJson(join(pdir, EXPORT_FILES[fmt]), exportResult(fmt, summary, result.records, ctx));
      status = {
        id: point.id,
        state: 'done',
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        error: null,
        headline: {
          requests: summary.counts.requests,
          errorRate: summary.error_rate,
          ttftP50: summary.ttft?.p50 ?? null,
          tpotP50: summary.tpot?.p50 ?? null,
          outputThroughput: summary.output_throughput,
        },
      };
      summaries[point.id] = summary;
    } catch (err) {
      status = {
        id: point.id,
        state: 'failed',
        startedAt: started.toISOString(),
        finishedAt: new Date().toISOString(),
        error: err instanceof Error ? err.message : String(err),
        headline: null,
      };
    }
    // the point's status is the commit marker: written only after its records and summary are in place
    writeJson(statusPath, status);
    statuses[statuses.length - 1] = status;
    writeStatus();
    options.onPoint?.(status, summary);
  }
  return { id, dir: options.dir, points: statuses, summaries };
}

function pendingStatus(p: MatrixPoint): PointStatus {
  return { id: p.id, state: 'pending', startedAt: null, finishedAt: null, error: null, headline: null };
}

/** True when the directory holds a manifest (used by the CLI to warn before overwriting without --resume). */
export function isExperimentDir(dir: string): boolean {
  return existsSync(join(dir, 'manifest.json'));
}
