import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigFor, startFakeApiServer, type FakeApiServer } from '@llm-recipes/cluster/testing';
import type { KubeObject } from '@llm-recipes/cluster';
import { loadWorkspace, resolveRecipe } from '@llm-recipes/recipe';
import { simConfigFromRecipe, startSimulator, type RunningSimulator } from '@llm-recipes/sim';
import { main } from '../index.ts';
import { captureIo, type CapturedIo } from '../testing.ts';

// `recipes up --target cluster` end to end against a local server speaking the Kubernetes API (server-side apply,
// GET with status, pod logs, delete). The fake plays the operator (the DGD's status goes Ready after apply) and the
// benchmark Job's pod: it runs the Job's own container script — `recipes bench … --json` over the concurrencies — with
// the real CLI against a simulator of the recipe, so the results are real measurements. A kind cluster running the
// simulator image is the real-cluster check (docs/profiling.md).

const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const RECIPE = 'qwen3-0.6b/vllm/l40s';
const TOKEN = 'e2e-token';
const NS = 'llm-lab';
const tmp = mkdtempSync(join(tmpdir(), 'up-cluster-'));
let sim: RunningSimulator;

beforeAll(async () => {
  const ws = loadWorkspace(ROOT);
  const r = resolveRecipe(ws, { recipe: RECIPE }).resolved!;
  sim = await startSimulator({ ...simConfigFromRecipe(r), speedup: 1, seed: 0 }, { host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await sim?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const io = (): CapturedIo => captureIo(ROOT);

const podLogs: string[] = [];
const cliBin = fileURLToPath(new URL('../bin.ts', import.meta.url));

/**
 * The benchmark Job's pod: its container's own `sh -c SCRIPT` runs with the Job's env, `recipes` being this CLI —
 * the in-cluster frontend Service name resolves to the simulator (cluster DNS), /results is a volume in a temp dir.
 */
async function runPod(job: KubeObject): Promise<string> {
  const spec = (job['spec'] as { template: { spec: { containers: { command: string[]; env?: { name: string; value?: string }[] }[] } } }).template.spec;
  const c = spec.containers[0]!;
  if (!job.metadata?.labels?.['llm-recipes.io/benchmark']) return 'model download: weights present in the cache\n';
  expect(c.command.slice(0, 2)).toEqual(['sh', '-c']);
  const env = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  expect(env['ENDPOINT']).toMatch(/^http:\/\/[a-z0-9-]+-frontend:8000$/);
  expect(env['RESULTS']).toBe('/results');
  const bin = mkdtempSync(join(tmp, 'bin-'));
  writeFileSync(join(bin, 'recipes'), `#!/bin/sh\nexec "${process.execPath}" "${cliBin}" "$@"\n`);
  chmodSync(join(bin, 'recipes'), 0o755);
  const volume = mkdtempSync(join(tmp, 'results-'));
  const { code, out, err } = await new Promise<{ code: number; out: string; err: string }>((done) => {
    const child = spawn('sh', ['-c', c.command[2]!], {
      cwd: ROOT,
      env: { ...process.env, ...env, ENDPOINT: sim.url, RESULTS: volume, PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}` },
    });
    let o = '';
    let e = '';
    child.stdout.on('data', (d: Buffer) => (o += d.toString()));
    child.stderr.on('data', (d: Buffer) => (e += d.toString()));
    child.on('close', (k) => done({ code: k ?? -1, out: o, err: e }));
  });
  if (code !== 0) throw new Error(`benchmark script exited ${code}: ${err}`);
  podLogs.push(out);
  return out;
}

function kubeconfig(server: FakeApiServer): string {
  const p = join(mkdtempSync(join(tmp, 'kube-')), 'config');
  writeFileSync(p, kubeconfigFor(server.url, TOKEN, 'default'));
  return p;
}

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const UP = ['up', RECIPE, '--target', 'cluster', '--namespace', NS, '--isl-osl', '128x32', '--concurrency', '1,4', '--requests', '8', '--warmup', '1', '--poll-interval', '0.02'];

describe('recipes up --target cluster (API server on 127.0.0.1)', () => {
  it('applies server-side, waits for the DGD to be Ready, benchmarks in a Job, collects, reports and deletes everything it created', async () => {
    const server = await startFakeApiServer({ token: TOKEN, namespaces: [NS], dgdReadyAfterGets: 3, jobRunner: runPod });
    try {
      const out = join(tmp, 'exp');
      const o = io();
      const code = await main([...UP, '--kubeconfig', kubeconfig(server), '--out', out], o);
      expect(code, o.err).toBe(0);
      const status = readJson(join(out, 'status.json'));
      expect(status.phase).toBe('Ready');
      expect(status.subPhase).toBe('Done');
      expect(status.history.map((h: { phase: string; subPhase: string }) => `${h.phase}/${h.subPhase}`)).toEqual(
        expect.arrayContaining(['Pending/GeneratingManifests', 'Profiling/DeployingCandidate', 'Profiling/WaitingReady', 'Profiling/Benchmarking', 'Profiling/SelectingConfig', 'Ready/TearingDown', 'Ready/Done']),
      );

      // server-side apply of every workload object into the namespace
      const applies = server.calls.filter((c) => c.method === 'PATCH');
      expect(applies.length).toBeGreaterThanOrEqual(3);
      for (const a of applies) {
        expect(a.contentType).toBe('application/apply-patch+yaml');
        expect(a.query).toEqual({ fieldManager: 'llm-recipes', force: 'true' });
        expect(a.path).toContain(`/namespaces/${NS}/`);
      }
      const kinds = applies.map((a) => a.path.split('/').at(-2));
      expect(kinds).toEqual(expect.arrayContaining(['dynamographdeployments', 'jobs']));
      // the DGD was polled until its status said Ready
      const dgdGets = server.calls.filter((c) => c.method === 'GET' && c.path.includes('/dynamographdeployments/'));
      expect(dgdGets.length).toBe(3);

      // the Job's pod ran the real harness: its log holds the summaries, and they became the measured points
      const jobs = readFileSync(join(out, 'prepare/benchmarks.yaml'), 'utf8');
      const jobName = /name: (bench-[a-z0-9-]+)/.exec(jobs)![1]!;
      const log = readFileSync(join(out, 'cluster', `${jobName}.log`), 'utf8');
      expect(log).toBe(podLogs.at(-1));
      expect(log).toContain('"schema": "llm-recipes/bench-summary@1"');
      expect(server.calls.some((c) => c.method === 'GET' && c.path.endsWith('/log'))).toBe(true);
      const results = readJson(join(out, 'results.json'));
      expect(results.experiment.target).toBe('cluster');
      expect(results.points.map((p: { concurrency: number }) => p.concurrency).sort()).toEqual([1, 4]);
      for (const p of results.points) {
        expect(p.source).toBe('measured');
        expect(p.requests).toBe(8);
        expect(p.ttftP50).toBeGreaterThan(0);
        expect(p.outputTokensPerSecond).toBeGreaterThan(0);
      }
      // more load, more throughput: the numbers are real measurements of the simulator
      const [c1, c4] = [...results.points].sort((a: { concurrency: number }, b: { concurrency: number }) => a.concurrency - b.concurrency);
      expect(c4.outputTokensPerSecond).toBeGreaterThan(c1.outputTokensPerSecond * 1.5);
      expect(results.pareto.length).toBeGreaterThan(0);
      expect(results.selected).not.toBeNull();
      expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('target cluster');
      expect(existsSync(join(out, 'report.html'))).toBe(true);

      // teardown: everything created was deleted (the Job's pods with it), foreground propagation
      const deletes = server.calls.filter((c) => c.method === 'DELETE');
      expect(deletes.length).toBeGreaterThanOrEqual(applies.length);
      for (const d of deletes) expect(JSON.parse(d.body).propagationPolicy).toBe('Foreground');
      expect([...server.objects.keys()]).toEqual([]);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('a DGD that goes to state failed fails the run in WaitingReady with the condition message, and cleans up', async () => {
    const server = await startFakeApiServer({ token: TOKEN, namespaces: [NS], dgdFails: 'decode worker: CrashLoopBackOff (OOMKilled)' });
    try {
      const out = join(tmp, 'exp-failed');
      const o = io();
      const code = await main([...UP, '--kubeconfig', kubeconfig(server), '--out', out], o);
      expect(code).toBe(1);
      const status = readJson(join(out, 'status.json'));
      expect(status.phase).toBe('Failed');
      expect(status.reason).toBe('WaitingReadyFailed');
      expect(status.message).toContain('ServicesFailed: decode worker: CrashLoopBackOff (OOMKilled)');
      expect(status.steps.deploy.state).toBe('done');
      expect(status.steps['wait-ready'].state).toBe('failed');
      expect(o.err).toContain('WaitingReadyFailed');
      // no benchmark Job was created, and what was applied is gone
      expect(server.calls.some((c) => c.method === 'PATCH' && c.path.includes('/jobs/bench-'))).toBe(false);
      expect([...server.objects.keys()]).toEqual([]);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('a namespace that does not exist is a clear error from the API server', async () => {
    const server = await startFakeApiServer({ token: TOKEN, namespaces: ['other'] });
    try {
      const out = join(tmp, 'exp-nons');
      const o = io();
      const code = await main([...UP, '--kubeconfig', kubeconfig(server), '--out', out], o);
      expect(code).toBe(1);
      const status = readJson(join(out, 'status.json'));
      expect(status.reason).toBe('DeployingCandidateFailed');
      expect(status.message).toMatch(/404 NotFound: namespaces "llm-lab" not found/);
    } finally {
      await server.close();
    }
  }, 30_000);
});
