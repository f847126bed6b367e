import path from 'node:path';
import { loadWorkspace, resolveRecipe } from '@llm-recipes/recipe';
import type { BenchRow, BenchSuite } from '../types.ts';

const ROOT = path.resolve(import.meta.dirname, '../../../..');

function minMs(n: number, fn: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return best;
}

/** Loading and checking the whole committed catalog (every recipe, variant and cluster) — what every CLI command pays first. */
export const recipeLoad: BenchSuite = {
  name: 'recipe-load',
  run: async (): Promise<BenchRow[]> => {
    loadWorkspace(ROOT);
    const ws = loadWorkspace(ROOT);
    const load = minMs(20, () => loadWorkspace(ROOT));
    const ids = [...ws.recipes.keys()];
    const resolve = minMs(20, () => ids.forEach((id) => resolveRecipe(ws, { recipe: id }))) / ids.length;
    return [
      { suite: 'recipe-load', metric: `loadWorkspace (${ids.length} recipes, ${ws.clusters.size} clusters), min of 20`, value: load, unit: 'ms', target: '< 100', ok: load < 100 },
      { suite: 'recipe-load', metric: 'resolveRecipe per recipe, min of 20', value: resolve, unit: 'ms', target: '< 5', ok: resolve < 5 },
    ];
  },
};
