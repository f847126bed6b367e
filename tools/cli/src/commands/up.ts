import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { UserError } from '@llm-recipes/errors';
import { formatStatusLine, planExperiment, readSpec, readStatus, runSteps, STEPS, type StepName } from '@llm-recipes/profile';
import { writeReports } from '@llm-recipes/report';
import { addTargetOptions, collect, intList, islOslList, posInt, posNum, reportFailed, runHooks, targetFrom, type TargetFlags } from './experiment-flags.ts';
import type { RegisterCommand } from './index.ts';
import { findWorkspaceRoot } from './workspace-root.ts';

interface UpOpts extends TargetFlags {
  mode?: 'agg' | 'disagg';
  backend?: string;
  gpu?: string;
  variant?: string;
  set: string[];
  out?: string;
  step?: string;
  islOsl?: [number, number][];
  concurrency?: number[];
  requests?: number;
  warmup?: number;
  seed: number;
  gpuPrice?: number;
  keep?: boolean;
  root?: string;
}

export const registerUp: RegisterCommand = (program: Command, io, state) => {
  const cmd = program
    .command('up [model-or-recipe]')
    .description('Render, deploy, wait, benchmark, collect, report and tear down one recipe (simulator by default); resumable.')
    .option('--mode <mode>', 'agg | disagg (picks the recipe when a model is given)', (v: string) => {
      if (v !== 'agg' && v !== 'disagg') throw new InvalidArgumentError('expected agg or disagg');
      return v;
    })
    .option('--backend <name>', 'vllm | sglang | trtllm (picks the recipe when a model is given)')
    .option('--gpu <id>', 'GPU id (picks the recipe when a model is given)')
    .option('--variant <name>', 'recipe variant')
    .option('--set <a.b=c>', 'recipe override (repeatable)', collect, []);
  addTargetOptions(cmd, {
    endpoint: true,
    timeout: 'seconds to wait for Ready and for each benchmark Job',
    speedup: { help: 'simulated time runs this many times faster', default: 10 },
  })
    .option('--out <dir>', 'experiment directory (default results/<model-or-recipe> as given, / → -); an existing one is resumed')
    .option('--step <list>', `run only these steps against --out (${STEPS.join(', ')})`)
    .option('--isl-osl <list>', 'matrix ISL×OSL pairs, e.g. 512x128,2048x256 (default: the recipe benchmark section)', islOslList)
    .option('--concurrency <list>', 'matrix concurrencies, e.g. 1,4,16', intList)
    .option('--requests <n>', 'measured requests per point', posInt)
    .option('--warmup <n>', 'warmup requests per point', (v: string) => (v === '0' ? 0 : posInt(v)))
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
          ...runHooks(io),
        });
        if (io.isTTY) io.stderr('\n');
        io.stdout(`${formatStatusLine(outcome.status)}\n`);
        if (outcome.results?.selected) io.stdout(`selected: ${outcome.results.selected.config} (${outcome.results.selected.reason})\n`);
        for (const r of outcome.reports) io.stdout(`report: ${r}\n`);
        if (outcome.results && !outcome.results.points.some((p) => p.meetsSla)) state.exitCode = 1;
      } catch (err) {
        if (reportFailed(dir!, io, state)) return;
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
