import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWorkspace, resolveRecipe } from '@llm-recipes/recipe';
import { canonicalYaml } from './canonical.ts';
import { renderRecipe } from './recipe.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const ws = loadWorkspace(REPO);

describe('committed recipes × clusters (golden)', () => {
  it('loads without errors', () => {
    expect(ws.issues.filter((i) => i.severity !== 'warning')).toEqual([]);
    expect(ws.clusters.size).toBeGreaterThan(0);
  });

  for (const { cluster } of [...ws.clusters.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    for (const ref of cluster.recipes) {
      // Both DGD API versions: the cluster's own, and the other one a migration would produce.
      for (const apiVersion of ['v1beta1', 'v1alpha1'] as const) {
        const label = `${cluster.name} ${ref.recipe}${ref.variant ? ` (${ref.variant})` : ''} ${apiVersion}`;
        it(label, async () => {
          // GIVEN a recipe the cluster profile runs
          const { resolved, issues } = resolveRecipe(ws, { recipe: ref.recipe, variant: ref.variant, set: ref.set, cluster });
          expect(issues.filter((i) => i.severity !== 'warning')).toEqual([]);
          // WHEN rendered for that cluster
          const out = renderRecipe(resolved!, cluster, { apiVersion });
          // THEN it matches the reviewed golden file
          const text = canonicalYaml(out.manifests.map((m) => m.object));
          await expect(text).toMatchFileSnapshot(`__golden__/${cluster.name}/${resolved!.name}.${apiVersion}.yaml`);
        });
      }
    }
  }
});
