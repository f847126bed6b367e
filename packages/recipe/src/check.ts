import type { Issue } from '@llm-recipes/errors';
import type { Workspace } from './loader.ts';
import { resolveLoaded } from './resolve.ts';
import { totalGpus } from './rules.ts';
import { locate } from './source.ts';
import { didYouMean } from './suggest.ts';

function key(i: Issue): string {
  return `${i.code}|${i.file}|${i.line ?? ''}|${i.col ?? ''}|${i.message}`;
}

/** Cross-file rules over the loaded workspace: every recipe and variant resolves, every cluster ref points somewhere real. */
export function checkWorkspace(ws: Workspace): void {
  const seen = new Set(ws.issues.map(key));
  const add = (issues: readonly Issue[]): void => {
    for (const i of issues) {
      const k = key(i);
      if (seen.has(k)) continue;
      seen.add(k);
      ws.issues.push(i);
    }
  };
  for (const loaded of ws.recipes.values()) {
    add(resolveLoaded(ws, loaded, undefined, undefined).issues);
    for (const variant of Object.keys(loaded.written.variants ?? {})) add(resolveLoaded(ws, loaded, variant, undefined).issues);
  }

  for (const c of ws.clusters.values()) {
    const used = new Map<string, { gpus: number; nodes: number }>();
    for (const [i, ref] of c.cluster.recipes.entries()) {
      const p = ['recipes', i];
      const loaded = ws.recipes.get(ref.recipe);
      if (loaded === undefined) {
        if (!ws.broken.recipes.has(ref.recipe)) {
          add([
            {
              code: 'CLUSTER_UNKNOWN_RECIPE',
              file: c.file,
              path: [...p, 'recipe'],
              ...locate(c.source, [...p, 'recipe']),
              message: `no recipe "${ref.recipe}" under recipes/`,
              hint: didYouMean(ref.recipe, [...ws.recipes.keys()], 'recipes'),
            },
          ]);
        }
        continue;
      }
      if (ref.variant !== undefined && loaded.written.variants?.[ref.variant] === undefined) {
        const names = Object.keys(loaded.written.variants ?? {});
        add([
          {
            code: 'CLUSTER_UNKNOWN_VARIANT',
            file: c.file,
            path: [...p, 'variant'],
            ...locate(c.source, [...p, 'variant']),
            message: `recipe ${ref.recipe} has no variant "${ref.variant}"`,
            hint: names.length === 0 ? 'that recipe defines no variants; drop the variant field' : didYouMean(ref.variant, names, 'variants'),
          },
        ]);
        continue;
      }
      const res = resolveLoaded(ws, loaded, ref.variant, ref.set, c.file, { golden: c.cluster.golden, cluster: c.cluster });
      // --set problems from the cluster file are positioned at the ref's set block; a golden that no longer
      // resolves (the model card or GPU changed under it) is reported at golden.yaml
      add(
        res.issues
          .filter((x) => x.file === c.file || (loaded.golden !== undefined && x.file === loaded.golden.file))
          .map((x) => (x.file === c.file && x.line === undefined ? { ...x, ...locate(c.source, [...p, 'set']) } : x)),
      );
      const r = res.resolved;
      if (r === undefined) continue;
      // a simulated cluster serves every recipe on CPUs: its GPU inventory does not apply
      if (c.cluster.engine === 'sim') continue;
      const inventory = c.cluster.gpus[r.gpu.id];
      if (inventory === undefined) {
        add([
          {
            code: 'CLUSTER_GPU_MISSING',
            file: c.file,
            path: [...p, 'recipe'],
            ...locate(c.source, [...p, 'recipe']),
            message: `${ref.recipe} needs ${r.gpu.id} GPUs, which cluster ${c.name} does not have`,
            hint: `add ${r.gpu.id} to gpus:, or remove this recipe from the cluster (it has: ${Object.keys(c.cluster.gpus).join(', ')})`,
          },
        ]);
        continue;
      }
      const u = used.get(r.gpu.id) ?? { gpus: 0, nodes: 0 };
      u.gpus += totalGpus(r.recipe);
      u.nodes = Math.max(u.nodes, ...Object.values(r.recipe.topology).flatMap((w) => (typeof w === 'object' && w !== null && 'nodes' in w ? [w.nodes] : [])));
      used.set(r.gpu.id, u);
    }
    for (const [gpuId, u] of used) {
      const inv = c.cluster.gpus[gpuId]!;
      const perNode = ws.gpus.get(gpuId)?.gpu.gpusPerNode ?? 0;
      const capacity = inv.nodes * perNode;
      if (u.gpus > capacity || u.nodes > inv.nodes) {
        add([
          {
            code: 'CLUSTER_GPU_CAPACITY',
            file: c.file,
            path: ['gpus', gpuId],
            ...locate(c.source, ['gpus', gpuId]),
            message:
              u.gpus > capacity
                ? `the recipes on ${c.name} need ${u.gpus} ${gpuId} GPUs but the inventory has ${capacity} (${inv.nodes} node${inv.nodes === 1 ? '' : 's'} × ${perNode})`
                : `a replica spans ${u.nodes} ${gpuId} nodes but the inventory has ${inv.nodes}`,
            hint: `raise gpus.${gpuId}.nodes to ${Math.max(Math.ceil(u.gpus / Math.max(perNode, 1)), u.nodes)} or run fewer recipes here`,
          },
        ]);
      }
    }
  }
}
