import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '@llm-recipes/errors';
import { loadTokenizer } from './tokenizer.ts';
import { buildRequests, drawLength, parseTrace, PromptSynthesizer } from './workload.ts';
import { arrivalSchedule } from './runner.ts';

const fixture = fileURLToPath(new URL('./fixtures/tokenizer.json', import.meta.url));

describe('synthetic prompts hit the target ISL exactly', () => {
  it.each(['o200k_base', 'cl100k_base', fixture])('under %s', async (spec) => {
    const tok = await loadTokenizer(spec);
    const synth = new PromptSynthesizer(tok, 42);
    for (const n of [1, 7, 128, 1000, 4096]) expect(tok.count(synth.prompt(n))).toBe(n);
  });

  it('with a shared prefix every prompt starts with the same text and keeps its length', async () => {
    const tok = await loadTokenizer();
    const reqs = buildRequests(tok, { api: 'completions', model: 'm', isl: 300, osl: 4, seed: 1, sharedPrefix: 200, requestIdPrefix: 'x' }, 5);
    const prompts = reqs.map((r) => (JSON.parse(r.body.toString()) as { prompt: string }).prompt);
    const prefix = prompts[0]!.slice(0, 400);
    for (const p of prompts) {
      expect(tok.count(p)).toBe(300);
      expect(p.startsWith(prefix.slice(0, 300))).toBe(true);
    }
    expect(new Set(prompts).size).toBe(5);
    expect(reqs.map((r) => r.inputTokens)).toEqual([300, 300, 300, 300, 300]);
  });

  it('is deterministic per seed and distinct across requests', async () => {
    const tok = await loadTokenizer();
    const o = { api: 'chat' as const, model: 'm', isl: 64, osl: 4, seed: 9, requestIdPrefix: 'r' };
    const a = buildRequests(tok, o, 4).map((r) => r.body.toString());
    const b = buildRequests(tok, o, 4).map((r) => r.body.toString());
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(4);
  });

  it('reports an unreadable tokenizer path with a hint', async () => {
    await expect(loadTokenizer('no/such/dir')).rejects.toThrow(InvalidInputError);
    await expect(loadTokenizer('no/such/dir')).rejects.toThrow(/tokenizer\.json/);
  });
});

describe('length spread', () => {
  it('stays within [⌊X(1−r)⌋, ⌈X(1+r)⌉]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10000 }), fc.double({ min: 0, max: 0.99, noNaN: true }), fc.integer(), (x, r, seed) => {
        let s = seed;
        const rng = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
        const v = drawLength(x, r, rng);
        expect(v).toBeGreaterThanOrEqual(Math.max(1, Math.floor(x * (1 - r))));
        expect(v).toBeLessThanOrEqual(Math.max(1, Math.ceil(x * (1 + r))));
      }),
    );
  });
});

describe('trace files', () => {
  it('parses mooncake-style lines, re-bases timestamps and sorts', () => {
    const t = parseTrace('{"timestamp": 1500, "input_length": 10, "output_length": 2}\n\n{"timestamp": 1000, "input_tokens": 5, "output_tokens": 1}\n', 't.jsonl');
    expect(t).toEqual([
      { atMs: 0, isl: 5, osl: 1 },
      { atMs: 500, isl: 10, osl: 2 },
    ]);
  });

  it('reports every bad line with its position', () => {
    let err: InvalidInputError | undefined;
    try {
      parseTrace('{"timestamp": 0, "input_length": 1, "output_length": 1}\nnot json\n{"timestamp": -1, "input_length": 0}\n', 'trace.jsonl');
    } catch (e) {
      err = e as InvalidInputError;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err!.issues.map((i) => [i.line, i.path.join('.')])).toEqual([
      [2, ''],
      [3, 'timestamp'],
      [3, 'input_length'],
      [3, 'output_length'],
    ]);
  });
});

describe('arrival schedule', () => {
  it('ends at (n−1)/rate for every arrival process, is sorted, and ramps up', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 500 }),
        fc.double({ min: 0.5, max: 5000, noNaN: true }),
        fc.constantFrom('poisson', 'gamma', 'constant' as const),
        fc.double({ min: 0.1, max: 10, noNaN: true }),
        fc.integer(),
        (n, rate, arrival, burst, seed) => {
          const d = arrivalSchedule(n, rate, arrival, burst, seed);
          expect(d[0]).toBe(0);
          expect(d[n - 1]! / 1e9).toBeCloseTo((n - 1) / rate, 6);
          for (let i = 1; i < n; i++) expect(d[i]!).toBeGreaterThanOrEqual(d[i - 1]!);
        },
      ),
    );
    const ramped = arrivalSchedule(101, 100, 'constant', 1, 1, 1e9);
    // a linear ramp over 1 s delivers half the rate on average: the 1 s of flat time stretches to 1.5 s
    expect(ramped[100]! / 1e9).toBeCloseTo(1.5, 6);
    expect(ramped[1]! - ramped[0]!).toBeGreaterThan(ramped[100]! - ramped[99]!);
  });

  it('gamma burstiness < 1 is burstier than Poisson, > 1 smoother', () => {
    const cv = (b: number, a: 'gamma' | 'poisson') => {
      const d = arrivalSchedule(5000, 100, a, b, 3);
      const gaps = d.slice(1).map((t, i) => t - d[i]!);
      const m = gaps.reduce((x, y) => x + y, 0) / gaps.length;
      return Math.sqrt(gaps.reduce((x, y) => x + (y - m) ** 2, 0) / gaps.length) / m;
    };
    expect(cv(1, 'poisson')).toBeCloseTo(1, 1);
    expect(cv(0.25, 'gamma')).toBeGreaterThan(1.6);
    expect(cv(4, 'gamma')).toBeLessThan(0.6);
  });
});
