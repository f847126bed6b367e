import { kvBytesForSequence } from './facts.ts';
import { buildStepModel, gpuFamily, type StepModel } from './step.ts';
import type { Architecture, Calibration, Deployment, Estimate, Gpu, Pool, Workload } from './types.ts';

/** A serving estimate plus what the search needs to explain it. */
export interface ServingResult extends Estimate {
  gpus: number;
  concurrency: number;
  /** Requests completed per second. */
  requestsPerSecond: number;
  /** What bounds throughput at this concurrency. */
  limitedBy: 'latency' | 'batch' | 'prefill' | 'decode' | 'memory';
}

/** Time for one prompt of `isl` tokens, cut into chunks that share each step with `decodeSeqs` decoding sequences. */
export function prefillMs(m: StepModel, isl: number, decodeSeqs: number, contextTokens: number): number {
  const budget = Math.max(256, m.limits.maxNumTokens - decodeSeqs);
  let done = 0;
  let ms = 0;
  while (done < isl) {
    const c = Math.min(budget, isl - done);
    ms += m.step({ prefillTokens: c, prefillAttended: c * done + (c * c) / 2, decodeSequences: decodeSeqs, contextTokens }).totalMs;
    done += c;
  }
  return ms;
}

/** Per-prompt prefill time when the step's token budget is filled with prompts (attention-DP ranks each fill one). */
export function packedPrefillMs(m: StepModel, isl: number): number {
  const budget = m.limits.maxNumTokens * (m.attentionDp ? m.gpus : 1);
  const pack = Math.max(1, Math.floor(budget / isl));
  if (pack === 1) return prefillMs(m, isl, 0, 0);
  return m.step({ prefillTokens: pack * isl, prefillAttended: (pack * isl * isl) / 2, decodeSequences: 0, contextTokens: 0 }).totalMs / pack;
}

/**
 * Mean decode step (the ITL) of a batch of `b` that carries the other requests' prompts: (b−1)·ISL/OSL prompt tokens
 * per step on average. Prompts are not spread evenly: a step carries whole prompts (or budget-sized chunks of long
 * ones), so the mean is a mix of steps with k and k+1 chunks. Because a step is the max of a compute and a memory
 * term, the mix is slower than a step carrying the average (what a batching engine shows as ITL spikes).
 */
function decodeItl(m: StepModel, w: Workload, b: number): number {
  const ctx = b * (w.isl + w.osl / 2);
  const perStep = ((b - 1) * w.isl) / w.osl;
  const budget = Math.max(256, m.limits.maxNumTokens - b);
  const chunk = Math.min(w.isl, budget);
  const units = perStep / chunk;
  const k = Math.floor(units);
  const frac = units - k;
  // Beyond the token budget the prompts take extra steps; charging them to this step keeps the time of all the
  // work (what bounds throughput when prefill saturates) instead of dropping the excess.
  const stepWith = (n: number): number => {
    const p = n * chunk;
    return m.step({ prefillTokens: p, prefillAttended: (p * w.isl) / 2, decodeSequences: b, contextTokens: ctx }).totalMs;
  };
  return frac > 0 ? (1 - frac) * stepWith(k) + frac * stepWith(k + 1) : stepWith(k);
}

/** Largest λ in [0, hi) with λ·(ttft(λ) + s) ≤ n, for ttft non-decreasing in λ (closed loop, Little's law). */
function solveRate(n: number, hi: number, s: number, ttft: (lambda: number) => number): number {
  let lo = 0;
  let up = hi;
  if (hi * (ttft(hi) + s) <= n) return hi;
  for (let i = 0; i < 48; i++) {
    const mid = (lo + up) / 2;
    if (mid * (ttft(mid) + s) <= n) lo = mid;
    else up = mid;
  }
  return lo;
}

/** Mean wait in an M/D/1 queue with arrival rate λ and service time d (ms). */
function md1Wait(lambda: number, d: number): number {
  const rho = lambda * d;
  if (rho >= 1) return Number.POSITIVE_INFINITY;
  return (rho * d) / (2 * (1 - rho));
}

