import { kvLinkGBs, serveAgg, serveDisagg, type ServingResult } from './serve.ts';
import { buildStepModel, type StepModel } from './step.ts';
import type { Architecture, BackendName, Calibration, Deployment, Dtype, Gpu, Mode, Workload } from './types.ts';

export interface Sla {
  ttftMs: number;
  itlMs: number;
}

export interface SearchInput {
  arch: Architecture;
  gpu: Gpu;
  /** GPUs available; configs may use fewer. */
  gpuBudget: number;
  backends: BackendName[];
  dtype: Dtype;
  kvDtype?: Dtype | undefined;
  workload: Workload;
  sla: Sla;
  calibration: Calibration;
  modes?: Mode[] | undefined;
  /** How many SLA-meeting configs to list. */
  topN?: number | undefined;
}

/** One evaluated point: a deployment at one concurrency. */
export interface Candidate {
  /** Human-readable config id, e.g. `trtllm agg 2×tp4` or `vllm disagg p1×tp2 d1×tp4`. */
  config: string;
  deployment: Deployment;
  gpus: number;
  concurrency: number;
  result: ServingResult;
}

export interface RankedConfig {
  config: string;
  /** The config's best SLA-meeting point, or its closest miss. */
  best: Candidate | undefined;
  meetsSla: boolean;
  /** Why it is not the selection (empty for the selection). */
  reason: string;
  /** max(TTFT/SLA, ITL/SLA) of its closest point: ≤ 1 meets the SLA. */
  violation: number;
}

export interface SearchResult {
  workload: Workload;
  sla: Sla;
  gpuBudget: number;
  /** Pareto front over (tokens/s/GPU, tokens/s/user), best per-user first. */
  pareto: Candidate[];
  /** Top-N configs meeting the SLA, best first. */
  top: RankedConfig[];
  selected: Candidate | undefined;
  /** Set when nothing meets the SLA: the configs that came closest. */
  closest: RankedConfig[];
  /** Every other config with the reason it lost. */
  others: RankedConfig[];
  status: 'selected' | 'no-config-meets-sla' | 'nothing-fits';
  configs: number;
  points: number;
  /** Highest output tokens/s any fitting point reaches (all GPUs used by that config). */
  maxOutputTokensPerSecond: number;
}

const TP_CHOICES = [1, 2, 4, 8, 16, 32, 64];

function concurrencyLevels(maxConc: number): number[] {
  const out: number[] = [];
  for (let c = 1; c < maxConc; c *= 2) out.push(c);
  out.push(Math.max(1, Math.floor(maxConc)));
  return [...new Set(out)];
}

/** True when a is at least as good as b on both axes and better on one. */
export function dominates(a: ServingResult, b: ServingResult): boolean {
  const ge = a.tokensPerSecondPerGpu >= b.tokensPerSecondPerGpu && a.tokensPerSecondPerUser >= b.tokensPerSecondPerUser;
  const gt = a.tokensPerSecondPerGpu > b.tokensPerSecondPerGpu || a.tokensPerSecondPerUser > b.tokensPerSecondPerUser;
  return ge && gt;
}

/** Non-dominated points (tokens/s/GPU vs tokens/s/user, both higher is better), sorted by tokens/s/user descending. */
export function paretoFront<T extends { result: ServingResult }>(points: T[]): T[] {
  const sorted = points
    .filter((p) => p.result.fits)
    .sort((a, b) => b.result.tokensPerSecondPerUser - a.result.tokensPerSecondPerUser || b.result.tokensPerSecondPerGpu - a.result.tokensPerSecondPerGpu);
  const front: T[] = [];
  let bestGpu = Number.NEGATIVE_INFINITY;
  for (const p of sorted) {
    if (p.result.tokensPerSecondPerGpu > bestGpu) {
      // equal per-user with lower per-GPU was sorted after and is dominated; equal on both is kept once
      front.push(p);
      bestGpu = p.result.tokensPerSecondPerGpu;
    }
  }
  return front;
}

export function meetsSla(r: ServingResult, sla: Sla): boolean {
  return r.fits && r.ttftMs <= sla.ttftMs && r.itlMs <= sla.itlMs;
}

