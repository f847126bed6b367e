// `recipes profile`: the DGDR profiling flow (seed 004) for one recipe. Rapid asks the estimator's search; thorough
// deploys candidate engines (simulator processes on the local target) and measures them with the project harness:
// a prefill sweep (TTFT vs ISL per TP), a decode sweep (ITL vs concurrency per TP, up to the KV capacity, stopping
// early), then combines the measurements into aggregated and disaggregated candidates (prefill:decode ratio from
// measured prefill capacity vs decode throughput, like the SLA profiler), selects, and verifies the selection with a
// load sweep of the real topology. Both end with the Pareto front, the top-N with evidence, the selection and, with
// auto-apply, the selection written as a recipe variant, rendered and deployed.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { loadTokenizer, type BenchTokenizer } from '@llm-recipes/bench';
import { dgdFailed, dgdReady, KubeClient, type KubeObject } from '@llm-recipes/cluster';
import { UserError } from '@llm-recipes/errors';
import { buildStepModel, defaultCalibration, meetsSla as estimateMeetsSla, search, type Candidate } from '@llm-recipes/estimate';
import { loadWorkspace, resolveRecipe, totalGpus, writeVariant, type Recipe, type ResolvedRecipe, type Workspace, type WrittenVariant } from '@llm-recipes/recipe';
import { canonicalYaml, renderRecipe } from '@llm-recipes/render';
import { simConfigFromRecipe } from '@llm-recipes/sim';
import { measurePoint, startLocalEngine, type LocalEngine } from './engines.ts';
import { measuredPareto, pointFromSummary, selectPoint, slaItl, type ConfigInfo, type ExperimentResults, type MeasuredPoint, type SweepRow } from './results.ts';
import { decodeStopReason, interpolate, lossReason, prefillStopReason, rankSelectable, replicaSplit, type DecodeSample } from './select.ts';
import { readSpec, type ExperimentSpec, type ProfileSettings } from './spec.ts';
import { StatusBook, writeAtomic, type ExperimentStatus } from './status.ts';
import { clusterAccess, experimentCluster, namespaceOf, setLayers, type RunOptions } from './steps.ts';

/** As runSteps takes them, less `steps`: profiling runs its own phases. */
export type ProfileRunOptions = Omit<RunOptions, 'steps'>;

export interface ProfileOutcome {
  status: ExperimentStatus;
  results: ExperimentResults | null;
  reports: string[];
  /** With auto-apply: the variant written, the rendered manifests and where it runs. */
  applied: { variant: string; file: string; manifests: string; endpoint: string | null; pid: number | null } | null;
}

/** A topology the profiler deploys: one aggregated pool, or a prefill and a decode pool. */
export type TopologyChoice =
  | { mode: 'agg'; agg: { tp: number; replicas: number } }
  | { mode: 'disagg'; prefill: { tp: number; replicas: number }; decode: { tp: number; replicas: number } };

export function choiceId(backend: string, c: TopologyChoice): string {
  return c.mode === 'agg' ? `${backend} agg ${c.agg.replicas}×tp${c.agg.tp}` : `${backend} disagg p${c.prefill.replicas}×tp${c.prefill.tp} d${c.decode.replicas}×tp${c.decode.tp}`;
}

export function choiceGpus(c: TopologyChoice): number {
  return c.mode === 'agg' ? c.agg.replicas * c.agg.tp : c.prefill.replicas * c.prefill.tp + c.decode.replicas * c.decode.tp;
}

/**
 * The topology layer that turns the base recipe into `c`: pools the choice does not use are removed (null), the
 * planner is switched off for an aggregated choice, and a pool new to the recipe takes the worker args of the pool it
 * replaces (backend-wide args apply anyway).
 */
export function topologyLayer(base: Recipe, gpusPerNode: number, moe: boolean, c: TopologyChoice, withArgs = true): Record<string, unknown> {
  const t = base.topology;
  const donor = t.agg ?? t.decode ?? t.prefill;
  const pool = (p: { tp: number; replicas: number }, own: Recipe['topology']['agg']): Record<string, unknown> => ({
    replicas: p.replicas,
    tp: p.tp,
    pp: 1,
    ep: moe ? p.tp : 1,
    dp: 1,
    nodes: Math.max(1, Math.ceil(p.tp / gpusPerNode)),
    ...(withArgs && !own && donor && Object.keys(donor.args).length > 0 ? { args: donor.args } : {}),
  });
  const out: Record<string, unknown> = { mode: c.mode };
  if (c.mode === 'agg') {
    out['agg'] = pool(c.agg, t.agg);
    if (t.prefill) out['prefill'] = null;
    if (t.decode) out['decode'] = null;
    if (t.planner.enabled) out['planner'] = { enabled: false };
  } else {
    out['prefill'] = pool(c.prefill, t.prefill);
    out['decode'] = pool(c.decode, t.decode);
    if (t.agg) out['agg'] = null;
  }
  return out;
}