function notFitting(gpus: number, concurrency: number): ServingResult {
  const inf = Number.POSITIVE_INFINITY;
  return {
    ttftMs: inf,
    itlMs: inf,
    tpotMs: inf,
    tokensPerSecondPerUser: 0,
    tokensPerSecondPerGpu: 0,
    outputTokensPerSecond: 0,
    maxBatch: 0,
    fits: false,
    gpus,
    concurrency,
    requestsPerSecond: 0,
    limitedBy: 'memory',
  };
}

/** A fitting configuration's figures from its solved latencies and rates (ITL is TPOT in steady decode). */
function fitting(r: { ttft: number; itl: number; out: number; bmax: number; gpus: number; concurrency: number; requestsPerSecond: number; limitedBy: ServingResult['limitedBy'] }): ServingResult {
  return {
    ttftMs: r.ttft,
    itlMs: r.itl,
    tpotMs: r.itl,
    tokensPerSecondPerUser: 1000 / r.itl,
    tokensPerSecondPerGpu: r.out / r.gpus,
    outputTokensPerSecond: r.out,
    maxBatch: r.bmax,
    fits: true,
    gpus: r.gpus,
    concurrency: r.concurrency,
    requestsPerSecond: r.requestsPerSecond,
    limitedBy: r.limitedBy,
  };
}

const SAFE = 1 - 1e-6;

/**
 * Aggregated serving (in-flight batching with chunked prefill), closed loop at `concurrency` spread over the replicas.
 * Mean field: each step decodes the batch and carries the other requests' prompt tokens (ISL/OSL per sequence); a new
 * request's own prefill runs in chunks beside the batch, waits for the prefill "server" (M/D/1) and, once the batch is
 * full, in the queue (Little's law).
 */
export function serveAgg(m: StepModel, replicas: number, w: Workload, concurrency: number): ServingResult {
  const gpus = replicas * m.gpus;
  const bmax = m.maxBatch(w.isl + w.osl);
  if (!m.memory.weightsFit || bmax < 1 || concurrency < 1) return notFitting(gpus, concurrency);
  const active = Math.min(replicas, concurrency);
  const n = concurrency / active;
  const b = Math.min(n, bmax);
  const others = b - 1;
  const ctxMean = w.isl + w.osl / 2;
  const itl = decodeItl(m, w, b);
  // Closed loop: a request arrives right after its predecessor's last token, i.e. just as the next step starts, so
  // with others in the batch it waits a whole step before its prefill (half a step would be a random arrival).
  const own = prefillMs(m, w.isl, others, others * ctxMean) + (others > 0 ? itl : 0);
  // Prompts queue for the prefill share of the steps; at load several are packed into one step.
  const perPrompt = packedPrefillMs(m, w.isl);
  const s = (w.osl - 1) * itl;
  const ttftAt = (lambda: number): number => own + md1Wait(lambda, perPrompt);
  const lambda = solveRate(b, SAFE / perPrompt, s, ttftAt);
  const service = ttftAt(lambda);
  // Requests beyond the batch wait in the queue before their prefill starts: n = λ·(TTFT + S).
  const ttft = Math.max(service, n / lambda - s);
  const out = active * lambda * w.osl * 1000;
  const limitedBy = n > bmax ? 'batch' : lambda >= (SAFE / perPrompt) * 0.999 ? 'prefill' : 'latency';
  return fitting({ ttft, itl, out, bmax, gpus, concurrency, requestsPerSecond: active * lambda * 1000, limitedBy });
}

/** Link bandwidth (GB/s per GPU) KV moves over between a prefill and a decode worker. */
export function kvLinkGBs(gpu: Gpu, calibration: Calibration, totalGpus: number): number {
  // Pools inside one scale-up domain move KV over NVLink; otherwise over the RDMA NICs.
  if (totalGpus <= gpu.gpusPerNode || totalGpus <= gpu.interconnect.domainSize) return gpu.interconnect.bandwidthGBs;
  return calibration.networkGBs[gpuFamily(calibration, gpu.id)] ?? 25;
}

