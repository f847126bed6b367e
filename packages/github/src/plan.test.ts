import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkspace } from '@llm-recipes/recipe';
import fc from 'fast-check';
import { affectedRecipes, gpusFromLabels, planChanges } from './plan.ts';
import { gitIn, tempRecipesRepo, type TempRepo } from './testing/index.ts';

let repo: TempRepo;
let headSha: string;

beforeAll(async () => {
  // GIVEN a real repository with a branch that edits two recipes, one engine file, a golden.yaml and a README
  repo = await tempRecipesRepo();
  const r = repo.root;
  await gitIn(r, 'switch', '-q', '-c', 'feature');
  appendFileSync(path.join(r, 'recipes/qwen3-32b/sglang/h200-sxm/recipe.yaml'), '# tuned\n');
  appendFileSync(path.join(r, 'recipes/llama-3.1-8b/trtllm/a100-sxm/engine/trtllm.yaml'), '# tuned\n');
  writeFileSync(path.join(r, 'recipes/qwen3-0.6b/vllm/l40s/golden.yaml'), 'schema: llm-recipes/golden@1\n');
  appendFileSync(path.join(r, 'recipes/README.md'), '\nmore docs\n');
  await gitIn(r, 'add', '-A');
  await gitIn(r, 'commit', '-q', '-m', 'tune two recipes');
  headSha = (await gitIn(r, 'rev-parse', 'HEAD')).trim();
  // and main moves on independently: its changes are not the PR's (three-dot diff)
  await gitIn(r, 'switch', '-q', 'main');
  appendFileSync(path.join(r, 'recipes/deepseek-r1/model.yaml'), '# main only\n');
  await gitIn(r, 'commit', '-q', '-am', 'main moves');
  await gitIn(r, 'switch', '-q', 'feature');
}, 60_000);

afterAll(() => repo?.remove());

describe('planChanges on a real git repository', () => {
  it('picks exactly the changed recipes, each on its own GPU', async () => {
    const { plan, changed } = await planChanges({ root: repo.root, base: 'main', head: 'HEAD' });
    expect(plan.include).toEqual([
      { recipe: 'recipes/llama-3.1-8b/trtllm/a100-sxm', gpu: 'a100_sxm', name: 'llama-3.1-8b-trtllm-a100-sxm' },
      { recipe: 'recipes/qwen3-32b/sglang/h200-sxm', gpu: 'h200_sxm', name: 'qwen3-32b-sglang-h200-sxm' },
    ]);
    expect(changed).not.toContain('recipes/deepseek-r1/model.yaml');
    expect(changed).toContain('recipes/qwen3-0.6b/vllm/l40s/golden.yaml');
  });

  it('keeps only recipes whose GPU was requested (aliases accepted) and reports the rest as skipped', async () => {
    const { plan, skipped } = await planChanges({ root: repo.root, base: 'main', head: headSha, gpus: ['h200'] });
    expect(plan.include.map((e) => e.recipe)).toEqual(['recipes/qwen3-32b/sglang/h200-sxm']);
    expect(skipped).toEqual([{ recipe: 'recipes/llama-3.1-8b/trtllm/a100-sxm', gpu: 'a100_sxm' }]);
    const none = await planChanges({ root: repo.root, base: 'main', head: headSha, gpus: [] });
    expect(none.plan.include).toEqual([]);
  });

  it('rejects an unknown GPU naming the known ones', async () => {
    await expect(planChanges({ root: repo.root, base: 'main', head: 'HEAD', gpus: ['h999'] })).rejects.toThrow(/unknown GPU: h999/);
  });

  it('fails clearly on a ref that does not exist', async () => {
    await expect(planChanges({ root: repo.root, base: 'nope', head: 'HEAD' })).rejects.toMatchObject({ code: 'GIT_FAILED' });
  });
});

describe('affectedRecipes', () => {
  it('maps model cards and GPU files to the recipes that use them', () => {
    const ws = loadWorkspace(repo.root);
    expect(affectedRecipes(ws, ['recipes/gpt-oss-120b/model.yaml'])).toEqual(['gpt-oss-120b/trtllm/gb200-sxm', 'gpt-oss-120b/vllm/b200-sxm']);
    const onL40s = affectedRecipes(ws, ['recipes/gpus/l40s.yaml']);
    expect(onL40s).toEqual([...ws.recipes.values()].filter((r) => String(r.written.gpu).replace(/-/g, '_') === 'l40s').map((r) => r.id).sort());
    expect(onL40s.length).toBeGreaterThan(0);
    expect(affectedRecipes(ws, ['README.md', 'packages/x/src/a.ts', 'recipes/qwen3-32b/vllm/h100-sxm/golden.yaml'])).toEqual([]);
  });

  it('a change inside a recipe directory selects exactly that recipe', () => {
    const ws = loadWorkspace(repo.root);
    const recipes = [...ws.recipes.values()];
    fc.assert(
      fc.property(fc.constantFrom(...recipes), fc.constantFrom('recipe.yaml', 'engine/x.yaml', 'notes.md'), (r, file) => {
        const got = affectedRecipes(ws, [`${r.dir}/${file}`]);
        expect(got).toEqual([r.id]);
      }),
      { numRuns: 40 },
    );
  });

  it('deleted recipes are not planned', async () => {
    const r = repo.root;
    await gitIn(r, 'switch', '-q', '-c', 'delete-one', 'main');
    rmSync(path.join(r, 'recipes/qwen3-0.6b/vllm/l40s'), { recursive: true });
    await gitIn(r, 'commit', '-q', '-am', 'drop l40s recipe');
    const { plan, changed } = await planChanges({ root: r, base: 'main', head: 'HEAD' });
    expect(changed).toContain('recipes/qwen3-0.6b/vllm/l40s/recipe.yaml');
    expect(plan.include).toEqual([]);
    await gitIn(r, 'switch', '-q', 'feature');
  });
});

describe('gpusFromLabels', () => {
  it('reads profile/<gpu> labels and ignores the rest', () => {
    expect(gpusFromLabels(['bug', 'profile/h100', 'profile/ b200 ', 'profiles/x'])).toEqual(['h100', 'b200']);
    expect(gpusFromLabels(['profile/all', 'profile/h100'])).toBe('all');
    expect(gpusFromLabels([])).toEqual([]);
  });
});
