import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '@llm-recipes/errors';
import { loadTokenizer } from './tokenizer.ts';
import { buildRequests, checkTraceBlocks, drawLength, parseTrace, PromptSynthesizer, requestBody, tracePrefixStats } from './workload.ts';
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
    const t = parseTrace('{"timestamp": 1500, "input_length": 10, "output_length": 2, "hash_ids": [7]}\n\n{"timestamp": 1000, "input_tokens": 5, "output_tokens": 1}\n', 't.jsonl');
    expect(t).toEqual([
      { atMs: 0, isl: 5, osl: 1, line: 3 },
      { atMs: 500, isl: 10, osl: 2, hashIds: [7], line: 1 },
    ]);
  });

  it('reports every bad line with its position and field', () => {
    let err: InvalidInputError | undefined;
    try {
      parseTrace('{"timestamp": 0, "input_length": 1, "output_length": 1}\nnot json\n{"timestamp": -1, "input_length": 0}\n{"timestamp": 1, "input_length": 4, "output_length": 1, "hash_ids": [1, "x"]}\n', 'trace.jsonl');
    } catch (e) {
      err = e as InvalidInputError;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err!.issues.map((i) => [i.line, i.path.join('.')])).toEqual([
      [2, ''],
      [3, 'timestamp'],
      [3, 'input_length'],
      [3, 'output_length'],
      [4, 'hash_ids'],
    ]);
    expect(err!.issues[4]!.message).toMatch(/^line 4: hash_ids must be a list of non-negative integers/);
  });

  const entry = fc.record({
    timestamp: fc.integer({ min: 0, max: 10_000_000 }),
    input_length: fc.integer({ min: 1, max: 100_000 }),
    output_length: fc.integer({ min: 1, max: 10_000 }),
    hash_ids: fc.option(fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 20 }), { nil: undefined }),
  });

  it('round-trips arbitrary valid lines (property)', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 40 }), (rows) => {
        const text = rows.map((r) => JSON.stringify(r)).join('\n');
        const t0 = Math.min(...rows.map((r) => r.timestamp));
        // the parser's order: by timestamp, ties in file order
        const expected = rows
          .map((r, i) => ({ atMs: r.timestamp - t0, isl: r.input_length, osl: r.output_length, line: i + 1, ...(r.hash_ids ? { hashIds: r.hash_ids } : {}) }))
          .sort((a, b) => a.atMs - b.atMs || a.line - b.line);
        expect(parseTrace(text, 'p.jsonl')).toEqual(expected);
      }),
    );
  });

  it('names the line and field of an invalid value among valid lines (property)', () => {
    const badValue = fc.constantFrom<unknown>(-1, 0.5, 'x', null, [1], { a: 1 }, true);
    fc.assert(
      fc.property(
        fc.array(entry, { minLength: 1, maxLength: 20 }),
        fc.nat(),
        fc.constantFrom('timestamp', 'input_length', 'output_length', 'hash_ids'),
        badValue,
        (rows, k, field, value) => {
          const at = k % rows.length;
          // values some fields accept are not errors there
          if (field === 'timestamp' && value === 0.5) return;
          if (field === 'hash_ids' && Array.isArray(value)) return;
          const lines = rows.map((r) => JSON.stringify(r));
          lines[at] = JSON.stringify({ ...rows[at], [field]: value });
          let err: unknown;
          try {
            parseTrace(lines.join('\n'), 'bad.jsonl');
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(InvalidInputError);
          const issues = (err as InvalidInputError).issues;
          expect(issues).toHaveLength(1);
          expect(issues[0]).toMatchObject({ file: 'bad.jsonl', line: at + 1, path: [field] });
          expect(issues[0]!.message).toContain(`line ${at + 1}: ${field}`);
        },
      ),
    );
  });

  it('rejects hash_ids that need more tokens than input_length has, naming the line', () => {
    const t = parseTrace('{"timestamp": 0, "input_length": 600, "output_length": 1, "hash_ids": [1, 2]}\n{"timestamp": 1, "input_length": 512, "output_length": 1, "hash_ids": [1, 2]}\n', 'b.jsonl');
    expect(() => checkTraceBlocks(t, 512, 'b.jsonl')).toThrow(/line 2: 2 hash_ids of 512 tokens need input_length > 512, got 512/);
    expect(() => checkTraceBlocks(t, 1024, 'b.jsonl')).toThrow(/line 1: 2 hash_ids of 1024 tokens/);
    expect(() => checkTraceBlocks(t.slice(0, 1), 512, 'b.jsonl')).not.toThrow();
  });
});

