import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { BenchRow, BenchSuite } from '../types.ts';

/**
 * Wall time of the experiment loop as a user runs it (`recipes …` as a process, start-up included) on the local
 * simulator: the `recipes up` quickstart, a rapid profile (the estimator) and a thorough profile (prefill, decode and
 * load sweeps on simulator processes, the size the end-to-end test uses).
 */
const SUITE = 'profile';
const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const BIN = join(ROOT, 'tools/cli/src/bin.ts');

async function timed(args: string[]): Promise<{ s: number; ok: boolean; out: string }> {
  const t0 = performance.now();
  const r = await execa(process.execPath, [BIN, ...args], { cwd: ROOT, reject: false, timeout: 120_000 });
  return { s: (performance.now() - t0) / 1000, ok: r.exitCode === 0, out: `${r.stdout}\n${r.stderr}` };
}

export const profileSuite: BenchSuite = {
  name: SUITE,
  async run(): Promise<BenchRow[]> {
    const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
    const rows: BenchRow[] = [];
    try {
      const up = await timed(['up', 'qwen3-0.6b', '--backend', 'vllm', '--isl-osl', '256x64', '--concurrency', '1,4,16', '--requests', '12', '--out', join(dir, 'up')]);
      rows.push({ suite: SUITE, metric: 'recipes up quickstart (3 points, simulator ×10) wall', value: Number(up.s.toFixed(2)), unit: 's', target: '< 10 s', ok: up.ok && up.s < 10, note: up.ok ? 'render → deploy → wait → benchmark → collect → report → teardown' : up.out.slice(-300) });

      const rapid = await timed(['profile', 'qwen3-0.6b/vllm/l40s', '--strategy', 'rapid', '--out', join(dir, 'rapid')]);
      rows.push({ suite: SUITE, metric: 'recipes profile --strategy rapid wall', value: Number(rapid.s.toFixed(2)), unit: 's', target: '< 5 s (DGDR rapid: ~30 s)', ok: rapid.ok && rapid.s < 5, note: rapid.ok ? 'estimator search, Pareto, top-N, reports' : rapid.out.slice(-300) });

      const out = join(dir, 'thorough');
      const th = await timed(['profile', 'qwen3-0.6b/vllm/l40s', '--strategy', 'thorough', '--isl', '128', '--osl', '24', '--max-concurrency', '16', '--speedup', '2', '--sla', 'ttft=200,itl=20', '--out', out]);
      let note = th.out.slice(-300);
      if (th.ok) {
        const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { sweeps: { prefill: unknown[]; decode: unknown[]; load: unknown[] } };
        note = `${r.sweeps.prefill.length} prefill + ${r.sweeps.decode.length} decode + ${r.sweeps.load.length} load points on ${2 + 1} simulator processes, ISL 128 / OSL 24`;
      }
      rows.push({ suite: SUITE, metric: 'recipes profile --strategy thorough (qwen3-0.6b, 2 GPUs) wall', value: Number(th.s.toFixed(2)), unit: 's', target: '< 30 s', ok: th.ok && th.s < 30, note });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  },
};
