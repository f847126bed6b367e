import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { UserError } from '@llm-recipes/errors';
import { formatStatusLine, planExperiment, runProfile, slaItl, type ProfileSettings } from '@llm-recipes/profile';
import { addTargetOptions, collect, posInt, posNum, reportFailed, runHooks, targetFrom, type TargetFlags } from './experiment-flags.ts';
import type { RegisterCommand } from './index.ts';
import { parseSla } from './search.ts';
import { findWorkspaceRoot } from './workspace-root.ts';

interface ProfileOpts extends TargetFlags {
  strategy: string;
  mode: string;
  gpus?: number;
  sla?: string;
  isl?: number;
  osl?: number;
  backend?: string;
  gpu?: string;
  variant?: string;
  set: string[];
  autoApply?: string | boolean;
  force?: boolean;
  out?: string;
  seed: number;
  maxConcurrency?: number;
  requests?: number;
  top: number;
  gpuPrice?: number;
  root?: string;
}

const f = (n: number | null | undefined, d = 1): string => (n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(d));

export const registerProfile: RegisterCommand = (program, io, state) => {
  const cmd = program
    .command('profile <model-or-recipe>')
    .description('SLA-driven profiling (DGDR flow): rapid (estimator) or thorough (prefill/decode/load sweeps on deployed engines); Pareto front, top-N, selection; --auto-apply writes, renders and deploys it.')
    .option('--strategy <s>', 'rapid | thorough', 'rapid')
    .option('--mode <mode>', 'agg | disagg | any: which topologies to consider', 'any')
    .option('--gpus <n>', "GPU budget (default: what the recipe deploys)", posInt)
    .option('--sla <terms>', "latency bounds, e.g. ttft=100,itl=15 (default: the recipe's sla)")
    .option('--isl <n>', "input tokens (default: the recipe's workload)", posInt)
    .option('--osl <n>', "output tokens (default: the recipe's workload)", posInt)
    .option('--backend <name>', 'picks the recipe when a model is given')
    .option('--gpu <id>', 'picks the recipe when a model is given')
    .option('--variant <name>', 'recipe variant to profile')
    .option('--set <a.b=c>', 'recipe override (repeatable)', collect, []);
  addTargetOptions(cmd, {
    endpoint: false,
    timeout: 'seconds to wait for the DGD to be Ready',
    speedup: { help: 'simulated time runs this many times faster (results are reported in simulated time)', default: 2 },
  })
    .option('--auto-apply [variant]', 'write the selection as a recipe variant (default name profile-<strategy>), render it and deploy it to the target')
    .option('--force', 'with --auto-apply: replace an existing variant of that name')
    .option('--out <dir>', 'experiment directory (default results/profile-<strategy>-<recipe>)')
    .option('--seed <n>', 'prompt seed', (v: string) => Number(v), 0)
    .option('--max-concurrency <n>', 'thorough: cap on the decode sweep (default 256; the KV capacity caps it too)', posInt)
    .option('--requests <n>', 'thorough: measured requests per decode/load point (default max(8, 2×concurrency))', posInt)
    .option('--top <n>', 'SLA-meeting configs to list', posInt, 5)
    .option('--gpu-price <usd>', 'GPU $/hour for cost per million tokens in the reports', posNum)
    .option('--root <dir>', 'workspace root (default: nearest directory with recipes/)')
    .action(async (ref: string, o: ProfileOpts) => {
      if (o.strategy !== 'rapid' && o.strategy !== 'thorough') throw new InvalidArgumentError(`--strategy: expected rapid or thorough, got "${o.strategy}"`);
      if (o.mode !== 'agg' && o.mode !== 'disagg' && o.mode !== 'any') throw new UserError('UNKNOWN_MODE', `--mode: unknown mode "${o.mode}"`, { hint: 'agg | disagg | any' });
      if (o.target === 'endpoint') throw new UserError('PROFILE_TARGET', 'profiling deploys candidate configurations, which an endpoint target cannot', { hint: 'use --target local or cluster; benchmark an existing server with recipes up --target endpoint' });
      const root = findWorkspaceRoot(io.cwd, o.root);
      const target = targetFrom(o, io);
      const autoApply = o.autoApply === undefined || o.autoApply === false ? null : o.autoApply === true ? `profile-${o.strategy}` : o.autoApply;
      const sla = o.sla ? parseSla(o.sla) : undefined;
      const settings: ProfileSettings = {
        mode: o.mode as ProfileSettings['mode'],
        gpus: o.gpus,
        sla,
        isl: o.isl,
        osl: o.osl,
        autoApply,
        force: o.force ?? false,
        maxConcurrency: o.maxConcurrency,
        requests: o.requests,
        top: o.top,
      };
      const dir = o.out ? resolve(io.cwd, o.out) : resolve(io.cwd, 'results', `profile-${o.strategy}-${ref.replace(/[^\w.-]+/g, '-')}`);
      planExperiment(dir, {
        root,
        ref,
        cwd: io.cwd,
        mode: undefined,
        backend: o.backend,
        gpu: o.gpu,
        variant: o.variant,
        set: o.set,
        target,
        strategy: o.strategy as 'rapid' | 'thorough',
        seed: o.seed,
        gpuHourlyUsd: o.gpuPrice ?? null,
        profile: settings,
      });
      io.stderr(`experiment ${dir}\n`);
      try {
        const out = await runProfile({
          dir,
          root,
          ...runHooks(io),
        });
        if (io.isTTY) io.stderr('\n');
        const r = out.results!;
        const lines: string[] = [formatStatusLine(out.status), ''];
        lines.push(`Pareto front (${r.pareto.length}; tokens/s/GPU vs tokens/s/user):`);
        for (const id of r.pareto) {
          const p = r.points.find((x) => x.id === id)!;
          lines.push(`  ${p.config.padEnd(30)} conc ${String(p.concurrency).padStart(4)}  ${f(p.tokensPerSecondPerUser).padStart(7)} tok/s/user  ${f(p.tokensPerSecondPerGpu).padStart(8)} tok/s/GPU  TTFT ${f(p.ttftP50).padStart(7)} ms  ITL ${f(slaItl(p), 2)} ms  ${p.source}${id === r.selected?.pointId ? '  ★' : ''}`);
        }
        if (r.top.length > 0) {
          lines.push('', 'top configs meeting the SLA:');
          for (const [i, t] of r.top.entries()) lines.push(`  ${i + 1}. ${t.config} — ${t.evidence}`);
        }
        if ((r.others ?? []).length > 0) {
          lines.push('', `why the others lost (${r.others!.length}; results.json lists all):`);
          for (const x of r.others!.slice(0, 10)) lines.push(`  ${x.config.padEnd(30)} ${x.reason}`);
        }
        lines.push('', r.selected ? `selected: ${r.selected.config} — ${r.selected.reason}` : 'selected: none');
        if (out.applied) lines.push(`applied: variant ${out.applied.variant} in ${out.applied.file}; manifests ${out.applied.manifests}${out.applied.endpoint ? `; serving at ${out.applied.endpoint} (pid ${out.applied.pid}; stop it with recipes up --out ${dir} --step teardown)` : ''}`);
        for (const rep of out.reports) lines.push(`report: ${rep}`);
        io.stdout(`${lines.join('\n')}\n`);
        const sel = r.points.find((p) => p.id === r.selected?.pointId);
        if (!sel?.meetsSla) state.exitCode = 1;
      } catch (err) {
        if (reportFailed(dir, io, state)) return;
        throw err;
      }
    });
};
