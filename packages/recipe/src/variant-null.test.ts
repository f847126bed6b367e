import { afterAll, describe, expect, it } from 'vitest';
import { explainRecipe, loadWorkspace, resolveRecipe } from './index.ts';
import { recipeText, tempWorkspace } from './test-fixtures.ts';

// A variant cannot unset by merging, so `null` removes a pool: how an agg variant of a disagg recipe (or the reverse)
// is written.
const ws0 = tempWorkspace({
  'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml': recipeText(`
model: qwen3-32b
backend: { name: vllm }
gpu: h100-sxm
maxModelLen: 16384
topology:
  mode: disagg
  prefill: { replicas: 2, tp: 2, args: { max-num-batched-tokens: 16384 } }
  decode: { replicas: 1, tp: 4 }
variants:
  agg:
    topology: { mode: agg, prefill: null, decode: null, agg: { replicas: 4, tp: 2 } }
  half:
    topology: { mode: agg, prefill: null, agg: { replicas: 4, tp: 2 } }
`),
  'recipes/llama-3.1-8b/vllm/h100-sxm/recipe.yaml': recipeText(`
model: llama-3.1-8b
backend: { name: vllm }
gpu: h100-sxm
topology: { mode: agg, agg: { replicas: 1 } }
variants:
  bad:
    topology: { agg: { replicas: null } }
`),
});
afterAll(ws0.cleanup);
const ws = loadWorkspace(ws0.root);

describe('variant pools set to null', () => {
  it('removes the recipe pool, its defaults and its provenance', () => {
    const { resolved, issues } = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', variant: 'agg' });
    expect(issues).toEqual([]);
    const t = resolved!.recipe.topology;
    expect(t.mode).toBe('agg');
    expect(t.prefill).toBeUndefined();
    expect(t.decode).toBeUndefined();
    expect(t.agg).toMatchObject({ replicas: 4, tp: 2, pp: 1 });
    const paths = explainRecipe(resolved!).map((r) => r.path);
    expect(paths.some((p) => p.startsWith('topology.prefill'))).toBe(false);
    expect(resolved!.provenance['topology.agg.tp']).toMatchObject({ layer: 'variant' });
    // the base recipe is untouched
    expect(resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm' }).resolved!.recipe.topology.prefill).toMatchObject({ replicas: 2 });
  });

  it('still reports a pool left behind by the mode switch', () => {
    const { resolved, issues } = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', variant: 'half' });
    expect(resolved).toBeUndefined();
    expect(issues.map((i) => i.code)).toContain('RECIPE_AGG_HAS_DISAGG_POOL');
  });

  it('accepts null only for whole pools', () => {
    const loadIssues = ws.issues.filter((i) => i.file.endsWith('llama-3.1-8b/vllm/h100-sxm/recipe.yaml'));
    expect(loadIssues.map((i) => i.path.join('.'))).toContain('variants.bad.topology.agg.replicas');
  });
});
