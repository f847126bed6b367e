import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_VERSION, loadTokenizer, matrixPoints, runBenchmark, runExperiment, type Summary } from '@llm-recipes/bench';
import { dgdFailed, dgdReady, defaultKubeconfigPath, jobComplete, jobFailed, KubeClient, loadKubeconfig, type KubeObject } from '@llm-recipes/cluster';
import { InvalidInputError, UserError } from '@llm-recipes/errors';
import { ClusterSchema, loadWorkspace, resolveRecipe, totalGpus, type ResolvedRecipe, type Workspace } from '@llm-recipes/recipe';
import { canonicalYaml, renderRecipe, type RenderedRecipe } from '@llm-recipes/render';
import { simConfigFromRecipe } from '@llm-recipes/sim';
import { measuredPareto, pointFromSummary, selectPoint, slaItl, type ConfigInfo, type ExperimentResults, type MeasuredPoint } from './results.ts';
import { readSpec, type ExperimentSpec } from './spec.ts';
import { StatusBook, STEPS, writeAtomic, type ExperimentStatus, type StepName } from './status.ts';

/** Renders reports for a finished collect; injected by the caller (the report package sits above this one). */
export type Reporter = (dir: string, results: ExperimentResults) => Promise<string[]>;

export interface RunOptions {
  /** Experiment directory. */
  dir: string;
  /** Workspace root (holds recipes/). */
  root: string;
  /** Only these steps (default: all, in order). */
  steps?: readonly StepName[] | undefined;
  reporter?: Reporter | undefined;
  onStatus?: ((s: ExperimentStatus) => void) | undefined;
  log?: ((line: string) => void) | undefined;
}

export interface RunOutcome {
  status: ExperimentStatus;
  results: ExperimentResults | null;
  reports: string[];
}

interface Ctx {
  dir: string;
  root: string;
  spec: ExperimentSpec;
  book: StatusBook;
  log: (line: string) => void;
  ws?: Workspace;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);
const readJson = <T>(p: string): T | null => (existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as T) : null);
const writeJson = (p: string, v: unknown): void => writeAtomic(p, `${JSON.stringify(v, null, 2)}\n`);

/** The spec's matrix and set overrides as recipe `--set` layers, so rendered benchmark Jobs run the same matrix. */
/** The user's `--set a.b=value` strings as one layer (values parsed as JSON when they are JSON, else kept as text). */
export function userSetLayers(set: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of set) {
    const i = s.indexOf('=');
    if (i > 0) {
      const raw = s.slice(i + 1);
      let v: unknown = raw;
      try {
        v = JSON.parse(raw);
      } catch {
        // plain string
      }
      out[s.slice(0, i)] = v;
    }
  }
  return out;
}

/** The `--set` layer of an experiment: the user's overrides plus the experiment's benchmark matrix. */
export function setLayers(spec: ExperimentSpec): Record<string, unknown> {
  return {
    ...userSetLayers(spec.set),
    'benchmark.islOsl': spec.matrix.islOsl,
    'benchmark.concurrency': spec.matrix.concurrency,
    // the experiment's counts are exact: no per-concurrency multiple on top
    'benchmark.requestsPerPoint': spec.matrix.requests,
    'benchmark.requestsPerConcurrency': 0,
    'benchmark.warmupRequests': spec.matrix.warmup,
    'benchmark.warmupPerConcurrency': 0,
  };
}

export function resolveFor(ws: Workspace, spec: ExperimentSpec): ResolvedRecipe {
  const res = resolveRecipe(ws, { recipe: spec.recipe, variant: spec.variant ?? undefined, set: setLayers(spec) });
  const errors = res.issues.filter((i) => i.severity !== 'warning');
  if (!res.resolved || errors.length > 0) throw new InvalidInputError(res.issues);
  return res.resolved;
}

