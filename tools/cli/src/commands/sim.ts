import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { InvalidInputError, UserError, type Issue } from '@llm-recipes/errors';
import { estimatorSimulation, workspaceCalibration } from '@llm-recipes/estimate';
import { GpuSchema, loadWorkspace, ModelCardSchema, RecipeSchema, resolveRecipe } from '@llm-recipes/recipe';
import {
  resolveSimConfig,
  simConfigFromRecipe,
  startSimulator,
  type PoolRole,
  type SimConfigInput,
  type SimRecipeFile,
  type StepModelFactory,
} from '@llm-recipes/sim';
import type { RegisterCommand } from './index.ts';
import { findWorkspaceRoot } from './workspace-root.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function num(min: number, max = Infinity, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
      throw new InvalidArgumentError(`expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max === Infinity ? '∞' : max}], got "${v}"`);
    return n;
  };
}
const int = (min: number) => num(min, Infinity, true);
const rate = num(0, 1);

interface SimOpts {
  recipe?: string;
  recipeJson?: string;
  pool?: string;
  stepModel?: 'parametric' | 'estimator';
  variant?: string;
  set: string[];
  root?: string;
  host: string;
  port: number;
  speedup?: number;
  paceUs?: number;
  modelName?: string;
  maxModelLen?: number;
  mode?: 'agg' | 'disagg';
  router?: 'kv' | 'random' | 'round-robin';
  replicas?: number;
  prefillReplicas?: number;
  decodeReplicas?: number;
  maxNumSeqs?: number;
  maxBatchedTokens?: number;
  blockSize?: number;
  kvCapacityTokens?: number;
  prefixCaching: boolean;
  itlMs?: number;
  decodeMsPerSeq?: number;
  decodeMsPerKtoken?: number;
  ttftMs?: number;
  prefillMsPerToken?: number;
  transferGbs?: number;
  meanOutputTokens?: number;
  maxWaiting?: number;
  faultErrorRate?: number;
  faultStallMs?: number;
  faultStallRate?: number;
  faultDisconnectRate?: number;
  readyDelayMs?: number;
  seed?: number;
}

type PoolIn = NonNullable<SimConfigInput['agg']>;

/** Applies the command-line overrides on top of the recipe's (or the default) simulator config. */
export function applySimFlags(base: SimConfigInput, o: SimOpts): SimConfigInput {
  const cfg: SimConfigInput = structuredClone(base);
  const set = <T>(v: T | undefined, f: (v: T) => void): void => {
    if (v !== undefined) f(v);
  };
  cfg.model = { ...cfg.model };
  set(o.modelName, (v) => (cfg.model!.name = v));
  set(o.maxModelLen, (v) => (cfg.model!.maxModelLen = v));
  set(o.mode, (v) => (cfg.mode = v));
  set(o.router, (v) => (cfg.router = v));
  set(o.speedup, (v) => (cfg.speedup = v));
  set(o.paceUs, (v) => (cfg.paceUs = v));
  set(o.seed, (v) => (cfg.seed = v));
  set(o.meanOutputTokens, (v) => (cfg.meanOutputTokens = v));
  set(o.maxWaiting, (v) => (cfg.maxWaiting = v));
  set(o.transferGbs, (v) => (cfg.transfer = { ...cfg.transfer, bandwidthGBs: v }));
  cfg.faults = { ...cfg.faults };
  set(o.faultErrorRate, (v) => (cfg.faults!.errorRate = v));
  set(o.faultStallMs, (v) => (cfg.faults!.stallMs = v));
  set(o.faultStallRate, (v) => (cfg.faults!.stallRate = v));
  set(o.faultDisconnectRate, (v) => (cfg.faults!.disconnectRate = v));
  set(o.readyDelayMs, (v) => (cfg.faults!.readyDelayMs = v));
  for (const role of ['agg', 'prefill', 'decode'] as const) {
    const p: PoolIn = { ...cfg[role], step: { ...cfg[role]?.step } };
    set(role === 'agg' ? o.replicas : role === 'prefill' ? o.prefillReplicas : o.decodeReplicas, (v) => (p.replicas = v));
    set(o.maxNumSeqs, (v) => (p.maxNumSeqs = v));
    set(o.maxBatchedTokens, (v) => (p.maxBatchedTokens = v));
    set(o.blockSize, (v) => (p.blockSize = v));
    set(o.kvCapacityTokens, (v) => (p.kvCapacityTokens = v));
    if (!o.prefixCaching) p.prefixCaching = false;
    set(o.itlMs, (v) => (p.step!.decodeBaseMs = v));
    set(o.decodeMsPerSeq, (v) => (p.step!.decodeMsPerSeq = v));
    set(o.decodeMsPerKtoken, (v) => (p.step!.decodeMsPerKContextToken = v));
    set(o.ttftMs, (v) => (p.step!.prefillOverheadMs = v));
    set(o.prefillMsPerToken, (v) => (p.step!.prefillMsPerToken = v));
    cfg[role] = p;
  }
  return cfg;
}

