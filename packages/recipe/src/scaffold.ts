import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { stringify } from 'yaml';
import { UserError } from '@llm-recipes/errors';
import { gpuDirName } from './gpu-id.ts';
import { bytesPerParam, gpuSupports } from './layers.ts';
import { findGpu, modeline, type Workspace } from './loader.ts';
import { BackendNameSchema, type BackendName, type Gpu, type ModelCard } from './schema.ts';
import { didYouMean } from './suggest.ts';

export interface ScaffoldOptions {
  /** recipes/ id or Hugging Face id. */
  model: string;
  backend: string;
  gpu: string;
  mode?: 'agg' | 'disagg' | undefined;
}

export interface Scaffold {
  id: string;
  /** Repo-relative path of the new recipe.yaml. */
  file: string;
  content: string;
  tp: number;
  nodes: number;
}

/** Smallest power-of-two TP whose weight shard leaves ≥ 40 % of the GPU for KV cache and activations. */
export function suggestTp(card: ModelCard, gpu: Gpu): { tp: number; nodes: number } {
  const dtype = gpuSupports(gpu, card.dtype) ? card.dtype : 'bf16';
  const weightGiB = (card.architecture.totalParamsB * 1e9 * bytesPerParam(dtype)) / 2 ** 30;
  let tp = 1;
  while (weightGiB / tp > gpu.memoryGiB * 0.6 && tp < 64) tp *= 2;
  const nodes = Math.max(1, Math.ceil(tp / gpu.gpusPerNode));
  return { tp, nodes };
}

function findModel(ws: Workspace, ref: string): ModelCard {
  const byId = ws.models.get(ref);
  if (byId !== undefined) return byId.card;
  const byHf = [...ws.models.values()].find((m) => m.card.hfId.toLowerCase() === ref.toLowerCase());
  if (byHf !== undefined) return byHf.card;
  throw new UserError('RECIPE_UNKNOWN_MODEL', `no model card for "${ref}"`, {
    hint: `${didYouMean(ref, [...ws.models.keys()], 'models')} — or add recipes/<id>/model.yaml first`,
  });
}

/** Builds a new recipe.yaml (modeline, sensible TP) without touching the disk. */
export function scaffoldRecipe(ws: Workspace, options: ScaffoldOptions): Scaffold {
  const card = findModel(ws, options.model);
  const backend = BackendNameSchema.safeParse(options.backend);
  if (!backend.success) {
    throw new UserError('RECIPE_UNKNOWN_BACKEND', `unknown backend "${options.backend}"`, {
      hint: didYouMean(options.backend, BackendNameSchema.options, 'backends'),
    });
  }
  const gpu = findGpu(ws, options.gpu)?.gpu;
  if (gpu === undefined) {
    throw new UserError('RECIPE_UNKNOWN_GPU', `unknown GPU "${options.gpu}"`, {
      hint: didYouMean(options.gpu, [...ws.gpus.keys()], 'known GPUs'),
    });
  }
  const name: BackendName = backend.data;
  const mode = options.mode ?? 'agg';
  const id = `${card.id}/${name}/${gpuDirName(gpu.id)}`;
  const dir = `recipes/${id}`;
  const { tp, nodes } = suggestTp(card, gpu);
  const pool = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    replicas: 1,
    tp,
    ...(nodes > 1 ? { nodes } : {}),
    ...(card.architecture.moe !== undefined && tp > 1 ? { ep: tp } : {}),
    ...extra,
  });
  const maxModelLen = Math.min(card.architecture.maxContext, 32768);
  const body: Record<string, unknown> = {
    model: card.id,
    backend: { name },
    gpu: gpu.id,
    maxModelLen,
    topology: mode === 'agg' ? { mode, router: 'kv', agg: pool() } : { mode, router: 'kv', prefill: pool(), decode: pool() },
  };
  const content = `${modeline(dir, ws.root)}\n# Scaffolded by \`recipes new\`; tp ${tp} keeps the ${card.dtype} weights under 60 % of a ${gpu.id}'s memory.\n${stringify(body, { lineWidth: 0 })}`;
  return { id, file: `${dir}/recipe.yaml`, content, tp, nodes };
}

/** Writes a scaffold atomically; refuses to overwrite an existing recipe. */
export function writeScaffold(ws: Workspace, scaffold: Scaffold): string {
  const abs = path.join(ws.root, scaffold.file);
  if (existsSync(abs)) {
    throw new UserError('RECIPE_EXISTS', `${scaffold.file} already exists`, {
      hint: 'edit it, or use recipes explain to see its effective values',
    });
  }
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileAtomic.sync(abs, scaffold.content);
  return abs;
}