/** The cluster profile an experiment renders against: the target namespace and enough nodes of the recipe's GPU. */
export function experimentCluster(r: ResolvedRecipe, namespace: string) {
  return ClusterSchema.parse({
    name: 'experiment',
    dynamoApiVersion: 'v1beta1',
    namespace,
    gitops: ['flux'],
    repo: { url: 'https://example.invalid/llm-recipes.git', branch: 'main', path: 'clusters/experiment' },
    gpus: { [r.recipe.gpu]: { nodes: Math.max(1, Math.ceil(totalGpus(r.recipe) / 8)) } },
    recipes: [{ recipe: r.id, ...(r.variant ? { variant: r.variant } : {}) }],
  });
}

export function topologyText(r: ResolvedRecipe): string {
  const t = r.recipe.topology;
  if (t.mode === 'agg' && t.agg) return `agg ${t.agg.replicas}×tp${t.agg.tp}`;
  return `disagg p${t.prefill?.replicas ?? 0}×tp${t.prefill?.tp ?? 0} d${t.decode?.replicas ?? 0}×tp${t.decode?.tp ?? 0}`;
}

export function configId(r: ResolvedRecipe): string {
  return `${r.recipe.backend.name} ${topologyText(r)}`;
}

export interface Prepared {
  recipe: string;
  variant: string | null;
  config: string;
  mode: 'agg' | 'disagg';
  backend: string;
  gpu: string;
  model: string;
  servedName: string;
  gpus: number;
  dgdName: string;
  namespace: string;
  sla: { ttftMs: number; itlMs: number };
  objects: { group: 'workload' | 'benchmark'; file: string; object: KubeObject }[];
}

export function namespaceOf(spec: ExperimentSpec): string {
  return spec.target.kind === 'cluster' ? (spec.target.namespace ?? 'default') : 'default';
}

/** prepare: resolve the recipe, render its manifests (DGD, ConfigMaps, model cache, benchmark Jobs) into the experiment. */
async function stepPrepare(c: Ctx): Promise<void> {
  c.book.enter('Pending', 'GeneratingManifests');
  c.ws ??= loadWorkspace(c.root);
  const r = resolveFor(c.ws, c.spec);
  let namespace = namespaceOf(c.spec);
  if (c.spec.target.kind === 'cluster' && !c.spec.target.namespace) namespace = clusterAccess(c.spec).namespace;
  const rendered: RenderedRecipe = renderRecipe(r, experimentCluster(r, namespace));
  const dgd = rendered.manifests.find((m) => m.object.kind === 'DynamoGraphDeployment');
  const prepared: Prepared = {
    recipe: r.id,
    variant: r.variant ?? null,
    config: configId(r),
    mode: r.recipe.topology.mode,
    backend: r.recipe.backend.name,
    gpu: r.recipe.gpu,
    model: r.model.hfId ?? r.recipe.model,
    servedName: r.model.servedName,
    gpus: totalGpus(r.recipe),
    dgdName: rendered.dgdName,
    namespace,
    sla: { ttftMs: r.recipe.sla.ttftMs, itlMs: r.recipe.sla.itlMs },
    objects: rendered.manifests.map((m) => ({ group: m.group, file: m.file, object: m.object as KubeObject })),
  };
  const pdir = join(c.dir, 'prepare');
  writeJson(join(pdir, 'recipe.json'), { id: r.id, variant: r.variant ?? null, recipe: r.recipe, model: r.model, gpu: r.gpu });
  writeAtomic(join(pdir, 'manifests.yaml'), canonicalYaml(rendered.manifests.filter((m) => m.group === 'workload').map((m) => m.object)));
  writeAtomic(join(pdir, 'benchmarks.yaml'), canonicalYaml(rendered.manifests.filter((m) => m.group === 'benchmark').map((m) => m.object)));
  if (dgd) writeAtomic(join(pdir, 'dgd.yaml'), canonicalYaml([dgd.object]));
  // the local simulator needs no weights; on a cluster the rendered model-cache PVC and download Job are applied with the workload
  writeJson(join(pdir, 'prepared.json'), prepared);
  if (c.spec.target.kind === 'local') {
    const sim = { ...simConfigFromRecipe(r), speedup: c.spec.target.speedup, slowdown: c.spec.target.slowdown, seed: c.spec.seed };
    writeJson(join(pdir, 'sim-config.json'), sim);
  }
  c.log(`prepared ${r.id}${r.variant ? ` (${r.variant})` : ''}: ${prepared.config}, ${prepared.gpus} GPU(s), DGD ${rendered.dgdName}`);
}

