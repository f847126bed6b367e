import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatIssue } from '@llm-recipes/errors';
import { describe, expect, it } from 'vitest';
import { jsonSchemas, loadWorkspace, normalizeGpuId, resolveRecipe, totalGpus } from './index.ts';
import { REPO_ROOT } from './test-fixtures.ts';

const ws = loadWorkspace(REPO_ROOT);

describe('the committed catalog', () => {
  it('loads with zero issues', () => {
    expect(ws.issues.map(formatIssue)).toEqual([]);
    expect(ws.models.size).toBeGreaterThanOrEqual(7);
    expect([...ws.gpus.keys()].sort()).toEqual(['a100_sxm', 'b200_sxm', 'gb200_sxm', 'gb300_sxm', 'h100_sxm', 'h200_sxm', 'l40s']);
    expect([...ws.clusters.keys()].sort()).toEqual(['kind-sim', 'lab-argo', 'prod-flux']);
  });

  it('covers the backends, modes, routers and features the product promises', () => {
    const resolved = [...ws.recipes.keys()].map((id) => resolveRecipe(ws, { recipe: id }).resolved!);
    expect(resolved.length).toBeGreaterThanOrEqual(12);
    const r = resolved.map((x) => x.recipe);
    expect(new Set(r.map((x) => x.backend.name))).toEqual(new Set(['vllm', 'sglang', 'trtllm']));
    expect(new Set(r.map((x) => x.topology.mode))).toEqual(new Set(['agg', 'disagg']));
    expect(new Set(r.map((x) => x.gpu)).size).toBeGreaterThanOrEqual(4);
    expect(r.some((x) => x.topology.router === 'kv') && r.some((x) => x.topology.router === 'round-robin')).toBe(true);
    expect(r.some((x) => x.topology.planner.enabled)).toBe(true);
    expect(r.some((x) => x.topology.mode === 'disagg' && (x.topology.decode?.nodes ?? 1) > 1 && (x.topology.decode?.ep ?? 1) > 8)).toBe(true);
    expect(resolved.some((x) => x.engineFiles.length > 0)).toBe(true);
    expect([...ws.recipes.values()].filter((x) => Object.keys(x.written.variants ?? {}).length > 0).length).toBeGreaterThanOrEqual(2);
    for (const x of r) for (const [isl, osl] of x.benchmark.islOsl) expect(isl + osl).toBeLessThanOrEqual(x.maxModelLen);
    expect(Math.max(...r.map(totalGpus))).toBeGreaterThan(8);
  });

  it('every recipe and variant resolves, and every recipe runs on at least one cluster', () => {
    const deployed = new Set<string>();
    for (const c of ws.clusters.values()) for (const ref of c.cluster.recipes) deployed.add(ref.recipe);
    for (const [id, loaded] of ws.recipes) {
      expect(deployed.has(id), `${id} is not listed by any cluster`).toBe(true);
      for (const variant of [undefined, ...Object.keys(loaded.written.variants ?? {})]) {
        expect(resolveRecipe(ws, { recipe: id, variant }).issues).toEqual([]);
      }
    }
  });

  it('GB300 NVL72: per-GPU figures of a 4-GPU tray in a 72-GPU NVLink domain, found by its aliases', () => {
    const gb300 = ws.gpus.get('gb300_sxm')?.gpu;
    expect(gb300).toMatchObject({
      productLabel: 'NVIDIA-GB300',
      arch: 'arm64',
      memoryBandwidthTBs: 8,
      tflops: { bf16: 2500, fp8: 5000, fp4: 15000 },
      interconnect: { kind: 'nvlink', bandwidthGBs: 900, domainSize: 72 },
      gpusPerNode: 4,
      tdpW: 1400,
    });
    // 284,208 MiB as nvidia-smi reports it, of the 288 GB on the package
    expect(gb300!.memoryGiB).toBeCloseTo(284208 / 1024, 1);
    for (const alias of ['gb300', 'GB300-NVL72', 'gb300-sxm']) expect(normalizeGpuId(alias, [...ws.gpus.values()].map((g) => g.gpu))).toBe('gb300_sxm');
    // every catalog entry carries references, and product labels are unique (the GPU-fit check keys on them)
    const labels = [...ws.gpus.values()].map((g) => g.gpu.productLabel);
    expect(new Set(labels).size).toBe(labels.length);
    for (const { gpu } of ws.gpus.values()) expect(gpu.sources.length).toBeGreaterThan(0);
  });

  it('every recipe starts with the schema modeline', () => {
    for (const loaded of ws.recipes.values()) {
      expect(loaded.source.text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../../../schemas/recipe.schema.json');
    }
  });
});

describe('generated JSON Schemas', () => {
  it('match the committed schemas/ files (run `npm run schemas` after changing a zod schema)', () => {
    for (const [file, text] of Object.entries(jsonSchemas())) {
      expect(readFileSync(path.join(REPO_ROOT, 'schemas', file), 'utf8'), `schemas/${file} is stale: run npm run schemas`).toBe(text);
    }
  });

  it('keep the field descriptions editors show', () => {
    const recipe = JSON.parse(jsonSchemas()['recipe.schema.json']!) as { properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }> };
    expect(recipe.properties.maxModelLen?.description).toBe('Context length the engine is configured for.');
    expect(recipe.properties.topology?.properties?.mode?.description).toBe('Aggregated (prefill and decode in one worker) or disaggregated.');
    expect(recipe.properties.variants?.description).toMatch(/variants/i);
  });
});
