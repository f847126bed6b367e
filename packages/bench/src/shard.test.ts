import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { summarizeRecords } from './metrics.ts';
import { runBenchmark } from './runner.ts';
import { mergeShardRecords, originEpochMs, parseShard, shareOf } from './shard.ts';
import { summarize } from './stats.ts';
import { loadTokenizer, type BenchTokenizer } from './tokenizer.ts';
import { referenceServers } from './test-support.ts';

let tok: BenchTokenizer;
beforeAll(async () => {
  tok = await loadTokenizer();
});
const serve = referenceServers();

describe('shares', () => {
  it('split any total over N shards exactly, differing by at most one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 64 }), (total, count) => {
        const parts = Array.from({ length: count }, (_, index) => shareOf(total, { index, count }));
        expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
        expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('parses i/N and rejects the rest with the flag named', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['4/4', '1/0', 'x', '-1/2', '1']) expect(() => parseShard(bad)).toThrow(/--shard/);
  });
});

describe('distributed load: N client shards against one server', () => {
  it('merging the shards’ raw records gives exactly the percentiles of one run over all records', async () => {
    // GIVEN one server with jittered latencies (real sockets and timers: every shard sees its own latencies)
    const srv = await serve({ ttftMs: 25, itlMs: 4 });
    const total = { concurrency: 12, requests: 60 };
    const count = 4;
    // WHEN 4 clients run their shares at the same time, each with its own clock origin
    const runs = await Promise.all(
      Array.from({ length: count }, (_, index) =>
        runBenchmark({
          endpoint: srv.url,
          api: 'chat',
          model: 'ref',
          load: { mode: 'concurrency', concurrency: shareOf(total.concurrency, { index, count }) },
          requests: shareOf(total.requests, { index, count }),
          workload: { isl: 64, osl: 12, seed: index },
          tokenizer: tok,
          timeoutMs: 10_000,
        }).then((r) => ({ ...r, originEpochMs: originEpochMs(r.originNs) })),
      ),
    );
    const merged = mergeShardRecords(runs.map((r) => ({ records: r.records, originEpochMs: r.originEpochMs })));
    const summary = summarizeRecords(merged);
    // THEN every latency statistic equals the one computed over the union of all shards' records
    const union = runs.flatMap((r) => r.records).filter((r) => !r.warmup && r.ok);
    expect(merged).toHaveLength(total.requests);
    expect(summary.counts.completed).toBe(total.requests);
    const round = (s: ReturnType<typeof summarize>) => (s === null ? null : Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Math.round(v * 1e6) / 1e6])));
    expect(summary.ttft).toEqual(round(summarize(union.map((r) => r.ttft_ms!))));
    expect(summary.e2e).toEqual(round(summarize(union.map((r) => r.e2e_ms!))));
    expect(summary.tpot).toEqual(round(summarize(union.map((r) => r.tpot_ms!))));
    expect(summary.itl).toEqual(round(summarize(union.flatMap((r) => r.chunk_ms.slice(1).map((t, i) => t - r.chunk_ms[i]!)))));
    // and the shards really differ: averaging their p99s would not give the merged p99
    const p99s = runs.map((r) => r.summary.ttft!.p99);
    expect(new Set(p99s).size).toBeGreaterThan(1);
    // the merged window spans all shards on one clock: throughput counts every output token once
    const tokens = union.reduce((n, r) => n + r.output_tokens, 0);
    expect(summary.output_throughput * summary.duration_s).toBeCloseTo(tokens, 0);
  });
});
