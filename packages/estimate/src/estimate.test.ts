import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accuracyTable,
  allCases,
  buildStepModel,
  defaultCalibration,
  dominates,
  estimatorStepTimeModel,
  kvBytesPerToken,
  latencyCases,
  paramCounts,
  paretoFront,
  parseCsv,
  publishedCases,
  referenceGpu,
  referenceModels,
  search,
  serveAgg,
  serveDisagg,
  type Architecture,
  type Calibration,
  type Efficiency,
  type ServingResult,
} from './index.ts';

const arch = (id: string): Architecture => referenceModels.find((m) => m.id === id)!.architecture;
const h100 = referenceGpu('h100_sxm');

// "Ideal" = 100 % of peak FLOPS and bandwidth, no fixed costs: the worked rooflines of the research notes.
function idealCalibration(): Calibration {
  const ideal: Efficiency = { gemmEff: 1, fp4Eff: 1, attnEff: 1, bwEff: 1, moeBwEff: 1, kernelUs: 0, eagerKernelUs: 0, stepMs: 0, seqUs: 0, commEff: 1, collectiveUs: 0, moeSkew: 1, requestMs: 0, tokenizeUs: 0 };
  const b = defaultCalibration.backends.trtllm;
  return { ...defaultCalibration, backends: { ...defaultCalibration.backends, trtllm: { ...b, families: { hopper: ideal, default: ideal } } } };
}

describe('model facts', () => {
  it('derives parameter counts and KV sizes that match the published totals', () => {
    expect(paramCounts(arch('llama-3.1-8b')).total / 1e9).toBeCloseTo(8.03, 1);
    expect(paramCounts(arch('llama-3.3-70b')).total / 1e9).toBeCloseTo(70.55, 1);
    expect(paramCounts(arch('deepseek-r1')).total / 1e9).toBeCloseTo(671, 0);
    expect(paramCounts(arch('gpt-oss-120b')).total / 1e9).toBeCloseTo(116.8, 0);
    expect(kvBytesPerToken(arch('llama-3.1-8b'), 'bf16')).toBe(131_072);
    expect(kvBytesPerToken(arch('llama-3.3-70b'), 'bf16')).toBe(327_680);
    expect(kvBytesPerToken(arch('deepseek-r1'), 'bf16')).toBe(70_272);
  });
});

describe('worked rooflines (ideal efficiency)', () => {
  const cal = idealCalibration();
  const ctx = 1024 + 512; // ISL + OSL/2
  // The notes' 15.8 ms prefill runs lm_head on all 1,024 prompt tokens; only the last one samples, which saves
  // 2 × 0.525 G × 1,023 FLOPs = 1.09 ms at 989 TFLOPS: 14.7 ms, of which attention (2·32·256·32·1024²/2 FLOPs) is
  // 0.28 ms. Even at 100 % of peak the kernels' shape limits stay: GEMMs of 1,024 rows run at 1024/(1024+32) of
  // peak (tile padding) and a 1k causal attention at 512/(512+360) (FlashAttention's length ramp), so 15.3 ms.
  it('Llama-3.1-8B BF16 on 1×H100: batch-1 decode ≈ 4.54 ms, 1k prefill ≈ 14.4/0.97 + 0.28/0.587 ms', () => {
    const m = buildStepModel({ arch: arch('llama-3.1-8b'), gpu: h100, backend: 'trtllm', parallelism: { tp: 1, ep: 1 }, dtype: 'bf16', calibration: cal });
    expect(m.step({ prefillTokens: 0, decodeSequences: 1, contextTokens: ctx }).totalMs).toBeCloseTo(4.54, 1);
    const expected = 14.42 / (1024 / 1056) + 0.28 / (512 / 872);
    expect(m.step({ prefillTokens: 1024, decodeSequences: 0, contextTokens: 0 }).totalMs).toBeGreaterThan(expected * 0.97);
    expect(m.step({ prefillTokens: 1024, decodeSequences: 0, contextTokens: 0 }).totalMs).toBeLessThan(expected * 1.03);
  });
  it('Llama-3.1-8B FP8: batch-1 decode ≈ 2.43 ms', () => {
    const m = buildStepModel({ arch: arch('llama-3.1-8b'), gpu: h100, backend: 'trtllm', parallelism: { tp: 1, ep: 1 }, dtype: 'fp8', calibration: cal });
    expect(m.step({ prefillTokens: 0, decodeSequences: 1, contextTokens: ctx }).totalMs).toBeCloseTo(2.43, 1);
  });
  it('Llama-3.1-70B FP8 TP8: 8.82 GB read per GPU per step, batch-1 decode ≈ 2.64 ms before all-reduce latency', () => {
    const m = buildStepModel({ arch: arch('llama-3.3-70b'), gpu: h100, backend: 'trtllm', parallelism: { tp: 8, ep: 1 }, dtype: 'fp8', calibration: cal });
    // resident = the 8.82 GB streamed per step + the BF16 input embedding (1.05 G × 2 B / 8), which is looked up, not streamed
    expect(m.memory.weightBytesPerGpu / 1e9).toBeCloseTo(8.82 + (1.05 * 2) / 8, 1);
    const s = m.step({ prefillTokens: 0, decodeSequences: 1, contextTokens: ctx });
    expect(s.totalMs - s.commMs).toBeCloseTo(2.64, 1);
  });
});

