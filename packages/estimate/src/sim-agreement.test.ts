import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadWorkspace, resolveRecipe } from '@llm-recipes/recipe';
import { resolveSimConfig, SimCluster, startSimulator } from '@llm-recipes/sim';
import { loadTokenizer, runBenchmark, type RequestRecord } from '@llm-recipes/bench';
import { measureAgreement, steadyOutputThroughput } from './agreement.ts';
import { defaultCalibration, estimatorSimulation, recipeDeployment } from './index.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const ws = loadWorkspace(root);
const resolve = (id: string, set: string[] = []) => {
  const { resolved, issues } = resolveRecipe(ws, { recipe: id, set });
  if (!resolved) throw new Error(JSON.stringify(issues));
  return resolved;
};

describe('simulator wired to the estimator', () => {
  it('maps an aggregated recipe: estimator step model per worker, engine limits from the recipe args', () => {
    const r = resolve('llama-3.1-8b/vllm/h100-sxm');
    const es = estimatorSimulation(r);
    expect(es.deployment).toMatchObject({ backend: 'vllm', dtype: 'bf16', kvDtype: 'bf16', mode: 'agg', agg: { tp: 1, ep: 1, replicas: 2, limits: { maxBatch: 256, maxNumTokens: 8192 } } });
    const cfg = resolveSimConfig(es.config);
    expect(cfg.agg.maxNumSeqs).toBe(256);
    expect(cfg.agg.maxBatchedTokens).toBe(8192);
    expect(cfg.agg.step).toEqual({}); // parametric knobs do not apply
    const cluster = new SimCluster(cfg, es.stepModels);
    try {
      const model = es.stepModels('agg', cfg.agg);
      // every worker holds the KV the estimator's memory plan leaves
      for (const w of cluster.workers) expect(w.capacityTokens).toBe(Math.floor(model.kvCapacityTokens / 16) * 16);
      const batch = { prefillTokens: 0, prefillSeqs: 0, decodeSeqs: 1, decodeContextTokens: 576, prefillContextTokens: 0 };
      // a decode step at batch 1 is the estimate's ITL at concurrency 1
      expect(model.stepMs(batch)).toBeCloseTo(es.estimate({ isl: 512, osl: 128 }, 1).itlMs, 6);
    } finally {
      cluster.stop();
    }
  });

  it('takes max-num-seqs from the backend default when the recipe leaves it unset', () => {
    const r = resolve('llama-3.1-8b/vllm/h100-sxm', ['backend.args.max-num-seqs=64']);
    expect(resolveSimConfig(estimatorSimulation(r).config).agg.maxNumSeqs).toBe(64);
    const bare = structuredClone(r);
    delete bare.recipe.backend.args['max-num-seqs'];
    delete bare.recipe.backend.args['max-num-batched-tokens'];
    const cfg = resolveSimConfig(estimatorSimulation(bare).config);
    expect(cfg.agg.maxNumSeqs).toBe(defaultCalibration.backends.vllm.limits.maxBatch);
    expect(cfg.agg.maxBatchedTokens).toBe(defaultCalibration.backends.vllm.limits.maxNumTokens);
    expect(recipeDeployment(bare).agg!.limits).toEqual({});
  });

  it('maps a disaggregated recipe: prefill and decode models, KV link as the estimator assumes', () => {
    const r = resolve('llama-3.3-70b/vllm/h200-sxm');
    const es = estimatorSimulation(r);
    const cfg = resolveSimConfig(es.config);
    expect(cfg.mode).toBe('disagg');
    const t = r.recipe.topology;
    expect(es.deployment.prefill!.tp).toBe(t.prefill!.tp);
    expect(es.deployment.decode!.tp).toBe(t.decode!.tp);
    const p = es.stepModels('prefill', cfg.prefill);
    const d = es.stepModels('decode', cfg.decode);
    expect(p.kvBytesPerToken).toBe(d.kvBytesPerToken);
    expect(cfg.transfer.latencyMs).toBe(0);
    // one node of H200s: KV moves over NVLink
    expect(cfg.transfer.bandwidthGBs).toBe(r.gpu.interconnect.bandwidthGBs * Math.min(t.prefill!.tp, t.decode!.tp));
    expect(es.estimate({ isl: 512, osl: 128 }, 8).fits).toBe(true);
  });
});

describe('steady-state throughput of a closed loop', () => {
  const rec = (warmup: boolean, sent: number, chunks: number[]): RequestRecord =>
    ({ warmup, sent_ms: sent, chunk_ms: chunks, chunk_tokens: chunks.map(() => 1) }) as unknown as RequestRecord;
  it('counts tokens between the first measured send and the last send only', () => {
    // two slots: warmup requests flow into measured ones; the drain after the last send is excluded
    const records = [rec(true, 0, [10, 20, 30]), rec(false, 30, [10, 20, 30]), rec(true, 5, [10, 20, 30]), rec(false, 35, [10, 20, 30]), rec(false, 60, [10, 20, 30])];
    // window (30, 60]: tokens at 35 (warmup), 40, 45, 50, 55, 60 → 6 per 30 ms; 65 and later are the drain
    expect(steadyOutputThroughput(records)).toBeCloseTo((6 * 1000) / 30, 6);
    expect(steadyOutputThroughput([rec(true, 0, [1])])).toBe(0);
  });
});

