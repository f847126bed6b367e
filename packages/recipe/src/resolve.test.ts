import { afterAll, describe, expect, it } from 'vitest';
import { explainRecipe, formatExplain, loadWorkspace, parseSet, resolveRecipe } from './index.ts';
import { recipeText, tempWorkspace } from './test-fixtures.ts';

const ws0 = tempWorkspace({
  'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml': recipeText(`
model: qwen3-32b
backend:
  name: vllm
  args: { max-num-seqs: 128 }
gpu: h100-sxm
maxModelLen: 16384
topology:
  mode: agg
  agg: { replicas: 2, tp: 2 }
sla: { ttftMs: 300 }
variants:
  long:
    maxModelLen: 32768
    workload: { isl: 8192 }
    backend: { args: { max-num-seqs: 64 } }
`),
  'recipes/deepseek-r1/vllm/a100-sxm/recipe.yaml': recipeText(`
model: deepseek-r1
backend: { name: vllm }
gpu: a100
maxModelLen: 16384
topology: { mode: agg, agg: { tp: 8, nodes: 2, dp: 2, ep: 16 } }
`),
});
afterAll(ws0.cleanup);
const ws = loadWorkspace(ws0.root);

describe('layering', () => {
  it('applies default → model → backend → gpu → recipe → variant → --set, lowest first', () => {
    const { resolved, issues } = resolveRecipe(ws, {
      recipe: 'qwen3-32b/vllm/h100_sxm',
      variant: 'long',
      set: ['topology.agg.replicas=3', 'backend.env.VLLM_LOGGING_LEVEL=DEBUG'],
    });
    expect(issues).toEqual([]);
    const r = resolved!;
    expect(r.id).toBe('qwen3-32b/vllm/h100-sxm');
    expect(r.name).toBe('qwen3-32b-vllm-h100-sxm-long');
    expect(r.dir).toBe('recipes/qwen3-32b/vllm/h100-sxm');
    expect(r.recipe.gpu).toBe('h100_sxm');
    expect(r.recipe.backend.image).toBe('nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.3.0');
    expect(r.recipe.backend.args).toEqual({ 'gpu-memory-utilization': 0.9, 'max-num-seqs': 64 });
    expect(r.recipe.backend.env).toEqual({ VLLM_LOGGING_LEVEL: 'DEBUG' });
    expect(r.recipe.topology.agg).toEqual({ replicas: 3, tp: 2, pp: 1, ep: 1, dp: 1, nodes: 1, args: {} });
    expect(r.recipe.workload).toEqual({ isl: 8192, osl: 128 });
    expect(r.recipe.sla).toEqual({ ttftMs: 300, itlMs: 15 });
    expect(r.recipe.maxModelLen).toBe(32768);
    expect(r.recipe.modelCache.pvcName).toBe('qwen3-32b-cache');
    const layerOf = (p: string) => r.provenance[p]?.layer;
    expect(
      ['workload.osl', 'dtype', 'backend.image', 'backend.args.gpu-memory-utilization', 'sla.ttftMs', 'maxModelLen', 'topology.agg.replicas', 'topology.agg.pp'].map(layerOf),
    ).toEqual(['default', 'model', 'backend', 'backend', 'recipe', 'variant', 'set', 'default']);
    expect(r.provenance['sla.ttftMs']).toEqual({ layer: 'recipe', file: 'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml', line: 11, col: 16 });
    expect(r.provenance['maxModelLen']).toMatchObject({ layer: 'variant', line: 14 });
    expect(r.provenance['dtype']).toMatchObject({ layer: 'model', file: 'recipes/qwen3-32b/model.yaml' });
  });

  it('the GPU layer narrows a card dtype the GPU cannot run', () => {
    const { resolved, issues } = resolveRecipe(ws, { recipe: 'recipes/deepseek-r1/vllm/a100-sxm' });
    expect(issues).toEqual([]);
    expect(resolved?.recipe.dtype).toBe('bf16');
    expect(resolved?.provenance['dtype']).toMatchObject({ layer: 'gpu', file: 'recipes/gpus/a100_sxm.yaml' });
  });

  it('reports --set problems against --set', () => {
    const { resolved, issues } = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', set: ['topology.agg.tp=16', 'topology.agg.tpp=1', 'oops'] });
    expect(resolved).toBeUndefined();
    // schema problems stop resolution before the cross-file rules (which would only echo them)
    expect(issues.map((i) => `${i.file} ${i.code} ${i.path.join('.')}`)).toEqual(['--set SET_INVALID ', '--set SCHEMA_UNKNOWN_KEY topology.agg.tpp']);
    const rules = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', set: ['topology.agg.tp=16'] });
    expect(rules.issues.map((i) => `${i.file} ${i.code} ${i.path.join('.')}`)).toEqual(['--set RECIPE_GPUS_PER_NODE topology.agg.tp']);
  });

  it('names an unknown recipe or variant with a suggestion', () => {
    expect(resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h200-sxm' }).issues[0]).toMatchObject({ code: 'RECIPE_NOT_FOUND', hint: 'did you mean "qwen3-32b/vllm/h100-sxm"?' });
    expect(resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', variant: 'lng' }).issues[0]).toMatchObject({ code: 'RECIPE_UNKNOWN_VARIANT', hint: 'did you mean "long"?' });
  });
});

describe('one resolution per workspace', () => {
  it('returns the same frozen result for the same recipe, variant and overrides', () => {
    const a = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', variant: 'long' });
    const b = resolveRecipe(ws, { recipe: 'recipes/qwen3-32b/vllm/h100-sxm/', variant: 'long' });
    expect(b).toBe(a);
    expect(Object.isFrozen(a.resolved!.recipe.topology)).toBe(true);
    expect(() => {
      (a.resolved!.recipe.backend.args as Record<string, unknown>)['max-num-seqs'] = 1;
    }).toThrow(TypeError);
    // the workspace's model card stays the loader's object
    expect(a.resolved!.model).toBe(ws.models.get('qwen3-32b')!.card);
    expect(Object.isFrozen(a.resolved!.model)).toBe(false);
  });

  it('keys on the variant, the overrides and where they are reported', () => {
    const base = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm' }).resolved!;
    const long = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', variant: 'long' }).resolved!;
    expect(long).not.toBe(base);
    expect(long.recipe.maxModelLen).toBe(32768);
    expect(base.recipe.maxModelLen).toBe(16384);
    const set = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', set: ['topology.agg.replicas=5'] }).resolved!;
    expect(set.recipe.topology.agg!.replicas).toBe(5);
    expect(base.recipe.topology.agg!.replicas).toBe(2);
    expect(set.provenance['topology.agg.replicas']).toEqual({ layer: 'set', file: '--set' });
    // a fresh load resolves afresh
    expect(resolveRecipe(loadWorkspace(ws0.root), { recipe: 'qwen3-32b/vllm/h100-sxm' }).resolved).not.toBe(base);
  });
});

describe('parseSet', () => {
  it('reads values as YAML scalars and nests dotted paths', () => {
    expect(parseSet(['a.b=2', 'a.c=true', 'd="8"', 'e=[1, 2]', 'f=fp8', 'g=', 'a.b=3']).data).toEqual({ a: { b: 3, c: true }, d: '8', e: [1, 2], f: 'fp8', g: '' });
  });
  it('rejects malformed entries and prototype keys', () => {
    expect(parseSet(['novalue', '=1', 'a..b=1', '__proto__.x=1']).issues.map((i) => i.message)).toEqual([
      '--set "novalue" is not of the form path=value',
      '--set "=1" is not of the form path=value',
      '--set "a..b=1" has an invalid path "a..b"',
      '--set "__proto__.x=1" has an invalid path "__proto__.x"',
    ]);
  });
  it('takes typed records as they are', () => {
    expect(parseSet({ 'topology.agg.replicas': 1, 'backend.env.X': '1' }).data).toEqual({ topology: { agg: { replicas: 1 } }, backend: { env: { X: '1' } } });
  });
});

describe('explain', () => {
  it('lists every value under a field with its layer and file:line', () => {
    const { resolved } = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', set: { 'topology.agg.replicas': 4 } });
    expect(formatExplain(explainRecipe(resolved!, 'topology.agg'))).toMatchInlineSnapshot(`
      "FIELD                  VALUE  LAYER    FROM
      topology.agg.replicas  4      set      --set
      topology.agg.tp        2      recipe   recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:10
      topology.agg.pp        1      default
      topology.agg.ep        1      default
      topology.agg.dp        1      default
      topology.agg.nodes     1      default
      topology.agg.args      {}     default"
    `);
    expect(explainRecipe(resolved!, 'workload')).toEqual([
      { path: 'workload.isl', value: 512, layer: 'default', file: undefined, line: undefined },
      { path: 'workload.osl', value: 128, layer: 'default', file: undefined, line: undefined },
    ]);
  });
});
