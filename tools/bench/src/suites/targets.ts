import { join } from 'node:path';
import { InvalidInputError } from '@llm-recipes/errors';
import { findRecipeId, loadWorkspace, resolveRecipe, type Cluster } from '@llm-recipes/recipe';
import { renderTarget, TARGETS, type Target } from '@llm-recipes/render';
import type { BenchRow, BenchSuite } from '../types.ts';

const REPO = join(import.meta.dirname, '..', '..', '..', '..');
/** Renders per recipe and target; the median is reported. */
const RUNS = 7;
/** Sanity bound per render (one recipe, one target): a render is in-memory object building and YAML emitting. */
const BOUND_MS = 100;

type T = Exclude<Target, 'dgd'>;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// `recipes render --target X --recipe R`: time to render every committed recipe for every target, in process, as the
// CLI does it (the cluster that runs the recipe, else a scratch profile with its GPU). Recipes a target refuses are
// counted, and timed too: refusing is a render that ends in an issue list.
export const targetsSuite: BenchSuite = {
  name: 'targets',
  async run(): Promise<BenchRow[]> {
    const ws = loadWorkspace(REPO);
    const clusters = [...ws.clusters.values()].map((c) => c.cluster);
    const inputs = [...ws.recipes.keys()].sort().map((id) => {
      const resolved = resolveRecipe(ws, { recipe: id }).resolved;
      if (!resolved) throw new Error(`recipe ${id} does not resolve`);
      const runs = clusters.find((c) => c.recipes.some((ref) => findRecipeId(ws, ref.recipe) === id));
      const scratch: Cluster = {
        name: 'local',
        dynamoApiVersion: 'v1beta1',
        namespace: 'default',
        gitops: ['flux'],
        repo: { url: 'https://example.invalid/repo.git', branch: 'main', path: 'clusters/local' },
        gpus: { [resolved.gpu.id]: { nodes: 1 } },
        recipes: [],
      };
      return { id, resolved, cluster: runs ?? scratch };
    });
    const rows: BenchRow[] = [];
    const all: number[] = [];
    let worst = { ms: 0, what: '' };
    for (const target of TARGETS.filter((t): t is T => t !== 'dgd')) {
      const perRecipe: number[] = [];
      let refused = 0;
      let files = 0;
      for (const { id, resolved, cluster } of inputs) {
        const once = (): boolean => {
          try {
            files += renderTarget(target, resolved, cluster).files.length;
            return true;
          } catch (err) {
            if (!(err instanceof InvalidInputError)) throw err;
            return false;
          }
        };
        if (!once()) refused++; // warm-up (JIT, template and schema caches)
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const t0 = performance.now();
          once();
          times.push(performance.now() - t0);
        }
        const ms = median(times);
        perRecipe.push(ms);
        all.push(ms);
        if (ms > worst.ms) worst = { ms, what: `${target} × ${id}` };
      }
      const slowest = Math.max(...perRecipe);
      rows.push({
        suite: 'targets',
        metric: `--target ${target}: ms per recipe (median of ${inputs.length} recipes)`,
        value: Number(median(perRecipe).toFixed(2)),
        unit: 'ms',
        note: `slowest ${slowest.toFixed(2)} ms; ${inputs.length - refused} rendered, ${refused} refused; ${Math.round(files / (RUNS + 1))} files`,
      });
    }
    rows.push({
      suite: 'targets',
      metric: `slowest render, any recipe × target (${all.length} pairs)`,
      value: Number(worst.ms.toFixed(2)),
      unit: 'ms',
      target: `< ${BOUND_MS} ms (sanity bound)`,
      ok: worst.ms < BOUND_MS,
      note: worst.what,
    });
    return rows;
  },
};
