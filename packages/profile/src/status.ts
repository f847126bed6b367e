import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** DGDR lifecycle phases (seed 004): Pending → Profiling → Ready → Deploying → Deployed | Failed. */
export const PHASES = ['Pending', 'Profiling', 'Ready', 'Deploying', 'Deployed', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];

/** What the current phase is doing (DGDR profilingPhase names, plus the benchmark loop's own). */
export type SubPhase =
  | 'Initializing'
  | 'GeneratingManifests'
  | 'DeployingCandidate'
  | 'WaitingReady'
  | 'Benchmarking'
  | 'SweepingPrefill'
  | 'SweepingDecode'
  | 'SweepingLoad'
  | 'SelectingConfig'
  | 'Collecting'
  | 'Reporting'
  | 'TearingDown'
  | 'Done';

export const STEPS = ['prepare', 'deploy', 'wait-ready', 'benchmark', 'collect', 'report', 'teardown'] as const;
export type StepName = (typeof STEPS)[number];

export interface StepState {
  state: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

/** `<experiment>/status.json`: the live state of one experiment. */
export interface ExperimentStatus {
  schema: 'llm-recipes/experiment-status@1';
  phase: Phase;
  subPhase: SubPhase;
  /** `<SubPhase>Failed` when phase is Failed. */
  reason: string | null;
  message: string | null;
  steps: Record<StepName, StepState>;
  /** Progress within the current step, e.g. `point 3/8 isl512-osl128-c16`. */
  progress: string | null;
  updatedAt: string;
  history: { at: string; phase: Phase; subPhase: SubPhase; message: string | null }[];
}

export const STATUS_FILE = 'status.json';

export function initialStatus(): ExperimentStatus {
  const steps = Object.fromEntries(STEPS.map((s) => [s, { state: 'pending', startedAt: null, finishedAt: null, error: null }])) as Record<StepName, StepState>;
  return { schema: 'llm-recipes/experiment-status@1', phase: 'Pending', subPhase: 'Initializing', reason: null, message: null, steps, progress: null, updatedAt: new Date().toISOString(), history: [] };
}

/**
 * Writes an experiment file atomically (temp file + rename), creating its directory first: a kill leaves the old file
 * or the new one, never half of one. No fsync, as bench's writeFileAtomic: status.json is rewritten on every change
 * and the run resumes, so a power cut costs at most a re-run. (The library directly, not via @llm-recipes/bench: the
 * simulator child process uses this and would pay ~70 ms importing bench.)
 */
export function writeAtomic(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic.sync(path, data, { fsync: false });
}

export function readStatus(dir: string): ExperimentStatus | null {
  const p = join(dir, STATUS_FILE);
  if (!existsSync(p)) return null;
  try {
    const s = JSON.parse(readFileSync(p, 'utf8')) as ExperimentStatus;
    return s.schema === 'llm-recipes/experiment-status@1' ? s : null;
  } catch {
    return null;
  }
}

/** Keeps status.json in step with the run; every change is written at once so `recipes status --watch` sees it live. */
export class StatusBook {
  readonly dir: string;
  status: ExperimentStatus;
  private readonly listener: ((s: ExperimentStatus) => void) | undefined;

  constructor(dir: string, listener?: (s: ExperimentStatus) => void) {
    this.dir = dir;
    this.status = readStatus(dir) ?? initialStatus();
    this.listener = listener;
  }

  private save(): void {
    this.status.updatedAt = new Date().toISOString();
    writeAtomic(join(this.dir, STATUS_FILE), `${JSON.stringify(this.status, null, 2)}\n`);
    this.listener?.(this.status);
  }

  enter(phase: Phase, subPhase: SubPhase, message: string | null = null): void {
    const s = this.status;
    if (s.phase === phase && s.subPhase === subPhase && s.message === message && s.history.length > 0) return;
    // progress belongs to the sub-phase that reported it
    if (s.subPhase !== subPhase || s.phase !== phase) s.progress = null;
    s.phase = phase;
    s.subPhase = subPhase;
    s.message = message;
    if (phase !== 'Failed') s.reason = null;
    s.history.push({ at: new Date().toISOString(), phase, subPhase, message });
    if (s.history.length > 200) s.history.splice(0, s.history.length - 200);
    this.save();
  }

  progress(text: string | null): void {
    this.status.progress = text;
    this.save();
  }

  stepStarted(step: StepName): void {
    this.status.steps[step] = { state: 'running', startedAt: new Date().toISOString(), finishedAt: null, error: null };
    this.save();
  }

  stepDone(step: StepName, state: 'done' | 'skipped' = 'done'): void {
    const st = this.status.steps[step];
    this.status.steps[step] = { ...st, state, finishedAt: new Date().toISOString(), error: null };
    this.status.progress = null;
    this.save();
  }

  /** Marks the experiment Failed with `<SubPhase>Failed` and the message (no step: the profile flow). */
  failPhase(message: string): void {
    failStatus(this.status, message);
    this.save();
  }

  /** Marks the step and the experiment Failed with `<SubPhase>Failed` and the message. */
  fail(step: StepName, message: string): void {
    const st = this.status.steps[step];
    this.status.steps[step] = { ...st, state: 'failed', finishedAt: new Date().toISOString(), error: message };
    this.status.reason = `${this.status.subPhase}Failed`;
    this.status.phase = 'Failed';
    this.status.message = message;
    this.status.history.push({ at: new Date().toISOString(), phase: 'Failed', subPhase: this.status.subPhase, message });
    this.save();
  }
}

/** Marks the experiment Failed with `<SubPhase>Failed` and the message (flows without steps: profile). */
export function failStatus(status: ExperimentStatus, message: string): void {
  status.reason = `${status.subPhase}Failed`;
  status.phase = 'Failed';
  status.message = message;
  status.history.push({ at: new Date().toISOString(), phase: 'Failed', subPhase: status.subPhase, message });
}

/** One line for terminals: `Profiling/Benchmarking  point 3/8 …`. */
export function formatStatusLine(s: ExperimentStatus): string {
  // the profile flow has no steps: leave the bracket out when none ran
  const steps = STEPS.every((n) => s.steps[n].state === 'pending') ? '' : `  [${STEPS.map((n) => `${n}:${s.steps[n].state}`).join(' ')}]`;
  const extra = s.phase === 'Failed' ? ` ${s.reason}: ${s.message}` : s.progress ? ` ${s.progress}` : s.message ? ` ${s.message}` : '';
  return `${s.phase}/${s.subPhase}${extra}${steps}`;
}
