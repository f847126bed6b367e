import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startReferenceServer, type ReferenceServer } from '@llm-recipes/bench/testing';
import { InvalidInputError } from '@llm-recipes/errors';
import type { Recipe } from '@llm-recipes/recipe';
import { TRACE_CONFIGMAP_MAX_BYTES } from './benchmarks.ts';
import { canonicalYaml } from './canonical.ts';
import { renderRecipe } from './recipe.ts';
import * as f from './testing/fixtures.ts';
import type { ResolvedRecipe } from './types.ts';

const cliBin = fileURLToPath(new URL('../../../tools/cli/src/bin.ts', import.meta.url));

type Bench = Recipe['benchmark'];
const bench = (over: Partial<Bench>): Bench => ({ ...f.recipe().benchmark, ...over });
const withBench = (over: Partial<Bench>, extra: Partial<ResolvedRecipe> = {}, recipe: Partial<Recipe> = {}) =>
  f.resolved(f.recipe({ ...recipe, benchmark: bench(over) }), extra);

// A Mooncake-shaped trace: two conversations sharing a system prompt block, 512-token blocks
const TRACE = [
  { timestamp: 0, input_length: 700, output_length: 8, hash_ids: [1, 2] },
  { timestamp: 40, input_length: 1200, output_length: 8, hash_ids: [1, 2, 3] },
  { timestamp: 90, input_length: 600, output_length: 8, hash_ids: [1, 4] },
]
  .map((r) => JSON.stringify(r))
  .join('\n');
const traceFiles = (content = TRACE) => ({ benchmarkFiles: [{ path: 'traces/chat.jsonl', content }] });

function benchmarkObjects(r: ResolvedRecipe, cluster = f.cluster()) {
  return renderRecipe(r, cluster).manifests.filter((m) => m.group === 'benchmark');
}
const jobs = (r: ResolvedRecipe, cluster = f.cluster()) =>
  benchmarkObjects(r, cluster)
    .map((m) => m.object as Record<string, any>)
    .filter((o) => o.kind === 'Job');
const envOf = (job: Record<string, any>): Record<string, string> =>
  Object.fromEntries(job.spec.template.spec.containers[0].env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));

const SHAPES: Record<string, () => ResolvedRecipe> = {
  'rate-llm-recipes': () => withBench({ load: 'rate', requestRates: [2, 8], arrival: 'gamma', burstiness: 0.5, maxConcurrency: 64, islOsl: [[1024, 128]] }),
  'rate-aiperf': () => withBench({ harness: 'aiperf', load: 'rate', requestRates: [2, 8], arrival: 'gamma', burstiness: 0.5, maxConcurrency: 64, islOsl: [[1024, 128]] }),
  'trace-llm-recipes': () => withBench({ load: 'trace', concurrency: [8, 32], trace: { file: 'traces/chat.jsonl', blockSize: 512, speedup: 2, fixedSchedule: true } }, traceFiles()),
  'trace-aiperf': () =>
    withBench({ harness: 'aiperf', load: 'trace', concurrency: [24], trace: { file: 'traces/chat.jsonl', blockSize: 512, speedup: 1, fixedSchedule: true, maxRequests: 2 } }, traceFiles()),
  'trace-volume-aiperf': () =>
    withBench({ harness: 'aiperf', load: 'trace', concurrency: [24], trace: { volumePath: 'traces/conversation_trace.jsonl', blockSize: 512, speedup: 1, fixedSchedule: false } }),
  'sampling-extra-goodput': () =>
    withBench({
      islOsl: [[128, 16]],
      concurrency: [2],
      seed: 42,
      datasetEntries: 64,
      sampling: { ignoreEos: false, temperature: 0.7 },
      extraInputs: { nvext: { ignore_eos: true }, top_p: 0.9 },
      goodput: { ttftMs: 250, e2eMs: 4000 },
    }),
};

describe('benchmark Job golden files', () => {
  for (const [name, build] of Object.entries(SHAPES)) {
    it(name, async () => {
      const docs = benchmarkObjects(build()).map((m) => m.object);
      await expect(canonicalYaml(docs)).toMatchFileSnapshot(`__golden__/benchmarks/${name}.yaml`);
    });
  }
});