function violation(r: ServingResult, sla: Sla): number {
  if (!r.fits) return Number.POSITIVE_INFINITY;
  return Math.max(r.ttftMs / sla.ttftMs, r.itlMs / sla.itlMs);
}

const fmt = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '∞');

/** Enumerates TP (and EP for MoE), replicas, prefill:decode splits and concurrency under the GPU budget. */
export function search(input: SearchInput): SearchResult {
  const { arch, gpu, workload: w, sla } = input;
  const modes = input.modes ?? ['agg', 'disagg'];
  const tps = TP_CHOICES.filter((t) => t <= input.gpuBudget);
  const models = new Map<string, StepModel>();
  const modelFor = (backend: BackendName, tp: number, ep: number): StepModel => {
    const key = `${backend}/${tp}/${ep}`;
    let m = models.get(key);
    if (!m) {
      m = buildStepModel({ arch, gpu, backend, parallelism: { tp, ep }, dtype: input.dtype, kvDtype: input.kvDtype, calibration: input.calibration });
      models.set(key, m);
    }
    return m;
  };
  const byConfig = new Map<string, Candidate[]>();
  const unfit = new Map<string, string>();
  const add = (c: Candidate): void => {
    (byConfig.get(c.config) ?? byConfig.set(c.config, []).get(c.config)!).push(c);
  };
  // MoE experts: tensor-parallel (every engine's default) or expert-parallel over the replica's GPUs
  const shardings = (tp: number): { tp: number; ep: number }[] => (arch.moe && tp > 1 ? [{ tp, ep: 1 }, { tp, ep: tp }] : [{ tp, ep: 1 }]);
  const label = (s: { tp: number; ep: number }): string => `tp${s.tp}${s.ep > 1 ? `ep${s.ep}` : ''}`;
  const pool = (s: { tp: number; ep: number }, replicas: number) => ({ tp: s.tp, ep: s.ep, replicas });
  const layouts = tps.flatMap(shardings);

  for (const backend of input.backends) {
    if (modes.includes('agg')) {
      for (const sh of layouts) {
        const m = modelFor(backend, sh.tp, sh.ep);
        const bmax = m.batchFor(w.isl, w.osl);
        for (let r = 1; r * sh.tp <= input.gpuBudget; r++) {
          const config = `${backend} agg ${r}×${label(sh)}`;
          if (!m.memory.weightsFit || bmax < 1) {
            unfit.set(config, fitReason(m, w));
            continue;
          }
          const deployment: Deployment = { backend, dtype: input.dtype, kvDtype: m.kvDtype, mode: 'agg', agg: pool(sh, r) };
          for (const c of concurrencyLevels(r * bmax)) add({ config, deployment, gpus: r * sh.tp, concurrency: c, result: serveAgg(m, r, w, c) });
        }
      }
    }
    if (modes.includes('disagg')) {
      for (const shP of layouts) {
        const mp = modelFor(backend, shP.tp, shP.ep);
        for (const shD of layouts) {
          const md = modelFor(backend, shD.tp, shD.ep);
          const bmax = md.batchFor(w.isl, w.osl);
          for (let rp = 1; rp * shP.tp + shD.tp <= input.gpuBudget; rp++) {
            for (let rd = 1; rp * shP.tp + rd * shD.tp <= input.gpuBudget; rd++) {
              const config = `${backend} disagg p${rp}×${label(shP)} d${rd}×${label(shD)}`;
              const total = rp * shP.tp + rd * shD.tp;
              if (!mp.memory.weightsFit || !md.memory.weightsFit || bmax < 1) {
                unfit.set(config, fitReason(mp.memory.weightsFit ? md : mp, w));
                continue;
              }
              const deployment: Deployment = { backend, dtype: input.dtype, kvDtype: md.kvDtype, mode: 'disagg', prefill: pool(shP, rp), decode: pool(shD, rd) };
              const link = kvLinkGBs(gpu, input.calibration, total);
              for (const c of concurrencyLevels(rd * bmax)) add({ config, deployment, gpus: total, concurrency: c, result: serveDisagg(mp, rp, md, rd, w, c, link) });
            }
          }
        }
      }
    }
  }

  const all = [...byConfig.values()].flat().filter((c) => c.result.fits);
  const pareto = paretoFront(all);
  const ranked: RankedConfig[] = [];
  for (const [config, pts] of byConfig) {
    const ok = pts.filter((p) => meetsSla(p.result, sla));
    if (ok.length > 0) {
      const best = ok.reduce((a, b) => (better(b, a) ? b : a));
      ranked.push({ config, best, meetsSla: true, reason: '', violation: violation(best.result, sla) });
    } else {
      const fitting = pts.filter((p) => p.result.fits);
      const closest = fitting.reduce<Candidate | undefined>((a, b) => (!a || violation(b.result, sla) < violation(a.result, sla) ? b : a), undefined);
      ranked.push({ config, best: closest, meetsSla: false, reason: closest ? missReason(closest, sla) : 'no point fits', violation: closest ? violation(closest.result, sla) : Number.POSITIVE_INFINITY });
    }
  }
  for (const [config, reason] of unfit) ranked.push({ config, best: undefined, meetsSla: false, reason, violation: Number.POSITIVE_INFINITY });

  const meeting = ranked.filter((r) => r.meetsSla).sort((a, b) => (better(a.best!, b.best!) ? -1 : better(b.best!, a.best!) ? 1 : a.config.localeCompare(b.config)));
  const selected = meeting[0]?.best;
  const topN = input.topN ?? 5;
  for (const r of meeting.slice(1)) {
    const s = selected!.result;
    r.reason = `meets the SLA at concurrency ${r.best!.concurrency} but ${fmt(r.best!.result.tokensPerSecondPerGpu, 0)} tok/s/GPU < selected ${fmt(s.tokensPerSecondPerGpu, 0)}`;
  }
  const missing = ranked.filter((r) => !r.meetsSla).sort((a, b) => a.violation - b.violation || a.config.localeCompare(b.config));
  const maxOut = all.reduce((m, c) => Math.max(m, c.result.outputTokensPerSecond), 0);
  return {
    workload: w,
    sla,
    gpuBudget: input.gpuBudget,
    pareto,
    top: meeting.slice(0, topN),
    selected,
    closest: selected ? [] : missing.filter((r) => r.best).slice(0, topN),
    others: [...meeting.slice(topN), ...missing],
    status: selected ? 'selected' : all.length === 0 ? 'nothing-fits' : 'no-config-meets-sla',
    configs: byConfig.size + unfit.size,
    points: all.length,
    maxOutputTokensPerSecond: maxOut,
  };
}

