import { z } from 'zod';
import { InvalidInputError, type Issue } from '@llm-recipes/errors';
import { DEFAULT_STEP_PARAMS } from './step-model.ts';

const StepParamsSchema = z
  .strictObject({
    decodeBaseMs: z.number().nonnegative(),
    decodeMsPerSeq: z.number().nonnegative(),
    decodeMsPerKContextToken: z.number().nonnegative(),
    prefillOverheadMs: z.number().nonnegative(),
    prefillMsPerToken: z.number().nonnegative(),
    prefillMsPerTokenPerKContext: z.number().nonnegative(),
    kvBytesPerToken: z.number().positive(),
    kvCapacityTokens: z.int().positive(),
  })
  .partial()
  .describe('Parametric step-time knobs (simulated ms); unset ones take the defaults.');

export const PoolConfigSchema = z.strictObject({
  replicas: z.int().positive().default(1).describe('Workers in this pool.'),
  tp: z.int().positive().default(1).describe('Tensor-parallel size per worker (informational unless the step model uses it).'),
  maxNumSeqs: z.int().positive().default(256).describe('vLLM --max-num-seqs: sequences running at once per worker.'),
  maxBatchedTokens: z.int().positive().default(8192).describe('vLLM --max-num-batched-tokens: token budget per step (chunked prefill).'),
  blockSize: z.int().positive().default(16).describe('KV block size, tokens.'),
  kvCapacityTokens: z.int().positive().optional().describe('KV capacity per worker, tokens; overrides the step model.'),
  prefixCaching: z.boolean().default(true).describe('Reuse cached prompt blocks across requests.'),
  step: StepParamsSchema.default({}),
});
export type PoolConfig = z.output<typeof PoolConfigSchema>;

export const FaultConfigSchema = z.strictObject({
  errorRate: z.number().min(0).max(1).default(0).describe('Fraction of requests answered with HTTP 500.'),
  stallMs: z.number().nonnegative().default(0).describe('Wall ms a stalled stream pauses mid-generation.'),
  stallRate: z.number().min(0).max(1).default(1).describe('Fraction of requests that stall (when stallMs > 0).'),
  disconnectRate: z.number().min(0).max(1).default(0).describe('Fraction of streams cut mid-response (socket destroyed).'),
  readyDelayMs: z.number().nonnegative().default(0).describe('Wall ms after start during which /health and the API answer 503.'),
});
export type FaultConfig = z.output<typeof FaultConfigSchema>;

export const SimConfigSchema = z.strictObject({
  model: z
    .strictObject({
      name: z.string().min(1).default('sim-model').describe('Served model name (/v1/models id).'),
      maxModelLen: z.int().positive().default(32768).describe('Prompt + output token limit per request.'),
    })
    .default({ name: 'sim-model', maxModelLen: 32768 }),
  mode: z.enum(['agg', 'disagg']).default('agg'),
  router: z.enum(['round-robin', 'random', 'kv']).default('round-robin'),
  agg: PoolConfigSchema.prefault({}),
  prefill: PoolConfigSchema.prefault({}),
  decode: PoolConfigSchema.prefault({}),
  transfer: z
    .strictObject({
      bandwidthGBs: z.number().positive().default(64).describe('Prefill→decode KV link bandwidth, GB/s.'),
      latencyMs: z.number().nonnegative().default(0.5).describe('Fixed cost per transfer, simulated ms.'),
    })
    .prefault({}),
  maxWaiting: z.int().nonnegative().default(1000).describe('Waiting-queue bound per worker; beyond it requests get 429.'),
  meanOutputTokens: z.number().positive().default(128).describe('Mean EOS position for requests that do not ignore EOS.'),
  speedup: z.number().positive().default(1).describe('Simulated time runs this many times faster than wall time.'),
  paceUs: z
    .number()
    .nonnegative()
    .default(20)
    .describe(
      'Token delivery pacing, simulated µs per stream slot: a stream in slot k receives each token k × paceUs after its step ends (0 = every token of a step at once).',
    ),
  slowdown: z
    .number()
    .positive()
    .default(1)
    .describe('Multiplies every step time (1.1 = 10 % slower engine): injects a regression for comparison checks.'),
  seed: z.int().default(0),
  faults: FaultConfigSchema.prefault({}),
});
export type SimConfig = z.output<typeof SimConfigSchema>;
export type SimConfigInput = z.input<typeof SimConfigSchema>;

/** Applies defaults and validates; every problem is reported at once, positioned at its config path. */
export function resolveSimConfig(input: SimConfigInput = {}, source = 'simulator config'): SimConfig {
  const parsed = SimConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issues: Issue[] = parsed.error.issues.map((i) => ({
      code: 'SIM_CONFIG',
      file: source,
      path: i.path.filter((p): p is string | number => typeof p !== 'symbol'),
      message: i.message,
      hint: 'see docs/simulator.md for the simulator settings',
    }));
    throw new InvalidInputError(issues);
  }
  return parsed.data;
}

/** Default step knobs merged with a pool's overrides. */
export function stepParamsOf(pool: PoolConfig): typeof DEFAULT_STEP_PARAMS {
  const out = { ...DEFAULT_STEP_PARAMS };
  for (const [k, v] of Object.entries(pool.step)) if (v !== undefined) (out as Record<string, number>)[k] = v;
  return out;
}
