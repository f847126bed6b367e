import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '@llm-recipes/errors';
import { EXPORT_FILES, exportResult, type ExportContext } from './exporters.ts';
import { canonicalJson, matrixPoints, runExperiment, type ExperimentOptions, type MatrixPoint } from './experiment.ts';
import { parseRecordsJsonl } from './records.ts';
import { runBenchmark } from './runner.ts';
import { loadTokenizer, type BenchTokenizer } from './tokenizer.ts';
import { startReferenceServer, type ReferenceServer } from './testing/index.ts';

let srv: ReferenceServer;
let tok: BenchTokenizer;
const dirs: string[] = [];
beforeAll(async () => {
  srv = await startReferenceServer({ ttftMs: 3, itlMs: 1 });
  tok = await loadTokenizer();
});
afterAll(async () => {
  await srv.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'bench-exp-'));
  dirs.push(d);
  return d;
}

function ctx(p: MatrixPoint, a: Date, b: Date): Omit<ExportContext, 'experimentId' | 'pointId'> {
  return { model: 'ref', endpoint: srv.url, api: 'chat', tokenizer: tok.name, isl: p.isl, osl: p.osl, concurrency: p.concurrency, rate: p.rate, burstiness: null, startTime: a.toISOString(), endTime: b.toISOString(), toolVersion: '0.1.0', args: {} };
}

function options(dir: string, calls: string[], failOn?: string, over: Partial<ExperimentOptions> = {}): ExperimentOptions {
  return {
    dir,
    resume: false,
    inputs: { endpoint: 'x', requests: 4 },
    seed: 1,
    points: matrixPoints([[16, 4], [32, 4]], { concurrency: [1, 2] }),
    tools: { node: process.version },
    exports: ['vllm', 'aiperf', 'llmd'],
    exportContext: ctx,
    runPoint: async (p) => {
      calls.push(p.id);
      if (p.id === failOn) throw new Error('endpoint went away');
      return runBenchmark({ endpoint: srv.url, api: 'chat', model: 'ref', load: { mode: 'concurrency', concurrency: p.concurrency! }, requests: 4, workload: { isl: p.isl, osl: p.osl, seed: 1 }, tokenizer: tok });
    },
    ...over,
  };
}

describe('matrix points', () => {
  it('crosses ISL/OSL pairs with concurrencies or rates', () => {
    expect(matrixPoints([[1024, 128]], { concurrency: [1, 4] }).map((p) => p.id)).toEqual(['isl1024-osl128-c1', 'isl1024-osl128-c4']);
    expect(matrixPoints([[8, 2]], { rate: [0.5] })).toEqual([{ id: 'isl8-osl2-r0.5', isl: 8, osl: 2, concurrency: null, rate: 0.5 }]);
  });

  it('hashes canonical JSON independent of key order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 0 }] } })).toBe('{"a":{"c":[3,{"e":0,"f":1}],"d":2},"b":1}');
  });
});

describe('experiment directory', () => {
  it('records a failed point and runs the rest; resume re-runs only what is not done', async () => {
    const dir = tmp();
    const calls: string[] = [];
    const first = await runExperiment(options(dir, calls, 'isl16-osl4-c2'));
    expect(calls).toEqual(['isl16-osl4-c1', 'isl16-osl4-c2', 'isl32-osl4-c1', 'isl32-osl4-c2']);
    expect(first.points.map((p) => p.state)).toEqual(['done', 'failed', 'done', 'done']);
    expect(first.points[1]!.error).toBe('endpoint went away');

    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ schema: 'llm-recipes/bench-experiment@1', id: first.id, seeds: { seed: 1 }, inputs: { requests: 4 } });
    const status = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8'));
    expect(status.points.map((p: { state: string }) => p.state)).toEqual(['done', 'failed', 'done', 'done']);
    const pdir = join(dir, 'points', 'isl16-osl4-c1');
    expect(readdirSync(pdir).sort()).toEqual([...Object.values(EXPORT_FILES), 'records.jsonl', 'status.json', 'summary.json'].sort());
    expect(parseRecordsJsonl(readFileSync(join(pdir, 'records.jsonl'), 'utf8'))).toHaveLength(4);
    const before = readFileSync(join(pdir, 'records.jsonl'), 'utf8');

    const calls2: string[] = [];
    const second = await runExperiment({ ...options(dir, calls2), resume: true });
    expect(second.id).toBe(first.id);
    expect(calls2).toEqual(['isl16-osl4-c2']);
    expect(second.points.every((p) => p.state === 'done')).toBe(true);
    expect(readFileSync(join(pdir, 'records.jsonl'), 'utf8')).toBe(before);
    expect(Object.keys(second.summaries)).toHaveLength(4);
    // no temporary files survive: the directory holds exactly the experiment's files, whatever temp names were used
    const pointFiles = [...Object.values(EXPORT_FILES), 'records.jsonl', 'status.json', 'summary.json'];
    const expected = ['manifest.json', 'points', 'status.json', ...second.points.flatMap((p) => [join('points', p.id), ...pointFiles.map((f) => join('points', p.id, f))])];
    expect((readdirSync(dir, { recursive: true }) as string[]).sort()).toEqual(expected.sort());
  });

  it('refuses to resume an experiment made from different inputs', async () => {
    const dir = tmp();
    await runExperiment({ ...options(dir, []), points: matrixPoints([[16, 4]], { concurrency: [1] }) });
    await expect(runExperiment({ ...options(dir, []), points: matrixPoints([[16, 4]], { concurrency: [1] }), inputs: { endpoint: 'y' }, resume: true })).rejects.toThrow(UserError);
  });
});

