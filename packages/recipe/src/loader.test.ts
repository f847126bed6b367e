import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkspace, normalizeGpuId } from './index.ts';
import { recipeText, tempWorkspace } from './test-fixtures.ts';

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

function load(files: Record<string, string>) {
  const ws = tempWorkspace(files);
  cleanups.push(ws.cleanup);
  return loadWorkspace(ws.root);
}

const DIR = 'recipes/qwen3-32b/vllm/h100-sxm';

describe('loader positions', () => {
  it('points a wrong value at its node, an unknown key at the key and a missing key at its parent', () => {
    const ws = load({
      [`${DIR}/recipe.yaml`]: recipeText(`
model: qwen3-32b
backend:
  name: vllm
gpu: h100-sxm
topology:
  mode: agg
  agg:
    tp: two
  bogus: 1
workload:
  isl: 0
`),
    });
    const where = ws.issues.map((i) => [i.code, i.path.join('.'), i.line, i.col]);
    expect(where).toEqual([
      ['SCHEMA_INVALID_TYPE', 'topology.agg.tp', 9, 9],
      ['SCHEMA_UNKNOWN_KEY', 'topology.bogus', 10, 3],
      ['SCHEMA_OUT_OF_RANGE', 'workload.isl', 12, 8],
    ]);
  });

  it('reports a missing required key at the mapping that lacks it', () => {
    const ws = load({ [`${DIR}/recipe.yaml`]: recipeText(`\nmodel: qwen3-32b\ngpu: h100-sxm\nbackend:\n  image: x\n`) });
    expect(ws.issues.map((i) => [i.code, i.path.join('.'), i.line, i.col, i.message])).toEqual([
      ['SCHEMA_MISSING_FIELD', 'backend.name', 5, 3, 'missing required field "name"'],
    ]);
  });

  it('collects the problems of every file at once', () => {
    const ws = load({
      [`${DIR}/recipe.yaml`]: recipeText('model: [unclosed\n'),
      'recipes/qwen3-32b/sglang/h100-sxm/recipe.yaml': recipeText('model: qwen3-32b\nbackend: { name: sglang }\ngpu: h100\ntopology: { mode: agg, agg: { tp: 99 } }\n'),
      'clusters/x/cluster.yaml': 'namespace: 3\n',
    });
    const files = new Set(ws.issues.map((i) => i.file));
    expect([...files].sort()).toEqual([
      'clusters/x/cluster.yaml',
      'recipes/qwen3-32b/sglang/h100-sxm/recipe.yaml',
      'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml',
    ]);
    expect(ws.issues.find((i) => i.file.endsWith('vllm/h100-sxm/recipe.yaml'))?.code).toBe('YAML_SYNTAX');
  });

  it('accepts GPU ids with - or _ and aliases', () => {
    const gpus = [{ id: 'h100_sxm', aliases: ['h100', 'H100-SXM5'] }];
    expect(normalizeGpuId('H100-SXM')).toBe('h100_sxm');
    expect(normalizeGpuId('h100', gpus)).toBe('h100_sxm');
    expect(normalizeGpuId('h100-sxm5', gpus)).toBe('h100_sxm');
    expect(normalizeGpuId('h100_sxm', gpus)).toBe('h100_sxm');
    expect(normalizeGpuId('b300', gpus)).toBe('b300');
  });

  it('flags a recipe outside recipes/<model>/<backend>/<gpu>/', () => {
    const ws = load({ 'recipes/qwen3-32b/vllm/recipe.yaml': recipeText('model: qwen3-32b\n') });
    expect(ws.issues.map((i) => i.code)).toEqual(['RECIPE_BAD_LOCATION']);
  });
});

describe('the loader never throws on bad input', () => {
  // one shared workspace; each run rewrites the recipe file
  const ws = tempWorkspace({});
  cleanups.push(ws.cleanup);
  const write = async (text: string): Promise<void> => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(`${ws.root}/${DIR}`, { recursive: true });
    writeFileSync(`${ws.root}/${DIR}/recipe.yaml`, text);
  };

  it('arbitrary text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => {
        await write(text);
        const result = loadWorkspace(ws.root);
        expect(Array.isArray(result.issues)).toBe(true);
        // anything that is not a valid recipe is reported
        if (result.recipes.size === 0) expect(result.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 60 },
    );
  });

  it('arbitrary YAML objects shaped like recipes', async () => {
    const { stringify } = await import('yaml');
    const value = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
    const keys = fc.constantFrom('model', 'gpu', 'backend', 'topology', 'agg', 'tp', 'mode', 'name', 'variants', 'x', 'dtype', 'maxModelLen');
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, value, fc.dictionary(keys, tie('node'), { maxKeys: 4 })),
    })).node;
    await fc.assert(
      fc.asyncProperty(fc.dictionary(keys, tree, { maxKeys: 6 }), async (obj) => {
        await write(recipeText(stringify({ model: 'qwen3-32b', backend: { name: 'vllm' }, gpu: 'h100-sxm', ...obj })));
        const result = loadWorkspace(ws.root);
        expect(Array.isArray(result.issues)).toBe(true);
        for (const i of result.issues) expect(i.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      }),
      { numRuns: 80 },
    );
  });
});
