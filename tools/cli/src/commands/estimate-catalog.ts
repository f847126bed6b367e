import { UserError } from '@llm-recipes/errors';
import { referenceGpus, referenceModels, type Architecture, type Dtype, type Gpu } from '@llm-recipes/estimate';
import { loadWorkspace, modelIndex, normalizeGpuId, type ModelIdError, type ModelIndex, type ResolvedModelId, type Workspace } from '@llm-recipes/recipe';
import { lookupWorkspaceRoot } from './workspace-root.ts';

/** A model the estimator can run: a recipes/<id>/model.yaml card, else one of the built-in reference models. */
export interface CatalogModel {
  id: string;
  hfId: string;
  aliases?: readonly string[] | undefined;
  dtype: Dtype;
  architecture: Architecture;
}

export interface Catalog {
  ws: Workspace | undefined;
  models: ModelIndex<CatalogModel>;
  /** Resolves a model id (see docs/estimator.md "Model ids"); `dtype` is an explicit one, which wins. */
  model(input: string, dtype?: Dtype): ResolvedModelId<CatalogModel>;
  /** The GPU an id or alias names, or the error to report. */
  lookupGpu(input: string): { ok: true; gpu: Gpu } | { ok: false; error: { code: string; message: string; hint: string } };
  gpu(input: string): Gpu;
}

export function openCatalog(cwd: string): Catalog {
  const root = lookupWorkspaceRoot(cwd);
  const ws = root ? loadWorkspace(root) : undefined;
  const cards: CatalogModel[] = [...(ws?.models.values() ?? [])].map(({ card }) => ({
    id: card.id,
    hfId: card.hfId,
    aliases: card.aliases,
    dtype: card.dtype,
    architecture: card.architecture,
  }));
  // recipes/ cards first: the reference set answers only names no card claims
  const models = modelIndex<CatalogModel>([cards, referenceModels]);
  const gpus: Gpu[] = [...[...(ws?.gpus.values() ?? [])].map((g) => g.gpu), ...referenceGpus];
  const lookupGpu: Catalog['lookupGpu'] = (input) => {
    const id = normalizeGpuId(input, gpus);
    const hit = gpus.find((g) => g.id === id);
    if (hit) return { ok: true, gpu: hit };
    return {
      ok: false,
      error: {
        code: 'UNKNOWN_GPU',
        message: `unknown GPU "${input}"`,
        hint: `use a DGDR gpuSku id: ${[...new Set(gpus.map((g) => g.id))].join(', ')} ("-" and "_" are interchangeable)`,
      },
    };
  };
  return {
    ws,
    models,
    model(input, dtype) {
      const r = models.resolve(input, { dtype });
      if (r.ok) return r;
      throw modelError(r.error);
    },
    lookupGpu,
    gpu(input) {
      const r = lookupGpu(input);
      if (r.ok) return r.gpu;
      throw new UserError(r.error.code, r.error.message, { hint: r.error.hint });
    },
  };
}

export function modelError(e: ModelIdError): UserError {
  return new UserError(e.code, e.message, { hint: e.hint });
}

/** One line on how the model id was read: `llama-3.1-8b (instruct), fp8 weights from "FP8" in the id`. */
export function describeModel(r: ResolvedModelId<CatalogModel>): string {
  const p = r.parts;
  const tags = [p.variant, p.release].filter((t) => t !== undefined);
  const from = r.dtypeFrom === 'query' ? 'as asked' : r.dtypeFrom === 'id' ? `from "${p.quant!.marker}" in the id` : 'as published';
  return `${r.model.id}${tags.length > 0 ? ` (${tags.join(' ')})` : ''}, ${r.dtype} weights ${from}`;
}

/** JSON with ±Infinity/NaN as null (latencies of a deployment that does not fit). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}
