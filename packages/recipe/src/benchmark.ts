import type { Benchmark, Recipe } from './schema.ts';

/** Measured requests of one point: max(requestsPerPoint, requestsPerConcurrency × c) for concurrency points. */
export function requestsAt(b: Pick<Benchmark, 'requestsPerPoint' | 'requestsPerConcurrency'>, concurrency: number | null): number {
  return concurrency === null ? b.requestsPerPoint : Math.max(b.requestsPerPoint, b.requestsPerConcurrency * concurrency);
}

/** Warmup requests of one point: max(warmupRequests, warmupPerConcurrency × c) for concurrency points. */
export function warmupAt(b: Pick<Benchmark, 'warmupRequests' | 'warmupPerConcurrency'>, concurrency: number | null): number {
  return concurrency === null ? b.warmupRequests : Math.max(b.warmupRequests, b.warmupPerConcurrency * concurrency);
}

export interface GoodputSlo {
  ttftMs?: number | undefined;
  tpotMs?: number | undefined;
  e2eMs?: number | undefined;
}

/** The goodput bounds a recipe's benchmark uses: its sla (ITL bound as the per-request TPOT bound), none, or explicit. */
export function goodputOf(recipe: Pick<Recipe, 'sla' | 'benchmark'>): GoodputSlo | null {
  const g = recipe.benchmark.goodput;
  if (g === 'none') return null;
  const b = g === 'sla' ? { ttftMs: recipe.sla.ttftMs, tpotMs: recipe.sla.itlMs, e2eMs: recipe.sla.e2eMs } : g;
  const out: GoodputSlo = {};
  if (b.ttftMs !== undefined) out.ttftMs = b.ttftMs;
  if (b.tpotMs !== undefined) out.tpotMs = b.tpotMs;
  if (b.e2eMs !== undefined) out.e2eMs = b.e2eMs;
  return Object.keys(out).length > 0 ? out : null;
}

/** Request-body fields the sampling settings and extraInputs add (extraInputs last, so it wins). */
export function samplingBody(b: Pick<Benchmark, 'sampling' | 'extraInputs'>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (b.sampling.temperature !== undefined) out['temperature'] = b.sampling.temperature;
  if (b.sampling.repetitionPenalty !== undefined) out['repetition_penalty'] = b.sampling.repetitionPenalty;
  return { ...out, ...b.extraInputs };
}
