import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  composeCandidates,
  concurrencySteps,
  decodeStopReason,
  formatStatusLine,
  interpolate,
  prefillStopReason,
  readStatus,
  replicaSplit,
  selectBest,
  selectPoint,
  slaViolation,
  StatusBook,
  type EngineSweep,
  type MeasuredPoint,
  type Selectable,
} from './index.ts';

const SLA = { ttftMs: 100, itlMs: 10 };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const selectable = fc.record({
  id: fc.string({ minLength: 1, maxLength: 6 }),
  config: fc.constantFrom('agg 1×tp1', 'agg 2×tp1', 'disagg p1×tp1 d1×tp1', 'agg 1×tp2'),
  gpus: fc.integer({ min: 1, max: 8 }),
  fits: fc.option(fc.boolean(), { nil: undefined }),
  ttftP50: fc.option(fc.double({ min: 1, max: 400, noNaN: true }), { nil: null }),
  itlMs: fc.option(fc.double({ min: 0.5, max: 40, noNaN: true }), { nil: null }),
  tokensPerSecondPerGpu: fc.double({ min: 0, max: 10_000, noNaN: true }),
  tokensPerSecondPerUser: fc.double({ min: 0, max: 1000, noNaN: true }),
  errorRate: fc.constantFrom(0, 0, 0, 0.005, 0.2, 0.9),
});
/** Points whose meetsSla agrees with their numbers, as the profiler sets it. */
const points = fc
  .array(selectable, { maxLength: 25 })
  .map((ps) =>
    ps.map((p, i): Selectable => ({ ...p, id: `${p.id}-${i}`, meetsSla: p.fits !== false && p.ttftP50 !== null && p.itlMs !== null && p.ttftP50 <= SLA.ttftMs && p.itlMs <= SLA.itlMs && p.errorRate <= 0.01 })),
  );

describe('selection', () => {
  it('selects a config meeting the SLA whenever any fitting point does, and never one that did not fit', () => {
    fc.assert(
      fc.property(points, (ps) => {
        const sel = selectBest(ps, SLA);
        const anyMeets = ps.some((p) => p.meetsSla && p.fits !== false);
        if (anyMeets) {
          expect(sel?.meetsSla).toBe(true);
          expect(sel!.point.meetsSla).toBe(true);
          // and it is the best of them by tokens/s/GPU
          for (const p of ps.filter((x) => x.meetsSla)) expect(sel!.point.tokensPerSecondPerGpu).toBeGreaterThanOrEqual(p.tokensPerSecondPerGpu);
        } else if (sel) {
          expect(sel.meetsSla).toBe(false);
          expect(sel.reason).toMatch(/SLA unverified/);
        }
        if (sel) {
          expect(sel.point.fits).not.toBe(false);
          expect(sel.point.errorRate).toBeLessThan(0.5);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reports the closest point, flagged, when nothing meets the SLA', () => {
    const near: Selectable = { id: 'a', config: 'x', gpus: 1, meetsSla: false, ttftP50: 110, itlMs: 9, tokensPerSecondPerGpu: 10, tokensPerSecondPerUser: 10, errorRate: 0 };
    const far: Selectable = { ...near, id: 'b', ttftP50: 300, tokensPerSecondPerGpu: 1000 };
    const unfit: Selectable = { ...near, id: 'c', ttftP50: 50, itlMs: 5, fits: false, meetsSla: false };
    const sel = selectBest([far, near, unfit], SLA)!;
    expect(sel.point.id).toBe('a');
    expect(sel.meetsSla).toBe(false);
    expect(sel.reason).toContain('1.10×');
    expect(slaViolation(near, SLA)).toBeCloseTo(1.1);
    expect(selectBest([unfit], SLA)).toBeNull();
  });

  it('checks the ITL bound on TPOT (the per-request mean gap), not the pooled chunk gaps', () => {
    const base = { config: 'c', isl: 1, osl: 1, concurrency: 1, gpus: 1, ttftP50: 10, ttftP90: 10, e2eP50: 1, tokensPerSecondPerUser: 1, tokensPerSecondPerGpu: 1, outputTokensPerSecond: 1, requestsPerSecond: 1, errorRate: 0, requests: 1, source: 'measured', recordsDir: null } as const;
    const coalesced: MeasuredPoint = { ...base, id: 'x', itlP50: 0.01, tpotP50: 25, meetsSla: false };
    expect(selectPoint([coalesced], SLA)!.meetsSla).toBe(false);
  });
});

describe('early stop', () => {
  it('stops a decode sweep past the ITL bound and at saturation (a dominated point)', () => {
    const s = (concurrency: number, itlMs: number, gpu: number, user: number) => ({ concurrency, itlMs, tokensPerSecondPerGpu: gpu, tokensPerSecondPerUser: user });
    expect(decodeStopReason([], s(1, 5, 100, 200), SLA)).toBeNull();
    expect(decodeStopReason([s(1, 5, 100, 200)], s(2, 6, 180, 170), SLA)).toBeNull();
    expect(decodeStopReason([s(1, 5, 100, 200)], s(2, 11, 180, 90), SLA)).toMatch(/ITL 11\.00 ms > SLA 10 ms/);
    expect(decodeStopReason([s(1, 5, 100, 200), s(2, 6, 180, 170)], s(4, 7, 170, 140), SLA)).toMatch(/dominated by concurrency 2/);
  });

  it('never stops on a point that improves throughput within the SLA (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }), (gains) => {
        // per-GPU throughput strictly rising with ITL inside the bound: no stop until the last point
        let gpu = 10;
        const hist: { concurrency: number; itlMs: number; tokensPerSecondPerGpu: number; tokensPerSecondPerUser: number }[] = [];
        for (const [i, g] of gains.entries()) {
          gpu += g;
          const next = { concurrency: 2 ** i, itlMs: 1 + i, tokensPerSecondPerGpu: gpu, tokensPerSecondPerUser: 1000 / (1 + i) };
          expect(decodeStopReason(hist, next, SLA)).toBeNull();
          hist.push(next);
        }
      }),
    );
  });

  it('stops a prefill sweep once TTFT passes the bound at or beyond the workload ISL', () => {
    expect(prefillStopReason(256, 150, 512, SLA)).toBeNull();
    expect(prefillStopReason(512, 150, 512, SLA)).toMatch(/TTFT 150\.0 ms > SLA 100 ms at ISL 512/);
    expect(prefillStopReason(1024, 90, 512, SLA)).toBeNull();
  });

  it('steps concurrency geometrically up to the KV capacity', () => {
    expect(concurrencySteps(1)).toEqual([1]);
    expect(concurrencySteps(20)).toEqual([1, 2, 4, 8, 16, 20]);
    expect(concurrencySteps(16)).toEqual([1, 2, 4, 8, 16]);
  });
});