describe('benchmark Jobs', () => {
  it('carry arbitrary extra-input and served-name strings through env unchanged, the Job shape fixed (property)', () => {
    const paths = (o: unknown, p = ''): string[] =>
      o !== null && typeof o === 'object' ? Object.entries(o).flatMap(([k, v]) => [`${p}/${Array.isArray(o) ? '#' : k}`, ...paths(v, `${p}/${Array.isArray(o) ? '#' : k}`)]) : [];
    const shape = (r: ResolvedRecipe) => [...new Set(jobs(r).flatMap((j) => paths(j)))].sort();
    const base = shape(withBench({ extraInputs: { k: 'v' } }));
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.oneof(fc.string(), fc.integer(), fc.boolean()), { minKeys: 1, maxKeys: 4 }), fc.string({ minLength: 1 }), (extra, served) => {
        const r = withBench({ extraInputs: extra });
        r.model = { ...r.model, servedName: served };
        const js = jobs(r);
        // the YAML text, parsed back, holds the exact JSON and name
        const back = parseAllDocuments(canonicalYaml(js)).map((d) => d.toJS() as Record<string, any>);
        for (const j of back) {
          expect(JSON.parse(envOf(j)['EXTRA_INPUTS']!)).toEqual(extra);
          expect(envOf(j)['MODEL']).toBe(served);
        }
        expect(shape(r)).toEqual(base);
      }),
      { numRuns: 60 },
    );
  });

  it('carry seed, sampling, SLOs and per-concurrency counts as env, one Job per [ISL, OSL] pair', () => {
    const js = jobs(f.resolved(f.recipe()));
    expect(js).toHaveLength(2);
    expect(envOf(js[0]!)).toMatchObject({
      SEED: '100',
      IGNORE_EOS: 'true',
      TEMPERATURE: '0.0',
      REPETITION_PENALTY: '1.0',
      CONCURRENCY: '1,4,16,64',
      REQUESTS: '200',
      REQUESTS_PER_CONCURRENCY: '10',
      WARMUP: '10',
      WARMUP_PER_CONCURRENCY: '1',
      // the recipe's sla: TTFT 100 ms, ITL 15 ms as the per-request TPOT bound
      GOODPUT: 'time_to_first_token:100 inter_token_latency:15',
      GPUS: '4',
    });
    expect(envOf(jobs(withBench({ goodput: 'none' }))[0]!)).not.toHaveProperty('GOODPUT');
  });

  it('ship a trace in a content-named ConfigMap mounted into the Job, a new trace being a new Job', () => {
    const objs = benchmarkObjects(SHAPES['trace-llm-recipes']!());
    const cm = objs.find((m) => m.object.kind === 'ConfigMap')!.object as Record<string, any>;
    expect(cm.data['trace.jsonl']).toBe(TRACE);
    const job = objs.find((m) => m.object.kind === 'Job')!.object as Record<string, any>;
    expect(job.spec.template.spec.volumes).toContainEqual({ name: 'trace', configMap: { name: cm.metadata.name } });
    expect(job.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'trace', mountPath: '/trace', readOnly: true });
    expect(envOf(job)).toMatchObject({ TRACE_FILE: '/trace/trace.jsonl', TRACE_BLOCK_SIZE: '512', TRACE_SPEEDUP: '2', FIXED_SCHEDULE: 'true', CONCURRENCY: '8,32' });
    // both in one file, applied together
    expect(new Set(objs.map((m) => m.file)).size).toBe(1);
    const other = benchmarkObjects(withBench(SHAPES['trace-llm-recipes']!().recipe.benchmark, traceFiles(`${TRACE}\n`)));
    const names = other.map((m) => (m.object as Record<string, any>).metadata.name as string);
    expect(names).not.toContain(job.metadata.name);
    expect(names).not.toContain(cm.metadata.name);
  });

  it('refuse a trace over the ConfigMap limit, naming the field and the way out', () => {
    const line = `${JSON.stringify({ timestamp: 0, input_length: 100, output_length: 8, hash_ids: [1] })}\n`;
    const big = line.repeat(Math.ceil(TRACE_CONFIGMAP_MAX_BYTES / line.length) + 1);
    const r = withBench({ load: 'trace', trace: { file: 'traces/chat.jsonl', blockSize: 512, speedup: 1, fixedSchedule: true } }, traceFiles(big));
    let err: unknown;
    try {
      renderRecipe(r, f.cluster());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    const issue = (err as InvalidInputError).issues[0]!;
    expect(issue.path).toEqual(['benchmark', 'trace', 'file']);
    expect(issue.message).toMatch(/is \d+ bytes; a ConfigMap holds at most/);
    expect(issue.hint).toContain('benchmark.trace.volumePath');
    // just under the limit renders
    const fits = line.repeat(Math.floor(TRACE_CONFIGMAP_MAX_BYTES / line.length));
    expect(() => renderRecipe(withBench(r.recipe.benchmark, traceFiles(fits)), f.cluster())).not.toThrow();
  });

  it('report bad trace lines at their position in the recipe directory, and lines beyond maxModelLen', () => {
    const r = withBench(
      { load: 'trace', trace: { file: 'traces/chat.jsonl', blockSize: 512, speedup: 1, fixedSchedule: true } },
      traceFiles(`${TRACE}\n{"timestamp": 5, "input_length": 10, "output_length": 1, "hash_ids": [1, 2]}`),
    );
    expect(() => renderRecipe(r, f.cluster())).toThrow(/line 4: 2 hash_ids of 512 tokens/);
    try {
      renderRecipe(r, f.cluster());
    } catch (e) {
      expect((e as InvalidInputError).issues[0]).toMatchObject({ file: 'recipes/qwen3-32b/vllm/h100-sxm/traces/chat.jsonl', line: 4, path: ['hash_ids'] });
    }
    const long = withBench({ load: 'trace', trace: { file: 'traces/chat.jsonl', blockSize: 512, speedup: 1, fixedSchedule: true } }, traceFiles(), { maxModelLen: 1000 });
    expect(() => renderRecipe(long, f.cluster())).toThrow(/1 trace request\(s\) need more than maxModelLen 1000 tokens \(first: line 2, 1200 \+ 8\)/);
  });

  it('read a staged trace from the model cache only where the cache is shared', () => {
    const job = jobs(SHAPES['trace-volume-aiperf']!())[0]!;
    expect(job.spec.template.spec.volumes).toContainEqual({ name: 'trace', persistentVolumeClaim: { claimName: 'qwen3-32b-cache', readOnly: true } });
    expect(envOf(job)['TRACE_FILE']).toBe('/trace/traces/conversation_trace.jsonl');
    expect(() => renderRecipe(SHAPES['trace-volume-aiperf']!(), f.cluster({ engine: 'sim' }))).toThrow(/engine: sim renders no model cache/);
  });
});