/**
 * Disaggregated serving: prompts run on the prefill pool (batched up to the token budget, M/D/1 queue), the KV cache
 * moves to a decode worker (bytes/token × ISL over the link), decode runs at the batch the concurrency leaves.
 */
export function serveDisagg(
  mp: StepModel,
  prefillReplicas: number,
  md: StepModel,
  decodeReplicas: number,
  w: Workload,
  concurrency: number,
  kvLinkGBsPerGpu: number,
): ServingResult {
  const gpus = prefillReplicas * mp.gpus + decodeReplicas * md.gpus;
  const bmax = md.maxBatch(w.isl + w.osl);
  const fits = mp.memory.weightsFit && md.memory.weightsFit && bmax >= 1 && mp.capacitySequences(w.isl) >= 1;
  if (!fits || concurrency < 1 || prefillReplicas < 1 || decodeReplicas < 1) return notFitting(gpus, concurrency);
  const alone = prefillMs(mp, w.isl, 0, 0);
  const packed = packedPrefillMs(mp, w.isl);
  const kvBytes = kvBytesForSequence(mp.input.arch, mp.kvDtype, w.isl);
  const transferMs = (kvBytes / (kvLinkGBsPerGpu * 1e9 * Math.min(mp.gpus, md.gpus))) * 1000;

  const activeD = Math.min(decodeReplicas, concurrency);
  const nd = concurrency / activeD;
  const b = Math.min(nd, bmax);
  const ctxMean = w.isl + w.osl / 2;
  const itl = md.step({ prefillTokens: 0, decodeSequences: b, contextTokens: b * ctxMean }).totalMs;
  const s = (w.osl - 1) * itl;
  const prefillCap = (SAFE * prefillReplicas) / packed;
  const decodeCap = (activeD * b) / s;
  const ttftAt = (lambda: number): number => alone + md1Wait(lambda / prefillReplicas, packed) + transferMs + itl / 2;
  const hi = Math.min(prefillCap, decodeCap);
  const lambda = solveRate(concurrency, hi, s, ttftAt);
  const service = ttftAt(lambda);
  const ttft = Math.max(service, concurrency / lambda - s);
  const out = lambda * w.osl * 1000;
  const limitedBy = lambda >= hi * 0.999 ? (prefillCap <= decodeCap ? 'prefill' : 'decode') : nd > bmax ? 'batch' : 'latency';
  return fitting({ ttft, itl, out, bmax, gpus, concurrency, requestsPerSecond: lambda * 1000, limitedBy });
}

export interface EstimateInput {
  arch: Architecture;
  gpu: Gpu;
  deployment: Deployment;
  workload: Workload;
  concurrency: number;
  calibration: Calibration;
}

function poolModel(input: EstimateInput, pool: Pool): StepModel {
  const d = input.deployment;
  return buildStepModel({
    arch: input.arch,
    gpu: input.gpu,
    backend: d.backend,
    parallelism: { tp: pool.tp, ep: pool.ep, attentionDp: pool.attentionDp },
    dtype: d.dtype,
    kvDtype: d.kvDtype,
    calibration: input.calibration,
    limits: pool.limits,
  });
}

/** Point query: one deployment at one concurrency (the `recipes estimate` model). */
export function estimate(input: EstimateInput): ServingResult {
  const d = input.deployment;
  if (d.mode === 'agg') {
    if (!d.agg) throw new Error('agg deployment needs an agg pool');
    return serveAgg(poolModel(input, d.agg), d.agg.replicas, input.workload, input.concurrency);
  }
  if (!d.prefill || !d.decode) throw new Error('disagg deployment needs prefill and decode pools');
  const total = d.prefill.replicas * d.prefill.tp + d.decode.replicas * d.decode.tp;
  return serveDisagg(
    poolModel(input, d.prefill),
    d.prefill.replicas,
    poolModel(input, d.decode),
    d.decode.replicas,
    input.workload,
    input.concurrency,
    kvLinkGBs(input.gpu, input.calibration, total),
  );
}