describe('prefill:decode ratio', () => {
  it('sizes pools from measured prefill capacity vs decode throughput', () => {
    // prefill 10 req/s per replica, decode 25 req/s per replica: 2.5 prefill per decode replica
    const s = replicaSplit({ prefillTp: 1, decodeTp: 1, prefillRequestsPerSecond: 10, decodeRequestsPerSecond: 25, gpuBudget: 8 })!;
    expect(s.ratio).toBeCloseTo(2.5);
    expect(s.prefillReplicas / s.decodeReplicas).toBeGreaterThanOrEqual(2);
    expect(s.gpus).toBeLessThanOrEqual(8);
    expect(s.requestsPerSecond).toBeCloseTo(Math.min(s.prefillReplicas * 10, s.decodeReplicas * 25));
    expect(replicaSplit({ prefillTp: 4, decodeTp: 8, prefillRequestsPerSecond: 1, decodeRequestsPerSecond: 1, gpuBudget: 8 })).toBeNull();
  });

  it('never exceeds the budget and no other whole split does better per GPU (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4),
        fc.constantFrom(1, 2, 4),
        fc.double({ min: 0.1, max: 100, noNaN: true }),
        fc.double({ min: 0.1, max: 100, noNaN: true }),
        fc.integer({ min: 1, max: 16 }),
        (a, b, p, d, budget) => {
          const s = replicaSplit({ prefillTp: a, decodeTp: b, prefillRequestsPerSecond: p, decodeRequestsPerSecond: d, gpuBudget: budget });
          if (a + b > budget) {
            expect(s).toBeNull();
            return;
          }
          expect(s!.gpus).toBeLessThanOrEqual(budget);
          for (let rd = 1; a + rd * b <= budget; rd++) {
            for (let rp = 1; rp * a + rd * b <= budget; rp++) expect(Math.min(rp * p, rd * d) / (rp * a + rd * b)).toBeLessThanOrEqual(s!.requestsPerSecond / s!.gpus + 1e-9);
          }
        },
      ),
    );
  });

  it('interpolates TTFT at the workload ISL between measured ISLs', () => {
    expect(interpolate([256, 512, 1024], [10, 20, 50], 768)).toBeCloseTo(35);
    expect(interpolate([256, 512], [10, 20], 512)).toBe(20);
    expect(interpolate([512], [20], 1024)).toBe(40);
  });

  it('composes agg candidates from decode points and disagg candidates with the measured ratio', () => {
    const mk = (tp: number, c: number, tpot: number, out: number): EngineSweep['decode'][number] => ({
      concurrency: c,
      row: { tp, x: c, latencyMs: tpot, tokensPerSecondPerGpu: out / tp, id: `d/tp${tp}/c${c}` },
      point: { id: `e${tp}/c${c}`, config: `e${tp}`, isl: 512, osl: 100, concurrency: c, gpus: tp, ttftP50: 40, ttftP90: 50, itlP50: tpot, tpotP50: tpot, e2eP50: 1, tokensPerSecondPerUser: 1000 / tpot, tokensPerSecondPerGpu: out / tp, outputTokensPerSecond: out, requestsPerSecond: out / 100, errorRate: 0, requests: 10, meetsSla: true, source: 'measured', recordsDir: null },
    });
    const sweeps: EngineSweep[] = [{ tp: 1, prefill: [{ isl: 256, ttftMs: 25, row: { tp: 1, x: 256, latencyMs: 25, tokensPerSecondPerGpu: 0 } }, { isl: 1024, ttftMs: 100, row: { tp: 1, x: 1024, latencyMs: 100, tokensPerSecondPerGpu: 0 } }], decode: [mk(1, 8, 8, 1000)] }];
    const { points, choices } = composeCandidates({ budget: 4, isl: 512, osl: 100, sla: SLA, settings: { mode: 'any' }, base: { recipe: { backend: { name: 'vllm' } } } }, sweeps);
    const agg = points.find((p) => p.config === 'vllm agg 4×tp1')!;
    expect(agg.concurrency).toBe(32);
    expect(agg.outputTokensPerSecond).toBe(4000);
    expect(agg.tokensPerSecondPerGpu).toBe(1000);
    // prefill: TTFT 50 ms at ISL 512 → 20 req/s; decode: 1000 tok/s ÷ 100 = 10 req/s → ratio 0.5 → 1 prefill : 2 decode
    const dis = points.find((p) => p.source === 'composed')!;
    expect(dis.config).toBe('vllm disagg p1×tp1 d2×tp1');
    expect(dis.ttftP50).toBeCloseTo(50);
    expect(dis.evidence).toMatch(/ratio 0\.50 prefill per decode replica → 1:2 on 3 GPU\(s\)/);
    expect(dis.tokensPerSecondPerGpu).toBeCloseTo(2000 / 3);
    expect(choices.get(dis.config)).toEqual({ mode: 'disagg', prefill: { tp: 1, replicas: 1 }, decode: { tp: 1, replicas: 2 } });
    const aggOnly = composeCandidates({ budget: 4, isl: 512, osl: 100, sla: SLA, settings: { mode: 'agg' }, base: { recipe: { backend: { name: 'vllm' } } } }, sweeps);
    expect(aggOnly.points.every((p) => p.config.includes(' agg '))).toBe(true);
  });
});