// ---------------------------------------------------------------------------------------------
// The Jobs' command lines, run for real: the llm-recipes harness against the reference server, the aiperf one
// with a recording stand-in for the `aiperf` and `pip` executables (PyPI is out of reach here).

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'bench-job-'));
  dirs.push(d);
  return d;
}

/** Runs a Job's container command with its env, some values replaced, and `bin` first on PATH. */
function runJob(job: Record<string, any>, over: Record<string, string>, bin: string): Promise<{ code: number; out: string; err: string }> {
  const env = { ...process.env, ...envOf(job), ...over, PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}` };
  const [cmd, flag, script] = job.spec.template.spec.containers[0].command as string[];
  return new Promise((resolve) => {
    const child = spawn(cmd!, [flag!, script!], { env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

function shim(dir: string, name: string, body: string): void {
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
}

describe('benchmark Job command lines', () => {
  let srv: ReferenceServer;
  beforeAll(async () => {
    srv = await startReferenceServer({ ttftMs: 2, itlMs: 1 });
  });
  afterAll(async () => {
    await srv.close();
  });

  const small = { islOsl: [[16, 4]] as [number, number][], concurrency: [1, 3], requestsPerPoint: 2, requestsPerConcurrency: 2, warmupRequests: 0, warmupPerConcurrency: 1 };

  it('llm-recipes: `recipes bench` measures max(REQUESTS, k × c) per level and sends the recipe\'s body fields', async () => {
    const job = jobs(withBench({ ...small, extraInputs: { top_k: 1 } }))[0]!;
    const bin = tempDir();
    shim(bin, 'recipes', `exec "${process.execPath}" "${cliBin}" "$@"`);
    srv.clearLog();
    const res = await runJob(job, { ENDPOINT: srv.url, MODEL: 'ref', RESULTS: join(tempDir(), 'out') }, bin);
    expect(res.code, res.err).toBe(0);
    const points = JSON.parse(res.out).points as { id: string; summary: { counts: { requests: number; warmup: number }; slo: unknown } }[];
    expect(points.map((p) => [p.id, p.summary.counts.requests, p.summary.counts.warmup])).toEqual([
      ['isl16-osl4-c1', 2, 1],
      ['isl16-osl4-c3', 6, 3],
    ]);
    expect(points[0]!.summary.slo).toEqual({ ttftMs: 100, tpotMs: 15 });
    const log = srv.log();
    expect(log).toHaveLength(2 + 1 + 6 + 3);
    for (const r of log) expect(r.body).toMatchObject({ max_tokens: 4, min_tokens: 4, ignore_eos: true, temperature: 0, repetition_penalty: 1, top_k: 1 });
  });

  it('llm-recipes: the trace Job replays the trace at each level from the mounted file', async () => {
    const job = jobs(withBench({ load: 'trace', concurrency: [1, 2], warmupRequests: 0, trace: { file: 'traces/chat.jsonl', blockSize: 512, speedup: 50, fixedSchedule: true } }, traceFiles()))[0]!;
    const bin = tempDir();
    shim(bin, 'recipes', `exec "${process.execPath}" "${cliBin}" "$@"`);
    const dir = tempDir();
    writeFileSync(join(dir, 'trace.jsonl'), TRACE);
    srv.clearLog();
    const res = await runJob(job, { ENDPOINT: srv.url, MODEL: 'ref', RESULTS: join(dir, 'out'), TRACE_FILE: join(dir, 'trace.jsonl') }, bin);
    expect(res.code, res.err).toBe(0);
    const points = JSON.parse(res.out).points as { id: string; summary: { counts: { requests: number }; prefix_cache: { theoretical_hit_rate: number } } }[];
    expect(points.map((p) => [p.id, p.summary.counts.requests])).toEqual([
      ['trace-c1', 3],
      ['trace-c2', 3],
    ]);
    // 1200-token request reuses 700 (block 1 + 188 of block 2), the last one block 1 (512)
    expect(points[0]!.summary.prefix_cache.theoretical_hit_rate).toBeCloseTo((700 + 512) / 2500, 6);
    expect(srv.log().map((r) => r.promptTokens).sort((a, b) => a - b)).toEqual([600, 600, 700, 700, 1200, 1200]);
  });

  /** Runs the aiperf Job with a stand-in that appends its argv (one JSON array per line) to a file. */
  async function aiperfCalls(r: ResolvedRecipe, over: Record<string, string> = {}): Promise<string[][]> {
    const job = jobs(r)[0]!;
    const bin = tempDir();
    const calls = join(bin, 'calls.jsonl');
    shim(bin, 'pip', 'exit 0');
    shim(bin, 'aiperf', `"${process.execPath}" -e 'require("fs").appendFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)) + "\\n")' "${calls}" "$@"`);
    const res = await runJob(job, { RESULTS: '/results', ...over }, bin);
    expect(res.code, res.err).toBe(0);
    return readFileSync(calls, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
  }
  const flag = (args: string[], name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const all = (args: string[], name: string): string[] => args.flatMap((a, i) => (a === name ? [args[i + 1]!] : []));

  it('aiperf: computes the request and warmup counts per concurrency in the shell, one entry per request sent', async () => {
    const calls = await aiperfCalls(withBench({ ...small, harness: 'aiperf' }));
    expect(calls.map((a) => [flag(a, 'profile'), flag(a, '--concurrency'), flag(a, '--request-count'), flag(a, '--warmup-request-count'), flag(a, '--num-dataset-entries')])).toEqual([
      ['--model', '1', '2', '1', '3'],
      ['--model', '3', '6', '3', '9'],
    ]);
    expect(calls.map((a) => flag(a, '--artifact-dir'))).toEqual(['/results/c1', '/results/c3']);
  });

  it('aiperf: the command line of the default benchmark is the one upstream perf Jobs pass', async () => {
    // ai-dynamo/dynamo recipes/llama-3-70b/vllm/agg/perf.yaml @0d348a12, at concurrency 64 (TOTAL_CONCURRENCY there)
    const upstream = [
      ['--endpoint-type', 'chat'],
      ['--streaming'],
      ['--synthetic-input-tokens-mean', '8192'],
      ['--synthetic-input-tokens-stddev', '0'],
      ['--output-tokens-mean', '1024'],
      ['--output-tokens-stddev', '0'],
      ['--extra-inputs', 'max_tokens:1024'],
      ['--extra-inputs', 'min_tokens:1024'],
      ['--extra-inputs', 'ignore_eos:true'],
      ['--extra-inputs', 'repetition_penalty:1.0'],
      ['--extra-inputs', 'temperature:0.0'],
      ['--concurrency', '64'],
      ['--request-count', '640'],
      ['--warmup-request-count', '64'],
      ['--random-seed', '100'],
    ];
    const calls = await aiperfCalls(withBench({ harness: 'aiperf', islOsl: [[8192, 1024]], goodput: 'none' }));
    const c64 = calls.find((a) => flag(a, '--concurrency') === '64')!;
    for (const pair of upstream) {
      const at = c64.findIndex((_, i) => pair.every((p, k) => c64[i + k] === p));
      expect(at, pair.join(' ')).toBeGreaterThanOrEqual(0);
    }
    expect(all(c64, '--extra-inputs')).toEqual(['max_tokens:1024', 'min_tokens:1024', 'ignore_eos:true', 'repetition_penalty:1.0', 'temperature:0.0']);
    expect(flag(c64, '--model')).toBe('Qwen/Qwen3-32B');
    expect(flag(c64, '--url')).toBe('http://qwen3-32b-vllm-h100-sxm-frontend:8000');
  });

  it('aiperf: sampling, extra inputs and goodput arrive as flags, every value one argument', async () => {
    const calls = await aiperfCalls(withBench({ ...SHAPES['sampling-extra-goodput']!().recipe.benchmark, harness: 'aiperf' }));
    const a = calls[0]!;
    expect(all(a, '--extra-inputs')).toEqual(['max_tokens:16', 'temperature:0.7', '{"nvext":{"ignore_eos":true},"top_p":0.9}']);
    expect(flag(a, '--goodput')).toBe('time_to_first_token:250 request_latency:4000');
    expect(flag(a, '--num-dataset-entries')).toBe('64');
    expect(flag(a, '--random-seed')).toBe('42');
  });

  it('keep a hostile extra-input value one argument: no shell expansion, no word splitting', async () => {
    const dir = tempDir();
    const nasty = `a'b"c $(touch ${dir}/pwned) \`touch ${dir}/pwned2\` ; rm -rf / --no-preserve-root\n--goodput x`;
    const calls = await aiperfCalls(withBench({ ...small, harness: 'aiperf', concurrency: [1], extraInputs: { x: nasty } }));
    expect(all(calls[0]!, '--extra-inputs').at(-1)).toBe(JSON.stringify({ x: nasty }));
    expect(existsSync(join(dir, 'pwned')) || existsSync(join(dir, 'pwned2'))).toBe(false);
  });

  it('aiperf: trace replay passes the Mooncake flags upstream does, and a synthetic warmup first', async () => {
    // ai-dynamo/dynamo recipes/kimi-k2.6/perf/perf.yaml @01cadb10
    const calls = await aiperfCalls(SHAPES['trace-aiperf']!(), { TRACE_FILE: '/trace/trace.jsonl' });
    expect(calls).toHaveLength(2);
    const [warm, run] = calls as [string[], string[]];
    expect([flag(warm, '--isl'), flag(warm, '--osl'), flag(warm, '--concurrency'), flag(warm, '--request-count')]).toEqual(['833', '8', '1', '10']);
    expect(warm).not.toContain('--input-file');
    expect(flag(run, '--input-file')).toBe('/trace/trace.jsonl');
    expect(flag(run, '--custom-dataset-type')).toBe('mooncake_trace');
    expect(flag(run, '--prompt-input-tokens-block-size')).toBe('512');
    expect(flag(run, '--request-count')).toBe('2');
    expect(flag(run, '--concurrency')).toBe('24');
    expect(flag(run, '--random-seed')).toBe('100');
    expect(run).toContain('--fixed-schedule');
    expect(run).toContain('--use-server-token-count');
    expect(all(run, '--extra-inputs')).toEqual(['ignore_eos:true', 'repetition_penalty:1.0', 'temperature:0.0']);
    expect(run).not.toContain('--synthesis-speedup-ratio');
  });
});
