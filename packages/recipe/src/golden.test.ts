import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { explainRecipe } from './explain.ts';
import { serializeGolden, type Golden } from './golden.ts';
import { loadWorkspace } from './loader.ts';
import { resolveRecipe } from './resolve.ts';
import type { Recipe } from './schema.ts';
import { recipeText, tempWorkspace } from './test-fixtures.ts';

const ID = 'llama-3.1-8b/vllm/h100-sxm';
const RECIPE = recipeText(`
model: llama-3.1-8b
backend:
  name: vllm
  args: { max-num-seqs: 256 }
gpu: h100-sxm
topology:
  mode: agg
  agg: { replicas: 2, tp: 1 }
variants:
  fp8:
    dtype: fp8
    kvCacheDtype: fp8
`);

function golden(recipe: Recipe, patch: (r: Recipe) => void, variant?: string): Golden {
  const r = structuredClone(recipe);
  patch(r);
  return {
    schema: 'llm-recipes/golden@1',
    recipe: ID,
    ...(variant ? { variant } : {}),
    config: { backend: r.backend as never, dtype: r.dtype, kvCacheDtype: r.kvCacheDtype, maxModelLen: r.maxModelLen, topology: r.topology as never },
    sla: { ttftMs: 100, itlMs: 15 },
    point: { id: 'isl1024-osl128-c16', isl: 1024, osl: 128, concurrency: 16, rate: null, percentile: 'p50', metrics: { ttftMs: 50, itlMs: 10, tpotMs: 10, e2eMs: null, tokensPerSecondPerGpu: 900, tokensPerSecondPerUser: 100, outputTokensPerSecond: 1800, requestsPerSecond: 14, errorRate: 0 } },
    selection: { how: 'best-meeting-sla', rule: 'r', candidates: 3, meetingSla: 2 },
    experiment: { id: '0123456789abcdef', createdAt: '2025-06-01T00:00:00Z', manifestSha256: 'a'.repeat(64), summarySha256: 'b'.repeat(64), deployedManifests: {} },
    promotedAt: '2025-06-02T00:00:00Z',
    promotedBy: 'alice',
  };
}

const CLUSTER = (goldenFlag: boolean): string => `dynamoApiVersion: v1beta1
namespace: prod
gitops: [flux]
repo: { url: https://example.invalid/r.git, branch: main, path: clusters/prod }
gpus: { h100_sxm: { nodes: 1 } }
${goldenFlag ? 'golden: true\n' : ''}recipes:
  - recipe: ${ID}
`;

let cleanup = (): void => {};
afterEach(() => cleanup());

function setup(extra: Record<string, string> = {}): string {
  const ws = tempWorkspace({ [`recipes/${ID}/recipe.yaml`]: RECIPE, 'clusters/prod/cluster.yaml': CLUSTER(true), ...extra });
  cleanup = ws.cleanup;
  return ws.root;
}

const base = (root: string): Recipe => resolveRecipe(loadWorkspace(root), { recipe: ID }).resolved!.recipe;