interface Setup {
  dir: string;
  root: string;
  spec: ExperimentSpec;
  settings: Required<Pick<ProfileSettings, 'mode'>> & ProfileSettings;
  ws: Workspace;
  base: ResolvedRecipe;
  budget: number;
  isl: number;
  osl: number;
  sla: { ttftMs: number; itlMs: number };
  book: StatusBook;
  log: (line: string) => void;
}

const writeJson = (p: string, v: unknown): void => writeAtomic(p, `${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x), 2)}\n`);
const f = (n: number | null | undefined, d = 1): string => (n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(d));

function resolveChoice(s: Setup, c: TopologyChoice): ResolvedRecipe {
  const layer = topologyLayer(s.base.recipe, s.base.gpu.gpusPerNode, s.base.model.architecture.moe !== undefined, c);
  const res = resolveRecipe(s.ws, { recipe: s.spec.recipe, variant: s.spec.variant ?? undefined, set: { ...setLayers(s.spec), topology: layer } });
  const errors = res.issues.filter((i) => i.severity !== 'warning');
  if (!res.resolved || errors.length > 0) {
    throw new UserError('CANDIDATE_INVALID', `${choiceId(s.base.recipe.backend.name, c)} is not a valid deployment of ${s.spec.recipe}: ${errors.map((i) => i.message).join('; ')}`, {
      hint: 'narrow the search with --mode or --gpus',
      exitCode: 1,
    });
  }
  return res.resolved;
}

function dgdYamlOf(s: Setup, r: ResolvedRecipe): string {
  const rendered = renderRecipe(r, experimentCluster(r, namespaceOf(s.spec)));
  const dgd = rendered.manifests.find((m) => m.object.kind === 'DynamoGraphDeployment');
  return dgd ? canonicalYaml([dgd.object]) : '';
}

function configInfo(s: Setup, c: TopologyChoice): ConfigInfo {
  const r = resolveChoice(s, c);
  const id = choiceId(s.base.recipe.backend.name, c);
  return { config: id, mode: c.mode, backend: s.base.recipe.backend.name, gpus: choiceGpus(c), dgdYaml: dgdYamlOf(s, r), topology: id.slice(s.base.recipe.backend.name.length + 1) };
}

// ---------------------------------------------------------------------------------------------------------------
// Rapid: the estimator's search

function fromCandidate(c: Candidate, isl: number, osl: number, sla: { ttftMs: number; itlMs: number }): MeasuredPoint {
  const r = c.result;
  return {
    id: `${c.config}/c${c.concurrency}`,
    config: c.config,
    isl,
    osl,
    concurrency: c.concurrency,
    gpus: c.gpus,
    ttftP50: r.ttftMs,
    ttftP90: null,
    itlP50: r.itlMs,
    tpotP50: r.tpotMs,
    e2eP50: r.ttftMs + r.tpotMs * Math.max(0, osl - 1),
    tokensPerSecondPerUser: r.tokensPerSecondPerUser,
    tokensPerSecondPerGpu: r.tokensPerSecondPerGpu,
    outputTokensPerSecond: r.outputTokensPerSecond,
    requestsPerSecond: r.requestsPerSecond,
    errorRate: 0,
    requests: 0,
    meetsSla: estimateMeetsSla(r, sla),
    source: 'estimated',
    fits: r.fits,
    recordsDir: null,
    evidence: `estimate: TTFT ${f(r.ttftMs)} ms, ITL ${f(r.itlMs, 2)} ms at concurrency ${c.concurrency}, batch up to ${r.maxBatch}, limited by ${r.limitedBy}`,
  };
}

function choiceOfCandidate(c: Candidate): TopologyChoice {
  const d = c.deployment;
  return d.mode === 'agg'
    ? { mode: 'agg', agg: { tp: d.agg!.tp, replicas: d.agg!.replicas } }
    : { mode: 'disagg', prefill: { tp: d.prefill!.tp, replicas: d.prefill!.replicas }, decode: { tp: d.decode!.tp, replicas: d.decode!.replicas } };
}

