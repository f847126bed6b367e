import type { Gpu } from './schema.ts';

/**
 * Canonical GPU id: lower case with `_` (the DGDR hardware.gpuSku spelling). With a catalog, aliases such as
 * `h100` or `H100-SXM5` resolve to the catalog id; an unknown name comes back normalized but unresolved.
 */
export function normalizeGpuId(input: string, catalog?: Iterable<Pick<Gpu, 'id' | 'aliases'>>): string {
  const id = input.trim().toLowerCase().replace(/[-\s]+/g, '_');
  if (catalog === undefined) return id;
  const gpus = [...catalog];
  if (gpus.some((g) => g.id === id)) return id;
  for (const g of gpus) {
    if (g.aliases.some((a) => normalizeGpuId(a) === id)) return g.id;
  }
  return id;
}

/** Directory spelling of a GPU id (recipes/<model>/<backend>/<gpu>/): `h100_sxm` → `h100-sxm`. */
export function gpuDirName(id: string): string {
  return id.replace(/_/g, '-');
}