/** Selection order: tokens/s/GPU, then tokens/s/user, then fewer GPUs. */
function better(a: Candidate, b: Candidate): boolean {
  const x = a.result;
  const y = b.result;
  if (x.tokensPerSecondPerGpu !== y.tokensPerSecondPerGpu) return x.tokensPerSecondPerGpu > y.tokensPerSecondPerGpu;
  if (x.tokensPerSecondPerUser !== y.tokensPerSecondPerUser) return x.tokensPerSecondPerUser > y.tokensPerSecondPerUser;
  return a.gpus < b.gpus;
}

function missReason(c: Candidate, sla: Sla): string {
  const r = c.result;
  const parts: string[] = [];
  if (r.ttftMs > sla.ttftMs) parts.push(`TTFT ${fmt(r.ttftMs)} ms > ${sla.ttftMs} ms`);
  if (r.itlMs > sla.itlMs) parts.push(`ITL ${fmt(r.itlMs, 2)} ms > ${sla.itlMs} ms`);
  return `misses the SLA even at its closest point (concurrency ${c.concurrency}): ${parts.join(', ')}`;
}

function fitReason(m: StepModel, w: Workload): string {
  const GiB = 1024 ** 3;
  const mem = m.memory;
  if (!mem.weightsFit) {
    return `does not fit: ${fmt(mem.weightBytesPerGpu / GiB)} GiB weights + ${fmt(mem.reserveBytes / GiB)} GiB reserve per GPU > ${fmt(mem.gpuBytes / GiB)} GiB`;
  }
  return `does not fit: no room for one ${w.isl + w.osl}-token sequence of KV cache`;
}
