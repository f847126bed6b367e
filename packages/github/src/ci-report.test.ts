import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExperimentResults, MeasuredPoint } from '@llm-recipes/profile';
import type { Golden } from '@llm-recipes/recipe';
import { createGitHubClient } from './client.ts';
import { buildCiReport, truncateSection } from './ci-report.ts';
import { compareWithGolden } from './golden-compare.ts';
import { COMMENT_LIMIT, composeStickyBody, upsertStickyComment } from './sticky.ts';
import { startFakeGitHub } from './testing/index.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'llm-recipes-cireport-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function point(c: number, tps: number, ttft = 50, tpot = 10): MeasuredPoint {
  return { id: `vllm agg 1×tp1/isl1024-osl128-c${c}`, config: 'vllm agg 1×tp1', isl: 1024, osl: 128, concurrency: c, gpus: 1, ttftP50: ttft, ttftP90: ttft * 1.3, itlP50: tpot, tpotP50: tpot, e2eP50: ttft + 127 * tpot, tokensPerSecondPerUser: 1000 / tpot, tokensPerSecondPerGpu: tps, outputTokensPerSecond: tps, requestsPerSecond: tps / 128, errorRate: 0, requests: 100, meetsSla: ttft <= 100 && tpot <= 15, source: 'measured', recordsDir: null };
}

function results(recipe: string, points: MeasuredPoint[]): ExperimentResults {
  return {
    schema: 'llm-recipes/experiment-results@1',
    experiment: { id: 'e'.repeat(16), recipe, variant: null, model: 'm', backend: 'vllm', gpu: 'h100_sxm', mode: 'agg', target: 'cluster', strategy: 'benchmark', createdAt: '2025-06-01T00:00:00Z' },
    sla: { ttftMs: 100, itlMs: 15 },
    gpuHourlyUsd: null,
    points,
    pareto: points.map((p) => p.id),
    selected: { pointId: points[0]!.id, config: points[0]!.config, reason: 'highest tokens/s/GPU' },
    top: [],
    configs: [],
    sweeps: null,
  };
}

