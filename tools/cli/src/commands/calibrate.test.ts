import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { estimatorSimulation, parseCorrection } from '@llm-recipes/estimate';
import { loadWorkspace, resolveRecipe } from '@llm-recipes/recipe';
import { resolveSimConfig, startSimulator } from '@llm-recipes/sim';
import { runCli, tempDirs } from '../testing.ts';

// End to end: the simulator steps with the estimator's own model, slowed down by a known factor; the real harness
// (`recipes bench --out`) measures it into experiment directories; `recipes calibrate` refits the corrections from
// them. A slowed engine must move the estimate towards what was measured by that factor, an unslowed one must leave
// the corrections near 1.

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const tmp = tempDirs('cli-calibrate-');
const RECIPE = 'llama-3.1-8b/vllm/h100-sxm';

interface RunOut {
  gpu: string;
  backend: string;
  computeScale: number;
  memoryScale: number;
  overheadScale: number;
  points: number;
  before: { ttftPct: number; tpotPct: number };
  after: { ttftPct: number; tpotPct: number };
  file: string | null;
  perPoint: { concurrency: number; measured: { ttftMs: number; tpotMs: number }; before: { ttftMs: number; tpotMs: number }; after: { ttftMs: number; tpotMs: number } }[];
}

/** Benchmarks the recipe's simulator (estimator step model × slowdown) into a fresh experiment directory. */
async function measure(slowdown: number): Promise<string> {
  const { resolved } = resolveRecipe(loadWorkspace(repoRoot), { recipe: RECIPE });
  const es = estimatorSimulation(resolved!);
  // the levels of one run reuse the same seeded prompts, which a prefix cache would serve without prefill; the
  // estimator models distinct prompts (as synthetic benchmarks send), so the cache is off here
  const config = resolveSimConfig({ ...es.config, agg: { ...es.config.agg, prefixCaching: false }, speedup: 1, slowdown, seed: 3 });
  const sim = await startSimulator(config, { port: 0, stepModels: es.stepModels });
  const dir = tmp();
  try {
    const r = await runCli(
      ['bench', '--endpoint', sim.url, '--recipe', `recipes/${RECIPE}`, '--api', 'completions', '--matrix-isl-osl', '512x32', '--concurrencies', '1,4,8', '--requests', '24', '--warmup', '0', '--out', dir],
      repoRoot,
    );
    expect(r.code, r.err).toBe(0);
  } finally {
    await sim.close();
  }
  return dir;
}

async function calibrate(dirs: string[], write: string): Promise<RunOut[]> {
  const r = await runCli(['calibrate', '--from', ...dirs, '--write', write, '--json'], repoRoot);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as RunOut[];
}

/** The overall time scale a correction applies (geometric mean of its three scales). */
const overall = (c: RunOut): number => Math.cbrt(c.computeScale * c.memoryScale * c.overheadScale);

