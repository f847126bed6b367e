import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInputError, UserError } from '@llm-recipes/errors';
import { loadWorkspace, resolveRecipe, writeVariant } from './index.ts';
import { recipeText, tempWorkspace } from './test-fixtures.ts';

const BODY = recipeText(`
# The 32B model on 8 H100s, disaggregated.
model: qwen3-32b
backend: { name: vllm, args: { max-num-seqs: 128 } }  # engine default
gpu: h100-sxm
maxModelLen: 16384
topology:
  mode: disagg
  prefill: { replicas: 2, tp: 2 }
  decode: { replicas: 1, tp: 4 }
`);
const ws0 = tempWorkspace({ 'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml': BODY });
afterAll(ws0.cleanup);
const file = path.join(ws0.root, 'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml');

describe('writeVariant', () => {
  it('adds a variant without touching the rest of the file, and it resolves', () => {
    const r = writeVariant({
      root: ws0.root,
      recipe: 'qwen3-32b/vllm/h100-sxm',
      name: 'agg4',
      comment: 'from a search',
      variant: { topology: { mode: 'agg', prefill: null, decode: null, agg: { replicas: 4, tp: 2, args: { 'max-num-seqs': 64 } } } },
    });
    expect(r).toMatchObject({ file: 'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml', replaced: false });
    const text = readFileSync(file, 'utf8');
    // every line survives, comments included (the yaml printer only normalizes the gap before a trailing comment)
    const squash = (t: string): string => t.replace(/ {2,}#/g, ' #');
    expect(squash(text).startsWith(squash(BODY).trimEnd())).toBe(true);
    expect(text).toContain('  # from a search\n  agg4:\n');
    expect(text).toContain('agg: { replicas: 4, tp: 2, args: { max-num-seqs: 64 } }');
    const res = resolveRecipe(loadWorkspace(ws0.root), { recipe: 'qwen3-32b/vllm/h100-sxm', variant: 'agg4' });
    expect(res.resolved!.recipe.topology.agg!.args['max-num-seqs']).toBe(64);
    expect(r.resolved.variant).toBe('agg4');
  });

  it('restores the file and reports every issue when the variant does not resolve', () => {
    const before = readFileSync(file, 'utf8');
    const filesBefore = readdirSync(path.dirname(file)).sort();
    let caught: unknown;
    try {
      // agg without removing the disagg pools: the topology rules reject it
      writeVariant({ root: ws0.root, recipe: 'qwen3-32b/vllm/h100-sxm', name: 'broken', variant: { topology: { mode: 'agg', agg: { replicas: 1, tp: 2 } } } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    const codes = (caught as InvalidInputError).issues.map((i) => i.code);
    expect(codes).toContain('RECIPE_AGG_HAS_DISAGG_POOL');
    expect((caught as InvalidInputError).issues[0]!.hint).toMatch(/left unchanged/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    // no temp files left behind (whatever their names): the directory holds what it held before
    expect(readdirSync(path.dirname(file)).sort()).toEqual(filesBefore);
  });

  it('refuses an existing name unless forced, and bad names', () => {
    const v = { topology: { mode: 'agg' as const, prefill: null, decode: null, agg: { replicas: 2, tp: 4 } } };
    expect(() => writeVariant({ root: ws0.root, recipe: 'qwen3-32b/vllm/h100-sxm', name: 'agg4', variant: v })).toThrow(/already has a variant "agg4"/);
    expect(writeVariant({ root: ws0.root, recipe: 'qwen3-32b/vllm/h100-sxm', name: 'agg4', variant: v, force: true }).replaced).toBe(true);
    expect(readFileSync(file, 'utf8').match(/agg4:/g)).toHaveLength(1);
    expect(() => writeVariant({ root: ws0.root, recipe: 'qwen3-32b/vllm/h100-sxm', name: 'Bad Name', variant: v })).toThrow(UserError);
    expect(() => writeVariant({ root: ws0.root, recipe: 'nope/vllm/h100-sxm', name: 'x', variant: v })).toThrow(/no recipe/);
  });
});