describe('calibration', () => {
  const data = (f: string): string => readFileSync(new URL(`../data/${f}`, import.meta.url), 'utf8');
  const { cases } = allCases(data('perf-published.csv'), data('perf-latency.csv'));
  const throughput = publishedCases(parseCsv(data('perf-published.csv'))).cases;
  type HeldOut = { mapePct: number; byMetric: Record<string, { rows: number; mapePct: number }>; folds: { fold: string; rows: number; byMetric: Record<string, { mapePct: number }> }[] };
  const heldOut = (defaultCalibration.fit as { heldOut: Record<'lomo' | 'logo' | 'loso', HeldOut> }).heldOut;
  it('scores every model, every GPU and every source family of both sets as a held-out fold', () => {
    expect(heldOut.lomo.folds.map((f) => f.fold).sort()).toEqual([...new Set(cases.map((c) => c.model.id))].sort());
    expect(heldOut.logo.folds.map((f) => f.fold).sort()).toEqual([...new Set(cases.map((c) => c.gpuId))].sort());
    expect(heldOut.loso.folds.map((f) => f.fold).sort()).toEqual([...new Set(cases.map((c) => c.family))].sort());
    for (const h of [heldOut.lomo, heldOut.logo, heldOut.loso]) expect(h.folds.reduce((s, f) => s + f.rows, 0)).toBe(cases.length);
    // TTFT and TPOT rows are held out like the throughput rows
    expect(heldOut.lomo.byMetric['ttft']!.rows).toBeGreaterThan(40);
    expect(heldOut.lomo.byMetric['tpot']!.rows).toBeGreaterThan(40);
  });
  it('the committed calibration stays within 15 % throughput MAPE leaving out a model, and a GPU', () => {
    expect(heldOut.lomo.byMetric['throughput']!.mapePct).toBeLessThanOrEqual(15);
    expect(heldOut.logo.byMetric['throughput']!.mapePct).toBeLessThanOrEqual(15);
  });
  it('predicts the NIM latency tables within 20 % TTFT and TPOT MAPE when their source is left out of the fit', () => {
    const nim = heldOut.loso.folds.find((f) => f.fold === 'nim-llm-benchmarking')!;
    expect(nim.byMetric['ttft']!.mapePct).toBeLessThanOrEqual(20);
    expect(nim.byMetric['tpot']!.mapePct).toBeLessThanOrEqual(20);
  });
  it('the fitted calibration reproduces the published throughput rows within 12 % MAPE', () => {
    const acc = accuracyTable(throughput, defaultCalibration);
    expect(acc.overall.rows).toBeGreaterThan(80);
    expect(acc.overall.mapePct).toBeLessThanOrEqual(12);
  });
});