describe('status transitions', () => {
  it('records every transition atomically, clears progress between sub-phases, and fails with <SubPhase>Failed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'profile-status-'));
    dirs.push(dir);
    const seen: string[] = [];
    const book = new StatusBook(dir, (s) => seen.push(`${s.phase}/${s.subPhase}`));
    book.enter('Pending', 'Initializing');
    book.enter('Profiling', 'SweepingPrefill');
    book.progress('tp1 ISL 512');
    expect(readStatus(dir)!.progress).toBe('tp1 ISL 512');
    book.enter('Profiling', 'SweepingDecode');
    expect(readStatus(dir)!.progress).toBeNull();
    book.failPhase('simulator exited');
    const st = readStatus(dir)!;
    expect(st.phase).toBe('Failed');
    expect(st.reason).toBe('SweepingDecodeFailed');
    expect(st.history.map((h) => `${h.phase}/${h.subPhase}`)).toEqual(['Pending/Initializing', 'Profiling/SweepingPrefill', 'Profiling/SweepingDecode', 'Failed/SweepingDecode']);
    expect(seen).toContain('Profiling/SweepingDecode');
    // the profile flow has no steps: the line shows phase, reason and message only
    expect(formatStatusLine(st)).toBe('Failed/SweepingDecode SweepingDecodeFailed: simulator exited');
    // a resumed run starts from the file and clears the failure on its next transition
    const again = new StatusBook(dir);
    again.enter('Profiling', 'SweepingDecode', 'resumed');
    expect(JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')).reason).toBeNull();
  });
});