describe('prefix-block trace prompts', () => {
  const line = (ts: number, isl: number, ids: number[]) => JSON.stringify({ timestamp: ts, input_length: isl, output_length: 4, hash_ids: ids });
  // Mooncake-shaped: 512-token blocks, partial last block, a request with a unique tail past its blocks
  const trace = parseTrace(
    [line(0, 1100, [1, 2, 3]), line(10, 1300, [1, 2, 4]), line(20, 700, [1, 5]), line(30, 512, [9]), line(40, 2000, [1, 2])].join('\n'),
    'm.jsonl',
  );
  const promptsOf = (reqs: { body: Buffer }[]) => reqs.map((r) => (JSON.parse(r.body.toString()) as { prompt: string }).prompt);
  const build = async (spec: string, seed = 3) => {
    const tok = await loadTokenizer(spec);
    const reqs = buildRequests(tok, { api: 'completions', model: 'm', isl: 1, osl: 4, seed, requestIdPrefix: 't', traceBlockSize: 512 }, trace.length, trace);
    return { tok, reqs, prompts: promptsOf(reqs) };
  };

  it.each(['o200k_base', 'cl100k_base', fixture])('have exactly input_length tokens under %s', async (spec) => {
    const { tok, reqs, prompts } = await build(spec);
    expect(prompts.map((p) => tok.count(p))).toEqual(trace.map((e) => e.isl));
    expect(reqs.map((r) => r.inputTokens)).toEqual(trace.map((e) => e.isl));
  });

  it('share a byte-identical prefix exactly as long as their shared blocks, and differ after it', async () => {
    const { tok, prompts } = await build('o200k_base');
    const ids = prompts.map((p) => tok.encode(p));
    const common = (a: number[], b: number[]) => {
      let n = 0;
      while (n < a.length && n < b.length && a[n] === b[n]) n++;
      return n;
    };
    const textCommon = (a: string, b: string) => {
      let n = 0;
      while (n < a.length && n < b.length && a[n] === b[n]) n++;
      return n;
    };
    // after the shared blocks the next words are independent draws from ~200 words: equal for a token or two by
    // chance at most, never for 16
    const shares = (a: number, b: number, blocks: number) => {
      expect(common(ids[a]!, ids[b]!)).toBeGreaterThanOrEqual(blocks * 512);
      expect(common(ids[a]!, ids[b]!)).toBeLessThan(blocks * 512 + 16);
    };
    // [1,2,3] vs [1,2,4]: two shared blocks (1024 tokens), then different third blocks
    shares(0, 1, 2);
    // [1,2,3] vs [1,5]: one block
    shares(0, 2, 1);
    // [1,2] with 2000 tokens: blocks 1 and 2 in full, then its own 976 tokens; [1,2,3] shares the 1024
    shares(0, 4, 2);
    // [9] vs [1,…]: nothing
    shares(0, 3, 0);
    // the shared token prefix is a shared text prefix: the prompt text itself is identical up to the seam
    const seam = tok.decode(ids[0]!.slice(0, 1024));
    expect(prompts[1]!.startsWith(seam)).toBe(true);
    expect(textCommon(prompts[0]!, prompts[1]!)).toBeLessThan(prompts[0]!.length);
  });

  it('are a function of trace and seed: same seed same bytes, another seed other blocks', async () => {
    const a = (await build('o200k_base', 3)).prompts;
    const b = (await build('o200k_base', 3)).prompts;
    const c = (await build('o200k_base', 4)).prompts;
    expect(a).toEqual(b);
    expect(a[0]!.slice(0, 200)).not.toEqual(c[0]!.slice(0, 200));
  });

  it("theoretical prefix hit rate counts each request's blocks already held by earlier requests", () => {
    const s = tracePrefixStats(trace, 512);
    // r1 hits blocks 1,2 (1024); r2 hits block 1 (512); r4 hits blocks 1,2 (1024); r0 and r3 are cold
    expect(s.hitTokens).toBe(1024 + 512 + 1024);
    expect(s.inputTokens).toBe(1100 + 1300 + 700 + 512 + 2000);
    expect(s.hitRate).toBeCloseTo(2560 / 5612, 12);
    // the same block after a different prefix is not a prefix hit
    const moved = parseTrace([line(0, 1024, [1, 2]), line(1, 1024, [3, 2])].join('\n'), 'x.jsonl');
    expect(tracePrefixStats(moved, 512).hitTokens).toBe(0);
    // a partial block reused by a longer request counts only the tokens held before
    const partial = parseTrace([line(0, 600, [1, 2]), line(1, 1024, [1, 2])].join('\n'), 'y.jsonl');
    expect(tracePrefixStats(partial, 512).hitTokens).toBe(512 + 88);
  });
});

describe('request bodies', () => {
  it('reuse prompts round-robin when dataset entries are fewer than requests', async () => {
    const tok = await loadTokenizer();
    const reqs = buildRequests(tok, { api: 'chat', model: 'm', isl: 32, osl: 4, seed: 1, requestIdPrefix: 'd', datasetEntries: 3 }, 7);
    const bodies = reqs.map((r) => r.body.toString());
    expect(new Set(bodies).size).toBe(3);
    expect(bodies[3]).toBe(bodies[0]);
    expect(bodies[6]).toBe(bodies[0]);
    expect(new Set(reqs.map((r) => r.requestId)).size).toBe(7);
  });

  it('tie max_tokens and min_tokens to OSL and merge extra inputs last', () => {
    const body = requestBody({ api: 'chat', model: 'm', extraBody: { temperature: 0, repetition_penalty: 1, nvext: { ignore_eos: true } } }, 'hi', 64, true);
    expect(body).toMatchObject({ max_tokens: 64, max_completion_tokens: 64, min_tokens: 64, ignore_eos: true, temperature: 0, repetition_penalty: 1, nvext: { ignore_eos: true } });
    const loose = requestBody({ api: 'completions', model: 'm' }, 'hi', 8, false);
    expect(loose).toMatchObject({ prompt: 'hi', max_tokens: 8 });
    expect(loose).not.toHaveProperty('min_tokens');
    expect(loose).not.toHaveProperty('ignore_eos');
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
