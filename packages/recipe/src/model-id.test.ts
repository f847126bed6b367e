import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkspace, modelIndex, parseModelId, type Dtype, type ModelEntry } from './index.ts';
import { REPO_ROOT, tempWorkspace } from './test-fixtures.ts';

const parts = (id: string) => {
  const r = parseModelId(id);
  if (!r.ok) throw new Error(r.error.message);
  return r.parts;
};

describe('parseModelId', () => {
  it.each([
    // [id, key, variant, release, marker, dtype]
    ['meta-llama/Llama-3.1-8B-Instruct', 'llama-3.1-8b', 'instruct', undefined, undefined, undefined],
    ['meta-llama/Meta-Llama-3.1-8B-Instruct', 'llama-3.1-8b', 'instruct', undefined, undefined, undefined],
    ['Llama-3.1-8B', 'llama-3.1-8b', undefined, undefined, undefined, undefined],
    ['nvidia/Llama-3.1-8B-Instruct-FP8', 'llama-3.1-8b', 'instruct', undefined, 'FP8', 'fp8'],
    ['nvidia/Llama-3.3-70B-Instruct-FP4', 'llama-3.3-70b', 'instruct', undefined, 'FP4', 'fp4'],
    ['RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8-dynamic', 'llama-3.1-70b', 'instruct', undefined, 'FP8-dynamic', 'fp8'],
    ['RedHatAI/Llama-3.3-70B-Instruct-NVFP4', 'llama-3.3-70b', 'instruct', undefined, 'NVFP4', 'fp4'],
    ['Qwen/Qwen3-32B-FP8', 'qwen3-32b', undefined, undefined, 'FP8', 'fp8'],
    ['Qwen/Qwen3-235B-A22B-Instruct-2507-FP8', 'qwen3-235b-a22b', 'instruct', '2507', 'FP8', 'fp8'],
    ['Qwen/Qwen3-235B-A22B-Thinking-2507', 'qwen3-235b-a22b', 'thinking', '2507', undefined, undefined],
    ['deepseek-ai/DeepSeek-R1-0528', 'deepseek-r1', undefined, '0528', undefined, undefined],
    ['nvidia/DeepSeek-R1-0528-FP4-v2', 'deepseek-r1', undefined, '0528', 'FP4-v2', 'fp4'],
    ['deepseek-ai/DeepSeek-V3', 'deepseek-v3', undefined, undefined, undefined, undefined],
    ['deepseek-ai/DeepSeek-V3-0324', 'deepseek-v3', undefined, '0324', undefined, undefined],
    ['deepseek-ai/DeepSeek-V3-Base', 'deepseek-v3', 'base', undefined, undefined, undefined],
    ['openai/gpt-oss-120b', 'gpt-oss-120b', undefined, undefined, undefined, undefined],
    ['unsloth/gpt-oss-120b-BF16', 'gpt-oss-120b', undefined, undefined, 'BF16', 'bf16'],
    ['meta-llama/Llama-2-70b-chat-hf', 'llama-2-70b', 'instruct', undefined, undefined, undefined],
    ['https://huggingface.co/Qwen/Qwen3-32B/', 'qwen3-32b', undefined, undefined, undefined, undefined],
    ['llama 3.1 8b instruct', 'llama-3.1-8b', 'instruct', undefined, undefined, undefined],
    // a trailing "v3" is part of the name unless a quantisation marker precedes it
    ['DeepSeek-V3-FP8', 'deepseek-v3', undefined, undefined, 'FP8', 'fp8'],
  ])('%s → %s', (id, key, variant, release, marker, dtype) => {
    const p = parts(id);
    expect([p.key, p.variant, p.release, p.quant?.marker, p.quant?.dtype]).toEqual([key, variant, release, marker, dtype]);
  });

  it('names the schemes it does not model and keeps their dtype undefined', () => {
    expect(parts('Qwen/Qwen3-32B-AWQ').quant).toEqual({ marker: 'AWQ', dtype: undefined, scheme: 'AWQ (int4 weight-only)' });
    expect(parts('hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4').key).toBe('llama-3.1-8b');
    expect(parts('neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w8a8').quant?.scheme).toBe('int8 weights and activations (W8A8)');
    expect(parts('Qwen/Qwen3-235B-A22B-GPTQ-Int4').quant?.dtype).toBeUndefined();
    // W8A8 beside FP8 describes the FP8 scheme; mixed float markers take the narrowest
    expect(parts('RedHatAI/Qwen3-32B-FP8-W8A8').quant?.dtype).toBe('fp8');
    expect(parts('RedHatAI/DeepSeek-R1-NVFP4-FP8').quant?.dtype).toBe('fp4');
  });

  it('refuses what is not a repository id', () => {
    for (const bad of ['', '  ', 'a/b/c', '/Llama-3.1-8B', 'meta-llama/']) {
      const r = parseModelId(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('INVALID_MODEL_ID');
    }
  });

  const BASES = ['llama-3.1-8b', 'llama-3.3-70b', 'qwen3-235b-a22b', 'qwen3-32b', 'deepseek-r1', 'deepseek-v3', 'gpt-oss-120b'];
  const SUFFIXES: [string, Dtype | undefined][] = [
    ['', undefined],
    ['-FP8', 'fp8'],
    ['-FP8-dynamic', 'fp8'],
    ['-FP8-Dynamic', 'fp8'],
    ['-FP8-KV', 'fp8'],
    ['-FP4', 'fp4'],
    ['-FP4-v2', 'fp4'],
    ['-NVFP4', 'fp4'],
    ['-MXFP4', 'fp4'],
    ['-BF16', 'bf16'],
  ];
  const randomCase = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));

  it('property: case, publisher, variant, release tag and suffix never change the key; the suffix sets the dtype', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...BASES).chain((b) => randomCase(b).map((written) => [b, written] as const)),
        fc.option(fc.constantFrom('meta-llama', 'nvidia', 'RedHatAI', 'neuralmagic', 'Qwen', 'deepseek-ai', 'openai', 'unsloth'), { nil: undefined }),
        fc.constantFrom('', '-Instruct', '-Base', '-Thinking', '-Chat'),
        fc.constantFrom('', '-0528', '-2507'),
        fc.constantFrom(...SUFFIXES),
        ([key, written], org, variant, release, [suffix, dtype]) => {
          const id = `${org ? `${org}/` : ''}${written}${variant}${release}${suffix}`;
          const p = parts(id);
          expect(p.key).toBe(key);
          expect(p.quant?.dtype).toBe(dtype);
          expect(p.org).toBe(org);
        },
      ),
    );
  });
});

