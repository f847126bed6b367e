import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { kubeconfigFor, startFakeApiServer } from '@llm-recipes/cluster/testing';
import { alive, runCli } from '../testing.ts';

// `recipes profile` end to end in a temporary copy of the repository (auto-apply writes a variant into the recipe):
// rapid on the estimator, thorough on simulator processes measured with the project harness.

const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const ROOT = mkdtempSync(join(tmpdir(), 'profile-e2e-'));
cpSync(join(REPO, 'recipes'), join(ROOT, 'recipes'), { recursive: true });
cpSync(join(REPO, 'schemas'), join(ROOT, 'schemas'), { recursive: true });
const RECIPE = 'qwen3-0.6b/vllm/l40s';
const pids: number[] = [];

afterAll(() => {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(ROOT, { recursive: true, force: true });
});

const run = (argv: string[]) => runCli(argv, ROOT);
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const phases = (dir: string): string[] => readJson(join(dir, 'status.json')).history.map((h: { phase: string; subPhase: string }) => `${h.phase}/${h.subPhase}`);

describe('recipes profile --strategy rapid', () => {
  it('ends Ready with the Pareto front, top-N with evidence, why the others lost, the selection and reports', async () => {
    const dir = join(ROOT, 'results/rapid');
    const r = await run(['profile', RECIPE, '--strategy', 'rapid', '--out', dir, '--sla', 'ttft=100,itl=15']);
    expect(r.code, r.err).toBe(0);
    expect(phases(dir)).toEqual(['Pending/Initializing', 'Profiling/SelectingConfig', 'Ready/Reporting', 'Ready/Done']);
    const res = readJson(join(dir, 'results.json'));
    expect(res.experiment.strategy).toBe('rapid');
    expect(res.points.every((p: { source: string }) => p.source === 'estimated')).toBe(true);
    expect(res.pareto.length).toBeGreaterThan(1);
    expect(res.selected.config).toMatch(/^vllm (agg|disagg) /);
    const sel = res.points.find((p: { id: string }) => p.id === res.selected.pointId);
    expect(sel.meetsSla).toBe(true);
    expect(res.top[0].evidence).toMatch(/estimate: TTFT [\d.]+ ms/);
    expect(res.others.length).toBeGreaterThan(0);
    for (const o of res.others) expect(o.reason).not.toBe('');
    expect(res.configs[0].dgdYaml).toContain('kind: DynamoGraphDeployment');
    expect(readJson(join(dir, 'selection.json')).selected.config).toBe(res.selected.config);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('rapid search');
    expect(r.out).toMatch(/Pareto front \(\d+; tokens\/s\/GPU vs tokens\/s\/user\)/);
    expect(r.out).toContain(`selected: ${res.selected.config}`);
  });

  it('--auto-apply writes the variant, renders it and deploys it (Deployed); a second write without --force fails GeneratingManifests', async () => {
    const dir = join(ROOT, 'results/rapid-apply');
    const r = await run(['profile', RECIPE, '--strategy', 'rapid', '--mode', 'agg', '--auto-apply', 'rapid-agg', '--out', dir, '--speedup', '10']);
    expect(r.code, r.err).toBe(0);
    const st = readJson(join(dir, 'status.json'));
    expect(st.phase).toBe('Deployed');
    expect(phases(dir)).toEqual(['Pending/Initializing', 'Profiling/SelectingConfig', 'Ready/Reporting', 'Ready/GeneratingManifests', 'Deploying/DeployingCandidate', 'Deployed/Done']);
    const recipe = readFileSync(join(ROOT, 'recipes', RECIPE, 'recipe.yaml'), 'utf8');
    expect(recipe).toMatch(/rapid-agg:/);
    expect(recipe).toContain('Written by recipes profile --strategy rapid');
    const docs = parseAllDocuments(readFileSync(join(dir, 'apply/manifests.yaml'), 'utf8')).map((d) => d.toJS());
    expect(docs.some((d) => d.kind === 'DynamoGraphDeployment')).toBe(true);
    // the selection is running: the simulator serves the model
    const state = readJson(join(dir, 'deploy/state.json'));
    pids.push(state.pid);
    const models = (await (await fetch(`${state.endpoint}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toContain('Qwen/Qwen3-0.6B');
    // and up's teardown step stops it
    const down = await run(['up', '--out', dir, '--step', 'teardown']);
    expect(down.code, down.err).toBe(0);
    expect(alive(state.pid)).toBe(false);

    const dir2 = join(ROOT, 'results/rapid-apply-again');
    const again = await run(['profile', RECIPE, '--strategy', 'rapid', '--mode', 'agg', '--auto-apply', 'rapid-agg', '--out', dir2]);
    expect(again.code).toBe(1);
    const st2 = readJson(join(dir2, 'status.json'));
    expect(st2.phase).toBe('Failed');
    expect(st2.reason).toBe('GeneratingManifestsFailed');
    expect(st2.message).toMatch(/already has a variant "rapid-agg"/);
    // earlier results are intact
    expect(readJson(join(dir2, 'results.json')).selected).not.toBeNull();
    expect(existsSync(join(dir2, 'report.md'))).toBe(true);
  }, 30_000);
});

describe('recipes profile --target cluster', () => {
  it('rapid --auto-apply applies the rendered variant server-side and ends Deployed once the DGD is Ready', async () => {
    const server = await startFakeApiServer({ token: 't', namespaces: ['llm-lab'], dgdReadyAfterGets: 2 });
    try {
      const kc = join(ROOT, 'kubeconfig');
      writeFileSync(kc, kubeconfigFor(server.url, 't', 'default'));
      const dir = join(ROOT, 'results/rapid-cluster');
      const r = await run(['profile', RECIPE, '--strategy', 'rapid', '--mode', 'agg', '--auto-apply', 'rapid-cluster', '--target', 'cluster', '--kubeconfig', kc, '--namespace', 'llm-lab', '--poll-interval', '0.02', '--out', dir]);
      expect(r.code, r.err).toBe(0);
      expect(phases(dir)).toEqual(['Pending/Initializing', 'Profiling/SelectingConfig', 'Ready/Reporting', 'Ready/GeneratingManifests', 'Deploying/DeployingCandidate', 'Deploying/WaitingReady', 'Deployed/Done']);
      const dgd = [...server.objects.values()].find((o) => o.kind === 'DynamoGraphDeployment')!;
      expect(dgd.metadata?.namespace).toBe('llm-lab');
      expect((dgd.status as { state: string }).state).toBe('successful');
      for (const c of server.calls.filter((x) => x.method === 'PATCH')) expect(c.contentType).toBe('application/apply-patch+yaml');
      expect(readJson(join(dir, 'deploy/state.json')).applied.length).toBe(server.calls.filter((x) => x.method === 'PATCH').length);
    } finally {
      await server.close();
    }
  }, 30_000);
});

describe('recipes profile --strategy thorough (local simulator)', () => {
  const args = (dir: string, extra: string[] = []) => ['profile', RECIPE, '--strategy', 'thorough', '--isl', '128', '--osl', '24', '--max-concurrency', '16', '--speedup', '2', '--out', dir, ...extra];

  it('sweeps prefill and decode per TP, composes agg and disagg candidates, selects, load-sweeps the selection; a re-run keeps every point', async () => {
    const dir = join(ROOT, 'results/thorough');
    const r = await run(args(dir, ['--sla', 'ttft=200,itl=20']));
    expect(r.code, r.err).toBe(0);
    expect(phases(dir)).toEqual(['Pending/Initializing', 'Profiling/SweepingPrefill', 'Profiling/SweepingDecode', 'Profiling/SelectingConfig', 'Profiling/SweepingLoad', 'Ready/Reporting', 'Ready/Done']);
    const res = readJson(join(dir, 'results.json'));
    const { prefill, decode, load } = res.sweeps;
    // the l40s recipe deploys 2 GPUs: TP 1 and 2 fit, each swept
    expect([...new Set(prefill.map((x: { tp: number }) => x.tp))]).toEqual([1, 2]);
    expect([...new Set(decode.map((x: { tp: number }) => x.tp))]).toEqual([1, 2]);
    expect(prefill.filter((x: { tp: number }) => x.tp === 1).map((x: { x: number }) => x.x)).toEqual([64, 128, 256]);
    for (const tp of [1, 2]) {
      const rows = decode.filter((x: { tp: number }) => x.tp === tp);
      // geometric steps; a stop (if any) ends the sweep
      expect(rows.map((x: { x: number }) => x.x)).toEqual([1, 2, 4, 8, 16].slice(0, rows.length));
      rows.slice(0, -1).forEach((x: { stop?: string }) => expect(x.stop).toBeUndefined());
      if (rows.length < 5) expect(rows.at(-1).stop).toBeTruthy();
      for (const row of rows) expect(existsSync(join(dir, row.id, 'records.jsonl'))).toBe(true);
    }
    expect(load.length).toBeGreaterThanOrEqual(2);
    // candidates of both modes, measured and composed, each with evidence
    expect(res.points.some((p: { config: string }) => / agg /.test(p.config))).toBe(true);
    const composed = res.points.filter((p: { source: string }) => p.source === 'composed');
    expect(composed.length).toBeGreaterThan(0);
    for (const p of composed) expect(p.evidence).toMatch(/prefill tp\d: TTFT [\d.]+ ms at ISL 128 .* ratio [\d.]+ prefill per decode replica/);
    expect(res.pareto.length).toBeGreaterThan(0);
    const sel = res.points.find((p: { id: string }) => p.id === res.selected.pointId);
    expect(sel.meetsSla).toBe(true);
    expect(sel.id).toContain('/load/');
    expect(res.selected.reason).toMatch(/verified by the load sweep/);
    expect(res.configs[0].dgdYaml).toContain('kind: DynamoGraphDeployment');
    for (const f of ['sweeps/prefill.json', 'sweeps/decode.json', 'sweeps/load.json', 'sweeps/candidates.json', 'pareto.json', 'selection.json']) expect(existsSync(join(dir, f)), f).toBe(true);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('## Sweeps');
    expect(md).toContain('load (x = concurrency)');
    expect(r.out).toContain('selected: ');

    const before = readJson(join(dir, 'results.json'));
    const again = await run(args(dir, ['--sla', 'ttft=200,itl=20']));
    expect(again.code, again.err).toBe(0);
    const kept = (again.err.match(/\(kept\)/g) ?? []).length;
    expect(kept).toBe(prefill.length + decode.length);
    expect(readJson(join(dir, 'results.json')).sweeps.decode).toEqual(before.sweeps.decode);
  }, 60_000);

  it('stops each decode sweep at the first point past the ITL bound and reports the closest config, flagged', async () => {
    const dir = join(ROOT, 'results/thorough-tight');
    const r = await run(args(dir, ['--mode', 'agg', '--sla', 'ttft=200,itl=0.05']));
    expect(r.code).toBe(1);
    const res = readJson(join(dir, 'results.json'));
    for (const tp of [1, 2]) {
      const rows = res.sweeps.decode.filter((x: { tp: number }) => x.tp === tp);
      expect(rows).toHaveLength(1);
      expect(rows[0].stop).toMatch(/ITL [\d.]+ ms > SLA 0.05 ms at concurrency 1/);
    }
    expect(res.points.every((p: { config: string }) => / agg /.test(p.config))).toBe(true);
    expect(res.selected.reason).toMatch(/SLA unverified/);
    expect(readJson(join(dir, 'status.json')).phase).toBe('Ready');
  }, 60_000);
});