describe('published latency rows', () => {
  const rows = parseCsv(readFileSync(new URL('../data/perf-latency.csv', import.meta.url), 'utf8'));
  const { cases, skipped } = latencyCases(rows);
  it('every row is usable and keeps its protocol: steady-state windows, or measured requests per client', () => {
    expect(skipped).toEqual([]);
    expect(cases.length).toBe(rows.length);
    for (const r of rows) expect(r['source'], 'every row cites its source').toMatch(/^(https:\/\/|github\.com\/)/);
    const nim = cases.filter((c) => c.family === 'nim-llm-benchmarking');
    expect(nim.every((c) => c.protocol.requestsPerSlot === Number.POSITIVE_INFINITY && c.protocol.client === 'http' && c.backend === 'trtllm')).toBe(true);
    // a one-shot burst: every client sends once
    const burst = cases.find((c) => c.family === 'gpustack-performance-lab' && c.concurrency === 500)!;
    expect(burst.protocol).toEqual({ arrival: 'burst', requestsPerSlot: 1, client: 'http' });
    // engine switches stated in the notes reach the deployment
    expect(cases.some((c) => c.backend === 'trtllm' && c.scheduling?.chunkedPrefill === true)).toBe(true);
    expect(cases.some((c) => c.backend === 'vllm' && c.scheduling?.asyncScheduling === true)).toBe(true);
    expect(cases.some((c) => c.maxNumTokens === 16384)).toBe(true);
  });
  it('vLLM --async-scheduling makes a closed-loop arrival miss one more step; TensorRT-LLM chunked prefill cuts prompts', () => {
    const m = (scheduling?: { chunkedPrefill?: boolean; asyncScheduling?: boolean }, backend: 'vllm' | 'trtllm' = 'vllm') =>
      buildStepModel({ arch: arch('llama-3.1-8b'), gpu: h100, backend, parallelism: { tp: 1, ep: 1 }, dtype: 'fp8', calibration: defaultCalibration, scheduling });
    expect(m().scheduling.waitSteps).toBe(1);
    expect(m({ asyncScheduling: true }).scheduling.waitSteps).toBe(2);
    expect(m(undefined, 'trtllm').scheduling.chunkedPrefill).toBe(false);
    expect(m({ chunkedPrefill: true }, 'trtllm').scheduling.chunkedPrefill).toBe(true);
    // a 20k prompt beside 64 decodes: whole on TensorRT-LLM by default, chunked once the flag is on; TTFT differs
    const w = { isl: 20_000, osl: 128 };
    const whole = serveAgg(m(undefined, 'trtllm'), 1, w, 64);
    const chunked = serveAgg(m({ chunkedPrefill: true }, 'trtllm'), 1, w, 64);
    expect(chunked.ttftMs).not.toBeCloseTo(whole.ttftMs, 0);
  });
});

describe('queueing at a fixed concurrency', () => {
  const m = buildStepModel({ arch: arch('llama-3.3-70b'), gpu: h100, backend: 'trtllm', parallelism: { tp: 2, ep: 1 }, dtype: 'fp8', calibration: defaultCalibration });
  const w = { isl: 5000, osl: 500, requestsPerSlot: Number.POSITIVE_INFINITY };
  it('streaming clients at random phases wait for each other\'s prompts; a ramp (even phases) does not', () => {
    for (const c of [5, 25, 50]) {
      const random = serveAgg(m, 1, { ...w, arrival: 'burst' }, c);
      const even = serveAgg(m, 1, { ...w, arrival: 'spread' }, c);
      expect(random.ttftMs).toBeGreaterThan(even.ttftMs);
      expect(random.tpotMs).toBeCloseTo(even.tpotMs, 6);
    }
  });
  it('past the batch the KV cache holds, TTFT grows by a request lifetime per batch of extra clients (Little\'s law)', () => {
    const bmax = m.batchFor(5000, 500);
    const at = (c: number) => serveAgg(m, 1, { ...w, arrival: 'burst' }, c);
    const a = at(bmax + 50);
    const b = at(bmax + 150);
    // 100 more clients wait 100/λ longer, λ = the saturated request rate
    const lambda = a.requestsPerSecond / 1000;
    expect(b.ttftMs - a.ttftMs).toBeCloseTo(100 / lambda, -2);
    expect(a.limitedBy).toBe('batch');
    // below the knee TTFT is the service time, a few hundred ms
    expect(at(Math.floor(bmax / 2)).ttftMs).toBeLessThan(2000);
  });
});

const resultArb = fc.record({ u: fc.double({ min: 0.1, max: 500, noNaN: true }), g: fc.double({ min: 0.1, max: 20_000, noNaN: true }) });
const asPoint = (p: { u: number; g: number }) => ({ result: { fits: true, tokensPerSecondPerUser: p.u, tokensPerSecondPerGpu: p.g } as ServingResult });

