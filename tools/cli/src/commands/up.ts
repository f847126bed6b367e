import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { UserError } from '@llm-recipes/errors';
import { formatStatusLine, planExperiment, readSpec, readStatus, runSteps, STEPS, type ExperimentStatus, type StepName, type TargetSpec } from '@llm-recipes/profile';
import { writeReports } from '@llm-recipes/report';
import type { CliIo } from '../io.ts';
import type { RegisterCommand } from './index.ts';
import { findWorkspaceRoot } from './workspace-root.ts';

export const posNum = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${v}"`);
  return n;
};
export const posInt = (v: string): number => {
  const n = posNum(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`);
  return n;
};
const intList = (v: string): number[] => v.split(',').map((s) => posInt(s.trim()));
const islOslList = (v: string): [number, number][] =>
  v.split(',').map((part) => {
    const m = /^(\d+)\s*[x:/]\s*(\d+)$/i.exec(part.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new InvalidArgumentError(`"${part}" is not ISLxOSL (e.g. 512x128)`);
    return [Number(m[1]), Number(m[2])];
  });
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface UpOpts {
  mode?: 'agg' | 'disagg';
  backend?: string;
  gpu?: string;
  variant?: string;
  set: string[];
  target: string;
  endpoint?: string;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  timeout: number;
  pollInterval: number;
  out?: string;
  step?: string;
  islOsl?: [number, number][];
  concurrency?: number[];
  requests?: number;
  warmup?: number;
  speedup: number;
  slowdown: number;
  seed: number;
  gpuPrice?: number;
  keep?: boolean;
  root?: string;
}

/** Live phase/sub-phase: one rewritten line on a TTY, plain lines otherwise. */
export function statusPrinter(io: CliIo): (s: ExperimentStatus) => void {
  let last = '';
  return (s) => {
    const line = `${s.phase}/${s.subPhase}${s.progress ? ` ${s.progress}` : ''}`;
    if (line === last) return;
    last = line;
    io.stderr(io.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  };
}

/** The --target flags as a TargetSpec (shared by up and profile). */
export function targetFrom(
  o: { target: string; endpoint?: string | undefined; kubeconfig?: string | undefined; context?: string | undefined; namespace?: string | undefined; timeout: number; pollInterval: number; speedup: number; slowdown: number },
  io: CliIo,
): TargetSpec {
  const pollMs = Math.round(o.pollInterval * 1000);
  const target: TargetSpec =
    o.target === 'local'
      ? { kind: 'local', speedup: o.speedup, slowdown: o.slowdown }
      : o.target === 'endpoint'
        ? { kind: 'endpoint', url: o.endpoint ?? '' }
        : o.target === 'cluster'
          ? { kind: 'cluster', kubeconfig: o.kubeconfig ? resolve(io.cwd, o.kubeconfig) : null, context: o.context ?? null, namespace: o.namespace ?? null, timeoutS: o.timeout, pollMs }
          : (() => {
              throw new UserError('UNKNOWN_TARGET', `--target: unknown target "${o.target}"`, { hint: 'local | endpoint | cluster' });
            })();
  if (target.kind === 'endpoint' && !target.url) throw new UserError('ENDPOINT_REQUIRED', '--target endpoint needs --endpoint URL', { hint: 'e.g. --endpoint http://127.0.0.1:8000' });
  return target;
}

export const registerUp: RegisterCommand = (program: Command, io, state) => {
  program
    .command('up [model-or-recipe]')
    .description('Render, deploy, wait, benchmark, collect, report and tear down one recipe (simulator by default); resumable.')
    .option('--mode <mode>', 'agg | disagg (picks the recipe when a model is given)', (v: string) => {
      if (v !== 'agg' && v !== 'disagg') throw new InvalidArgumentError('expected agg or disagg');
      return v;
    })
    .option('--backend <name>', 'vllm | sglang | trtllm (picks the recipe when a model is given)')
    .option('--gpu <id>', 'GPU id (picks the recipe when a model is given)')
    .option('--variant <name>', 'recipe variant')
    .option('--set <a.b=c>', 'recipe override (repeatable)', collect, [])
    .option('--target <kind>', 'local (simulator) | endpoint | cluster', 'local')
    .option('--endpoint <url>', 'endpoint target: the server to benchmark')
    .option('--kubeconfig <file>', 'cluster target: kubeconfig (default $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'cluster target: kubeconfig context (default: current)')
    .option('--namespace <ns>', "cluster target: namespace (default: the context's)")
    .option('--timeout <s>', 'cluster target: seconds to wait for Ready and for each benchmark Job', posNum, 3600)
    .option('--poll-interval <s>', 'cluster target: seconds between status polls', posNum, 2)
    .option('--out <dir>', 'experiment directory (default results/<recipe-name>)')
    .option('--step <list>', `run only these steps against --out (${STEPS.join(', ')})`)
    .option('--isl-osl <list>', 'matrix ISL×OSL pairs, e.g. 512x128,2048x256 (default: the recipe benchmark section)', islOslList)
    .option('--concurrency <list>', 'matrix concurrencies, e.g. 1,4,16', intList)
    .option('--requests <n>', 'measured requests per point', posInt)
    .option('--warmup <n>', 'warmup requests per point', (v: string) => (v === '0' ? 0 : posInt(v)))
    .option('--speedup <x>', 'local target: simulated time runs this many times faster', posNum, 10)
    .option('--slowdown <x>', 'local target: multiply every simulated step time (regression checks)', posNum, 1)
    .option('--seed <n>', 'prompt seed', (v: string) => Number(v), 0)
    .option('--gpu-price <usd>', 'GPU $/hour for cost per million tokens', posNum)
    .option('--keep', 'leave the deployment running (phase ends Deployed)')
    .option('--root <dir>', 'workspace root (default: nearest directory with recipes/)')
    .action(async (ref: string | undefined, o: UpOpts) => {
      const root = findWorkspaceRoot(io.cwd, o.root);
      const steps = o.step ? o.step.split(',').map((s) => s.trim()) : undefined;
      for (const s of steps ?? []) {
        if (!(STEPS as readonly string[]).includes(s)) throw new UserError('UNKNOWN_STEP', `--step: unknown step "${s}"`, { hint: `steps: ${STEPS.join(', ')}` });
      }
      let dir = o.out ? resolve(io.cwd, o.out) : undefined;
      if (ref) {
        const target = targetFrom(o, io);
        dir ??= resolve(io.cwd, 'results', ref.replace(/[^\w.-]+/g, '-'));
        planExperiment(dir, {
          root,
          ref,
          cwd: io.cwd,
          mode: o.mode,
          backend: o.backend,
          gpu: o.gpu,
          variant: o.variant,
          set: o.set,
          target,
          islOsl: o.islOsl,
          concurrency: o.concurrency,
          requests: o.requests,
          warmup: o.warmup,
          seed: o.seed,
          gpuHourlyUsd: o.gpuPrice ?? null,
          keep: o.keep ?? false,
        });
      } else if (!dir || !readSpec(dir)) {
        throw new UserError('UP_USAGE', 'recipes up needs a model or recipe (or --out pointing at an existing experiment)', { hint: 'e.g. recipes up qwen3-0.6b --out results/quickstart' });
      }
      io.stderr(`experiment ${dir}\n`);
      try {
        const outcome = await runSteps({
          dir: dir!,
          root,
          steps: steps as StepName[] | undefined,
          reporter: async (d, results) => {
            const w = writeReports(d, { results });
            return [w.markdown, w.html];
          },
          onStatus: statusPrinter(io),
          log: (line) => io.stderr(`${io.isTTY ? '\r\x1b[2K' : ''}  ${line}\n`),
        });
        if (io.isTTY) io.stderr('\n');
        io.stdout(`${formatStatusLine(outcome.status)}\n`);
        if (outcome.results?.selected) io.stdout(`selected: ${outcome.results.selected.config} (${outcome.results.selected.reason})\n`);
        for (const r of outcome.reports) io.stdout(`report: ${r}\n`);
        if (outcome.results && !outcome.results.points.some((p) => p.meetsSla)) state.exitCode = 1;
      } catch (err) {
        const st = readStatus(dir!);
        if (st?.phase === 'Failed') {
          io.stdout(`${formatStatusLine(st)}\n`);
          io.stderr(`failed: ${st.reason}: ${st.message}\nresults so far are kept in ${dir}; fix the cause and re-run the same command to resume\n`);
          state.exitCode = 1;
          return;
        }
        throw err;
      }
    });
};

export const registerReport: RegisterCommand = (program, io) => {
  program
    .command('report <experiment>')
    .description('Write report.md and report.html for an experiment; --compare adds a run-vs-run regression verdict.')
    .option('--compare <experiment>', 'base experiment to compare against (bootstrap CI over requests)')
    .option('--tolerance <pct>', 'relative change treated as noise, percent', posNum, 5)
    .option('--stdout', 'also print the markdown report')
    .action((exp: string, o: { compare?: string; tolerance: number; stdout?: boolean }) => {
      const dir = resolve(io.cwd, exp);
      const w = writeReports(dir, { compareWith: o.compare ? resolve(io.cwd, o.compare) : undefined, tolerance: o.tolerance / 100 });
      if (o.stdout) io.stdout(readFileText(w.markdown));
      if (w.comparison) io.stdout(`comparison: ${w.comparison.verdict} — ${w.comparison.summary}\n`);
      io.stdout(`report: ${w.markdown}\nreport: ${w.html}\n`);
    });
};

export const registerStatus: RegisterCommand = (program, io) => {
  program
    .command('status <experiment>')
    .description("Show an experiment's phase, sub-phase and steps; --watch follows it live until it settles.")
    .option('--watch', 'refresh until the phase is Ready, Deployed or Failed')
    .option('--interval <s>', 'refresh interval', posNum, 1)
    .action(async (exp: string, o: { watch?: boolean; interval: number }) => {
      const dir = resolve(io.cwd, exp);
      let last = '';
      for (;;) {
        const st = readStatus(dir);
        if (!st) throw new UserError('NOT_AN_EXPERIMENT', `${dir} holds no status.json`, { hint: 'start one with recipes up' });
        const line = formatStatusLine(st);
        if (line !== last) io.stdout(`${line}\n`);
        last = line;
        const settled = st.phase === 'Failed' || st.phase === 'Deployed' || (st.phase === 'Ready' && st.subPhase === 'Done');
        if (!o.watch || settled) return;
        await new Promise((r) => setTimeout(r, o.interval * 1000));
      }
    });
};

import { readFileSync } from 'node:fs';
function readFileText(p: string): string {
  return readFileSync(p, 'utf8');
}