const TIMING_FLAGS = ['itlMs', 'decodeMs', 'decodeMsPerSeq', 'decodeMsPerKtoken', 'ttftMs', 'prefillMsPerToken'] as const;
const flagName = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * Which step-time model serves: the estimator's (default with --recipe: a simulated deployment behaves like its
 * estimate) or the parametric one (without a recipe, or when a timing knob is given: those knobs are parametric).
 */
export function chooseStepModel(o: SimOpts & { decodeMs?: number }): 'parametric' | 'estimator' {
  const timing = TIMING_FLAGS.filter((k) => o[k] !== undefined);
  if (o.stepModel !== undefined && o.stepModel !== 'parametric' && o.stepModel !== 'estimator') {
    throw new UserError('SIM_STEP_MODEL', `unknown step model "${String(o.stepModel)}"`, { hint: 'use --step-model estimator or --step-model parametric' });
  }
  const noRecipe = o.recipe === undefined && o.recipeJson === undefined;
  if (o.stepModel === 'estimator') {
    if (noRecipe) {
      throw new UserError('SIM_STEP_MODEL', 'the estimator step model needs a recipe (model × GPU × backend × parallelism)', { hint: 'add --recipe <dir>, or drop --step-model estimator' });
    }
    if (timing.length > 0) {
      throw new UserError('SIM_STEP_MODEL', `${timing.map(flagName).join(', ')} set parametric step-time knobs, which the estimator step model does not have`, {
        hint: 'drop --step-model estimator (timing flags imply parametric), or drop the timing flags',
      });
    }
    return 'estimator';
  }
  if (o.stepModel === 'parametric' || noRecipe || timing.length > 0) return 'parametric';
  return 'estimator';
}

const SimRecipeFileSchema = z.strictObject({
  id: z.string().min(1),
  variant: z.string().optional(),
  recipe: RecipeSchema,
  model: ModelCardSchema,
  gpu: GpuSchema,
});

/** Reads a resolved recipe written by `simRecipeJson` (what `recipes render --engine sim` mounts into the pods). */
export function readSimRecipeFile(path: string): SimRecipeFile {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError('SIM_RECIPE_JSON', e.code === 'ENOENT' ? `${path} does not exist` : `${path} is not JSON: ${e.message}`, {
      hint: 'pass the file `recipes render --engine sim` puts in the <dgd>-sim ConfigMap, or use --recipe <dir>',
    });
  }
  const parsed = SimRecipeFileSchema.safeParse(data);
  if (!parsed.success) {
    const issues: Issue[] = parsed.error.issues.map((i) => ({
      code: 'SIM_RECIPE_JSON',
      file: path,
      path: i.path.filter((p): p is string | number => typeof p !== 'symbol'),
      message: i.message,
      hint: 're-render it with the same llm-recipes version as the image (recipes render --engine sim)',
    }));
    throw new InvalidInputError(issues);
  }
  return parsed.data;
}

/** One pool of a recipe's simulator config as a single aggregated engine: a pod standing in for one worker. */
export function onePool(base: SimConfigInput, pool: PoolRole): SimConfigInput {
  const { prefill: _p, decode: _d, agg: _a, transfer: _t, ...rest } = base;
  return { ...rest, mode: 'agg', agg: { ...base[pool], replicas: 1 } };
}