describe('exporters', () => {
  it('write the vLLM, AIPerf and llm-d v0.2 shapes', async () => {
    const res = await runBenchmark({ endpoint: srv.url, api: 'chat', model: 'ref', load: { mode: 'concurrency', concurrency: 2 }, requests: 6, workload: { isl: 16, osl: 5, seed: 1 }, tokenizer: tok, slo: { ttftMs: 1000 } });
    const c = { ...ctx(matrixPoints([[16, 5]], { concurrency: [2] })[0]!, new Date(0), new Date(1500)), experimentId: 'e1', pointId: 'p1' };
    const v = exportResult('vllm', res.summary, res.records, c) as Record<string, unknown>;
    expect(v).toMatchObject({ completed: 6, failed: 0, total_output_tokens: 30, max_concurrency: 2, request_rate: 'inf', model_id: 'ref', num_prompts: 6 });
    for (const k of ['mean_ttft_ms', 'median_ttft_ms', 'std_ttft_ms', 'p99_ttft_ms', 'p99.9_itl_ms', 'mean_tpot_ms', 'p90_e2el_ms', 'request_goodput', 'request_goodput:', 'output_throughput', 'total_token_throughput', 'max_output_tokens_per_s']) {
      expect(typeof v[k], k).toBe('number');
    }
    expect(v['mean_ttft_ms']).toBe(res.summary.ttft!.mean);
    expect((v['ttfts'] as number[])[0]).toBeCloseTo(res.records[0]!.ttft_ms! / 1000, 9);
    expect((v['itls'] as number[][])[0]).toHaveLength(4);

    const a = exportResult('aiperf', res.summary, res.records, c) as Record<string, Record<string, unknown>>;
    expect(a['time_to_first_token']).toMatchObject({ unit: 'ms', count: 6 });
    expect(a['inter_token_latency']!['avg']).toBeCloseTo(res.summary.tpot!.mean, 5); // AIPerf's ITL is our TPOT
    expect(Object.keys(a['request_latency']!)).toEqual(['unit', 'avg', 'min', 'max', 'p1', 'p5', 'p10', 'p25', 'p50', 'p75', 'p90', 'p95', 'p99', 'std', 'count', 'sum']);
    expect(a['output_sequence_length']).toMatchObject({ avg: 5, unit: 'tokens' });

    const l = exportResult('llmd', res.summary, res.records, c) as { version: string; run: unknown; results: { request_performance: { aggregate: Record<string, Record<string, Record<string, unknown>>> } } };
    expect(l.version).toBe('0.2');
    expect(l.run).toEqual({ uid: 'e1-p1', eid: 'e1', time: { start: '1970-01-01T00:00:00.000Z', end: '1970-01-01T00:00:01.500Z', duration: 'PT1.500S' } });
    const agg = l.results.request_performance.aggregate;
    expect(agg['requests']!['total']).toBe(6);
    expect(agg['latency']!['time_to_first_token']).toMatchObject({ units: 'ms' });
    expect(Object.keys(agg['latency']!['request_latency']!)).toEqual(['units', 'mean', 'stddev', 'min', 'p0p1', 'p1', 'p5', 'p10', 'p25', 'p50', 'p75', 'p90', 'p95', 'p99', 'p99p9', 'max']);
    expect(agg['throughput']!['requests_rate']).toEqual({ units: 'qps', mean: res.summary.request_throughput });
    expect(agg['latency']!['time_per_output_token']!['units']).toBe('ms/token');
  });
});