const entry = (id: string, hfId: string, dtype: Dtype = 'bf16', aliases?: string[]): ModelEntry => ({ id, hfId, dtype, aliases });

describe('modelIndex', () => {
  const cards = [entry('llama-3.1-8b', 'meta-llama/Llama-3.1-8B-Instruct'), entry('llama-3.1-70b', 'meta-llama/Llama-3.1-70B-Instruct'), entry('gpt-oss-120b', 'openai/gpt-oss-120b', 'fp4')];
  const reference = [entry('llama-3.3-70b', 'meta-llama/Llama-3.3-70B-Instruct', 'bf16', ['Llama-3.1-70B']), entry('llama-3.1-8b', 'meta-llama/Llama-3.1-8B-Instruct', 'fp8')];
  const index = modelIndex([cards, reference]);

  it('answers from the first tier that knows the name, and drops later entries it shadows', () => {
    const r = index.resolve('meta-llama/Llama-3.1-70B');
    expect(r.ok && [r.model.id, r.tier, r.matchedBy]).toEqual(['llama-3.1-70b', 0, 'id']);
    expect(index.entries.map((e) => e.id)).toEqual(['llama-3.1-8b', 'llama-3.1-70b', 'gpt-oss-120b', 'llama-3.3-70b']);
    const only = modelIndex([reference]).resolve('meta-llama/Llama-3.1-70B');
    expect(only.ok && [only.model.id, only.matchedBy]).toEqual(['llama-3.3-70b', 'alias']);
  });

  it('takes the dtype from the query, else the id, else the entry', () => {
    const fromId = index.resolve('nvidia/Llama-3.1-8B-Instruct-FP8');
    expect(fromId.ok && [fromId.dtype, fromId.dtypeFrom]).toEqual(['fp8', 'id']);
    const asked = index.resolve('nvidia/Llama-3.1-8B-Instruct-FP8', { dtype: 'bf16' });
    expect(asked.ok && [asked.dtype, asked.dtypeFrom]).toEqual(['bf16', 'query']);
    const card = index.resolve('Llama-3.1-8B');
    expect(card.ok && [card.dtype, card.dtypeFrom]).toEqual(['bf16', 'card']);
    // gpt-oss ships MXFP4 experts: no publisher rule turns it into anything else
    for (const id of ['openai/gpt-oss-120b', 'nvidia/gpt-oss-120b', 'RedHatAI/gpt-oss-120b']) {
      const g = index.resolve(id);
      expect(g.ok && [g.dtype, g.dtypeFrom], id).toEqual(['fp4', 'card']);
    }
  });

  it('refuses a partial name that fits several models, listing them', () => {
    const r = index.resolve('Llama-3.1');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('AMBIGUOUS_MODEL');
    expect(r.error.candidates).toEqual(['llama-3.1-70b', 'llama-3.1-8b']);
    expect(r.error.hint).toContain('meta-llama/Llama-3.1-70B-Instruct');
  });

  it('refuses two entries of one tier claiming the same name, and reports the collision', () => {
    const clash = modelIndex([[entry('a', 'org/Model-A', 'bf16', ['Shared-7B']), entry('b', 'org/Model-B', 'bf16', ['shared-7b-instruct'])]]);
    expect(clash.collisions.map((c) => [c.entry.id, c.field, c.index, c.other.id, c.key])).toEqual([['b', 'alias', 0, 'a', 'shared-7b']]);
    const r = clash.resolve('someone/Shared-7B-FP8');
    expect(!r.ok && [r.error.code, r.error.candidates]).toEqual(['AMBIGUOUS_MODEL', ['a', 'b']]);
    // the card id still names its card: an id match outranks an alias
    const byId = modelIndex([[entry('a', 'org/A'), entry('b', 'org/B', 'bf16', ['a'])]]).resolve('a');
    expect(byId.ok && byId.model.id).toBe('a');
  });

  it('explains unknown names: near misses, derivatives and schemes it cannot model', () => {
    const near = index.resolve('llama-3.1-8c');
    expect(!near.ok && [near.error.code, near.error.hint]).toEqual(['UNKNOWN_MODEL', 'did you mean llama-3.1-8b (meta-llama/Llama-3.1-8B-Instruct)?']);
    const derived = index.resolve('someone/Llama-3.1-8B-Instruct-abliterated');
    expect(!derived.ok && derived.error.hint).toMatch(/aliases in recipes\/llama-3\.1-8b\/model\.yaml/);
    const none = index.resolve('mistralai/Mixtral-8x7B-v0.1');
    expect(!none.ok && none.error.message).toBe('unknown model "mistralai/Mixtral-8x7B-v0.1"');
    const awq = index.resolve('hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4');
    expect(!awq.ok && [awq.error.code, awq.error.candidates]).toEqual(['UNSUPPORTED_QUANTIZATION', ['llama-3.1-8b']]);
    // …unless the query says which dtype to model it at
    const asked = index.resolve('hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4', { dtype: 'fp8' });
    expect(asked.ok && [asked.model.id, asked.dtype]).toEqual(['llama-3.1-8b', 'fp8']);
  });
});

