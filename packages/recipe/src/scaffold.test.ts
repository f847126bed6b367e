import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkspace, resolveRecipe, scaffoldRecipe, writeScaffold } from './index.ts';
import { tempWorkspace } from './test-fixtures.ts';

const tmp = tempWorkspace({});
afterAll(tmp.cleanup);

describe('recipes new', () => {
  it('scaffolds a valid recipe with a TP that fits the weights, by HF id and GPU alias', () => {
    const ws = loadWorkspace(tmp.root);
    const s = scaffoldRecipe(ws, { model: 'Qwen/Qwen3-32B', backend: 'sglang', gpu: 'a100', mode: 'disagg' });
    expect(s.id).toBe('qwen3-32b/sglang/a100-sxm');
    expect(s.tp).toBe(2);
    writeScaffold(ws, s);
    const text = readFileSync(path.join(tmp.root, s.file), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../../../schemas/recipe.schema.json');
    const again = loadWorkspace(tmp.root);
    expect(again.issues).toEqual([]);
    expect(resolveRecipe(again, { recipe: s.id }).resolved?.recipe.topology.decode?.tp).toBe(2);
    expect(() => writeScaffold(again, s)).toThrow(/already exists/);
  });

  it('spans nodes for a model larger than one node', () => {
    const ws = loadWorkspace(tmp.root);
    const s = scaffoldRecipe(ws, { model: 'deepseek-r1', backend: 'vllm', gpu: 'h100_sxm' });
    expect([s.tp, s.nodes]).toEqual([16, 2]);
    expect(existsSync(path.join(tmp.root, s.file))).toBe(false);
  });

  it('refuses unknown models, backends and GPUs with a suggestion', () => {
    const ws = loadWorkspace(tmp.root);
    expect(() => scaffoldRecipe(ws, { model: 'qwen3-32', backend: 'vllm', gpu: 'h100' })).toThrow('no model card for "qwen3-32"');
    expect(() => scaffoldRecipe(ws, { model: 'qwen3-32b', backend: 'vlm', gpu: 'h100' })).toThrow('unknown backend "vlm"');
    expect(() => scaffoldRecipe(ws, { model: 'qwen3-32b', backend: 'vllm', gpu: 'h800' })).toThrow('unknown GPU "h800"');
  });
});