/** `recipes sim`: serves the OpenAI-compatible simulator until SIGINT/SIGTERM. */
export const registerSim: RegisterCommand = (program, io) => {
  program
    .command('sim')
    .description('Serve an OpenAI-compatible simulator with a continuous-batching engine (no GPU needed).')
    .option('--recipe <dir>', 'serve what this recipe would deploy (pools, router, engine limits, roofline timing)')
    .option('--variant <name>', 'apply this recipe variant')
    .option('--set <path=value>', 'override a recipe field (repeatable)', collect, [])
    .option('--root <dir>', 'repository root (default: nearest directory holding recipes/)')
    .option('--recipe-json <file>', 'serve a resolved recipe written by `recipes render --engine sim` (instead of --recipe)')
    .option('--pool <role>', 'with a recipe: serve one engine of this pool (agg | prefill | decode), as one worker pod does')
    .option('--step-model <model>', 'estimator (default with --recipe; timing flags imply parametric) | parametric')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <n>', 'listen port (0 = any free port)', int(0), 8000)
    .option('--speedup <x>', 'simulated time runs this many times faster than wall time', num(1e-3))
    .option('--pace-us <us>', 'token delivery pacing per stream slot, simulated µs (default 20; 0 = a step\'s tokens at once)', num(0))
    .option('--model-name <name>', 'served model name')
    .option('--max-model-len <n>', 'prompt + output token limit', int(1))
    .option('--mode <mode>', 'agg | disagg')
    .option('--router <policy>', 'kv | random | round-robin')
    .option('--replicas <n>', 'workers in the aggregated pool', int(1))
    .option('--prefill-replicas <n>', 'workers in the prefill pool (disagg)', int(1))
    .option('--decode-replicas <n>', 'workers in the decode pool (disagg)', int(1))
    .option('--max-num-seqs <n>', 'sequences running at once per worker', int(1))
    .option('--max-batched-tokens <n>', 'token budget per engine step (chunked prefill)', int(1))
    .option('--block-size <n>', 'KV block size, tokens', int(1))
    .option('--kv-capacity-tokens <n>', 'KV-cache capacity per worker, tokens', int(1))
    .option('--no-prefix-caching', 'disable prefix caching')
    .option('--itl-ms <ms>', 'decode step at batch 1 (simulated ms)', num(0))
    .option('--decode-ms <ms>', 'alias of --itl-ms', num(0))
    .option('--decode-ms-per-seq <ms>', 'added per decoding sequence per step', num(0))
    .option('--decode-ms-per-ktoken <ms>', 'added per 1,000 context tokens per step', num(0))
    .option('--ttft-ms <ms>', 'fixed cost of a step carrying prefill', num(0))
    .option('--prefill-ms-per-token <ms>', 'added per prompt token computed', num(0))
    .option('--transfer-gbs <gbs>', 'prefill→decode KV link bandwidth, GB/s (disagg)', num(1e-6))
    .option('--mean-output-tokens <n>', 'mean EOS position when ignore_eos is not set', num(1))
    .option('--max-waiting <n>', 'waiting-queue bound per worker (beyond it: 429)', int(0))
    .option('--fault-error-rate <p>', 'fraction of requests answered 500', rate)
    .option('--fault-stall-ms <ms>', 'stall streams mid-generation for this long (wall ms)', num(0))
    .option('--fault-stall-rate <p>', 'fraction of requests that stall (default 1 when --fault-stall-ms is set)', rate)
    .option('--fault-disconnect-rate <p>', 'fraction of streams cut mid-response', rate)
    .option('--ready-delay-ms <ms>', '/health answers 503 for this long after start (slow start)', num(0))
    .option('--seed <n>', 'seed for output lengths, text and faults', num(-(2 ** 31), 2 ** 31 - 1, true))
    .action(async (opts: SimOpts & { decodeMs?: number }) => {
      let base: SimConfigInput = {};
      let source = 'defaults';
      let stepModels: StepModelFactory | undefined;
      if (opts.recipe !== undefined && opts.recipeJson !== undefined) {
        throw new UserError('SIM_FLAGS', '--recipe and --recipe-json both name the recipe to serve', { hint: 'give one of them' });
      }
      if (opts.recipeJson !== undefined && (opts.variant !== undefined || opts.set.length > 0)) {
        throw new UserError('SIM_FLAGS', '--variant and --set apply to --recipe; a --recipe-json file is already resolved', {
          hint: 're-render the file with the variant and overrides you want',
        });
      }
      const pool = opts.pool as PoolRole | undefined;
      if (pool !== undefined) {
        if (pool !== 'agg' && pool !== 'prefill' && pool !== 'decode') {
          throw new UserError('SIM_FLAGS', `unknown --pool ${String(pool)}`, { hint: 'use --pool agg, --pool prefill or --pool decode' });
        }
        if (opts.recipe === undefined && opts.recipeJson === undefined) {
          throw new UserError('SIM_FLAGS', '--pool picks a pool of a recipe, and no recipe was given', { hint: 'add --recipe <dir> or --recipe-json <file>' });
        }
        if (opts.mode !== undefined) throw new UserError('SIM_FLAGS', '--pool serves one aggregated engine; --mode does not apply', { hint: 'drop --mode' });
      }
      const stepModel = chooseStepModel(opts);
      if (opts.recipe !== undefined || opts.recipeJson !== undefined) {
        let resolved: SimRecipeFile;
        let root: string | undefined;
        if (opts.recipeJson !== undefined) resolved = readSimRecipeFile(resolve(io.cwd, opts.recipeJson));
        else {
          root = findWorkspaceRoot(io.cwd, opts.root);
          const ws = loadWorkspace(root);
          const result = resolveRecipe(ws, { recipe: opts.recipe!, variant: opts.variant, set: opts.set, cwd: io.cwd });
          if (result.resolved === undefined) throw new InvalidInputError(result.issues);
          resolved = result.resolved;
        }
        const mode = resolved.recipe.topology.mode;
        if (pool !== undefined && (mode === 'agg') !== (pool === 'agg')) {
          throw new UserError('SIM_FLAGS', `--pool ${pool}: recipe ${resolved.id} is ${mode}, its pools are ${mode === 'agg' ? 'agg' : 'prefill and decode'}`, {
            hint: `use --pool ${mode === 'agg' ? 'agg' : 'prefill or --pool decode'}`,
          });
        }
        if (stepModel === 'estimator') {
          if (opts.mode !== undefined && opts.mode !== resolved.recipe.topology.mode) {
            throw new UserError('SIM_STEP_MODEL', `--mode ${opts.mode} differs from the recipe's mode ${resolved.recipe.topology.mode}, which the estimator step model is built for`, {
              hint: `use a variant with mode ${opts.mode} (recipes search --write-variant), or add --step-model parametric`,
            });
          }
          // the step model with the workspace's committed corrections (recipes calibrate), as estimate and search use it;
          // a rendered recipe file (in-cluster) carries none
          const es = estimatorSimulation(resolved, workspaceCalibration(root));
          base = es.config;
          stepModels = pool === undefined ? es.stepModels : (_role, cfg) => es.stepModels(pool, cfg);
        } else base = simConfigFromRecipe(resolved);
        if (pool !== undefined) base = onePool(base, pool);
        source = `recipe ${resolved.id}${resolved.variant ? ` (variant ${resolved.variant})` : ''}${pool === undefined ? '' : `, one ${pool} engine`}`;
      }
      const config = resolveSimConfig(applySimFlags(base, { ...opts, itlMs: opts.itlMs ?? opts.decodeMs }), '--flags');
      const sim = await startSimulator(config, { host: opts.host, port: opts.port, stepModels });
      const pools =
        config.mode === 'agg'
          ? `${config.agg.replicas}× agg (max-num-seqs ${config.agg.maxNumSeqs})`
          : `${config.prefill.replicas}× prefill + ${config.decode.replicas}× decode`;
      io.stdout(`simulator serving ${config.model.name} from ${source}: ${pools}, router ${config.router}, speedup ${config.speedup}, ${stepModel} step model\n`);
      io.stdout(`${sim.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await sim.close();
      io.stderr('simulator stopped\n');
    });
};