async function rapid(s: Setup): Promise<{ results: ExperimentResults; choice: TopologyChoice | null }> {
  s.book.enter('Profiling', 'SelectingConfig', 'estimator search');
  const r = s.base;
  const result = search({
    arch: r.model.architecture,
    gpu: r.gpu,
    gpuBudget: s.budget,
    backends: [r.recipe.backend.name],
    dtype: r.recipe.dtype,
    kvDtype: r.recipe.kvCacheDtype,
    workload: { isl: s.isl, osl: s.osl },
    sla: s.sla,
    calibration: defaultCalibration,
    modes: s.settings.mode === 'any' ? undefined : [s.settings.mode],
    topN: s.settings.top ?? 5,
  });
  const pts = new Map<string, MeasuredPoint>();
  const add = (c: Candidate | undefined): void => {
    if (c) pts.set(`${c.config}/c${c.concurrency}`, fromCandidate(c, s.isl, s.osl, s.sla));
  };
  for (const c of result.pareto) add(c);
  for (const t of result.top) add(t.best);
  for (const c of result.closest) add(c.best);
  add(result.selected);
  const points = [...pts.values()];
  const choices = new Map<string, TopologyChoice>();
  for (const c of [...result.pareto, ...result.top.map((t) => t.best!), ...(result.selected ? [result.selected] : [])]) choices.set(c.config, choiceOfCandidate(c));
  const selected = result.selected ? pts.get(`${result.selected.config}/c${result.selected.concurrency}`)! : null;
  const configs = [...choices.values()].filter((c) => selected && choiceId(r.recipe.backend.name, c) === selected.config).map((c) => configInfo(s, c));
  s.log(`estimator: ${result.configs} configs, ${result.points} points, Pareto front ${result.pareto.length}; ${result.selected ? `selected ${result.selected.config} at concurrency ${result.selected.concurrency}` : `no config meets the SLA (${result.status})`}`);
  const results = assemble(s, points, {
    selected: selected ? { pointId: selected.id, config: selected.config, reason: `estimator: highest tokens/s/GPU (${f(selected.tokensPerSecondPerGpu)}) meeting TTFT ≤ ${s.sla.ttftMs} ms and ITL ≤ ${s.sla.itlMs} ms` } : null,
    top: result.top.map((t) => ({ pointId: `${t.config}/c${t.best!.concurrency}`, config: t.config, evidence: pts.get(`${t.config}/c${t.best!.concurrency}`)!.evidence! })),
    // every config but the selection, with why it lost (the runners-up in the top-N too)
    others: [...result.top.slice(result.selected ? 1 : 0), ...result.closest, ...result.others].map((o) => ({ config: o.config, reason: o.reason })),
    configs,
    sweeps: null,
  });
  return { results, choice: result.selected ? choiceOfCandidate(result.selected) : null };
}

// ---------------------------------------------------------------------------------------------------------------
// Thorough: measured sweeps on deployed candidates

const TP_CHOICES = [1, 2, 4, 8, 16, 32, 64];

/** Feasible TP per pool: weights plus one workload sequence of KV must fit (the estimator's memory plan). */
export function feasibleTps(r: ResolvedRecipe, budget: number, isl: number, osl: number): { tp: number; fits: boolean; kvSequences: number; reason: string }[] {
  const moe = r.model.architecture.moe !== undefined;
  return TP_CHOICES.filter((t) => t <= budget).map((tp) => {
    const m = buildStepModel({ arch: r.model.architecture, gpu: r.gpu, backend: r.recipe.backend.name, parallelism: { tp, ep: moe ? tp : 1 }, dtype: r.recipe.dtype, kvDtype: r.recipe.kvCacheDtype, calibration: defaultCalibration });
    const kv = m.memory.weightsFit ? m.maxBatch(isl + osl) : 0;
    const GiB = 1024 ** 3;
    const reason = !m.memory.weightsFit
      ? `weights ${f(m.memory.weightBytesPerGpu / GiB)} GiB/GPU + reserve do not fit ${f(m.memory.gpuBytes / GiB)} GiB`
      : kv < 1
        ? `no room for one ${isl + osl}-token sequence of KV cache`
        : `fits: up to ${kv} sequences of ${isl + osl} tokens per replica`;
    return { tp, fits: m.memory.weightsFit && kv >= 1, kvSequences: kv, reason };
  });
}

/** Geometric concurrency steps 1, 2, 4, … up to (and including) `max`. */
export function concurrencySteps(max: number): number[] {
  const out: number[] = [];
  for (let c = 1; c < max; c *= 2) out.push(c);
  out.push(Math.max(1, Math.floor(max)));
  return [...new Set(out)];
}

interface EngineSweep {
  tp: number;
  prefill: { isl: number; ttftMs: number; row: SweepRow }[];
  decode: { concurrency: number; point: MeasuredPoint; row: SweepRow }[];
}

