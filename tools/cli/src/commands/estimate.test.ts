import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { Dtype } from '@llm-recipes/recipe';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../testing.ts';
import { openCatalog } from './estimate-catalog.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'recipes-estimate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (argv: string[], cwd = dir) => runCli(argv, cwd);
/** The repository: recipes/ model cards answer before the built-in reference models. */
const REPO = path.resolve(import.meta.dirname, '../../../..');
const jsonl = (name: string, lines: (Record<string, unknown> | string)[]): string => {
  const file = path.join(dir, name);
  writeFileSync(file, `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
  return file;
};
const parseLines = (out: string): Record<string, unknown>[] => out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

const FIELDS = ['ttftMs', 'itlMs', 'tpotMs', 'tokensPerSecondPerUser', 'tokensPerSecondPerGpu', 'outputTokensPerSecond', 'maxBatch', 'fits'];

describe('recipes estimate', () => {
  it('prints the contract fields, then the uncertainty band, for an agg query (HF id, "-" GPU spelling)', async () => {
    const r = await run(['estimate', '--model', 'Qwen/Qwen3-32B', '--gpu', 'h100-sxm', '--backend', 'vllm', '--dtype', 'fp8', '--tp', '2', '--isl', '512', '--osl', '128', '--concurrency', '16', '--json']);
    expect(r.code).toBe(0);
    const o = JSON.parse(r.out);
    expect(Object.keys(o)).toEqual([...FIELDS, 'band']);
    for (const k of ['ttftMs', 'itlMs', 'tpotMs', 'outputTokensPerSecond'] as const) {
      const [lo, hi] = o.band[k] as [number, number];
      expect(lo).toBeLessThan(o[k]);
      expect(hi).toBeGreaterThan(o[k]);
    }
    expect(o.band.coverage).toBeCloseTo(0.9, 2);
    // vLLM Qwen3 on Hopper has held-out TTFT residuals in the published latency set: its band rests on them
    expect(o.band.basis.ttft).toBe('slice');
    expect(o.fits).toBe(true);
    expect(o.tokensPerSecondPerGpu).toBeCloseTo(o.outputTokensPerSecond / 2, 6);
    expect(o.tokensPerSecondPerUser).toBeCloseTo(1000 / o.tpotMs, 6);
  });

  it('estimates disagg and reports a deployment that does not fit', async () => {
    const d = await run(['estimate', '--model', 'deepseek-r1', '--gpu', 'h200_sxm', '--backend', 'trtllm', '--mode', 'disagg', '--prefill-tp', '8', '--decode-tp', '8', '--isl', '1024', '--osl', '1024', '--concurrency', '64', '--json']);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out).fits).toBe(true);
    const n = await run(['estimate', '--model', 'llama-3.3-70b', '--gpu', 'l40s', '--backend', 'vllm', '--dtype', 'bf16', '--tp', '1', '--isl', '512', '--osl', '128', '--concurrency', '1', '--json']);
    const o = JSON.parse(n.out);
    expect(o.fits).toBe(false);
    expect(o.ttftMs).toBeNull();
    expect(o.maxBatch).toBe(0);
    expect(o.band).toBeUndefined();
  });

  it('names the unknown model or GPU with a hint', async () => {
    const r = await run(['estimate', '--model', 'nope/NoModel', '--gpu', 'h100_sxm', '--backend', 'vllm', '--isl', '1', '--osl', '2', '--concurrency', '1', '--json']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown model "nope/NoModel"');
    const g = await run(['estimate', '--model', 'qwen3-32b', '--gpu', 'tpu_v5', '--backend', 'vllm', '--isl', '1', '--osl', '2', '--concurrency', '1', '--json']);
    expect(g.err).toContain('unknown GPU "tpu_v5"');
  });
});

describe('recipes search', () => {
  it('selects a config meeting the seed-004 default SLA and prints a non-empty Pareto front', async () => {
    const r = await run(['search', '--model', 'llama-3.1-8b', '--gpu', 'h100_sxm', '--gpus', '4', '--backend', 'trtllm', '--dtype', 'fp8', '--json']);
    expect(r.code).toBe(0);
    const o = JSON.parse(r.out);
    expect(o.status).toBe('selected');
    expect(o.workload).toEqual({ isl: 512, osl: 128 });
    expect(o.sla).toEqual({ ttftMs: 100, itlMs: 15 });
    expect(o.selected.ttftMs).toBeLessThanOrEqual(100);
    expect(o.selected.itlMs).toBeLessThanOrEqual(15);
    expect(o.pareto.length).toBeGreaterThan(1);
    expect(o.others.every((x: { reason: string }) => x.reason.length > 0)).toBe(true);
  });

  it('says plainly that no config meets an impossible SLA, lists the closest and exits 1', async () => {
    const r = await run(['search', '--model', 'llama-3.3-70b', '--gpu', 'h100_sxm', '--gpus', '8', '--sla', 'ttft=5,itl=1']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('no config meets the SLA');
    expect(r.out).toMatch(/misses the SLA/);
    const j = await run(['search', '--model', 'llama-3.3-70b', '--gpu', 'h100_sxm', '--gpus', '8', '--sla', 'ttft=5,itl=1', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out).status).toBe('no-config-meets-sla');
    const bad = await run(['search', '--model', 'llama-3.3-70b', '--gpu', 'h100_sxm', '--gpus', '8', '--sla', 'p99=3']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('ttft=100,itl=15');
  });
});

describe('recipes estimate --batch', () => {
  const llama = { model: 'llama-3.1-8b', gpu: 'h100_sxm', backend: 'trtllm', dtype: 'fp8', tp: 1, isl: 1000, osl: 1000 };

  it('answers one line per query, in order, skipping blank lines', async () => {
    const file = jsonl('q.jsonl', [{ ...llama, concurrency: 1 }, '', '   ', { ...llama, concurrency: 256 }]);
    const r = await run(['estimate', '--batch', file]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const lines = parseLines(r.out);
    expect(lines).toHaveLength(2);
    expect(Object.keys(lines[0]!)).toEqual([...FIELDS, 'band']);
    expect(lines[1]!['outputTokensPerSecond']).toBeGreaterThan(lines[0]!['outputTokensPerSecond'] as number);
  });

  it('scores the other rows when one names an unknown model and one is not JSON, and exits 1', async () => {
    const good = [
      { ...llama, concurrency: 16 },
      { model: 'deepseek-r1', gpu: 'h200_sxm', backend: 'trtllm', mode: 'disagg', prefillTp: 8, decodeTp: 8, isl: 1024, osl: 1024, concurrency: 64 },
      { model: 'Qwen/Qwen3-32B', gpu: 'h100-sxm', backend: 'vllm', tp: 2, isl: 512, osl: 128, concurrency: 8 },
    ];
    jsonl('one-bad.jsonl', [good[0]!, { ...llama, model: 'nope/NoModel', concurrency: 4 }, good[1]!, '{"model": "llama-3.1-8b", ', good[2]!]);
    const r = await run(['estimate', '--batch', 'one-bad.jsonl']);
    expect(r.code).toBe(1);
    const lines = parseLines(r.out);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toEqual({
      line: 2,
      error: {
        code: 'UNKNOWN_MODEL',
        message: 'unknown model "nope/NoModel"',
        hint: expect.stringContaining('llama-3.1-8b') as unknown as string,
        issues: [{ code: 'UNKNOWN_MODEL', field: 'model', message: 'unknown model "nope/NoModel"', hint: expect.any(String) as unknown as string }],
      },
    });
    expect(lines[3]).toMatchObject({ line: 4, error: { code: 'BATCH_JSON', message: expect.stringMatching(/^not JSON: /) as unknown as string } });
    // every good row is scored exactly as its own query would be
    for (const [i, q] of [[0, good[0]!], [2, good[1]!], [4, good[2]!]] as const) {
      const single = await run(['estimate', '--batch', jsonl(`single-${i}.jsonl`, [q])]);
      expect(single.code).toBe(0);
      expect(lines[i]).toEqual(parseLines(single.out)[0]);
      expect(Object.keys(lines[i]!)).toEqual([...FIELDS, 'band']);
    }
    expect(r.err).toContain('2 of 5 queries failed');
    expect(r.err).toContain('one-bad.jsonl:2:1 ✖ unknown model "nope/NoModel" → at model');
    expect(r.err).toContain('one-bad.jsonl:4:1 ✖ not JSON');
  });

  it('reports every kind of bad line in its place: field, model, GPU and parallelism problems', async () => {
    const file = jsonl('kinds.jsonl', [
      [1, 2],
      { ...llama, concurrency: 1, bogus: true, isl: 0 },
      { ...llama, concurrency: 1, gpu: 'tpu_v5' },
      { ...llama, concurrency: 1, tp: 3 },
      { ...llama, concurrency: 1, model: 'qwen3-235b-a22b', tp: 8, ep: 3 },
      { ...llama, concurrency: 1, ep: 2 },
      { ...llama, concurrency: 1, model: 'Llama-3.1' },
      { ...llama, concurrency: 1, model: 'Qwen/Qwen3-32B-AWQ', dtype: undefined },
      { ...llama, concurrency: 1, model: 'a/b/c' },
      { ...llama, concurrency: 1, prefillTp: 2 },
      { ...llama, concurrency: 1 },
    ].map((l) => (Array.isArray(l) ? JSON.stringify(l) : l)));
    const r = await run(['estimate', '--batch', file], REPO);
    expect(r.code).toBe(1);
    const lines = parseLines(r.out);
    expect(lines).toHaveLength(11);
    const codes = lines.map((l) => (l['error'] ? [l['line'], (l['error'] as { code: string }).code, ((l['error'] as { issues: { field?: string }[] }).issues).map((i) => i.field ?? '')] : 'scored'));
    expect(codes).toEqual([
      [1, 'BATCH_JSON', ['']],
      [2, 'INVALID_QUERY', ['bogus', 'isl']],
      [3, 'UNKNOWN_GPU', ['gpu']],
      [4, 'IMPOSSIBLE_PARALLELISM', ['tp']],
      [5, 'INVALID_QUERY', ['ep', 'ep']],
      [6, 'IMPOSSIBLE_PARALLELISM', ['ep']],
      [7, 'AMBIGUOUS_MODEL', ['model']],
      [8, 'UNSUPPORTED_QUANTIZATION', ['model']],
      [9, 'INVALID_MODEL_ID', ['model']],
      [10, 'ESTIMATE_QUERY', ['prefillTp']],
      'scored',
    ]);
    const msg = (i: number) => (lines[i]!['error'] as { message: string }).message;
    expect(msg(3)).toBe('tp 3 does not divide the 32 attention heads of llama-3.1-8b');
    expect(msg(4)).toBe('2 problems: ep: ep 3 does not divide tp 8; ep: ep 3 does not divide the 128 experts of qwen3-235b-a22b');
    expect(msg(6)).toContain('llama-3.1-405b, llama-3.1-70b, llama-3.1-8b');
    expect(r.err).toContain('10 of 11 queries failed');
  });

  it('exits 2 only when the file cannot be read, and refuses query flags beside --batch', async () => {
    const missing = await run(['estimate', '--batch', 'missing.jsonl']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('cannot read missing.jsonl');
    const empty = await run(['estimate', '--batch', jsonl('empty.jsonl', [''])]);
    expect([empty.code, empty.out]).toEqual([0, '']);
    const mixed = await run(['estimate', '--batch', jsonl('mixed.jsonl', [{ ...llama, concurrency: 1 }]), '--model', 'qwen3-32b']);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toContain('cannot be combined with --model');
  });
});

describe('model ids as users write them', () => {
  const on = { gpu: 'h200_sxm', backend: 'trtllm', isl: 1024, osl: 1024, concurrency: 64 };
  // each id beside the card it must resolve to, with the dtype it must imply: equal estimates = same architecture and dtype
  const FOUR = [
    ['nvidia/Llama-3.1-8B-Instruct-FP8', { model: 'llama-3.1-8b', dtype: 'fp8' }, 1, 'llama-3.1-8b (instruct), fp8 weights from "FP8" in the id'],
    ['Qwen/Qwen3-235B-A22B-FP8', { model: 'qwen3-235b-a22b', dtype: 'fp8' }, 4, 'qwen3-235b-a22b, fp8 weights from "FP8" in the id'],
    ['meta-llama/Llama-3.1-70B', { model: 'llama-3.1-70b', dtype: 'bf16' }, 4, 'llama-3.1-70b, bf16 weights as published'],
    ['deepseek-ai/DeepSeek-V3', { model: 'deepseek-v3', dtype: 'fp8' }, 8, 'deepseek-v3, fp8 weights as published'],
  ] as const;

  it('resolves the four ids that stopped the batch to the right architecture and dtype', async () => {
    const lines: Record<string, unknown>[] = FOUR.flatMap(([id, card, tp]) => [{ ...on, model: id, tp }, { ...on, ...card, tp }]);
    // the implied dtype matters: the same cards at their published dtype estimate differently
    lines.push({ ...on, model: 'llama-3.1-8b', tp: 1 }, { ...on, model: 'qwen3-235b-a22b', tp: 4 });
    // DeepSeek-V3 has DeepSeek-R1's architecture
    lines.push({ ...on, model: 'deepseek-r1', tp: 8 });
    const r = await run(['estimate', '--batch', jsonl('four.jsonl', lines)], REPO);
    expect(r.code).toBe(0);
    const out = parseLines(r.out);
    for (let i = 0; i < FOUR.length; i++) expect(out[2 * i], FOUR[i]![0]).toEqual(out[2 * i + 1]);
    expect(out[8]).not.toEqual(out[0]);
    expect(out[9]).not.toEqual(out[2]);
    expect(out[10]).toEqual(out[6]);
    for (const [id, , tp, said] of FOUR) {
      const t = await run(['estimate', '--model', id, '--gpu', 'h200_sxm', '--backend', 'trtllm', '--tp', String(tp), '--isl', '1024', '--osl', '1024', '--concurrency', '64'], REPO);
      expect(t.code, t.err).toBe(0);
      expect(t.out.split('\n')[0]).toBe(`model                ${said}`);
    }
  });

  it('resolves them outside a repository too, from the built-in reference models', async () => {
    const expected = ['llama-3.1-8b (instruct), fp8', 'qwen3-235b-a22b, fp8', 'llama-3.3-70b, bf16', 'deepseek-r1, fp8'];
    for (const [i, [id, , tp]] of FOUR.entries()) {
      const t = await run(['estimate', '--model', id, '--gpu', 'h200_sxm', '--backend', 'trtllm', '--tp', String(tp), '--isl', '1024', '--osl', '1024', '--concurrency', '64']);
      expect(t.code, t.err).toBe(0);
      expect(t.out.split('\n')[0]).toContain(expected[i]);
    }
  });

  // [id, card id with recipes/, card id from the built-in set alone (null: unknown there), dtype]
  const SPELLINGS: [string, string, string | null, Dtype][] = [
    ['meta-llama/Llama-3.1-8B-Instruct', 'llama-3.1-8b', 'llama-3.1-8b', 'bf16'],
    ['Meta-Llama-3.1-8B-Instruct', 'llama-3.1-8b', 'llama-3.1-8b', 'bf16'],
    ['meta-llama/Meta-Llama-3.1-8B-Instruct', 'llama-3.1-8b', 'llama-3.1-8b', 'bf16'],
    ['meta-llama/Llama-3.1-8B', 'llama-3.1-8b', 'llama-3.1-8b', 'bf16'],
    ['LLAMA-3.1-8B-INSTRUCT', 'llama-3.1-8b', 'llama-3.1-8b', 'bf16'],
    ['nvidia/Llama-3.1-8B-Instruct-FP8', 'llama-3.1-8b', 'llama-3.1-8b', 'fp8'],
    ['nvidia/Llama-3.1-8B-Instruct-FP4', 'llama-3.1-8b', 'llama-3.1-8b', 'fp4'],
    ['RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8-dynamic', 'llama-3.1-8b', 'llama-3.1-8b', 'fp8'],
    ['neuralmagic/Meta-Llama-3.1-8B-Instruct-FP8', 'llama-3.1-8b', 'llama-3.1-8b', 'fp8'],
    ['RedHatAI/Llama-3.1-8B-Instruct-NVFP4', 'llama-3.1-8b', 'llama-3.1-8b', 'fp4'],
    ['meta-llama/Llama-3.1-70B', 'llama-3.1-70b', 'llama-3.3-70b', 'bf16'],
    ['meta-llama/Llama-3.1-70B-Instruct', 'llama-3.1-70b', 'llama-3.3-70b', 'bf16'],
    ['Meta-Llama-3.1-70B-Instruct', 'llama-3.1-70b', 'llama-3.3-70b', 'bf16'],
    ['neuralmagic/Meta-Llama-3.1-70B-Instruct-FP8', 'llama-3.1-70b', 'llama-3.3-70b', 'fp8'],
    ['RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8-dynamic', 'llama-3.1-70b', 'llama-3.3-70b', 'fp8'],
    ['nvidia/Llama-3.1-70B-Instruct-FP8', 'llama-3.1-70b', 'llama-3.3-70b', 'fp8'],
    ['meta-llama/Llama-3.3-70B-Instruct', 'llama-3.3-70b', 'llama-3.3-70b', 'bf16'],
    ['Llama-3.3-70B-Instruct', 'llama-3.3-70b', 'llama-3.3-70b', 'bf16'],
    ['nvidia/Llama-3.3-70B-Instruct-FP8', 'llama-3.3-70b', 'llama-3.3-70b', 'fp8'],
    ['nvidia/Llama-3.3-70B-Instruct-FP4', 'llama-3.3-70b', 'llama-3.3-70b', 'fp4'],
    ['RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic', 'llama-3.3-70b', 'llama-3.3-70b', 'fp8'],
    ['deepseek-ai/DeepSeek-R1-Distill-Llama-70B', 'llama-3.3-70b', null, 'bf16'],
    ['meta-llama/Llama-3.1-405B-Instruct-FP8', 'llama-3.1-405b', 'llama-3.1-405b', 'fp8'],
    ['Qwen/Qwen3-32B', 'qwen3-32b', 'qwen3-32b', 'bf16'],
    ['qwen3-32b', 'qwen3-32b', 'qwen3-32b', 'bf16'],
    ['Qwen/Qwen3-32B-FP8', 'qwen3-32b', 'qwen3-32b', 'fp8'],
    ['RedHatAI/Qwen3-32B-FP8-dynamic', 'qwen3-32b', 'qwen3-32b', 'fp8'],
    ['nvidia/Qwen3-32B-FP4', 'qwen3-32b', 'qwen3-32b', 'fp4'],
    ['Qwen/Qwen3-235B-A22B', 'qwen3-235b-a22b', 'qwen3-235b-a22b', 'bf16'],
    ['Qwen/Qwen3-235B-A22B-FP8', 'qwen3-235b-a22b', 'qwen3-235b-a22b', 'fp8'],
    ['Qwen/Qwen3-235B-A22B-Instruct-2507', 'qwen3-235b-a22b', 'qwen3-235b-a22b', 'bf16'],
    ['Qwen/Qwen3-235B-A22B-Instruct-2507-FP8', 'qwen3-235b-a22b', 'qwen3-235b-a22b', 'fp8'],
    ['Qwen/Qwen3-235B-A22B-Thinking-2507-FP8', 'qwen3-235b-a22b', 'qwen3-235b-a22b', 'fp8'],
    ['nvidia/Qwen3-235B-A22B-FP4', 'qwen3-235b-a22b', 'qwen3-235b-a22b', 'fp4'],
    ['deepseek-ai/DeepSeek-R1', 'deepseek-r1', 'deepseek-r1', 'fp8'],
    ['deepseek-ai/DeepSeek-R1-0528', 'deepseek-r1', 'deepseek-r1', 'fp8'],
    ['nvidia/DeepSeek-R1-FP4', 'deepseek-r1', 'deepseek-r1', 'fp4'],
    ['nvidia/DeepSeek-R1-0528-FP4', 'deepseek-r1', 'deepseek-r1', 'fp4'],
    ['nvidia/DeepSeek-R1-0528-FP4-v2', 'deepseek-r1', 'deepseek-r1', 'fp4'],
    ['deepseek-ai/DeepSeek-V3', 'deepseek-v3', 'deepseek-r1', 'fp8'],
    ['deepseek-ai/DeepSeek-V3-0324', 'deepseek-v3', 'deepseek-r1', 'fp8'],
    ['deepseek-ai/DeepSeek-V3-Base', 'deepseek-v3', 'deepseek-r1', 'fp8'],
    ['openai/gpt-oss-120b', 'gpt-oss-120b', 'gpt-oss-120b', 'fp4'],
    ['GPT-OSS-120B', 'gpt-oss-120b', 'gpt-oss-120b', 'fp4'],
    ['https://huggingface.co/openai/gpt-oss-120b', 'gpt-oss-120b', 'gpt-oss-120b', 'fp4'],
  ];

  it.each([
    ['with recipes/ model cards', REPO, 1],
    ['with the built-in reference models alone', dir, 2],
  ] as const)('resolves every spelling of the scored models %s', (_what, cwd, column) => {
    const catalog = openCatalog(cwd);
    expect(catalog.ws === undefined).toBe(cwd === dir);
    for (const row of SPELLINGS) {
      const want = row[column];
      const r = catalog.models.resolve(row[0]);
      if (want === null) expect(r.ok, row[0]).toBe(false);
      else expect(r.ok ? [r.model.id, r.dtype] : r.error.message, row[0]).toEqual([want, row[3]]);
    }
  });

  it('property: any name of any known model, in any case, under any known publisher, with any known quantisation suffix, resolves to the same model with the dtype the suffix sets', () => {
    const catalog = openCatalog(REPO);
    const names = catalog.models.entries.flatMap((e) => [e.id, e.hfId, ...(e.aliases ?? [])].map((n) => n.split('/').pop()!));
    const SUFFIXES: [string, Dtype | undefined][] = [
      ['', undefined],
      ['-FP8', 'fp8'],
      ['-FP8-dynamic', 'fp8'],
      ['-FP8-Dynamic', 'fp8'],
      ['-FP8-KV', 'fp8'],
      ['_FP8', 'fp8'],
      ['-FP4', 'fp4'],
      ['-NVFP4', 'fp4'],
      ['-FP4-v2', 'fp4'],
      ['-MXFP4', 'fp4'],
      ['-BF16', 'bf16'],
    ];
    const ORGS = ['meta-llama', 'nvidia', 'RedHatAI', 'neuralmagic', 'Qwen', 'deepseek-ai', 'openai', 'unsloth'];
    fc.assert(
      fc.property(
        fc.constantFrom(...names).chain((n) => fc.array(fc.boolean(), { minLength: n.length, maxLength: n.length }).map((up) => [n, [...n].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join('')] as const)),
        fc.option(fc.constantFrom(...ORGS), { nil: undefined }),
        fc.constantFrom(...SUFFIXES),
        ([name, cased], org, [suffix, dtype]) => {
          const plain = catalog.models.resolve(name);
          expect(plain.ok, name).toBe(true);
          if (!plain.ok) return;
          const id = `${org ? `${org}/` : ''}${cased}${suffix}`;
          const r = catalog.models.resolve(id);
          expect(r.ok && [r.model.id, r.dtype], id).toEqual([plain.model.id, dtype ?? plain.model.dtype]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('lets a dtype given in the query win over the one the id implies, and keeps gpt-oss on its MXFP4 weights', async () => {
    const base = { gpu: 'b200_sxm', backend: 'trtllm', tp: 2, isl: 1024, osl: 1024, concurrency: 32 };
    const r = await run(
      ['estimate', '--batch', jsonl('dtype.jsonl', [
        { ...base, model: 'nvidia/Llama-3.1-8B-Instruct-FP8', dtype: 'bf16' },
        { ...base, model: 'llama-3.1-8b' },
        { ...base, model: 'openai/gpt-oss-120b' },
        { ...base, model: 'nvidia/gpt-oss-120b' },
        { ...base, model: 'gpt-oss-120b', dtype: 'fp4' },
        { ...base, model: 'gpt-oss-120b', dtype: 'fp8' },
      ])],
      REPO,
    );
    expect(r.code).toBe(0);
    const out = parseLines(r.out);
    expect(out[0]).toEqual(out[1]);
    expect(out[2]).toEqual(out[4]);
    expect(out[3]).toEqual(out[4]);
    expect(out[5]).not.toEqual(out[4]);
  });

  it('refuses impossible parallelism and ambiguous ids on the command line with the flag to fix', async () => {
    const args = ['--gpu', 'h100_sxm', '--backend', 'vllm', '--isl', '512', '--osl', '128', '--concurrency', '1'];
    const tp = await run(['estimate', '--model', 'llama-3.1-8b', '--tp', '3', ...args]);
    expect(tp.code).toBe(2);
    expect(tp.err).toContain('tp 3 does not divide the 32 attention heads of llama-3.1-8b → at --tp');
    const amb = await run(['estimate', '--model', 'gpt-oss', ...args]);
    expect(amb.code).toBe(2);
    expect(amb.err).toContain('"gpt-oss" matches several models: gpt-oss-120b, gpt-oss-20b');
  });

  it('search reads quantised ids the same way', async () => {
    const s = (model: string, extra: string[] = []) => run(['search', '--model', model, '--gpu', 'h100_sxm', '--gpus', '4', '--backend', 'trtllm', ...extra, '--json'], REPO);
    const byId = await s('nvidia/Llama-3.1-8B-Instruct-FP8');
    const byCard = await s('llama-3.1-8b', ['--dtype', 'fp8']);
    expect(byId.code).toBe(0);
    expect(JSON.parse(byId.out)).toEqual(JSON.parse(byCard.out));
    expect(JSON.parse(byId.out).selected.dtype).toBe('fp8');
    const text = await run(['search', '--model', 'Qwen/Qwen3-235B-A22B-Instruct-2507-FP8', '--gpu', 'h200_sxm', '--gpus', '8', '--backend', 'trtllm'], REPO);
    expect(text.out.split('\n')[0]).toMatch(/^qwen3-235b-a22b \(instruct 2507\), fp8 weights from "FP8" in the id; 8× h200_sxm/);
  });
});