describe('golden.yaml as a layer', () => {
  it('applies only when asked (clusters with golden: true), with provenance pointing into golden.yaml', () => {
    const root = setup();
    writeFileSync(path.join(root, `recipes/${ID}/golden.yaml`), serializeGolden(golden(base(root), (r) => {
      r.backend.args['max-num-seqs'] = 128;
      r.topology.agg!.replicas = 1;
    })));
    const ws = loadWorkspace(root);
    expect(ws.issues.filter((i) => i.severity !== 'warning')).toEqual([]);
    const plain = resolveRecipe(ws, { recipe: ID }).resolved!;
    expect(plain.recipe.backend.args['max-num-seqs']).toBe(256);
    expect(plain.golden).toBeUndefined();
    const pinned = resolveRecipe(ws, { recipe: ID, golden: true }).resolved!;
    expect(pinned.recipe.backend.args['max-num-seqs']).toBe(128);
    expect(pinned.recipe.topology.agg!.replicas).toBe(1);
    expect(pinned.golden).toEqual({ file: `recipes/${ID}/golden.yaml`, experiment: '0123456789abcdef', point: 'isl1024-osl128-c16', promotedAt: '2025-06-02T00:00:00Z' });
    const row = explainRecipe(pinned, 'backend.args.max-num-seqs')[0]!;
    expect(row).toMatchObject({ layer: 'golden', file: `recipes/${ID}/golden.yaml` });
    expect(row.line).toBeGreaterThan(2);
    // fields the golden does not pin still come from the recipe
    expect(explainRecipe(pinned, 'sla.ttftMs')[0]!.layer).not.toBe('golden');
  });

  it('a golden measured on a variant pins only that variant', () => {
    const root = setup();
    const fp8 = resolveRecipe(loadWorkspace(root), { recipe: ID, variant: 'fp8' }).resolved!.recipe;
    writeFileSync(path.join(root, `recipes/${ID}/golden.yaml`), serializeGolden(golden(fp8, (r) => void (r.topology.agg!.replicas = 3), 'fp8')));
    const ws = loadWorkspace(root);
    expect(resolveRecipe(ws, { recipe: ID, golden: true }).resolved!.recipe.topology.agg!.replicas).toBe(2);
    expect(resolveRecipe(ws, { recipe: ID, variant: 'fp8', golden: true }).resolved!.recipe.topology.agg!.replicas).toBe(3);
  });

  it('replaces pinned fields whole: an agg golden over a recipe that became disagg stays valid', () => {
    const root = setup();
    const g = golden(base(root), () => {});
    writeFileSync(path.join(root, `recipes/${ID}/recipe.yaml`), RECIPE.replace('  mode: agg\n  agg: { replicas: 2, tp: 1 }', '  mode: disagg\n  prefill: { tp: 1 }\n  decode: { tp: 2 }'));
    writeFileSync(path.join(root, `recipes/${ID}/golden.yaml`), serializeGolden(g));
    const ws = loadWorkspace(root);
    const pinned = resolveRecipe(ws, { recipe: ID, golden: true });
    expect(pinned.issues.filter((i) => i.severity !== 'warning')).toEqual([]);
    expect(pinned.resolved!.recipe.topology.mode).toBe('agg');
    expect(pinned.resolved!.recipe.topology.decode).toBeUndefined();
  });

  it('a golden a production cluster can no longer deploy is reported at golden.yaml', () => {
    const root = setup();
    writeFileSync(path.join(root, `recipes/${ID}/golden.yaml`), serializeGolden(golden(base(root), (r) => void (r.topology.agg!.tp = 16))));
    const issues = loadWorkspace(root).issues.filter((i) => i.file === `recipes/${ID}/golden.yaml`);
    expect(issues.map((i) => i.code)).toContain('RECIPE_GPUS_PER_NODE');
    expect(issues[0]!.line).toBeGreaterThan(1);
  });

  it('schema errors and a golden of another recipe are positioned issues', () => {
    const root = setup({ [`recipes/${ID}/golden.yaml`]: 'schema: llm-recipes/golden@1\nrecipe: llama-3.1-8b/vllm/h100-sxm\nconfig: {}\n' });
    const bad = loadWorkspace(root).issues.filter((i) => i.file === `recipes/${ID}/golden.yaml`);
    expect(bad.length).toBeGreaterThan(3);
    expect(bad.every((i) => i.line !== undefined)).toBe(true);
    const g = golden(base(root), () => {});
    writeFileSync(path.join(root, `recipes/${ID}/golden.yaml`), serializeGolden({ ...g, recipe: 'qwen3-32b/vllm/h100-sxm' }));
    const mismatch = loadWorkspace(root).issues.find((i) => i.code === 'GOLDEN_RECIPE_MISMATCH')!;
    expect(mismatch).toMatchObject({ file: `recipes/${ID}/golden.yaml`, line: expect.any(Number) });
  });
});