async function thorough(s: Setup): Promise<{ results: ExperimentResults; choice: TopologyChoice | null }> {
  if (s.spec.target.kind !== 'local') {
    throw new UserError('THOROUGH_TARGET', `thorough profiling deploys every candidate engine; on target ${s.spec.target.kind} it is not supported yet`, {
      hint: 'run --strategy thorough on the local simulator target, or --strategy rapid with --target cluster --auto-apply',
    });
  }
  const speedup = s.spec.target.speedup;
  const slowdown = s.spec.target.slowdown;
  const r = s.base;
  const backend = r.recipe.backend.name;
  const tokenizer: BenchTokenizer = await loadTokenizer('o200k_base', s.root);
  const tps = feasibleTps(r, s.budget, s.isl, s.osl);
  writeJson(join(s.dir, 'sweeps', 'candidates.json'), tps);
  for (const t of tps) s.log(`tp${t.tp}: ${t.reason}`);
  const fitting = tps.filter((t) => t.fits);
  if (fitting.length === 0) throw new UserError('NOTHING_FITS', `no TP up to ${s.budget} GPU(s) fits ${r.model.hfId} on ${r.gpu.id}: ${tps.map((t) => `tp${t.tp} ${t.reason}`).join('; ')}`, { hint: 'raise --gpus or use a smaller dtype', exitCode: 1 });
  const maxConc = s.settings.maxConcurrency ?? 256;
  const requestsFor = (c: number): number => s.settings.requests ?? Math.max(8, 2 * c);
  const scale = speedup;
  const engines = new Map<number, LocalEngine>();
  const sweeps: EngineSweep[] = fitting.map((t) => ({ tp: t.tp, prefill: [], decode: [] }));
  const engineDir = (tp: number): string => join(s.dir, 'sweeps', `engine-tp${tp}`);
  const simConfig = (rr: ResolvedRecipe): unknown => ({ ...simConfigFromRecipe(rr), speedup, slowdown, seed: s.spec.seed });
  try {
    // one single-replica engine per TP serves both sweeps of that TP; they start together (start-up overlaps)
    s.book.enter('Profiling', 'SweepingPrefill', `starting ${fitting.length} engine(s)`);
    const started = await Promise.all(
      fitting.map(async (t) => {
        const rr = resolveChoice(s, { mode: 'agg', agg: { tp: t.tp, replicas: 1 } });
        return [t.tp, await startLocalEngine(engineDir(t.tp), simConfig(rr), rr.model.servedName)] as const;
      }),
    );
    for (const [tp, e] of started) engines.set(tp, e);
    const served = r.model.servedName;

    // prefill: TTFT vs ISL at concurrency 1, a few short requests (OSL 4: the first token is what counts)
    const isls = [...new Set([Math.max(16, Math.round(s.isl / 2)), s.isl, s.isl * 2])].sort((a, b) => a - b);
    for (const sw of sweeps) {
      for (const isl of isls) {
        s.book.progress(`tp${sw.tp} ISL ${isl}`);
        const id = `isl${isl}-osl4-c1`;
        const { summary, reused } = await measurePoint(join(engineDir(sw.tp), 'prefill', id), engines.get(sw.tp)!.url, served, tokenizer, { isl, osl: 4, concurrency: 1, requests: s.settings.prefillRequests ?? 4, warmup: 1, seed: s.spec.seed });
        const ttft = (summary.ttft?.p50 ?? Number.NaN) * scale;
        const stop = prefillStopReason(isl, ttft, s.isl, s.sla);
        const row: SweepRow = { tp: sw.tp, x: isl, latencyMs: ttft, tokensPerSecondPerGpu: (isl / ttft) * 1000 / sw.tp, id: join('sweeps', `engine-tp${sw.tp}`, 'prefill', id), ...(stop ? { stop } : {}) };
        sw.prefill.push({ isl, ttftMs: ttft, row });
        s.log(`prefill tp${sw.tp} ISL ${isl}: TTFT ${f(ttft)} ms${reused ? ' (kept)' : ''}${stop ? ` — stop: ${stop}` : ''}`);
        if (stop) break;
      }
    }

    // decode: ITL vs concurrency up to what the KV cache holds, stopping past the ITL bound or at saturation
    s.book.enter('Profiling', 'SweepingDecode');
    for (const sw of sweeps) {
      const cap = Math.min(maxConc, fitting.find((t) => t.tp === sw.tp)!.kvSequences);
      const samples: DecodeSample[] = [];
      for (const c of concurrencySteps(cap)) {
        s.book.progress(`tp${sw.tp} concurrency ${c}/${cap}`);
        const id = `isl${s.isl}-osl${s.osl}-c${c}`;
        const rel = join('sweeps', `engine-tp${sw.tp}`, 'decode', id);
        const { summary, reused } = await measurePoint(join(s.dir, rel), engines.get(sw.tp)!.url, served, tokenizer, { isl: s.isl, osl: s.osl, concurrency: c, requests: requestsFor(c), warmup: 1, seed: s.spec.seed });
        const point = pointFromSummary({ id: `engine tp${sw.tp}/${id}`, config: `${backend} engine 1×tp${sw.tp}`, isl: s.isl, osl: s.osl, concurrency: c, gpus: sw.tp, recordsDir: rel }, summary, s.sla, scale);
        const sample: DecodeSample = { concurrency: c, itlMs: slaItl(point) ?? Number.POSITIVE_INFINITY, tokensPerSecondPerUser: point.tokensPerSecondPerUser, tokensPerSecondPerGpu: point.tokensPerSecondPerGpu };
        const stop = summary.error_rate > 0.05 ? `${(summary.error_rate * 100).toFixed(0)}% of requests failed at concurrency ${c}` : decodeStopReason(samples, sample, s.sla);
        samples.push(sample);
        const row: SweepRow = { tp: sw.tp, x: c, latencyMs: sample.itlMs, tokensPerSecondPerGpu: sample.tokensPerSecondPerGpu, tokensPerSecondPerUser: sample.tokensPerSecondPerUser, id: rel, ...(stop ? { stop } : {}) };
        sw.decode.push({ concurrency: c, point, row });
        s.log(`decode tp${sw.tp} c${c}: ITL ${f(sample.itlMs, 2)} ms, ${f(sample.tokensPerSecondPerGpu)} tok/s/GPU${reused ? ' (kept)' : ''}${stop ? ` — stop: ${stop}` : ''}`);
        if (stop) break;
      }
    }
  } finally {
    await Promise.all([...engines.values()].map((e) => e.stop()));
  }
  const sweepRows = { prefill: sweeps.flatMap((sw) => sw.prefill.map((p) => p.row)), decode: sweeps.flatMap((sw) => sw.decode.map((d) => d.row)) };
  writeJson(join(s.dir, 'sweeps', 'prefill.json'), sweepRows.prefill);
  writeJson(join(s.dir, 'sweeps', 'decode.json'), sweepRows.decode);

  // combine the engine measurements into deployable candidates under the GPU budget
  s.book.enter('Profiling', 'SelectingConfig');
  const { points: candidates, choices } = composeCandidates(s, sweeps);
  const picked = selectPoint(candidates, s.sla);
  if (!picked) throw new UserError('NO_CANDIDATE', 'no candidate has a complete measurement (every sweep point failed)', { hint: 'see the sweeps/ directory of the experiment', exitCode: 1 });
  const choice = choices.get(picked.point.config)!;
  s.log(`selected ${picked.point.config} at concurrency ${picked.point.concurrency}: ${picked.reason}`);

  // load sweep of the selected topology, deployed as it would run
  s.book.enter('Profiling', 'SweepingLoad', picked.point.config);
  const loadPoints: MeasuredPoint[] = [];
  const loadRows: SweepRow[] = [];
  const selR = resolveChoice(s, choice);
  const ldir = join(s.dir, 'sweeps', 'load');
  const engine = await startLocalEngine(ldir, simConfig(selR), selR.model.servedName);
  try {
    const c0 = picked.point.concurrency;
    const loads = [...new Set([Math.max(1, Math.round(c0 / 2)), c0, c0 * 2])].sort((a, b) => a - b);
    for (const c of loads) {
      s.book.progress(`${picked.point.config} concurrency ${c}`);
      const id = `isl${s.isl}-osl${s.osl}-c${c}`;
      const rel = join('sweeps', 'load', id);
      const { summary } = await measurePoint(join(s.dir, rel), engine.url, selR.model.servedName, tokenizer, { isl: s.isl, osl: s.osl, concurrency: c, requests: requestsFor(c), warmup: 1, seed: s.spec.seed });
      const p = pointFromSummary({ id: `${picked.point.config}/load/${id}`, config: picked.point.config, isl: s.isl, osl: s.osl, concurrency: c, gpus: choiceGpus(choice), recordsDir: rel }, summary, s.sla, scale);
      p.evidence = `load sweep of the deployed ${picked.point.config}: ${p.requests} requests at concurrency ${c}`;
      loadPoints.push(p);
      loadRows.push({ tp: choice.mode === 'agg' ? choice.agg.tp : choice.decode.tp, x: c, latencyMs: slaItl(p) ?? Number.NaN, tokensPerSecondPerGpu: p.tokensPerSecondPerGpu, tokensPerSecondPerUser: p.tokensPerSecondPerUser, id: rel });
      s.log(`load ${picked.point.config} c${c}: TTFT ${f(p.ttftP50)} ms, ITL ${f(slaItl(p), 2)} ms, ${f(p.tokensPerSecondPerGpu)} tok/s/GPU${p.meetsSla ? '' : ' (misses the SLA)'}`);
    }
  } finally {
    await engine.stop();
  }
  writeJson(join(s.dir, 'sweeps', 'load.json'), loadRows);

  // the verified operating point: the best load point meeting the SLA; else the composed selection, flagged
  const verified = selectPoint(loadPoints, s.sla);
  const final = verified?.meetsSla ? verified.point : picked.point;
  const reason = verified?.meetsSla
    ? `${picked.reason}; verified by the load sweep of the deployed topology at concurrency ${final.concurrency}`
    : `${picked.reason}; the load sweep of the deployed topology did not meet the SLA (SLA unverified)`;
  const all = [...candidates, ...loadPoints];
  const byConfig = bestPerConfig(candidates, s.sla);
  const top = byConfig.filter((b) => b.meetsSla).slice(0, s.settings.top ?? 5);
  const results = assemble(s, all, {
    selected: { pointId: final.id, config: final.config, reason },
    top: top.map((b) => ({ pointId: b.id, config: b.config, evidence: b.evidence ?? '' })),
    others: byConfig.filter((b) => b.config !== picked.point.config).map((b) => ({ config: b.config, reason: lossReason({ ...b, itlMs: slaItl(b) }, { ...picked.point, itlMs: slaItl(picked.point) }, s.sla) })),
    configs: [configInfo(s, choice)],
    sweeps: { ...sweepRows, load: loadRows },
  });
  return { results, choice };
}

