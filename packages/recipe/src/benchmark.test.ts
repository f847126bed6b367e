import { afterAll, describe, expect, it } from 'vitest';
import { goodputOf, requestsAt, samplingBody, warmupAt } from './benchmark.ts';
import { loadWorkspace } from './loader.ts';
import { resolveRecipe } from './resolve.ts';
import { recipeText, tempWorkspace } from './test-fixtures.ts';

const recipe = (body: string) =>
  recipeText(`
model: qwen3-32b
backend: { name: vllm }
gpu: h100-sxm
maxModelLen: 16384
topology: { mode: agg, agg: { tp: 2 } }
${body}`);

const { root, cleanup } = tempWorkspace({
  'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml': recipe(`
sla: { ttftMs: 300, itlMs: 20, e2eMs: 9000 }
benchmark:
  load: trace
  trace: { file: traces/chat.jsonl, speedup: 4 }
  extraInputs: { nvext: { ignore_eos: true } }
variants:
  both:
    benchmark: { trace: { volumePath: traces/big.jsonl } }
  missing:
    benchmark: { trace: { file: traces/none.jsonl } }
  outside:
    benchmark: { trace: { file: ../../x.jsonl } }
  rate:
    benchmark: { load: rate, goodput: none }
`),
  'recipes/qwen3-32b/sglang/h100-sxm/recipe.yaml': recipe(`
benchmark: { load: trace, trace: { volumePath: traces/big.jsonl }, goodput: { ttftMs: 500 } }
`).replace('name: vllm', 'name: sglang'),
  'recipes/qwen3-32b/vllm/h100-sxm/traces/chat.jsonl': '{"timestamp": 0, "input_length": 600, "output_length": 8, "hash_ids": [1, 2]}\n',
});
afterAll(cleanup);
const ws = loadWorkspace(root);
const resolve = (variant?: string) => resolveRecipe(ws, { recipe: 'recipes/qwen3-32b/vllm/h100-sxm', variant });

describe('benchmark section', () => {
  it('defaults follow upstream perf Jobs and the trace file travels with the resolved recipe', () => {
    const { resolved, issues } = resolve();
    expect(issues).toEqual([]);
    const b = resolved!.recipe.benchmark;
    expect(b).toMatchObject({ seed: 100, requestsPerPoint: 200, requestsPerConcurrency: 10, warmupPerConcurrency: 1, goodput: 'sla' });
    expect(b.sampling).toEqual({ ignoreEos: true, temperature: 0, repetitionPenalty: 1 });
    expect(b.trace).toEqual({ file: 'traces/chat.jsonl', blockSize: 512, speedup: 4, fixedSchedule: true });
    expect(resolved!.benchmarkFiles).toEqual([{ path: 'traces/chat.jsonl', content: '{"timestamp": 0, "input_length": 600, "output_length": 8, "hash_ids": [1, 2]}\n' }]);
    expect(resolved!.provenance['benchmark.trace.blockSize']).toMatchObject({ layer: 'default' });
    expect(resolved!.provenance['benchmark.trace.speedup']).toMatchObject({ layer: 'recipe' });
    expect(goodputOf(resolved!.recipe)).toEqual({ ttftMs: 300, tpotMs: 20, e2eMs: 9000 });
    expect(samplingBody(b)).toEqual({ temperature: 0, repetition_penalty: 1, nvext: { ignore_eos: true } });
  });

  it('requests and warmup scale with concurrency above their floors', () => {
    const b = { requestsPerPoint: 200, requestsPerConcurrency: 10, warmupRequests: 10, warmupPerConcurrency: 1 };
    expect([1, 4, 16, 64, 256].map((c) => requestsAt(b, c))).toEqual([200, 200, 200, 640, 2560]);
    expect([1, 4, 16, 64].map((c) => warmupAt(b, c))).toEqual([10, 10, 16, 64]);
    expect(requestsAt({ ...b, requestsPerConcurrency: 0 }, 64)).toBe(200);
    expect(requestsAt(b, null)).toBe(200);
  });

  it('explicit goodput bounds replace the sla; none turns goodput off', () => {
    const staged = resolveRecipe(ws, { recipe: 'recipes/qwen3-32b/sglang/h100-sxm' });
    expect(staged.issues).toEqual([]);
    expect(goodputOf(staged.resolved!.recipe)).toEqual({ ttftMs: 500 });
    expect(staged.resolved!.benchmarkFiles).toBeUndefined();
    expect(goodputOf({ sla: { ttftMs: 1, itlMs: 1 }, benchmark: { goodput: 'none' } } as never)).toBeNull();
  });

  it('reports a missing, doubled or escaping trace source and rate load without rates at the field', () => {
    const codes = (v: string) => resolve(v).issues.map((i) => [i.code, i.path.join('.')]);
    expect(codes('both')).toEqual([['RECIPE_TRACE_TWO_SOURCES', 'benchmark.trace.volumePath']]);
    expect(codes('missing')).toEqual([['RECIPE_TRACE_FILE_MISSING', 'benchmark.trace.file']]);
    expect(codes('outside')).toEqual([['RECIPE_TRACE_OUTSIDE', 'benchmark.trace.file']]);
    expect(codes('rate')).toEqual([['RECIPE_RATES_MISSING', 'benchmark.requestRates']]);
    expect(resolve('missing').issues[0]!.hint).toContain('recipes/qwen3-32b/vllm/h100-sxm/traces/none.jsonl');
  });
});
