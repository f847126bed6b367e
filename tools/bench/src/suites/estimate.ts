import { readFileSync } from 'node:fs';
import {
  accuracyTable,
  defaultCalibration,
  estimate,
  parseCsv,
  publishedCsvUrl,
  publishedCases,
  referenceGpu,
  referenceModels,
  search,
  splitOf,
  type SearchInput,
} from '@llm-recipes/estimate';
import { measureAgreement } from '@llm-recipes/estimate/agreement';
import { loadWorkspace, resolveRecipe } from '@llm-recipes/recipe';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchSuite } from '../types.ts';

const arch = (id: string) => referenceModels.find((m) => m.id === id)!.architecture;

function timeSearch(input: SearchInput): { ms: number; configs: number; points: number } {
  search(input); // warm the JIT once; the measured run is the second
  const t0 = performance.now();
  const r = search(input);
  return { ms: performance.now() - t0, configs: r.configs, points: r.points };
}

export const estimateSuite: BenchSuite = {
  name: 'estimate',
  async run(): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    const seed = { workload: { isl: 512, osl: 128 }, sla: { ttftMs: 100, itlMs: 15 }, calibration: defaultCalibration, backends: ['trtllm', 'vllm', 'sglang'] as const };
    const cases: [string, SearchInput][] = [
      ['search Llama-3.3-70B on 8×H100 (backend any, agg+disagg)', { ...seed, backends: [...seed.backends], arch: arch('llama-3.3-70b'), gpu: referenceGpu('h100_sxm'), gpuBudget: 8, dtype: 'fp8' }],
      ['search DeepSeek-R1 on 16×H200 (backend any, agg+disagg)', { ...seed, backends: [...seed.backends], arch: arch('deepseek-r1'), gpu: referenceGpu('h200_sxm'), gpuBudget: 16, dtype: 'fp8' }],
    ];
    for (const [metric, input] of cases) {
      const t = timeSearch(input);
      rows.push({ suite: 'estimate', metric, value: Math.round(t.ms), unit: 'ms', target: '< 1000 ms (AIC: 5–30 s)', ok: t.ms < 1000, note: `${t.configs} configs, ${t.points} points` });
    }

    // Point queries: the per-query cost of `recipes estimate --batch`.
    const n = 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      estimate({
        arch: arch('qwen3-32b'),
        gpu: referenceGpu('h100_sxm'),
        deployment: { backend: 'vllm', dtype: 'fp8', mode: i % 2 ? 'agg' : 'disagg', agg: { tp: 2, ep: 1, replicas: 2 }, prefill: { tp: 2, ep: 1, replicas: 1 }, decode: { tp: 2, ep: 1, replicas: 1 } },
        workload: { isl: 512 + (i % 7) * 100, osl: 128 },
        concurrency: 1 + (i % 64),
        calibration: defaultCalibration,
      });
    }
    const perQuery = ((performance.now() - t0) / n) * 1000;
    rows.push({ suite: 'estimate', metric: 'point query (agg/disagg, in process)', value: Math.round(perQuery), unit: 'µs', target: '< 1000 µs', ok: perQuery < 1000 });

    // Accuracy on the held-back half of the published set (the calibration never saw these rows).
    const csv = readFileSync(publishedCsvUrl, 'utf8');
    const { cases: all, skipped } = publishedCases(parseCsv(csv));
    const test = all.filter((c) => splitOf(c.key) === 'test');
    const acc = accuracyTable(test, defaultCalibration);
    for (const g of acc.groups) {
      const w = g.worst!;
      rows.push({
        suite: 'estimate',
        metric: `MAPE ${g.group}`,
        value: Number(g.mapePct.toFixed(1)),
        unit: '%',
        target: '≤ 15 %',
        ok: g.mapePct <= 15,
        note: `${g.rows} held-back row${g.rows === 1 ? '' : 's'}; worst ${w.errorPct >= 0 ? '+' : ''}${w.errorPct.toFixed(0)} %`,
      });
    }
    rows.push({ suite: 'estimate', metric: 'MAPE overall (held-back half)', value: Number(acc.overall.mapePct.toFixed(1)), unit: '%', target: '≤ 15 %', ok: acc.overall.mapePct <= 15, note: `${acc.overall.rows} rows; ${skipped.length} published rows not reproducible (see docs/estimator.md)` });
    const weak = acc.groups.filter((g) => g.mapePct > 15).map((g) => g.group);
    rows.push({ suite: 'estimate', metric: 'weak groups (> 15 % MAPE)', value: weak.length, unit: 'groups', note: weak.join('; ') || 'none' });

    // The simulator stepping with the estimator, measured by the harness (speedup 1), against the estimate.
    const recipeId = 'llama-3.1-8b/vllm/h100-sxm';
    const ws = loadWorkspace(fileURLToPath(new URL('../../../..', import.meta.url)));
    const { resolved, issues } = resolveRecipe(ws, { recipe: recipeId });
    if (!resolved) throw new Error(`${recipeId}: ${issues.map((i) => i.message).join('; ')}`);
    const points = await measureAgreement({ resolved, workload: { isl: 512, osl: 128 }, concurrencies: [1, 8, 32], speedup: 1 });
    const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
    for (const p of points) {
      const d = p.deviation;
      const worst = Math.max(...Object.values(d).map(Math.abs));
      rows.push({
        suite: 'estimate',
        metric: `sim vs estimate, ${recipeId} ISL 512/OSL 128, concurrency ${p.concurrency} (worst deviation)`,
        value: Number((worst * 100).toFixed(1)),
        unit: '%',
        target: '≤ 10 %',
        ok: worst <= 0.1,
        note:
          `TTFT ${p.measured.ttftMs.toFixed(1)} vs ${p.clientTtftMs.toFixed(1)} ms (${pct(d.ttftMs)}; expected = estimate ${p.estimate.ttftMs.toFixed(1)} + max(0, loopback ${p.transportMs.toFixed(1)} − running step) ms), ` +
          `ITL ${p.measured.itlMs.toFixed(2)} vs ${p.estimate.itlMs.toFixed(2)} ms (${pct(d.itlMs)}), TPOT ${pct(d.tpotMs)}, ` +
          `output ${p.measured.outputTokensPerSecond.toFixed(0)} vs ${p.estimate.outputTokensPerSecond.toFixed(0)} tok/s (${pct(d.outputTokensPerSecond)}); ${p.requests} requests`,
      });
    }
    return rows;
  },
};
