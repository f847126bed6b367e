import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadWorkspace, resolveRecipe } from '@llm-recipes/recipe';
import { runCli } from '../testing.ts';

// End to end in a temporary copy of the repository (recipes/, schemas/ and one cluster profile): search selects a
// config, writes it as a variant, and render turns that variant into a DGD — the DGDR rapid path.
const repo = path.resolve(import.meta.dirname, '../../../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'llm-recipes-search-'));
cpSync(path.join(repo, 'recipes'), path.join(tmp, 'recipes'), { recursive: true });
cpSync(path.join(repo, 'schemas'), path.join(tmp, 'schemas'), { recursive: true });
mkdirSync(path.join(tmp, 'clusters/lab-argo'), { recursive: true });
cpSync(path.join(repo, 'clusters/lab-argo/cluster.yaml'), path.join(tmp, 'clusters/lab-argo/cluster.yaml'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (argv: string[]) => runCli(argv, tmp);

const DISAGG = 'llama-3.3-70b/vllm/h200-sxm';
const file = path.join(tmp, 'recipes', DISAGG, 'recipe.yaml');

describe('recipes search --write-variant', () => {
  it('writes an agg selection into a disagg recipe (pools removed with null), keeps comments, and renders a DGD', async () => {
    const before = readFileSync(file, 'utf8');
    const r = await run(['search', DISAGG, '--mode', 'agg', '--write-variant', 'rapid-agg']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/wrote variant rapid-agg in recipes\/llama-3.3-70b\/vllm\/h200-sxm\/recipe.yaml/);
    const after = readFileSync(file, 'utf8');
    // the original text is untouched: comments, order and flow maps; the variant is appended with its provenance
    const squash = (t: string): string => t.replace(/ {2,}#/g, ' #');
    for (const line of before.split('\n').filter((l) => l.startsWith('#'))) expect(after).toContain(line);
    expect(squash(after).startsWith(squash(before).trimEnd())).toBe(true);
    expect(after).toMatch(/# Written by recipes search: vllm agg \d+×tp\d+ at concurrency \d+/);
    expect(after).toMatch(/prefill: null/);
    expect(after).toMatch(/decode: null/);

    const ws = loadWorkspace(tmp);
    const res = resolveRecipe(ws, { recipe: DISAGG, variant: 'rapid-agg' });
    expect(res.issues).toEqual([]);
    const t = res.resolved!.recipe.topology;
    expect(t.mode).toBe('agg');
    expect(t.prefill).toBeUndefined();
    expect(t.planner.enabled).toBe(false);
    expect(t.agg!.args['max-num-seqs']).toBeGreaterThan(0);
    // within the recipe's GPU budget (16)
    expect(t.agg!.replicas * t.agg!.tp).toBeLessThanOrEqual(16);

    const rendered = await run(['render', '--recipe', `recipes/${DISAGG}`, '--variant', 'rapid-agg', '--stdout']);
    expect(rendered.code, rendered.err).toBe(0);
    type Component = { name: string; type: string; replicas?: number };
    const docs = parseAllDocuments(rendered.out).map((d) => d.toJS() as { kind: string; spec?: { components?: Component[] } });
    const dgd = docs.find((d) => d.kind === 'DynamoGraphDeployment');
    expect(dgd).toBeDefined();
    const workers = dgd!.spec!.components!.filter((c) => c.type !== 'frontend' && c.type !== 'planner');
    expect(workers.map((c) => c.type)).not.toContain('prefill');
    expect(workers).toHaveLength(1);
    expect(workers[0]!.replicas).toBe(t.agg!.replicas);
    expect(rendered.out).toContain(`--tensor-parallel-size`);
  });

  it('refuses to overwrite a variant unless --force, leaving the file as it was', async () => {
    const before = readFileSync(file, 'utf8');
    const again = await run(['search', DISAGG, '--mode', 'agg', '--write-variant', 'rapid-agg']);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already has a variant "rapid-agg"[\s\S]*--force/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    const forced = await run(['search', DISAGG, '--write-variant', 'rapid-agg', '--force', '--mode', 'disagg']);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.out).toMatch(/replaced variant rapid-agg/);
    const res = resolveRecipe(loadWorkspace(tmp), { recipe: DISAGG, variant: 'rapid-agg' });
    expect(res.issues).toEqual([]);
    expect(res.resolved!.recipe.topology.mode).toBe('disagg');
    expect(res.resolved!.recipe.topology.agg).toBeUndefined();
  });

  it('writes a disagg selection into an agg recipe by removing its agg pool', async () => {
    const r = await run(['search', 'llama-3.1-8b/vllm/h100-sxm', '--mode', 'disagg', '--gpus', '4', '--sla', 'ttft=2000,itl=100', '--write-variant', 'rapid-disagg']);
    expect(r.code, r.err).toBe(0);
    const res = resolveRecipe(loadWorkspace(tmp), { recipe: 'llama-3.1-8b/vllm/h100-sxm', variant: 'rapid-disagg' });
    expect(res.issues).toEqual([]);
    const t = res.resolved!.recipe.topology;
    expect(t.mode).toBe('disagg');
    expect(t.agg).toBeUndefined();
    expect(t.decode!.args['max-num-seqs']).toBeGreaterThan(0);
  });

  it('needs a recipe and keeps its identity', async () => {
    const none = await run(['search', '--model', 'llama-3.1-8b', '--gpu', 'h100_sxm', '--gpus', '2', '--write-variant', 'x']);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/--write-variant needs a recipe/);
    const other = await run(['search', 'llama-3.1-8b/vllm/h100-sxm', '--backend', 'trtllm', '--write-variant', 'x']);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/cannot change --backend/);
    const bad = await run(['search', 'llama-3.1-8b/vllm/h100-sxm', '--write-variant', 'Not_A_Label']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/not a DNS label/);
  });
});