// The Must-show check: the harness against the simulator lands within 10 % of the estimate. Speedup 1, so the
// client's few ms of loopback time are not magnified (see agreement.ts).
describe('harness against the estimator-driven simulator', () => {
  it('lands within 10 % of the estimate at concurrency 1, 8 and 32 (Llama-3.1-8B, vLLM, 2× H100, ISL 512 / OSL 128)', async () => {
    const r = resolve('llama-3.1-8b/vllm/h100-sxm');
    const points = await measureAgreement({ resolved: r, workload: { isl: 512, osl: 128 }, concurrencies: [1, 8, 32], speedup: 1, rounds: 3 });
    expect(points.map((p) => p.concurrency)).toEqual([1, 8, 32]);
    for (const p of points) {
      const ctx = JSON.stringify(p);
      for (const k of ['ttftMs', 'itlMs', 'tpotMs', 'outputTokensPerSecond'] as const) {
        expect(Math.abs(p.deviation[k]), `${k} at concurrency ${p.concurrency}: ${ctx}`).toBeLessThan(0.1);
      }
      expect(p.requests).toBeGreaterThanOrEqual(4);
    }
    // the levels really differ: batching raises throughput ~20× while ITL grows a little
    expect(points[2]!.measured.outputTokensPerSecond).toBeGreaterThan(15 * points[0]!.measured.outputTokensPerSecond);
    expect(points[2]!.measured.itlMs).toBeGreaterThan(points[0]!.measured.itlMs);
  }, 120_000);
});


// A one-shot burst beyond the batch cap (every client sends once, all at once): the engine drains it as a train of
// waves, each repeating the first wave's prefill cascade one request lifetime after the one before (serve.ts). The
// simulator steps with the estimator's own step model and schedules like vLLM (decodes first, chunks fill the budget,
// FIFO admission up to max-num-seqs), so it checks the queueing, not the step times.
describe('a burst beyond the batch cap against the estimator-driven simulator', () => {
  const cases = [
    { cap: 16, n: 64, isl: 512, osl: 32 },
    { cap: 64, n: 160, isl: 1024, osl: 128 },
  ];
  it.each(cases)('max-num-seqs $cap, $n requests sent at once, ISL $isl / OSL $osl: TTFT and TPOT means within 12 %', async ({ cap, n, isl, osl }) => {
    const r = resolve('llama-3.1-8b/vllm/h100-sxm', [`backend.args.max-num-seqs=${cap}`, 'topology.agg.replicas=1', 'backend.args.enable-prefix-caching=false']);
    const es = estimatorSimulation(r);
    const config = resolveSimConfig({ ...es.config, speedup: 1, seed: 1 });
    const sim = await startSimulator(config, { port: 0, stepModels: es.stepModels });
    try {
      const tokenizer = await loadTokenizer('o200k_base');
      // warm the HTTP path first, so JIT time stays out of the burst
      await runBenchmark({ endpoint: sim.url, api: 'completions', model: config.model.name, load: { mode: 'concurrency', concurrency: 1 }, requests: 2, workload: { isl, osl: 2, seed: 99 }, tokenizer });
      const run = await runBenchmark({ endpoint: sim.url, api: 'completions', model: config.model.name, load: { mode: 'concurrency', concurrency: n }, requests: n, workload: { isl, osl, seed: 5 }, tokenizer });
      const ok = run.records.filter((x) => x.ok);
      expect(ok.length).toBe(n);
      const ttft = ok.reduce((a, x) => a + x.ttft_ms!, 0) / n;
      const est = es.estimate({ isl, osl, arrival: 'burst', requestsPerSlot: 1 }, n);
      expect(est.maxBatch).toBeGreaterThanOrEqual(cap);
      // the simulator models the engine, not the API server's request handling
      const engineTtft = est.ttftMs - est.requestMs;
      expect(Math.abs(ttft / engineTtft - 1), `TTFT ${ttft} vs ${engineTtft}`).toBeLessThan(0.12);
      expect(Math.abs(run.summary.tpot!.mean / est.tpotMs - 1), `TPOT ${run.summary.tpot!.mean} vs ${est.tpotMs}`).toBeLessThan(0.12);
      // the drain really queues: the mean is over twice what the same burst of only `cap` clients sees
      const alone = es.estimate({ isl, osl, arrival: 'burst', requestsPerSlot: 1 }, cap);
      expect(ttft).toBeGreaterThan(2 * (alone.ttftMs - alone.requestMs));
    } finally {
      await sim.close();
    }
  }, 120_000);
});
