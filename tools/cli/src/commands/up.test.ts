import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../index.ts';
import { alive, captureIo, type CapturedIo } from '../testing.ts';

// End to end on the simulator: `recipes up` as a user runs it (in-process through main(), and as a child process that
// is SIGKILLed mid-benchmark and re-run).

const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const BIN = join(ROOT, 'tools/cli/src/bin.ts');
const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'up-e2e-'));
  dirs.push(d);
  return d;
};

const io = (): CapturedIo => captureIo(ROOT);

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const simPid = (dir: string): number | undefined => (existsSync(join(dir, 'deploy/state.json')) ? readJson(join(dir, 'deploy/state.json')).pid : undefined);

afterAll(() => {
  for (const d of dirs) {
    const pid = simPid(d);
    if (alive(pid)) process.kill(pid!, 'SIGKILL');
    rmSync(d, { recursive: true, force: true });
  }
});

const SMALL = ['--isl-osl', '128x32', '--requests', '8', '--warmup', '1', '--speedup', '10'];

describe('recipes up (local simulator)', () => {
  it('runs every step and writes results, a Pareto front and both reports', async () => {
    const out = join(tmp(), 'exp');
    const o = io();
    const code = await main(['up', 'qwen3-0.6b', '--backend', 'vllm', '--out', out, '--concurrency', '1,4', '--gpu-price', '2', ...SMALL], o);
    expect(o.err).toContain('Benchmarking');
    expect([0, 1]).toContain(code);
    const status = readJson(join(out, 'status.json'));
    expect(status.phase).toBe('Ready');
    expect(status.subPhase).toBe('Done');
    for (const s of ['prepare', 'deploy', 'wait-ready', 'benchmark', 'collect', 'report', 'teardown']) expect(status.steps[s].state).toBe('done');
    const phases = status.history.map((h: { phase: string; subPhase: string }) => `${h.phase}/${h.subPhase}`);
    expect(phases).toEqual(expect.arrayContaining(['Pending/GeneratingManifests', 'Profiling/Benchmarking', 'Profiling/SelectingConfig', 'Ready/Reporting', 'Ready/Done']));
    const results = readJson(join(out, 'results.json'));
    expect(results.points).toHaveLength(2);
    expect(results.pareto.length).toBeGreaterThan(0);
    expect(results.configs[0].dgdYaml).toContain('kind: DynamoGraphDeployment');
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('## Pareto front');
    expect(md).toContain('xychart-beta');
    expect(md).toMatch(/\$[\d.]+ per million output tokens/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('id="pareto-chart"');
    expect(o.out).toContain(`report: ${join(out, 'report.html')}`);
    // teardown stopped the simulator
    expect(alive(simPid(out))).toBe(false);
  }, 60_000);

  it('resumes after SIGKILL mid-benchmark without redoing finished points', async () => {
    const out = join(tmp(), 'exp');
    const args = [BIN, 'up', 'qwen3-0.6b/vllm/l40s', '--out', out, '--concurrency', '1,2,4,8', '--isl-osl', '128x48', '--requests', '10', '--warmup', '0', '--speedup', '4'];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    const pointsDir = join(out, 'bench/points');
    const doneIds = (): string[] =>
      existsSync(pointsDir) ? readdirSync(pointsDir).filter((id) => existsSync(join(pointsDir, id, 'status.json')) && readJson(join(pointsDir, id, 'status.json')).state === 'done') : [];
    const deadline = Date.now() + 40_000;
    while (doneIds().length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const finished = doneIds();
    expect(finished.length).toBeGreaterThanOrEqual(1);
    expect(finished.length).toBeLessThan(4);
    const before = Object.fromEntries(finished.map((id) => [id, { status: readFileSync(join(pointsDir, id, 'status.json'), 'utf8'), mtime: statSync(join(pointsDir, id, 'records.jsonl')).mtimeMs }]));
    expect(readJson(join(out, 'status.json')).phase).toBe('Profiling');

    const o = io();
    await main(args.slice(1), o);
    if (readJson(join(out, 'status.json')).phase !== 'Ready') console.log(o.out, o.err);
    const status = readJson(join(out, 'status.json'));
    expect(status.phase).toBe('Ready');
    expect(doneIds()).toHaveLength(4);
    for (const id of finished) {
      // untouched: same commit marker and the records file was not rewritten
      expect(readFileSync(join(pointsDir, id, 'status.json'), 'utf8')).toBe(before[id]!.status);
      expect(statSync(join(pointsDir, id, 'records.jsonl')).mtimeMs).toBe(before[id]!.mtime);
    }
    expect(o.err).toMatch(/kept|done/);
    expect(readJson(join(out, 'results.json')).points).toHaveLength(4);
  }, 90_000);

  it('a failing step marks the experiment Failed with the reason and keeps earlier results', async () => {
    const out = join(tmp(), 'exp');
    const o = io();
    // a tiny memory share leaves ~5.5k tokens of KV per worker: the 6000-token prompts are rejected (400)
    const code = await main(['up', 'qwen3-0.6b/vllm/l40s', '--out', out, '--set', 'backend.args.gpu-memory-utilization=0.1', '--isl-osl', '128x32,6000x32', '--concurrency', '2', '--requests', '6', '--warmup', '0', '--speedup', '10'], o);
    expect(code).toBe(1);
    const status = readJson(join(out, 'status.json'));
    expect(status.phase).toBe('Failed');
    expect(status.reason).toBe('BenchmarkingFailed');
    expect(status.message).toContain('isl6000-osl32-c2');
    expect(status.steps.prepare.state).toBe('done');
    expect(status.steps['wait-ready'].state).toBe('done');
    expect(status.steps.benchmark.state).toBe('failed');
    expect(readJson(join(out, 'bench/points/isl128-osl32-c2/status.json')).state).toBe('done');
    expect(existsSync(join(out, 'bench/points/isl128-osl32-c2/records.jsonl'))).toBe(true);
    expect(alive(simPid(out))).toBe(false);
    expect(o.err).toContain('BenchmarkingFailed');
  }, 60_000);

  it('runs steps alone against the experiment directory', async () => {
    const out = join(tmp(), 'exp');
    let o = io();
    await main(['up', 'qwen3-0.6b/vllm/l40s', '--out', out, '--step', 'prepare', ...SMALL, '--concurrency', '2'], o);
    let st = readJson(join(out, 'status.json'));
    expect(st.steps.prepare.state).toBe('done');
    expect(st.steps.deploy.state).toBe('pending');
    expect(readFileSync(join(out, 'prepare/dgd.yaml'), 'utf8')).toContain('DynamoGraphDeployment');
    o = io();
    const code = await main(['up', '--out', out, '--step', 'benchmark'], o);
    expect(code).toBe(1);
    expect(readJson(join(out, 'status.json')).message).toMatch(/no ready endpoint|deploy/);
    o = io();
    await main(['up', '--out', out, '--step', 'deploy,wait-ready,benchmark,collect,report,teardown'], o);
    st = readJson(join(out, 'status.json'));
    expect(st.steps.report.state).toBe('done');
    expect(existsSync(join(out, 'report.md'))).toBe(true);
    expect(alive(simPid(out))).toBe(false);
  }, 60_000);
});
