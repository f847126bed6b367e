import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadWorkspace, resolveRecipe } from '@llm-recipes/recipe';
import { planExperiment } from './up.ts';

const root = resolve(import.meta.dirname, '../../..');
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'llm-recipes-plan-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('planExperiment', () => {
  it("takes the recipe's own benchmark section as the matrix when no flag overrides it", () => {
    // GIVEN a recipe with a benchmark section and no matrix flags
    const spec = planExperiment(tempDir(), { root, ref: 'qwen3-32b/vllm/h100-sxm', cwd: root, target: { kind: 'local', speedup: 10, slowdown: 1 } });
    // THEN the experiment benchmarks exactly that section
    const expected = resolveRecipe(loadWorkspace(root), { recipe: 'qwen3-32b/vllm/h100-sxm' }).resolved!.recipe.benchmark;
    expect(spec.matrix).toEqual({
      islOsl: expected.islOsl,
      concurrency: expected.concurrency,
      requests: expected.requestsPerPoint,
      warmup: expected.warmupRequests,
    });
    expect(spec.matrix.islOsl.length).toBeGreaterThan(0);
    expect(spec.matrix.islOsl.every(([isl, osl]) => isl > 1 && osl > 1)).toBe(true);
  });

  it('lets flags and --set override the matrix and the recipe', () => {
    const spec = planExperiment(tempDir(), {
      root,
      ref: 'qwen3-32b/vllm/h100-sxm',
      cwd: root,
      target: { kind: 'local', speedup: 10, slowdown: 1 },
      concurrency: [2, 8],
      set: ['benchmark.islOsl=[[300,30]]'],
    });
    expect(spec.matrix.concurrency).toEqual([2, 8]);
    expect(spec.matrix.islOsl).toEqual([[300, 30]]);
  });
});