describe('properties', () => {
  it('the Pareto front is non-dominated and complete', () => {
    fc.assert(
      fc.property(fc.array(resultArb, { maxLength: 60 }), (raw) => {
        const pts = raw.map(asPoint);
        const front = paretoFront(pts);
        for (const f of front) for (const p of pts) expect(dominates(p.result, f.result)).toBe(false);
        for (const p of pts) {
          if (front.includes(p)) continue;
          const covered = front.some((f) => dominates(f.result, p.result) || (f.result.tokensPerSecondPerGpu === p.result.tokensPerSecondPerGpu && f.result.tokensPerSecondPerUser === p.result.tokensPerSecondPerUser));
          expect(covered).toBe(true);
        }
      }),
    );
  });

  const base = { arch: arch('llama-3.1-8b'), gpu: h100, dtype: 'fp8' as const, workload: { isl: 512, osl: 128 }, sla: { ttftMs: 100, itlMs: 15 }, calibration: defaultCalibration };

  it('more GPUs never lower max throughput', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), (n, extra) => {
        const a = search({ ...base, gpuBudget: n, backends: ['trtllm'] });
        const b = search({ ...base, gpuBudget: n + extra, backends: ['trtllm'] });
        expect(b.maxOutputTokensPerSecond).toBeGreaterThanOrEqual(a.maxOutputTokensPerSecond);
      }),
      { numRuns: 12 },
    );
  });

  it('higher concurrency never lowers TTFT (agg and disagg)', () => {
    const tp = fc.constantFrom(1, 2, 4, 8);
    fc.assert(
      fc.property(tp, tp, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 16, max: 8192 }), fc.integer({ min: 2, max: 2048 }), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 2000 }), (t1, t2, r, isl, osl, c1, dc) => {
        const w = { isl, osl };
        const mk = (t: number) => buildStepModel({ arch: arch('llama-3.3-70b'), gpu: h100, backend: 'trtllm', parallelism: { tp: t, ep: 1 }, dtype: 'fp8', calibration: defaultCalibration });
        const m1 = mk(t1);
        const a = serveAgg(m1, r, w, c1);
        const b = serveAgg(m1, r, w, c1 + dc);
        if (a.fits) expect(b.ttftMs).toBeGreaterThanOrEqual(a.ttftMs * (1 - 1e-9));
        const m2 = mk(t2);
        const d1 = serveDisagg(m1, r, m2, 1, w, c1, 50);
        const d2 = serveDisagg(m1, r, m2, 1, w, c1 + dc, 50);
        if (d1.fits) expect(d2.ttftMs).toBeGreaterThanOrEqual(d1.ttftMs * (1 - 1e-9));
      }),
      { numRuns: 150 },
    );
  });

  it('a config that does not fit in memory is never selected', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.constantFrom('bf16' as const, 'fp8' as const), (n, dtype) => {
        const r = search({ ...base, arch: arch('llama-3.3-70b'), dtype, gpuBudget: n, backends: ['trtllm'], sla: { ttftMs: 10_000, itlMs: 1_000 } });
        if (r.selected) {
          expect(r.selected.result.fits).toBe(true);
          const pool = r.selected.deployment.agg ?? r.selected.deployment.decode!;
          const m = buildStepModel({ arch: arch('llama-3.3-70b'), gpu: h100, backend: 'trtllm', parallelism: pool, dtype, calibration: defaultCalibration });
          expect(m.memory.weightsFit).toBe(true);
        }
        for (const o of r.others) if (o.reason.startsWith('does not fit')) expect(o.config).not.toBe(r.selected?.config);
        // 70B BF16 (141 GB) cannot fit one 80 GB GPU: with budget 1 nothing may be selected
        if (n === 1 && dtype === 'bf16') expect(r.status).toBe('nothing-fits');
      }),
      { numRuns: 16 },
    );
  });

  it('an unmeetable SLA yields no selection and the closest candidates with reasons', () => {
    const r = search({ ...base, gpuBudget: 4, backends: ['trtllm', 'vllm'], sla: { ttftMs: 1, itlMs: 0.5 } });
    expect(r.status).toBe('no-config-meets-sla');
    expect(r.selected).toBeUndefined();
    expect(r.closest.length).toBeGreaterThan(0);
    for (const c of r.closest) expect(c.reason).toMatch(/misses the SLA/);
    // closest first
    for (let i = 1; i < r.closest.length; i++) expect(r.closest[i]!.violation).toBeGreaterThanOrEqual(r.closest[i - 1]!.violation);
  });
});

describe('simulator seam', () => {
  it('the step-time model for the simulator matches the estimator step time', () => {
    const input = { arch: arch('llama-3.1-8b'), gpu: h100, backend: 'trtllm' as const, parallelism: { tp: 1, ep: 1 }, dtype: 'fp8' as const, calibration: defaultCalibration };
    const sim = estimatorStepTimeModel(input);
    const m = buildStepModel(input);
    expect(sim.stepMs({ prefillTokens: 0, prefillSeqs: 0, decodeSeqs: 32, decodeContextTokens: 32 * 600, prefillContextTokens: 0 })).toBeCloseTo(
      m.step({ prefillTokens: 0, decodeSequences: 32, contextTokens: 32 * 600 }).totalMs,
      9,
    );
    expect(sim.kvBytesPerToken).toBe(65_536);
    expect(sim.kvCapacityTokens).toBeGreaterThan(500_000);
  });
});