describe('recipes calibrate', () => {
  it('refits the GPU × backend corrections from simulator runs: ×1.5 slower moves the estimate ×1.5, ×1 leaves it', { timeout: 120_000 }, async () => {
    const base = await measure(1);
    const slow = await measure(1.5);
    const outBase = tmp();
    const outSlow = tmp();

    const [b] = await calibrate([base], outBase);
    expect(b!.gpu).toBe('h100_sxm');
    expect(b!.backend).toBe('vllm');
    expect(b!.points).toBe(3);
    // the simulator runs the estimator's own step model: unslowed, the estimate already matches (within the timing
    // noise of a shared 2-core machine, where the simulator's steps fire late) and the corrections stay near 1
    // (TTFT differs more: the estimate counts the API server's request handling, which the simulator does not model)
    expect(b!.before.tpotPct).toBeLessThan(15);
    for (const x of [b!.computeScale, b!.memoryScale, b!.overheadScale]) {
      expect(x, JSON.stringify(b)).toBeGreaterThan(0.7);
      expect(x, JSON.stringify(b)).toBeLessThan(1.35);
    }
    for (const p of b!.perPoint) {
      expect(p.after.tpotMs / p.before.tpotMs).toBeGreaterThan(0.85);
      expect(p.after.tpotMs / p.before.tpotMs).toBeLessThan(1.2);
    }

    const [s] = await calibrate([slow], outSlow);
    // before: the estimate reads the ×1.5 engine a third too fast; after: within 10 %
    expect(s!.before.tpotPct).toBeGreaterThan(25);
    expect(s!.after.tpotPct).toBeLessThan(10);
    // TTFT keeps a fixed gap the refit cannot close: the estimate counts the API server's request handling (fitted on
    // published vLLM runs at ~13 ms a request), which the simulator does not model; the refit must not widen it
    expect(s!.after.ttftPct).toBeLessThan(s!.before.ttftPct + 2);
    // every term moved up, and the refit estimate moves by the slowdown (which terms carry it is the prior's call:
    // a uniform slowdown does not tell compute from memory from fixed costs)
    for (const x of [s!.computeScale, s!.memoryScale, s!.overheadScale]) expect(x).toBeGreaterThan(0.95);
    expect(overall(s!)).toBeGreaterThan(overall(b!) * 1.2);
    for (const p of s!.perPoint) {
      expect(p.after.tpotMs / p.before.tpotMs).toBeGreaterThan(1.35);
      expect(p.after.tpotMs / p.before.tpotMs).toBeLessThan(1.7);
    }

    // the correction is committed data the estimator loads: `recipes estimate` in a workspace holding it answers ×1.5
    const file = join(outSlow, 'h100_sxm-vllm.json');
    expect(s!.file).toBe(file);
    const c = parseCorrection(readFileSync(file, 'utf8'), file);
    expect(c.computeScale).toBeCloseTo(s!.computeScale, 4);
    const ws = tmp();
    mkdirSync(join(ws, 'recipes'));
    const q = ['estimate', '--model', 'llama-3.1-8b', '--gpu', 'h100_sxm', '--backend', 'vllm', '--dtype', 'bf16', '--isl', '512', '--osl', '32', '--concurrency', '4', '--json'];
    const plain = JSON.parse((await runCli(q, ws)).out) as { tpotMs: number; band: { basis: { tpot: string } } };
    mkdirSync(join(ws, 'calibration'));
    cpSync(file, join(ws, 'calibration', 'h100_sxm-vllm.json'));
    const corrected = JSON.parse((await runCli(q, ws)).out) as { tpotMs: number; band: { basis: { tpot: string } } };
    expect(corrected.tpotMs / plain.tpotMs).toBeGreaterThan(1.35);
    expect(corrected.tpotMs / plain.tpotMs).toBeLessThan(1.65);
    expect(corrected.band.basis.tpot).toBe('corrected');
  });

  it('reads a `recipes up` experiment: the benchmark under bench/, the resolved recipe under prepare/, simulated time scaled back', { timeout: 120_000 }, async () => {
    const out = join(tmp(), 'exp');
    const up = await runCli(['up', 'qwen3-0.6b/vllm/l40s', '--out', out, '--isl-osl', '128x32', '--concurrency', '1,4', '--requests', '8', '--warmup', '0', '--speedup', '10'], repoRoot);
    expect(up.code, up.err).toBe(0);
    const r = await runCli(['calibrate', '--from', out, '--dry-run', '--json'], repoRoot);
    expect(r.code, r.err).toBe(0);
    const [c] = JSON.parse(r.out) as RunOut[];
    expect(c!.gpu).toBe('l40s');
    expect(c!.backend).toBe('vllm');
    expect(c!.points).toBe(2);
    expect(c!.file).toBeNull();
    // the simulator ran 10× faster than the hardware it models: calibrate compares the modelled hardware's times
    const summary = JSON.parse(readFileSync(join(out, 'bench', 'points', 'isl128-osl32-c4', 'summary.json'), 'utf8')) as { tpot: { mean: number } };
    const p4 = c!.perPoint.find((p) => p.concurrency === 4)!;
    expect(p4.measured.tpotMs).toBeCloseTo(summary.tpot.mean * 10, 6);
  });

  it('refuses nonsense, naming the file and field: a failed point, a directory that is no experiment, a run without a deployment', { timeout: 60_000 }, async () => {
    const dir = await measure(1);
    const failed = tmp();
    cpSync(dir, failed, { recursive: true });
    const statusFile = join(failed, 'points', 'isl512-osl32-c4', 'status.json');
    const st = JSON.parse(readFileSync(statusFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(statusFile, JSON.stringify({ ...st, state: 'failed', error: 'connection refused' }));
    const r1 = await runCli(['calibrate', '--from', failed, '--write', tmp(), '--json'], repoRoot);
    expect(r1.code).toBe(2);
    expect(r1.err).toContain('status.json');
    expect(r1.err).toContain('isl512-osl32-c4 is failed');
    expect(r1.err).toContain('state');

    const empty = tmp();
    const r2 = await runCli(['calibrate', '--from', empty], repoRoot);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain('no manifest.json');

    const bare = tmp();
    cpSync(dir, bare, { recursive: true });
    const mf = join(bare, 'manifest.json');
    const m = JSON.parse(readFileSync(mf, 'utf8')) as { inputs: Record<string, unknown> };
    m.inputs['recipe'] = null;
    writeFileSync(mf, JSON.stringify(m));
    const r3 = await runCli(['calibrate', '--from', bare], repoRoot);
    expect(r3.code).toBe(2);
    expect(r3.err).toContain('manifest.json');
    expect(r3.err).toContain('inputs.recipe');
    expect(r3.err).toContain('--model, --gpu, --backend');

    const r4 = await runCli(['calibrate', '--from', dir, '--gpu', 'b200_sxm'], repoRoot);
    expect(r4.code).toBe(2);
    expect(r4.err).toContain('runs on h100_sxm');
  });
});