describe('the committed model cards', () => {
  const ws = loadWorkspace(REPO_ROOT);
  const cards = [...ws.models.values()].map((m) => m.card);
  const index = modelIndex([cards]);

  it('claim distinct names, and each of a card’s names resolves to it', () => {
    expect(index.collisions).toEqual([]);
    for (const c of cards) {
      for (const name of [c.id, c.hfId, ...(c.aliases ?? [])]) {
        const r = index.resolve(name);
        expect(r.ok && r.model.id, name).toBe(c.id);
      }
    }
  });

  it('include the architectures behind Llama-3.1-70B and DeepSeek-V3 as cards of their own', () => {
    const get = (id: string) => ws.models.get(id)!.card;
    expect(get('llama-3.1-70b').architecture).toEqual(get('llama-3.3-70b').architecture);
    expect(get('deepseek-v3').architecture).toEqual(get('deepseek-r1').architecture);
    expect([get('deepseek-v3').hfId, get('deepseek-v3').dtype]).toEqual(['deepseek-ai/DeepSeek-V3', 'fp8']);
  });
});

describe('loader', () => {
  const cleanups: (() => void)[] = [];
  afterAll(() => cleanups.forEach((c) => c()));

  it('reports an alias that names another card, at the alias', () => {
    const w = tempWorkspace({
      'recipes/my-llama/model.yaml': [
        '# yaml-language-server: $schema=../../schemas/model.schema.json',
        'hfId: example/My-Llama-8B',
        'aliases:',
        '  - example/My-Llama-8B-Chat',
        '  - meta-llama/Llama-3.1-8B',
        'revision: main',
        'dtype: bf16',
        'license: llama3.1',
        'source: https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json',
        'architecture: { family: llama, layers: 32, hiddenSize: 4096, intermediateSize: 14336, heads: 32, kvHeads: 8, headDim: 128, vocabSize: 128256, attention: gqa, totalParamsB: 8.03, activeParamsB: 8.03, maxContext: 131072, tiedEmbeddings: false }',
        '',
      ].join('\n'),
    });
    cleanups.push(w.cleanup);
    const issues = loadWorkspace(w.root).issues.filter((i) => i.code === 'MODEL_DUPLICATE_NAME');
    expect(issues.map((i) => [i.file, i.path.join('.'), i.line])).toEqual([['recipes/my-llama/model.yaml', 'aliases.1', 5]]);
    expect(issues[0]!.message).toContain('llama-3.1-8b');
  });

  it('warns, without failing the load, when a second card serves the same weights under its own id', () => {
    const w = tempWorkspace({
      'recipes/llama-3.1-8b-long/model.yaml': [
        '# yaml-language-server: $schema=../../schemas/model.schema.json',
        'hfId: meta-llama/Llama-3.1-8B-Instruct',
        'revision: main',
        'dtype: bf16',
        'license: llama3.1',
        'source: https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json',
        'architecture: { family: llama, layers: 32, hiddenSize: 4096, intermediateSize: 14336, heads: 32, kvHeads: 8, headDim: 128, vocabSize: 128256, attention: gqa, totalParamsB: 8.03, activeParamsB: 8.03, maxContext: 131072, tiedEmbeddings: false }',
        '',
      ].join('\n'),
    });
    cleanups.push(w.cleanup);
    const ws = loadWorkspace(w.root);
    const named = ws.issues.filter((i) => i.code === 'MODEL_NAME_SHADOWED' || i.code === 'MODEL_DUPLICATE_NAME');
    expect(named.map((i) => [i.code, i.severity, i.file, i.path.join('.'), i.line])).toEqual([
      ['MODEL_NAME_SHADOWED', 'warning', 'recipes/llama-3.1-8b-long/model.yaml', 'hfId', 2],
    ]);
    // the shared name answers with the card that claims it by id; the other card answers to its id
    const index = modelIndex([[...ws.models.values()].map((m) => m.card)]);
    const shared = index.resolve('meta-llama/Llama-3.1-8B-Instruct');
    expect(shared.ok && shared.model.id).toBe('llama-3.1-8b');
    const own = index.resolve('llama-3.1-8b-long');
    expect(own.ok && own.model.id).toBe('llama-3.1-8b-long');
  });

  it('tells checkpoints of one model at other precisions apart by dtype instead of refusing the name', () => {
    const index = modelIndex([[entry('ds', 'deepseek-ai/DeepSeek-R1', 'fp8'), entry('ds-fp4', 'nvidia/DeepSeek-R1-FP4', 'fp4')]]);
    expect(index.collisions).toEqual([]);
    const fp4 = index.resolve('nvidia/DeepSeek-R1-FP4');
    expect(fp4.ok && [fp4.model.id, fp4.dtype]).toEqual(['ds-fp4', 'fp4']);
    const plain = index.resolve('DeepSeek-R1');
    expect(plain.ok && [plain.model.id, plain.dtype]).toEqual(['ds', 'fp8']);
  });
});
