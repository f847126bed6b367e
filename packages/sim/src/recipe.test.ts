import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadWorkspace, resolveRecipe } from '@llm-recipes/recipe';
import { resolveSimConfig } from './config.ts';
import { kvBytesPerToken, simConfigFromRecipe, simFrontendCommand, simRecipeJson, simWorkerCommand } from './recipe.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const ws = loadWorkspace(root);
const resolve = (id: string) => {
  const { resolved, issues } = resolveRecipe(ws, { recipe: id });
  if (!resolved) throw new Error(JSON.stringify(issues));
  return resolved;
};

describe('recipe → simulator config', () => {
  it('maps an aggregated recipe: pools, router, engine args and a roofline step model', () => {
    const r = resolve('llama-3.1-8b/vllm/h100-sxm');
    const cfg = resolveSimConfig(simConfigFromRecipe(r));
    expect(cfg.mode).toBe('agg');
    expect(cfg.router).toBe(r.recipe.topology.router);
    expect(cfg.agg.replicas).toBe(r.recipe.topology.agg!.replicas);
    expect(cfg.agg.maxNumSeqs).toBe(256);
    expect(cfg.model.name).toBe(r.model.servedName);
    // Llama-3.1-8B: 32 layers × 8 KV heads × 128 × 2 (K,V) × 2 bytes = 128 KiB per token
    expect(kvBytesPerToken(r.model, 'bf16')).toBe(131_072);
    // decode at batch 1 on H100 BF16 ≈ 16 GB / (3.35 TB/s × 0.8) ≈ 6 ms
    expect(cfg.agg.step.decodeBaseMs).toBeGreaterThan(5);
    expect(cfg.agg.step.decodeBaseMs).toBeLessThan(8);
    expect(cfg.agg.step.kvCapacityTokens).toBeGreaterThan(300_000);
  });

  it('maps a disaggregated recipe with a transfer link', () => {
    const r = resolve('llama-3.3-70b/vllm/h200-sxm');
    const cfg = resolveSimConfig(simConfigFromRecipe(r));
    expect(cfg.mode).toBe('disagg');
    expect(cfg.prefill.tp).toBe(r.recipe.topology.prefill!.tp);
    expect(cfg.decode.tp).toBe(r.recipe.topology.decode!.tp);
    expect(cfg.transfer.bandwidthGBs).toBeGreaterThan(0);
  });

  it('describes the container command of an in-cluster simulator worker', () => {
    const c = simWorkerCommand({ servedName: 'Qwen/Qwen3-32B', maxModelLen: 8192, role: 'decode', maxNumSeqs: 64, step: { decodeBaseMs: 12.5 } });
    expect(c.command).toEqual(['recipes']);
    expect(c.args.slice(0, 5)).toEqual(['sim', '--host', '0.0.0.0', '--port', '8000']);
    expect(c.args.join(' ')).toContain('--model-name Qwen/Qwen3-32B --max-model-len 8192 --replicas 1 --max-num-seqs 64 --itl-ms 12.5');
  });

  it('points a worker at the mounted resolved recipe and keeps it to its own pool', () => {
    const c = simWorkerCommand({ servedName: 'm', maxModelLen: 4096, role: 'prefill', port: 9090, recipeJson: '/etc/r.json', recipe: 'ignored/when/json' });
    expect(c.args).toEqual(['sim', '--host', '0.0.0.0', '--port', '9090', '--recipe-json', '/etc/r.json', '--pool', 'prefill', '--model-name', 'm', '--max-model-len', '4096', '--replicas', '1']);
    expect(simWorkerCommand({ servedName: 'm', maxModelLen: 1, role: 'agg', recipe: 'a/b/c' }).args).toContain('--pool');
    expect(simWorkerCommand({ servedName: 'm', maxModelLen: 1, role: 'agg' }).args).not.toContain('--pool');
    expect(simFrontendCommand({ recipeJson: '/etc/r.json' }).args).toEqual(['sim', '--host', '0.0.0.0', '--port', '8000', '--recipe-json', '/etc/r.json']);
  });

  it('writes the resolved recipe as JSON that reads back unchanged', () => {
    const r = { id: 'x/y/z', variant: 'v', recipe: { maxModelLen: 1 }, model: { id: 'm' }, gpu: { id: 'g' }, provenance: 'left out' };
    const parsed = JSON.parse(simRecipeJson(r as never));
    expect(parsed).toEqual({ id: 'x/y/z', variant: 'v', recipe: { maxModelLen: 1 }, model: { id: 'm' }, gpu: { id: 'g' } });
  });
});