/** Each config's best point (SLA-meeting by selection order, else its closest miss), best configs first. */
function bestPerConfig(points: readonly MeasuredPoint[], sla: { ttftMs: number; itlMs: number }): MeasuredPoint[] {
  const groups = new Map<string, MeasuredPoint[]>();
  for (const p of points) (groups.get(p.config) ?? groups.set(p.config, []).get(p.config)!).push(p);
  const best = [...groups.values()].map((g) => selectPoint(g, sla)?.point).filter((p): p is MeasuredPoint => p !== undefined);
  const sel = (p: MeasuredPoint) => ({ ...p, itlMs: slaItl(p) });
  return best.sort((a, b) => Number(b.meetsSla) - Number(a.meetsSla) || rankSelectable(sel(a), sel(b)));
}

/**
 * Aggregated candidates: every decode-sweep point of a TP engine, replicated over the budget (per-GPU and per-user
 * numbers carry over; the engine ran the full workload, so its TTFT is measured). Disaggregated candidates: a prefill
 * TP × a decode-sweep point, sized by the measured prefill capacity at the workload ISL against the decode
 * throughput at that point (replicaSplit); TTFT is the prefill engine's, ITL the decode point's.
 */
export function composeCandidates(s: Pick<Setup, 'budget' | 'isl' | 'osl' | 'sla' | 'settings'> & { base: { recipe: { backend: { name: string } } } }, sweeps: readonly EngineSweep[]): { points: MeasuredPoint[]; choices: Map<string, TopologyChoice> } {
  const backend = s.base.recipe.backend.name;
  const points: MeasuredPoint[] = [];
  const choices = new Map<string, TopologyChoice>();
  const mode = s.settings.mode;
  if (mode !== 'disagg') {
    for (const sw of sweeps) {
      const replicas = Math.floor(s.budget / sw.tp);
      if (replicas < 1) continue;
      const choice: TopologyChoice = { mode: 'agg', agg: { tp: sw.tp, replicas } };
      const config = choiceId(backend, choice);
      choices.set(config, choice);
      for (const d of sw.decode) {
        const p = d.point;
        points.push({
          ...p,
          id: `${config}/c${d.concurrency * replicas}`,
          config,
          concurrency: d.concurrency * replicas,
          gpus: replicas * sw.tp,
          outputTokensPerSecond: p.outputTokensPerSecond * replicas,
          requestsPerSecond: p.requestsPerSecond * replicas,
          source: 'measured',
          evidence: `${replicas} replica(s) of the tp${sw.tp} engine measured at concurrency ${d.concurrency} (${d.row.id}): TTFT p50 ${f(p.ttftP50)} ms, ITL p50 ${f(slaItl(p), 2)} ms, ${p.requests} requests`,
        });
      }
    }
  }
  if (mode !== 'agg') {
    for (const pre of sweeps) {
      if (pre.prefill.length === 0) continue;
      const ttft = interpolate(pre.prefill.map((x) => x.isl), pre.prefill.map((x) => x.ttftMs), s.isl);
      if (!(ttft > 0)) continue;
      const prefillRps = 1000 / ttft;
      for (const dec of sweeps) {
        for (const d of dec.decode) {
          const decodeRps = d.point.outputTokensPerSecond / s.osl;
          const split = replicaSplit({ prefillTp: pre.tp, decodeTp: dec.tp, prefillRequestsPerSecond: prefillRps, decodeRequestsPerSecond: decodeRps, gpuBudget: s.budget });
          if (!split) continue;
          const choice: TopologyChoice = { mode: 'disagg', prefill: { tp: pre.tp, replicas: split.prefillReplicas }, decode: { tp: dec.tp, replicas: split.decodeReplicas } };
          const config = choiceId(backend, choice);
          choices.set(config, choice);
          const out = split.requestsPerSecond * s.osl;
          const p = d.point;
          const itl = slaItl(p);
          const pt: MeasuredPoint = {
            ...p,
            id: `${config}/c${d.concurrency * split.decodeReplicas}`,
            config,
            concurrency: d.concurrency * split.decodeReplicas,
            gpus: split.gpus,
            ttftP50: ttft,
            ttftP90: null,
            e2eP50: itl === null ? null : ttft + itl * Math.max(0, s.osl - 1),
            outputTokensPerSecond: out,
            tokensPerSecondPerGpu: out / split.gpus,
            requestsPerSecond: split.requestsPerSecond,
            meetsSla: false,
            source: 'composed',
            recordsDir: null,
            evidence: `prefill tp${pre.tp}: TTFT ${f(ttft)} ms at ISL ${s.isl} → ${f(prefillRps, 2)} req/s per replica; decode tp${dec.tp} at concurrency ${d.concurrency} (${d.row.id}): ITL ${f(itl, 2)} ms, ${f(decodeRps, 2)} req/s per replica; ratio ${f(split.ratio, 2)} prefill per decode replica → ${split.prefillReplicas}:${split.decodeReplicas} on ${split.gpus} GPU(s), ${split.bound}-bound`,
          };
          pt.meetsSla = pt.ttftP50 !== null && itl !== null && pt.ttftP50 <= s.sla.ttftMs && itl <= s.sla.itlMs && pt.errorRate <= 0.01;
          // the same config can come from several decode points at the same per-replica concurrency: keep the best
          const prior = points.findIndex((x) => x.id === pt.id);
          if (prior < 0) points.push(pt);
          else if (pt.tokensPerSecondPerGpu > points[prior]!.tokensPerSecondPerGpu) points[prior] = pt;
        }
      }
    }
  }
  return { points, choices };
}