function experiment(root: string, name: string, r: ExperimentResults): void {
  const dir = path.join(root, `experiment-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'results.json'), JSON.stringify(r));
}

const golden = (tps: number, ttft: number, itl: number): Golden => ({
  schema: 'llm-recipes/golden@1',
  recipe: 'm/vllm/h100-sxm',
  config: { backend: {}, dtype: 'bf16', kvCacheDtype: 'bf16', maxModelLen: 4096, topology: {} },
  sla: { ttftMs: 100, itlMs: 15 },
  point: { id: 'isl1024-osl128-c16', isl: 1024, osl: 128, concurrency: 16, rate: null, percentile: 'p50', metrics: { ttftMs: ttft, itlMs: itl, tpotMs: itl, e2eMs: null, tokensPerSecondPerGpu: tps, tokensPerSecondPerUser: null, outputTokensPerSecond: tps, requestsPerSecond: 1, errorRate: 0 } },
  selection: { how: 'best-meeting-sla', rule: 'r', candidates: 1, meetingSla: 1 },
  experiment: { id: 'g'.repeat(16), createdAt: 'x', manifestSha256: 'a'.repeat(64), summarySha256: 'b'.repeat(64), deployedManifests: {} },
  promotedAt: '2025-06-01T00:00:00Z',
  promotedBy: 'alice',
});

describe('buildCiReport', () => {
  it('fits GitHub’s comment limit: short sections whole, long ones cut at a line outside any code fence, with a note', async () => {
    const root = path.join(tmp, 'big');
    experiment(root, 'small', results('a/vllm/h100-sxm', [point(1, 100), point(4, 300)]));
    // thousands of Pareto rows: far over 64 KiB on their own
    experiment(root, 'huge-1', results('b/vllm/h100-sxm', Array.from({ length: 2500 }, (_, i) => point(i + 1, 10 + i))));
    experiment(root, 'huge-2', results('c/vllm/h100-sxm', Array.from({ length: 2500 }, (_, i) => point(i + 1, 10 + i))));
    const url = 'https://github.test/acme/recipes/actions/runs/5';
    const report = buildCiReport({ experiments: root, artifactUrl: url, marker: 'profile/h100' });
    expect(report.truncated.sort()).toEqual(['huge-1', 'huge-2']);
    const full = composeStickyBody('profile/h100', report.body, url);
    expect(full.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    // the overall cut of composeStickyBody never had to step in: each section carries its own note
    expect(full).not.toContain('report truncated to fit');
    expect(report.body.match(/section truncated to fit a GitHub comment/g)).toHaveLength(2);
    expect(report.body).toContain('artifact `experiment-huge-1` of https://github.test/acme/recipes/actions/runs/5');
    expect((report.body.match(/^```/gm) ?? []).length % 2).toBe(0);
    // the small section is whole: its chart and artifact line survive
    const small = report.body.slice(report.body.indexOf('`a/vllm/h100-sxm` on'));
    expect(small).toContain('```mermaid');
    // and posting it goes through in one piece
    const gh = await startFakeGitHub({ actionsTokens: ['t'] });
    try {
      const octokit = createGitHubClient({ token: 't', baseUrl: gh.url, pacing: false, retryUnitMs: 5 });
      await upsertStickyComment(octokit, { owner: 'acme', repo: 'recipes', pr: 3, marker: 'profile/h100', body: report.body, artifactUrl: url });
      expect(gh.comments.get(3)![0]!.body).toBe(full);
    } finally {
      await gh.close();
    }
  });

  it('reports failed runs from ci.json and matrix cells without an artifact', () => {
    const root = path.join(tmp, 'failed');
    const dir = path.join(root, 'experiment-broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'ci.json'), JSON.stringify({ schema: 'llm-recipes/ci-profile@1', recipe: 'x/vllm/h100-sxm', gpu: 'h100_sxm', phase: 'Failed', failure: { reason: 'WaitingReadyFailed', message: 'DGD never became Ready' }, golden: null }));
    const report = buildCiReport({ experiments: root, expected: [{ name: 'broken', recipe: 'recipes/x/vllm/h100-sxm', gpu: 'h100_sxm' }, { name: 'lost', recipe: 'recipes/y/vllm/h100-sxm', gpu: 'h100_sxm' }] });
    expect(report.body).toContain('**Profiling failed** (WaitingReadyFailed): DGD never became Ready');
    expect(report.body).toContain('`recipes/y/vllm/h100-sxm` on h100_sxm');
    expect(report.body).toContain('**No experiment artifact**');
    expect(report.body.match(/\| ❌ \|/g)).toHaveLength(2);
  });

  it('truncateSection never leaves an open code fence (property)', () => {
    const text = ['### s', '', '| a |', '```mermaid', 'xychart-beta', '  line [1, 2]', '```', '', 'tail line', '```mermaid', 'x', '```', 'end'].join('\n');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: text.length + 10 }), (max) => {
        const out = truncateSection(text, max, 'NOTE');
        expect((out.match(/^```/gm) ?? []).length % 2).toBe(0);
        if (text.length > max) expect(out.endsWith('NOTE\n')).toBe(true);
        else expect(out).toBe(text);
      }),
    );
  });
});

describe('compareWithGolden (recorded golden metrics)', () => {
  it('flags throughput below the tolerance as a regression, and only then (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.5, max: 1.5, noNaN: true }), (k) => {
        fc.pre(Math.abs(k - 0.95) > 1e-6 && Math.abs(k - 1.05) > 1e-6);
        const r = results('m/vllm/h100-sxm', [point(16, 1000 * k, 50, 10)]);
        const v = compareWithGolden({ dir: tmp, results: r }, golden(1000, 50, 10));
        expect(v.kind).toBe('recorded-point');
        expect(v.verdict).toBe(k < 0.95 ? 'regression' : k > 1.05 ? 'improvement' : 'no-change');
      }),
    );
  });

  it('a slower ITL is a regression; no point at the golden load is insufficient data; no golden says so', () => {
    const slow = compareWithGolden({ dir: tmp, results: results('m/vllm/h100-sxm', [point(16, 1000, 50, 12)]) }, golden(1000, 50, 10));
    expect(slow).toMatchObject({ verdict: 'regression', summary: expect.stringContaining('itl ×1.200') });
    const elsewhere = compareWithGolden({ dir: tmp, results: results('m/vllm/h100-sxm', [point(4, 1000)]) }, golden(1000, 50, 10));
    expect(elsewhere).toMatchObject({ verdict: 'insufficient-data', summary: expect.stringContaining('ISL 1024/OSL 128 at concurrency 16') });
    expect(compareWithGolden({ dir: tmp, results: results('m/vllm/h100-sxm', [point(4, 1000)]) }, undefined)).toMatchObject({ kind: 'none', verdict: 'no-golden' });
  });
});
