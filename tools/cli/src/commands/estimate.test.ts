import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../testing.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'recipes-estimate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (argv: string[], cwd = dir) => runCli(argv, cwd);

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
    // vLLM has no held-out measurement in the published set: its band is the prior's
    expect(o.band.basis.ttft).toBe('prior');
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

  it('--batch answers one line per query and rejects bad lines with their line numbers', async () => {
    const good = path.join(dir, 'q.jsonl');
    writeFileSync(
      good,
      [
        JSON.stringify({ model: 'llama-3.1-8b', gpu: 'h100_sxm', backend: 'trtllm', dtype: 'fp8', tp: 1, isl: 1000, osl: 1000, concurrency: 1 }),
        '',
        JSON.stringify({ model: 'llama-3.1-8b', gpu: 'h100_sxm', backend: 'trtllm', dtype: 'fp8', tp: 1, isl: 1000, osl: 1000, concurrency: 256 }),
      ].join('\n'),
    );
    const r = await run(['estimate', '--batch', 'q.jsonl']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[1].outputTokensPerSecond).toBeGreaterThan(lines[0].outputTokensPerSecond);
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify({ model: 'llama-3.1-8b', gpu: 'h100_sxm', backend: 'tgi', isl: 0, osl: 10, concurrency: 1 })}\nnot json\n`);
    const b = await run(['estimate', '--batch', 'bad.jsonl']);
    expect(b.code).toBe(2);
    expect(b.err).toContain('bad.jsonl:1:1');
    expect(b.err).toContain('backend');
    expect(b.err).toContain('isl must be a positive integer');
    expect(b.err).toContain('bad.jsonl:2:1');
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
