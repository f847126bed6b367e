import { UserError } from '@llm-recipes/errors';
import { referenceGpus, referenceModels, type Architecture, type Dtype, type Gpu } from '@llm-recipes/estimate';
import { loadWorkspace, normalizeGpuId, type Workspace } from '@llm-recipes/recipe';
import { lookupWorkspaceRoot } from './workspace-root.ts';

/** A model the estimator can run: from recipes/<id>/model.yaml when present, else the built-in reference set. */
export interface CatalogModel {
  id: string;
  hfId: string;
  dtype: Dtype;
  architecture: Architecture;
}

export interface Catalog {
  ws: Workspace | undefined;
  model(input: string): CatalogModel;
  gpu(input: string): Gpu;
}

export function openCatalog(cwd: string): Catalog {
  const root = lookupWorkspaceRoot(cwd);
  const ws = root ? loadWorkspace(root) : undefined;
  const models: CatalogModel[] = [
    ...[...(ws?.models.values() ?? [])].map((m) => ({ id: m.card.id, hfId: m.card.hfId, dtype: m.card.dtype, architecture: m.card.architecture })),
    ...referenceModels,
  ];
  const gpus: Gpu[] = [...[...(ws?.gpus.values() ?? [])].map((g) => g.gpu), ...referenceGpus];
  return {
    ws,
    model(input: string): CatalogModel {
      const key = input.trim().toLowerCase();
      const hit = models.find(
        (m) => m.id === key || m.hfId.toLowerCase() === key || ('aliases' in m && (m.aliases as string[]).some((a) => a.toLowerCase() === key)),
      );
      if (hit) return hit;
      const known = [...new Set(models.map((m) => m.id))].join(', ');
      throw new UserError('UNKNOWN_MODEL', `unknown model "${input}"`, {
        hint: `use a recipes/ model id or its Hugging Face id; known: ${known}`,
      });
    },
    gpu(input: string): Gpu {
      const id = normalizeGpuId(input, gpus);
      const hit = gpus.find((g) => g.id === id);
      if (hit) return hit;
      throw new UserError('UNKNOWN_GPU', `unknown GPU "${input}"`, {
        hint: `use a DGDR gpuSku id: ${[...new Set(gpus.map((g) => g.id))].join(', ')} ("-" and "_" are interchangeable)`,
      });
    },
  };
}

/** JSON with ±Infinity/NaN as null (latencies of a deployment that does not fit). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}
