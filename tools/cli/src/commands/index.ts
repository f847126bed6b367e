import type { Command } from 'commander';
import type { CliIo } from '../io.ts';

/** A command module adds its subcommand to the program; set `state.exitCode` for check failures. */
export type RegisterCommand = (program: Command, io: CliIo, state: { exitCode: number }) => void;

/**
 * One top-level command. Its module (and everything it imports: the renderer, the validator, the harness…) is loaded
 * only when that command runs or its own help is asked for; `recipes --help` lists every command from `term` and
 * `description` alone. Both must read exactly as the command's own definition does (main.test.ts compares the
 * listing with the one the fully registered program prints).
 */
export interface CommandEntry {
  name: string;
  /** The listing's left column: name, `[options]` when it has options, its arguments. */
  term: string;
  description: string;
  load: () => Promise<RegisterCommand>;
}

// Each command lives in its own file beside this one and is listed here, in help order.
export const commands: readonly CommandEntry[] = [
  {
    name: 'validate',
    term: 'validate [options] [paths...]',
    description: 'Validate rendered manifests: CRD/Kubernetes schemas (kubeconform or embedded), DGD CEL rules and cross-object checks.',
    load: async () => (await import('./validate.ts')).registerValidate,
  },
  {
    name: 'render',
    term: 'render [options]',
    description: 'Render recipes for each cluster profile into clusters/<cluster>/ (plain YAML for Flux or Argo CD).',
    load: async () => (await import('./render.ts')).registerRender,
  },
  {
    name: 'explain',
    term: 'explain [options] <recipe> [field]',
    description: 'Show where each effective value of a recipe comes from (default → model → backend → gpu → cluster → recipe → variant → golden → --set).',
    load: async () => (await import('./recipe-explain.ts')).registerExplain,
  },
  {
    name: 'new',
    term: 'new [options]',
    description: 'Scaffold a recipe with the schema modeline and a tensor-parallel size that fits the GPU.',
    load: async () => (await import('./recipe-new.ts')).registerNew,
  },
  {
    name: 'estimate',
    term: 'estimate [options]',
    description: 'Estimate TTFT, ITL and throughput of one deployment at one concurrency (calibrated roofline model).',
    load: async () => (await import('./estimate.ts')).registerEstimate,
  },
  {
    name: 'search',
    term: 'search [options] [recipe]',
    description: 'Rapid search: Pareto front (tokens/s/GPU vs tokens/s/user) and the config that best meets the SLA.',
    load: async () => (await import('./search.ts')).registerSearch,
  },
  {
    name: 'bench',
    term: 'bench [options]',
    description: 'Benchmark an OpenAI-compatible endpoint: streaming load at a concurrency or rate, TTFT/ITL/TPOT/E2E and throughput.',
    load: async () => {
      const [{ registerBench }, { registerBenchMerge }] = await Promise.all([import('./bench.ts'), import('./bench-merge.ts')]);
      // `bench merge` is a subcommand of `bench`: registered right after it
      return (program, io, state) => {
        registerBench(program, io, state);
        registerBenchMerge(program, io, state);
      };
    },
  },
  {
    name: 'sim',
    term: 'sim [options]',
    description: 'Serve an OpenAI-compatible simulator with a continuous-batching engine (no GPU needed).',
    load: async () => (await import('./sim.ts')).registerSim,
  },
  {
    name: 'ci',
    term: 'ci',
    description: 'The PR loop in CI: plan the profiling matrix, profile a recipe, post the sticky report comment.',
    load: async () => (await import('./ci.ts')).registerCi,
  },
  {
    name: 'promote',
    term: 'promote [options] <recipe>',
    description: "Write the recipe's golden.yaml from an experiment (best point meeting the SLA), re-render the clusters that run it, and commit or open a PR.",
    load: async () => (await import('./promote.ts')).registerPromote,
  },
  {
    name: 'up',
    term: 'up [options] [model-or-recipe]',
    description: 'Render, deploy, wait, benchmark, collect, report and tear down one recipe (simulator by default); resumable.',
    load: async () => (await import('./up.ts')).registerUp,
  },
  {
    name: 'report',
    term: 'report [options] <experiment>',
    description: 'Write report.md and report.html for an experiment; --compare adds a run-vs-run regression verdict.',
    load: async () => (await import('./up.ts')).registerReport,
  },
  {
    name: 'status',
    term: 'status [options] <experiment>',
    description: "Show an experiment's phase, sub-phase and steps; --watch follows it live until it settles.",
    load: async () => (await import('./up.ts')).registerStatus,
  },
  {
    name: 'profile',
    term: 'profile [options] <model-or-recipe>',
    description:
      'SLA-driven profiling (DGDR flow): rapid (estimator) or thorough (prefill/decode/load sweeps on deployed engines); Pareto front, top-N, selection; --auto-apply writes, renders and deploys it.',
    load: async () => (await import('./profile.ts')).registerProfile,
  },
  {
    name: 'calibrate',
    term: 'calibrate [options]',
    description: "Refit the estimator's bounded corrections for a GPU × backend from this project's own benchmark runs, and commit them as data.",
    load: async () => (await import('./calibrate.ts')).registerCalibrate,
  },
];