function prepared(c: Ctx): Prepared {
  const p = readJson<Prepared>(join(c.dir, 'prepare', 'prepared.json'));
  if (!p) throw new UserError('STEP_ORDER', `${c.dir} has not been prepared`, { hint: 'run the prepare step first (recipes up … --step prepare)' });
  return p;
}

// ---------- targets ----------

interface DeployState {
  kind: 'local' | 'endpoint' | 'cluster';
  endpoint: string | null;
  pid?: number | undefined;
  configHash?: string | undefined;
  applied?: { apiVersion: string; kind: string; name: string; namespace: string }[] | undefined;
}

export const alive = (pid: number | undefined): boolean => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function healthy(url: string, servedName?: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v1/models`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return false;
    const body = (await res.json()) as { data?: { id: string }[] };
    return servedName === undefined || (body.data ?? []).some((m) => m.id === servedName);
  } catch {
    return false;
  }
}

export function clusterAccess(spec: ExperimentSpec) {
  if (spec.target.kind !== 'cluster') throw new Error('not a cluster target');
  const access = loadKubeconfig(spec.target.kubeconfig ?? defaultKubeconfigPath(), spec.target.context ?? undefined);
  return spec.target.namespace ? { ...access, namespace: spec.target.namespace } : access;
}

export const SIM_WORKER = fileURLToPath(new URL('./sim-worker.ts', import.meta.url));

/** deploy: start (or find running) what the target serves. Idempotent, so a re-run after a kill picks it up. */
async function stepDeploy(c: Ctx): Promise<void> {
  c.book.enter('Profiling', 'DeployingCandidate');
  const p = prepared(c);
  const ddir = join(c.dir, 'deploy');
  mkdirSync(ddir, { recursive: true });
  const statePath = join(ddir, 'state.json');
  const t = c.spec.target;
  if (t.kind === 'endpoint') {
    writeJson(statePath, { kind: 'endpoint', endpoint: t.url.replace(/\/+$/, '').replace(/\/v1$/, '') } satisfies DeployState);
    return;
  }
  if (t.kind === 'local') {
    const cfgPath = join(c.dir, 'prepare', 'sim-config.json');
    const configHash = sha(readFileSync(cfgPath, 'utf8'));
    const prior = readJson<DeployState>(statePath);
    if (prior?.kind === 'local' && prior.configHash === configHash && alive(prior.pid) && prior.endpoint && (await healthy(prior.endpoint))) {
      c.log(`simulator already running at ${prior.endpoint} (pid ${prior.pid})`);
      return;
    }
    if (prior?.pid && alive(prior.pid)) process.kill(prior.pid, 'SIGTERM');
    const readyPath = join(ddir, 'ready.json');
    rmSync(readyPath, { force: true });
    const logFd = openSync(join(ddir, 'sim.log'), 'a');
    // detached with its output in a file: the simulator outlives a killed parent, so a re-run can reuse it
    const child = spawn(process.execPath, [SIM_WORKER, cfgPath, readyPath], { detached: true, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    child.unref();
    writeJson(statePath, { kind: 'local', endpoint: null, pid: child.pid, configHash } satisfies DeployState);
    c.log(`started simulator pid ${child.pid} for ${p.config}`);
    return;
  }
  const kube = new KubeClient(clusterAccess(c.spec));
  try {
    const applied: NonNullable<DeployState['applied']> = [];
    for (const m of p.objects.filter((o) => o.group === 'workload')) {
      const live = await kube.apply(m.object);
      applied.push({ apiVersion: m.object.apiVersion, kind: m.object.kind, name: live.metadata!.name!, namespace: live.metadata?.namespace ?? p.namespace });
      writeJson(statePath, { kind: 'cluster', endpoint: null, applied } satisfies DeployState);
      c.log(`applied ${m.object.kind}/${live.metadata!.name}`);
    }
  } finally {
    await kube.close();
  }
}

/** wait-ready: the served model answers (local, endpoint) or the DGD reports Ready (cluster). */
async function stepWaitReady(c: Ctx): Promise<void> {
  c.book.enter('Profiling', 'WaitingReady');
  const p = prepared(c);
  const statePath = join(c.dir, 'deploy', 'state.json');
  const st = readJson<DeployState>(statePath);
  if (!st) throw new UserError('STEP_ORDER', 'nothing deployed yet', { hint: 'run the deploy step first' });
  const t = c.spec.target;
  if (t.kind === 'cluster') {
    const dgd = p.objects.find((o) => o.object.kind === 'DynamoGraphDeployment');
    if (!dgd) throw new UserError('NO_DGD', 'the rendered manifests hold no DynamoGraphDeployment', { hint: 'check recipes render for this recipe' });
    const kube = new KubeClient(clusterAccess(c.spec));
    try {
      await kube.waitFor({ apiVersion: dgd.object.apiVersion, kind: 'DynamoGraphDeployment', name: p.dgdName, namespace: p.namespace }, dgdReady, dgdFailed, {
        timeoutMs: t.timeoutS * 1000,
        intervalMs: t.pollMs,
        onPoll: (o) => c.book.progress(`DGD ${p.dgdName}: ${String(o.status?.['state'] ?? 'pending')}`),
      });
    } finally {
      await kube.close();
    }
    c.log(`DGD ${p.dgdName} is Ready`);
    return;
  }
  const deadline = Date.now() + 60_000;
  if (t.kind === 'local') {
    const readyPath = join(c.dir, 'deploy', 'ready.json');
    for (;;) {
      const ready = readJson<{ url: string }>(readyPath);
      if (ready && (await healthy(ready.url, p.servedName))) {
        writeJson(statePath, { ...st, endpoint: ready.url });
        c.log(`simulator ready at ${ready.url}`);
        return;
      }
      if (!alive(st.pid)) {
        const log = existsSync(join(c.dir, 'deploy', 'sim.log')) ? readFileSync(join(c.dir, 'deploy', 'sim.log'), 'utf8').slice(-400) : '';
        throw new UserError('SIM_EXITED', `the simulator (pid ${st.pid}) exited before it was ready: ${log.trim()}`, { hint: 'see deploy/sim.log in the experiment', exitCode: 1 });
      }
      if (Date.now() > deadline) throw new UserError('NOT_READY', 'the simulator did not become ready within 60 s', { hint: 'see deploy/sim.log', exitCode: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (;;) {
    if (await healthy(st.endpoint!)) return;
    if (Date.now() > deadline) {
      throw new UserError('NOT_READY', `${st.endpoint}/v1/models did not answer within 60 s`, { hint: 'check the --endpoint URL and that the server is up', exitCode: 1 });
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** benchmark: the matrix against the endpoint from here (local, endpoint) or as in-cluster Jobs (cluster). Resumes by point. */
async function stepBenchmark(c: Ctx): Promise<void> {
  c.book.enter('Profiling', 'Benchmarking');
  const p = prepared(c);
  if (c.spec.target.kind === 'cluster') return benchmarkInCluster(c, p);
  const st = readJson<DeployState>(join(c.dir, 'deploy', 'state.json'));
  if (!st?.endpoint) throw new UserError('STEP_ORDER', 'no ready endpoint recorded', { hint: 'run the deploy and wait-ready steps first' });
  const endpoint = st.endpoint;
  const tokenizer = await loadTokenizer('o200k_base', c.root);
  const points = matrixPoints(c.spec.matrix.islOsl, { concurrency: c.spec.matrix.concurrency });
  let n = 0;
  const t = c.spec.target;
  const result = await runExperiment({
    dir: join(c.dir, 'bench'),
    resume: true,
    inputs: {
      recipe: p.recipe,
      variant: p.variant,
      config: p.config,
      target: t.kind,
      ...(t.kind === 'local' ? { speedup: t.speedup, slowdown: t.slowdown } : {}),
      requests: c.spec.matrix.requests,
      warmup: c.spec.matrix.warmup,
      sla: p.sla,
      gpus: p.gpus,
    },
    seed: c.spec.seed,
    points,
    tools: { 'llm-recipes-bench': BENCH_VERSION, node: process.version, tokenizer: tokenizer.name },
    exports: [],
    runPoint: async (pt) => {
      c.book.progress(`point ${n + 1}/${points.length} ${pt.id}`);
      return runBenchmark({
        endpoint,
        api: 'chat',
        model: p.servedName,
        load: { mode: 'concurrency', concurrency: pt.concurrency! },
        requests: c.spec.matrix.requests,
        warmup: c.spec.matrix.warmup,
        timeoutMs: 120_000,
        workload: { isl: pt.isl, osl: pt.osl, seed: c.spec.seed, forceOutputLength: true },
        tokenizer,
        slo: { ttftMs: p.sla.ttftMs, tpotMs: p.sla.itlMs },
        gpus: p.gpus,
      });
    },
    exportContext: () => ({}) as never,
    onPoint: (s, summary) => {
      n++;
      c.log(`${s.state === 'done' ? 'done' : s.state} ${s.id}${summary ? `: TTFT p50 ${summary.ttft?.p50.toFixed(1) ?? '—'} ms, ${summary.output_throughput.toFixed(0)} tok/s, errors ${(summary.error_rate * 100).toFixed(0)}%` : s.error ? `: ${s.error}` : ''}`);
    },
  });
  const bad: string[] = [];
  for (const s of result.points) {
    if (s.state === 'failed') bad.push(`${s.id}: ${s.error}`);
    const sum = result.summaries[s.id];
    if (sum && sum.error_rate > 0.05) {
      const classes = Object.entries(sum.errors).filter(([, k]) => k > 0).map(([k, v]) => `${k} ${v}`).join(', ');
      bad.push(`${s.id}: error rate ${(sum.error_rate * 100).toFixed(0)}% (${classes})`);
    }
  }
  if (bad.length > 0) throw new UserError('BENCHMARK_FAILED', `${bad.length} of ${points.length} point(s) failed: ${bad.join('; ')}`, { hint: 'finished points are kept; fix the cause and re-run to resume', exitCode: 1 });
}

/** Pretty-printed JSON objects (`recipes bench --json`) in a log: each starts with a `{` line and ends with a `}` line. */
export function jsonObjectsInLog(log: string): unknown[] {
  const out: unknown[] = [];
  let buf: string[] | null = null;
  for (const line of log.split('\n')) {
    if (buf === null && line === '{') buf = [line];
    else if (buf !== null) {
      buf.push(line);
      if (line === '}') {
        try {
          out.push(JSON.parse(buf.join('\n')));
        } catch {
          // not JSON after all: skip it
        }
        buf = null;
      }
    }
  }
  return out;
}

/**
 * Benchmark points in a Job's log. The rendered Job runs `recipes bench … --concurrency $c --json` once per entry of
 * $CONCURRENCY, each printing one summary object, so the n-th summary is the n-th concurrency; a matrix run prints
 * one object with every point instead. Both are read.
 */
export function benchPointsFromLog(log: string, env: { isl: number; osl: number; concurrency: number[] }): { id: string; isl: number; osl: number; concurrency: number; summary: Summary }[] {
  const out: { id: string; isl: number; osl: number; concurrency: number; summary: Summary }[] = [];
  let n = 0;
  for (const o of jsonObjectsInLog(log) as ({ points?: { id: string; isl?: number; osl?: number; concurrency?: number; summary?: Summary }[] } & Partial<Summary>)[]) {
    if (o.schema === 'llm-recipes/bench-summary@1') {
      const c = env.concurrency[n++] ?? o.max_concurrent_requests ?? 0;
      out.push({ id: `isl${env.isl}-osl${env.osl}-c${c}`, isl: env.isl, osl: env.osl, concurrency: c, summary: o as Summary });
      continue;
    }
    for (const pt of o.points ?? []) if (pt.summary) out.push({ id: pt.id, isl: pt.isl ?? env.isl, osl: pt.osl ?? env.osl, concurrency: pt.concurrency ?? 0, summary: pt.summary });
  }
  return out;
}

async function benchmarkInCluster(c: Ctx, p: Prepared): Promise<void> {
  const t = c.spec.target as Extract<ExperimentSpec['target'], { kind: 'cluster' }>;
  const cdir = join(c.dir, 'cluster');
  mkdirSync(cdir, { recursive: true });
  const jobs = p.objects.filter((o) => o.group === 'benchmark' && o.object.kind === 'Job');
  const kube = new KubeClient(clusterAccess(c.spec));
  try {
    for (const [i, j] of jobs.entries()) {
      const name = j.object.metadata!.name!;
      if (existsSync(join(cdir, `${name}.json`))) {
        c.log(`kept ${name} (collected earlier)`);
        continue;
      }
      c.book.progress(`job ${i + 1}/${jobs.length} ${name}`);
      await kube.apply(j.object);
      await kube.waitFor({ apiVersion: 'batch/v1', kind: 'Job', name, namespace: p.namespace }, jobComplete, jobFailed, { timeoutMs: t.timeoutS * 1000, intervalMs: t.pollMs });
      const log = await kube.jobLogs(name, p.namespace);
      writeAtomic(join(cdir, `${name}.log`), log);
      const env = ((j.object as { spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } } }).spec?.template?.spec?.containers?.[0]?.env ?? []);
      const get = (k: string): number => Number(env.find((e) => e.name === k)?.value ?? NaN);
      const pts = benchPointsFromLog(log, { isl: get('ISL'), osl: get('OSL'), concurrency: (env.find((e) => e.name === 'CONCURRENCY')?.value ?? '').split(/[\s,]+/).filter(Boolean).map(Number) });
      if (pts.length === 0) throw new UserError('NO_RESULTS', `Job ${name} finished but its log holds no benchmark results`, { hint: `see ${join('cluster', `${name}.log`)} in the experiment`, exitCode: 1 });
      writeJson(join(cdir, `${name}.json`), { job: name, points: pts });
      c.log(`collected ${pts.length} point(s) from Job ${name}`);
    }
  } finally {
    await kube.close();
  }
}

/** collect: measured points → Pareto front, selection, top-N; writes results.json. */
async function stepCollect(c: Ctx): Promise<ExperimentResults> {
  c.book.enter('Profiling', 'SelectingConfig');
  const p = prepared(c);
  const points: MeasuredPoint[] = [];
  const base = (id: string, isl: number, osl: number, conc: number, recordsDir: string | null) => ({ id: `${p.config}/${id}`, config: p.config, isl, osl, concurrency: conc, gpus: p.gpus, recordsDir });
  if (c.spec.target.kind === 'cluster') {
    const cdir = join(c.dir, 'cluster');
    for (const f of existsSync(cdir) ? readdirSync(cdir).filter((x) => x.endsWith('.json')).sort() : []) {
      const j = readJson<{ points: { id: string; isl: number; osl: number; concurrency: number; summary: Summary }[] }>(join(cdir, f))!;
      for (const pt of j.points) points.push(pointFromSummary(base(`${f.replace(/\.json$/, '')}/${pt.id}`, pt.isl, pt.osl, pt.concurrency, null), pt.summary, p.sla));
    }
  } else {
    for (const pt of matrixPoints(c.spec.matrix.islOsl, { concurrency: c.spec.matrix.concurrency })) {
      const dir = join('bench', 'points', pt.id);
      const st = readJson<{ state: string }>(join(c.dir, dir, 'status.json'));
      const sum = readJson<Summary>(join(c.dir, dir, 'summary.json'));
      // the simulator runs `speedup`× faster than the hardware it models: report the modelled hardware's numbers
      const scale = c.spec.target.kind === 'local' ? c.spec.target.speedup : 1;
      if (st?.state === 'done' && sum) points.push(pointFromSummary(base(pt.id, pt.isl, pt.osl, pt.concurrency!, dir), sum, p.sla, scale));
    }
  }
  const results = buildResults(c, p, points);
  writeJson(join(c.dir, 'results.json'), results);
  c.log(`collected ${points.length} point(s); Pareto front ${results.pareto.length}; selected ${results.selected ? results.selected.pointId : 'none'}`);
  return results;
}

export function buildResults(c: { dir: string; spec: ExperimentSpec }, p: Prepared, points: MeasuredPoint[], extraConfigs: ConfigInfo[] = [], sweeps: ExperimentResults['sweeps'] = null): ExperimentResults {
  const front = measuredPareto(points);
  const sel = selectPoint(points, p.sla);
  const meeting = points.filter((x) => x.meetsSla).sort((a, b) => b.tokensPerSecondPerGpu - a.tokensPerSecondPerGpu);
  const dgdYaml = existsSync(join(c.dir, 'prepare', 'dgd.yaml')) ? readFileSync(join(c.dir, 'prepare', 'dgd.yaml'), 'utf8') : '';
  const configs: ConfigInfo[] = extraConfigs.length > 0 ? extraConfigs : [{ config: p.config, mode: p.mode, backend: p.backend, gpus: p.gpus, dgdYaml, topology: p.config.slice(p.backend.length + 1) }];
  return {
    schema: 'llm-recipes/experiment-results@1',
    experiment: {
      id: sha(JSON.stringify([c.spec.recipe, c.spec.variant, c.spec.set, c.spec.matrix, c.spec.target.kind, c.spec.strategy, c.spec.createdAt])),
      recipe: p.recipe,
      variant: p.variant,
      model: p.model,
      backend: p.backend,
      gpu: p.gpu,
      mode: p.mode,
      target: c.spec.target.kind,
      strategy: c.spec.strategy,
      createdAt: c.spec.createdAt,
    },
    sla: p.sla,
    gpuHourlyUsd: c.spec.gpuHourlyUsd,
    points,
    pareto: front.map((x) => x.id),
    selected: sel ? { pointId: sel.point.id, config: sel.point.config, reason: sel.reason } : null,
    top: meeting.slice(0, 5).map((x) => ({
      pointId: x.id,
      config: x.config,
      evidence: `TTFT p50 ${x.ttftP50?.toFixed(1)} ms, ITL (TPOT) p50 ${slaItl(x)?.toFixed(2)} ms at concurrency ${x.concurrency} (ISL ${x.isl}/OSL ${x.osl}), ${x.requests} requests, ${(x.errorRate * 100).toFixed(1)}% errors`,
    })),
    configs,
    sweeps,
  };
}

/** teardown: stop what deploy started (SIGTERM the simulator; delete applied objects in reverse order). */
async function stepTeardown(c: Ctx): Promise<void> {
  c.book.enter(c.book.status.phase === 'Failed' ? 'Failed' : 'Ready', 'TearingDown');
  await teardown(c);
}

async function teardown(c: Ctx): Promise<void> {
  const statePath = join(c.dir, 'deploy', 'state.json');
  const st = readJson<DeployState>(statePath);
  if (!st) return;
  if (st.kind === 'local' && st.pid && alive(st.pid)) {
    process.kill(st.pid, 'SIGTERM');
    const until = Date.now() + 5000;
    while (alive(st.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    if (alive(st.pid)) process.kill(st.pid, 'SIGKILL');
    c.log(`stopped simulator pid ${st.pid}`);
  }
  if (st.kind === 'cluster') {
    const p = prepared(c);
    const kube = new KubeClient(clusterAccess(c.spec));
    try {
      for (const j of p.objects.filter((o) => o.group === 'benchmark')) await kube.delete(j.object.apiVersion, j.object.kind, j.object.metadata!.name!, p.namespace);
      for (const a of [...(st.applied ?? [])].reverse()) {
        await kube.delete(a.apiVersion, a.kind, a.name, a.namespace);
        c.log(`deleted ${a.kind}/${a.name}`);
      }
    } finally {
      await kube.close();
    }
  }
  writeJson(statePath, { ...st, endpoint: null, tornDownAt: new Date().toISOString() });
}

const STEP_FNS: Record<Exclude<StepName, 'report'>, (c: Ctx) => Promise<unknown>> = {
  prepare: stepPrepare,
  deploy: stepDeploy,
  'wait-ready': stepWaitReady,
  benchmark: stepBenchmark,
  collect: stepCollect,
  teardown: stepTeardown,
};

/**
 * Runs the steps of an experiment (all, or the ones asked for) against its directory. Each step records its state in
 * status.json; a failure marks the experiment Failed with `<SubPhase>Failed` and the message, keeps every result
 * written so far and still tears down what this run started (unless `keep`).
 */
export async function runSteps(options: RunOptions): Promise<RunOutcome> {
  const spec = readSpec(options.dir);
  if (!spec) throw new UserError('NOT_AN_EXPERIMENT', `${options.dir} holds no experiment.json`, { hint: 'start one with recipes up <recipe> --out DIR' });
  const book = new StatusBook(options.dir, options.onStatus);
  const c: Ctx = { dir: options.dir, root: options.root, spec, book, log: options.log ?? (() => {}) };
  const wanted = options.steps ?? STEPS;
  const all = options.steps === undefined;
  let results: ExperimentResults | null = null;
  let reports: string[] = [];
  let failedAt: StepName | null = null;
  for (const step of STEPS) {
    if (!wanted.includes(step)) continue;
    if (step === 'teardown' && spec.keep && all) continue;
    book.stepStarted(step);
    try {
      if (step === 'report') {
        results ??= readJson<ExperimentResults>(join(options.dir, 'results.json'));
        if (!results) throw new UserError('STEP_ORDER', 'no results.json to report on', { hint: 'run the collect step first' });
        book.enter(spec.keep && all ? 'Deploying' : 'Ready', 'Reporting');
        reports = options.reporter ? await options.reporter(options.dir, results) : [];
      } else {
        const out = await STEP_FNS[step](c);
        if (step === 'collect') results = out as ExperimentResults;
      }
      book.stepDone(step);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      book.fail(step, message);
      failedAt = step;
      if (all && step !== 'teardown' && !spec.keep) {
        try {
          await teardown(c);
          book.status.steps.teardown = { state: 'done', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), error: null };
          book.progress(null);
        } catch {
          // the original failure is what matters; teardown problems show in the log
        }
      }
      throw Object.assign(err instanceof Error ? err : new Error(message), { experimentStatus: book.status });
    }
  }
  if (failedAt === null && all) book.enter(spec.keep ? 'Deployed' : 'Ready', 'Done', spec.keep ? 'deployment left running (--keep)' : null);
  return { status: book.status, results, reports };
}