// ---------------------------------------------------------------------------------------------------------------

function assemble(
  s: Setup,
  points: MeasuredPoint[],
  rest: Pick<ExperimentResults, 'selected' | 'top' | 'others' | 'configs' | 'sweeps'>,
): ExperimentResults {
  const r = s.base;
  return {
    schema: 'llm-recipes/experiment-results@1',
    experiment: {
      id: createHash('sha256').update(JSON.stringify([s.spec.recipe, s.spec.variant, s.spec.set, s.spec.strategy, s.spec.profile, s.spec.target.kind, s.spec.createdAt])).digest('hex').slice(0, 16),
      recipe: r.id,
      variant: r.variant ?? null,
      model: r.model.hfId ?? r.recipe.model,
      backend: r.recipe.backend.name,
      gpu: r.recipe.gpu,
      mode: rest.selected ? (rest.selected.config.includes(' disagg ') ? 'disagg' : 'agg') : r.recipe.topology.mode,
      target: s.spec.target.kind,
      strategy: s.spec.strategy,
      createdAt: s.spec.createdAt,
    },
    sla: s.sla,
    gpuHourlyUsd: s.spec.gpuHourlyUsd,
    points,
    pareto: measuredPareto(points).map((p) => p.id),
    ...rest,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Auto-apply: write the selection as a recipe variant, render it, deploy it

async function autoApply(s: Setup, choice: TopologyChoice, results: ExperimentResults, name: string): Promise<NonNullable<ProfileOutcome['applied']>> {
  s.book.enter('Ready', 'GeneratingManifests', `variant ${name}`);
  // a variant layers over the base recipe only (variants do not stack), so it could not carry these
  if (s.spec.variant || s.spec.set.length > 0) {
    throw new UserError('AUTO_APPLY_LAYERS', `--auto-apply writes a variant of ${s.spec.recipe}, which cannot also carry ${s.spec.variant ? `--variant ${s.spec.variant}` : `--set ${s.spec.set.join(' ')}`}`, {
      hint: 'profile the base recipe for --auto-apply, or copy the selection from results.json into your variant',
    });
  }
  const sel = results.points.find((p) => p.id === results.selected?.pointId);
  const layer = topologyLayer(s.base.recipe, s.base.gpu.gpusPerNode, s.base.model.architecture.moe !== undefined, choice);
  const written = writeVariant({
    root: s.root,
    recipe: s.spec.recipe,
    name,
    force: s.settings.force ?? false,
    variant: { topology: layer as WrittenVariant['topology'] },
    comment: [
      `Written by recipes profile --strategy ${s.spec.strategy}: ${results.selected!.config}${sel ? ` at concurrency ${sel.concurrency}` : ''}, ISL ${s.isl} / OSL ${s.osl}.`,
      sel ? `${sel.source === 'estimated' ? 'Estimate' : 'Measured'}: ${f(sel.tokensPerSecondPerGpu)} tok/s/GPU, ${f(sel.tokensPerSecondPerUser)} tok/s/user, TTFT ${f(sel.ttftP50)} ms, ITL ${f(slaItl(sel), 2)} ms (SLA TTFT ≤ ${s.sla.ttftMs} ms, ITL ≤ ${s.sla.itlMs} ms).` : '',
    ].filter(Boolean).join('\n'),
  });
  const r = written.resolved;
  const namespace = s.spec.target.kind === 'cluster' ? (s.spec.target.namespace ?? clusterAccess(s.spec).namespace) : 'default';
  const rendered = renderRecipe(r, experimentCluster(r, namespace));
  const workload = rendered.manifests.filter((m) => m.group === 'workload');
  const manifests = join(s.dir, 'apply', 'manifests.yaml');
  writeAtomic(manifests, canonicalYaml(workload.map((m) => m.object)));
  s.log(`wrote variant ${name} in ${written.file}; rendered ${workload.length} object(s) to apply/manifests.yaml`);

  s.book.enter('Deploying', 'DeployingCandidate', rendered.dgdName);
  const t = s.spec.target;
  if (t.kind === 'local') {
    // left running (Deployed): `recipes up --out <experiment> --step teardown` stops it
    const cfg = { ...simConfigFromRecipe(r), speedup: t.speedup, slowdown: t.slowdown, seed: s.spec.seed };
    const e = await startLocalEngine(join(s.dir, 'deploy'), cfg, r.model.servedName, { detached: true });
    writeJson(join(s.dir, 'deploy', 'state.json'), { kind: 'local', endpoint: e.url, pid: e.pid, configHash: null });
    s.log(`serving ${r.model.servedName} at ${e.url} (pid ${e.pid})`);
    return { variant: name, file: written.file, manifests, endpoint: e.url, pid: e.pid };
  }
  if (t.kind === 'endpoint') throw new UserError('AUTO_APPLY_TARGET', '--auto-apply cannot deploy to an endpoint target', { hint: 'use --target local or --target cluster' });
  const kube = new KubeClient(clusterAccess(s.spec));
  try {
    const applied: { apiVersion: string; kind: string; name: string; namespace: string }[] = [];
    for (const m of workload) {
      const live = await kube.apply(m.object as KubeObject);
      applied.push({ apiVersion: m.object.apiVersion, kind: m.object.kind, name: live.metadata!.name!, namespace: live.metadata?.namespace ?? namespace });
      writeJson(join(s.dir, 'deploy', 'state.json'), { kind: 'cluster', endpoint: null, applied });
      s.log(`applied ${m.object.kind}/${live.metadata!.name}`);
    }
    s.book.enter('Deploying', 'WaitingReady', rendered.dgdName);
    const dgd = workload.find((m) => m.object.kind === 'DynamoGraphDeployment')!;
    await kube.waitFor({ apiVersion: dgd.object.apiVersion, kind: 'DynamoGraphDeployment', name: rendered.dgdName, namespace }, dgdReady, dgdFailed, {
      timeoutMs: t.timeoutS * 1000,
      intervalMs: t.pollMs,
      onPoll: (o) => s.book.progress(`DGD ${rendered.dgdName}: ${String(o.status?.['state'] ?? 'pending')}`),
    });
  } finally {
    await kube.close();
  }
  return { variant: name, file: written.file, manifests, endpoint: null, pid: null };
}

/**
 * Runs a profile experiment (written by planExperiment with strategy rapid or thorough) to the end: status phases
 * Pending → Profiling (SweepingPrefill, SweepingDecode, SelectingConfig, SweepingLoad) → Ready (Reporting) and, with
 * auto-apply, Ready (GeneratingManifests) → Deploying → Deployed. A failure sets Failed with `<SubPhase>Failed`,
 * keeps what was measured and rethrows.
 */
export async function runProfile(o: ProfileRunOptions): Promise<ProfileOutcome> {
  const spec = readSpec(o.dir);
  if (!spec) throw new UserError('NOT_AN_EXPERIMENT', `${o.dir} holds no experiment.json`, { hint: 'start one with recipes profile <recipe> --out DIR' });
  if (spec.strategy !== 'rapid' && spec.strategy !== 'thorough') throw new UserError('NOT_A_PROFILE', `${o.dir} is a ${spec.strategy} experiment`, { hint: 'run it with recipes up' });
  const book = new StatusBook(o.dir, o.onStatus);
  const log = o.log ?? (() => {});
  book.enter('Pending', 'Initializing', `${spec.strategy} profile of ${spec.recipe}`);
  let results: ExperimentResults | null = null;
  try {
    const ws = loadWorkspace(o.root);
    const res = resolveRecipe(ws, { recipe: spec.recipe, variant: spec.variant ?? undefined, set: setLayers(spec) });
    if (!res.resolved || res.issues.some((i) => i.severity !== 'warning')) throw new UserError('RECIPE_INVALID', res.issues.map((i) => i.message).join('; '), { hint: 'fix the recipe (recipes validate)' });
    const base = res.resolved;
    const settings = { mode: 'any' as const, ...(spec.profile ?? {}) };
    const s: Setup = {
      dir: o.dir,
      root: o.root,
      spec,
      settings,
      ws,
      base,
      budget: settings.gpus ?? totalGpus(base.recipe),
      isl: settings.isl ?? base.recipe.workload.isl,
      osl: settings.osl ?? base.recipe.workload.osl,
      sla: { ttftMs: settings.sla?.ttftMs ?? base.recipe.sla.ttftMs, itlMs: settings.sla?.itlMs ?? base.recipe.sla.itlMs },
      book,
      log,
    };
    log(`${spec.strategy} profile of ${base.id}: ${s.budget} GPU(s) of ${base.gpu.id}, ISL ${s.isl} / OSL ${s.osl}, SLA TTFT ≤ ${s.sla.ttftMs} ms, ITL ≤ ${s.sla.itlMs} ms, mode ${settings.mode}`);
    const out = spec.strategy === 'rapid' ? await rapid(s) : await thorough(s);
    results = out.results;
    writeJson(join(o.dir, 'results.json'), results);
    writeJson(join(o.dir, 'pareto.json'), results.pareto.map((id) => results!.points.find((p) => p.id === id)));
    writeJson(join(o.dir, 'selection.json'), { selected: results.selected, top: results.top, others: results.others ?? [], configs: results.configs });
    book.enter('Ready', 'Reporting');
    const reports = o.reporter ? await o.reporter(o.dir, results) : [];
    let applied: ProfileOutcome['applied'] = null;
    if (settings.autoApply) {
      const selPoint = results.points.find((p) => p.id === results!.selected?.pointId);
      if (!out.choice || !selPoint?.meetsSla) {
        throw new UserError('NOTHING_TO_APPLY', 'no configuration meets the SLA, so nothing is applied', { hint: 'relax --sla, add GPUs (--gpus), or apply the closest config by hand from results.json', exitCode: 1 });
      }
      applied = await autoApply(s, out.choice, results, settings.autoApply);
      book.enter('Deployed', 'Done', applied.endpoint ? `serving at ${applied.endpoint}` : `variant ${applied.variant} applied`);
    } else {
      book.enter('Ready', 'Done', results.selected ? `selected ${results.selected.config}` : 'nothing selected');
    }
    return { status: book.status, results, reports, applied };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    book.failPhase(message);
    throw Object.assign(err instanceof Error ? err : new Error(message), { experimentStatus: book.status });
  }
}

export type { EngineSweep };
