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
  /** Part of TTFT spent outside the engine steps (HTTP, tokenisation), ms. */
  requestMs: number;
  /** Mean TTFT of the first wave of a burst start, and of the requests after it (ms; equal without a burst). */
  firstWaveTtftMs: number;
  steadyTtftMs: number;
}

/** Time for one prompt of `isl` tokens, cut into chunks that share each step with `decodeSeqs` decoding sequences. */
export function prefillMs(m: StepModel, isl: number, decodeSeqs: number, contextTokens: number): number {
  const budget = m.scheduling.chunkedPrefill ? Math.max(256, m.limits.maxNumTokens - decodeSeqs) : Math.max(isl, m.limits.maxNumTokens - decodeSeqs);
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
    requestMs: 0,
    firstWaveTtftMs: inf,
    steadyTtftMs: inf,
  };
}

/**
 * A fitting configuration's figures from its mean TTFT and TPOT. Throughput follows from them by Little's law, as a
 * closed-loop client measures it: concurrency · OSL / (TTFT + (OSL − 1) · TPOT).
 */
function fitting(r: { ttft: number; tpot: number; osl: number; bmax: number; gpus: number; concurrency: number; limitedBy: ServingResult['limitedBy']; requestMs: number; firstWave: number; steady: number }): ServingResult {
  const life = r.ttft + (r.osl - 1) * r.tpot;
  const rps = r.concurrency / life;
  const out = rps * r.osl * 1000;
  return {
    ttftMs: r.ttft,
    itlMs: r.tpot,
    tpotMs: r.tpot,
    tokensPerSecondPerUser: 1000 / r.tpot,
    tokensPerSecondPerGpu: out / r.gpus,
    outputTokensPerSecond: out,
    maxBatch: r.bmax,
    fits: true,
    gpus: r.gpus,
    concurrency: r.concurrency,
    requestsPerSecond: rps * 1000,
    limitedBy: r.limitedBy,
    requestMs: r.requestMs,
    firstWaveTtftMs: r.firstWave,
    steadyTtftMs: r.steady,
  };
}

/** Default measured requests per slot (request count = 10 × concurrency, as genai-perf and AIPerf sweeps run). */
export const DEFAULT_REQUESTS_PER_SLOT = 10;

/** What one replica does with `n` closed-loop clients (mean field; see docs/estimator.md "Serving model"). */
interface ReplicaLoad {
  ttft: number;
  tpot: number;
  firstWave: number;
  steady: number;
  limitedBy: ServingResult['limitedBy'];
}

/**
 * Mean wait in the prefill queue of a replica (Pollaczek–Khinchine, deterministic service): prompts arrive at rate λ at
 * random phases and each occupies the engine for `s` ms beyond the decode step it rides in, so an arrival waits for
 * the prompt in service and the ones queued before it. A closed loop of b clients never has more than b − 1 ahead.
 */
function prefillQueueWait(lambda: number, s: number, b: number): number {
  if (b <= 1 || s <= 0 || lambda <= 0) return 0;
  const rho = lambda * s;
  const cap = (b - 1) * s;
  return rho >= 1 ? cap : Math.min(cap, (rho * s) / (2 * (1 - rho)));
}

/**
 * Aggregated serving of `n` closed-loop clients on one replica.
 *
 * Steady state: each client's request lives TTFT + (OSL − 1)·TPOT and is replaced at once, so every cycle the engine
 * prefills b·ISL prompt tokens (b = running requests) in steps of at most `cap` prompt tokens beside the b decodes
 * (the token budget less the decode tokens; whole prompts only without chunked prefill): (b − 1)·ISL/OSL prompt
 * tokens per step on average, as k or k + 1 chunks. A new request waits for the step(s) already formed
 * (`waitSteps`), then for its own prefill. After a burst start the clients' phases drift apart (each request's TTFT
 * differs, the client and the API server add jitter), so re-arrivals come at random phases and a prompt can find
 * another in service: it waits in an M/D/1 queue whose service is a prompt's prefill time beyond the decode step it
 * rides in. With `spread` arrivals (a ramp) the phases are even and nobody waits for another's prompt. When prefill
 * cannot keep up with the cycle, prefill bounds the rate (every step carries `cap` prompt tokens) and requests queue
 * (TTFT = n/λ − S, Little's law); clients beyond the batch cap queue for a slot the same way.
 *
 * First wave (burst): n requests arrive together; request i is prefilled in step ⌈(i+1)·ISL/per⌉ (per = prompts a step
 * holds: whole prompts without chunked prefill), so the mean over the wave is the mean of the cumulative step times,
 * with the decode batch growing as the wave is admitted. Clients beyond the batch cap get a slot as running requests
 * finish: the first after one request lifetime, then one per 1/λ. The reported mean over requestsPerSlot·n requests
 * weighs the first wave 1/requestsPerSlot.
 */
function replicaAgg(m: StepModel, w: Workload, n: number, bmax: number): ReplicaLoad {
  const { isl, osl } = w;
  const burst = (w.arrival ?? 'burst') === 'burst';
  const k = w.requestsPerSlot ?? DEFAULT_REQUESTS_PER_SLOT;
  const b = Math.min(n, bmax);
  const ctx = isl + osl / 2;
  // Under attention DP each rank has its own token budget and prefills its own prompts; without a balancing scheduler
  // (TensorRT-LLM attention_dp_config.enable_balance is off by default) ranks prefill in different steps, so a
  // prefill step carries one rank's prompts and every rank waits for it.
  const adp = m.attentionDp;
  const budget = m.limits.maxNumTokens;
  const decodesPerRank = adp ? b / m.gpus : b;
  const chunked = m.scheduling.chunkedPrefill;
  // prompt tokens one step can carry beside the decodes (fractional packing: the mean over the steps of a cycle)
  const cap = chunked ? Math.max(Math.min(256, budget), budget - decodesPerRank) : Math.max(isl, budget - decodesPerRank);
  const G = adp ? m.gpus : 1;
  const stepAt = (prefill: number, decodes: number, context: number, ranks = 1): number =>
    m.step({ prefillTokens: prefill, prefillAttended: (prefill * isl) / 2, decodeSequences: decodes, contextTokens: decodes * context, prefillRanks: ranks }).totalMs;
  const tDec = stepAt(0, b, ctx);
  // The API server handles requests one at a time (HTTP, tokenising the prompt: requestMs + tokenizeUs·ISL each).
  const frontMs = w.client === 'offline' ? 0 : m.requestMs(isl);
  // when prefill saturates the engine the queue fills every step to the budget, on every attention-DP rank at once
  const tFull = stepAt(G * Math.min(cap, Math.max(isl, decodesPerRank * isl)), b, ctx, G);
  // the own prompt: with chunked prefill a prompt longer than the budget left by the others' decodes takes several
  // steps (vLLM schedules decodes first); otherwise it rides in one step
  const capOwn = budget - Math.max(0, decodesPerRank - 1);
  const longPrompt = chunked && isl > capOwn;

  // Offline harnesses queue every request into the engine: each completion's slot is refilled at once from the queue,
  // so the requests admitted in one step finish in one step and are replaced together; packs of prompts that fill the
  // budget persist. Streaming clients pass the API server one at a time and drift apart (see above).
  const packs = burst && w.client === 'offline';
  // (fractional packing: the mean pack over the steps of a cycle)
  const packMax = Math.max(1, Math.min(cap / isl, decodesPerRank));
  const capEff = Math.min(cap, packMax * isl);
  // per-rank prefill steps a cycle needs; unaligned ranks each add their own, until every step carries prefill and
  // ranks overlap (then more ranks prefill in the same step)
  const jr = (decodesPerRank * isl) / capEff;
  const rps = adp ? Math.min(G, Math.max(1, (G * jr) / osl)) : 1;

  let tpotSteady: number;
  if (packs) {
    // a request's decode steps see the other packs' prefill steps, not its own pack's (that one is its TTFT)
    const f = Math.min(1, Math.max(0, (G * jr) / rps - 1) / Math.max(1, osl - 1));
    tpotSteady = (1 - f) * tDec + f * stepAt(rps * capEff, b, ctx, rps);
  } else {
    // (b−1)·ISL/OSL prompt tokens per step, as k or k+1 whole chunks (a step is the max of a compute and a memory
    // term, so the mix is slower than a step carrying the average)
    const chunk = Math.min(isl, cap);
    const units = ((b - 1) * isl) / osl / chunk;
    const lo = Math.floor(units);
    const frac = units - lo;
    const at = (u: number): number => stepAt(Math.min(u * chunk, Math.max(cap, chunk)), b, ctx, 1) + (Math.max(0, u * chunk - Math.max(cap, chunk)) / Math.max(cap, chunk)) * tFull;
    tpotSteady = frac > 0 ? (1 - frac) * at(lo) + frac * at(lo + 1) : at(lo);
  }

  let ownPrefill = 0;
  let ownSteps = 1;
  if (longPrompt) {
    // chunks of the budget the others' decodes leave, on the prompt's own rank, each attending to the chunks before
    ownSteps = 0;
    for (let done = 0; done < isl; ) {
      const c = Math.min(capOwn, isl - done);
      ownPrefill += m.step({ prefillTokens: c, prefillAttended: c * done + (c * c) / 2, decodeSequences: Math.max(0, b - 1), contextTokens: Math.max(0, b - 1) * ctx, prefillRanks: 1 }).totalMs;
      done += c;
      ownSteps++;
    }
  } else ownPrefill = packs ? stepAt(rps * capEff, Math.max(0, b - 1), ctx, rps) : stepAt(Math.min(isl, cap), Math.max(0, b - 1), ctx, 1);
  const wait = n > 1 || b > 1 ? m.scheduling.waitSteps * tpotSteady : 0;
  const s = (osl - 1) * tpotSteady;
  // a prompt's service in the prefill queue: its steps beyond the decode steps they carry
  // (measured against decode steps without context, so it cannot shrink as longer prompts slow the decodes)
  const servicePerPrompt = Math.max(0, ownPrefill - ownSteps * stepAt(0, Math.max(0, b - 1), 0));
  const base = wait + ownPrefill + frontMs;
  // The wait lowers the rate it comes from (closed loop). A client's cycle is its own prefill and queue, its waits and
  // front-end time, and its decode phase: O decode steps plus the other b − 1 prompts' service spread into them. So
  // λ = b/(K + W + b·s_p) with K the cycle less all prefill service; W = wait(λ(W)) has one root (W − wait rises with
  // W), found by bisection. Written this way the utilisation b·s_p/(K + W + b·s_p) grows with the load and with the
  // prompt's service, so the wait does.
  let queueWait = 0;
  if (burst && !packs && b > 1 && servicePerPrompt > 0) {
    const K = (m.scheduling.waitSteps + Math.max(1, osl - 1)) * tDec + frontMs + ownSteps * stepAt(0, Math.max(0, b - 1), 0);
    let lo = 0;
    let hi = (b - 1) * servicePerPrompt;
    for (let i = 0; i < 50; i++) {
      const mid = (lo + hi) / 2;
      if (prefillQueueWait(b / (K + mid + b * servicePerPrompt), servicePerPrompt, b) > mid) lo = mid;
      else hi = mid;
    }
    queueWait = (lo + hi) / 2;
  }
  const ttftService = base + queueWait;

  // rates: what the cycle allows vs what prefill can sustain (per ms)
  const natural = b / (ttftService + s);
  const prefillCap = (G * cap) / isl / tFull;
  const prefillStepsFull = (decodesPerRank * isl) / cap;
  let limitedBy: ReplicaLoad['limitedBy'] = 'latency';
  let tpot = tpotSteady;
  let lambda = natural;
  if (natural > prefillCap || prefillStepsFull > osl) {
    lambda = Math.min(natural, prefillCap);
    tpot = Math.max(tpotSteady, Math.min(tFull, tpotSteady + (tFull - tpotSteady) * Math.min(1, prefillStepsFull / osl)));
    limitedBy = 'prefill';
  }
  if (n > bmax) limitedBy = 'batch';
  const steady = Math.max(ttftService, n / lambda - (osl - 1) * tpot);

  if (!burst || !Number.isFinite(k)) return { ttft: steady, tpot, firstWave: steady, steady, limitedBy };

  // first wave: a = min(n, bmax) admitted at once, prefilled `per` a step (the budget is free of decodes when the burst
  // starts: the wave's own decodes are a tokens beside a·ISL prompt tokens); the decode batch grows as they are admitted
  const a = b;
  // ranks that hold first-wave prompts (each prefills its own, in step)
  const burstRanks = adp ? Math.min(G, Math.max(1, a)) : 1;
  const perRank = Math.max(1e-9, chunked ? Math.max(Math.min(256, budget), budget) / isl : Math.max(1, Math.floor(Math.max(isl, budget) / isl)));
  const per = burstRanks * perRank;
  const J = Math.max(1, Math.ceil(a / per));
  // the ranks prefill their shares of the wave side by side, so the wave's cascade is one rank's: steps holding
  // `perRank` prompts, then a last step holding the rest (when the rank's share does not fill its steps); the full
  // steps are evaluated in at most 15 segments of equal steps
  const aRank = a / burstRanks;
  const fullSteps = Math.min(J, Math.floor(aRank / perRank + 1e-9));
  const tail = Math.max(0, aRank - fullSteps * perRank);
  const segs = Math.min(fullSteps, 15);
  let cum = 0;
  let sumT = 0;
  for (let g = 0; g < segs; g++) {
    const s0 = Math.floor((g * fullSteps) / segs);
    const s1 = Math.floor(((g + 1) * fullSteps) / segs);
    const steps = s1 - s0;
    const dMid = Math.min(a, ((s0 + s1) / 2) * per);
    const t = stepAt(per * isl, dMid, isl + 1, burstRanks);
    // a rank's requests finishing in these steps (`perRank` a step) end at cum + t, cum + 2t, …: mean step index
    // (steps + 1)/2; a prompt longer than the budget ends only after 1/perRank steps
    const meanIdx = perRank >= 1 ? (steps + 1) / 2 : (steps + 1 / perRank) / 2;
    sumT += steps * perRank * (cum + t * meanIdx);
    cum += steps * t;
  }
  if (tail > 1e-9) {
    const t = stepAt(tail * burstRanks * isl, Math.min(a, (fullSteps * perRank + tail / 2) * burstRanks), isl + 1, burstRanks);
    sumT += tail * (cum + t);
    cum += t;
  }
  // the wave also enters the engine one request per front-end slot: request i cannot start before i·requestMs
  const arrivalBound = ((a - 1) / 2) * frontMs + stepAt(Math.min(isl, cap), 0, 0, 1);
  const firstAdmitted = Math.max(sumT / aRank, arrivalBound) + frontMs;
  // First-wave TPOT: a request admitted in cascade step i decodes through the remaining J − i prefill steps; over a
  // cascade of x prompts (J_x = ⌈x/per⌉ steps) the share of a request's O = OSL − 1 steps that carry prefill is
  // (J_x − 1)/(2·O) when the cascade is shorter than O, else 1 − O/(2·J_x).
  const O = Math.max(1, osl - 1);
  const share = (x: number): number => {
    if (x <= 0) return 0;
    const Jx = Math.max(1, Math.ceil(x / per));
    return Jx - 1 <= O ? (Jx - 1) / (2 * O) : 1 - O / (2 * Jx);
  };
  // Clients beyond the batch cap get a slot as running requests finish. With a fixed OSL slot p frees one lifetime
  // after its request was prefilled (its cascade position plus O decode steps) and the request taking it is prefilled
  // in the next step, so the burst drains as a train of waves of a, each repeating the first wave's cascade one
  // lifetime (O·TPOT + a cascade step) after the one before. A wave's completions are staggered like its cascade, so
  // the next wave's cascade runs through its last steps: a wave's TPOT carries its own cascade's share and the next's.
  // The engine admits FIFO, so no overflow prompt is prefilled before the first wave's cascade ends, and then at most
  // `per` a cascade step; all passed the API server after the first a (request i no earlier than i·requestMs).
  const cascadeStep = cum / J;
  const full = Math.floor(n / a);
  const rest = n - full * a;
  const waves = full + (rest > 0 ? 1 : 0);
  const sizeOf = (wv: number): number => (wv < full ? a : wv === full ? rest : 0);
  let start = 0;
  let sumTtft = 0;
  for (let wv = 0; wv < waves; wv++) {
    const size = sizeOf(wv);
    const tp = tDec + Math.min(1, share(size) + share(sizeOf(wv + 1))) * (tFull - tDec);
    sumTtft += size * (start + firstAdmitted);
    start += O * tp + cascadeStep;
  }
  const q = n - a;
  const overflowFront = (a + (q - 1) / 2) * frontMs + stepAt(Math.min(isl, cap), 0, 0, 1) + frontMs;
  const overflowPrefill = cum + ((q - 1) / 2 / per + 1) * cascadeStep + frontMs;
  const overflow = q > 0 ? Math.max((sumTtft - a * firstAdmitted) / q, overflowPrefill, overflowFront) : 0;
  const firstWave = (a * firstAdmitted + q * overflow) / n;
  // mean TPOT over the train: the last a requests carry their own cascade's share, the ones before it also the next
  // wave's (counted without the tail wave's size, so the mean cannot fall as clients are added)
  const tpotWave = tDec + ((q * Math.min(1, 2 * share(a)) + a * share(a)) / n) * (tFull - tDec);
  const ttft = (firstWave + (k - 1) * steady) / k;
  const tpotMixed = (tpotWave + (k - 1) * tpot) / k;
  return { ttft, tpot: tpotMixed, firstWave, steady, limitedBy };
}

/**
 * Aggregated serving (in-flight batching), closed loop at `concurrency` spread evenly over the replicas.
 */
export function serveAgg(m: StepModel, replicas: number, w: Workload, concurrency: number): ServingResult {
  const gpus = replicas * m.gpus;
  const bmax = m.batchFor(w.isl, w.osl);
  if (!m.memory.weightsFit || bmax < 1 || concurrency < 1) return notFitting(gpus, concurrency);
  const active = Math.min(replicas, concurrency);
  const n = concurrency / active;
  const r = replicaAgg(m, w, n, bmax);
  return fitting({ ttft: r.ttft, tpot: r.tpot, osl: w.osl, bmax, gpus, concurrency, limitedBy: r.limitedBy, requestMs: w.client === 'offline' ? 0 : m.requestMs(w.isl), firstWave: r.firstWave, steady: r.steady });
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

const SAFE = 1 - 1e-6;

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
  const bmax = md.batchFor(w.isl, w.osl);
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
  const ttftAt = (lambda: number): number => alone + md1Wait(lambda / prefillReplicas, packed) + transferMs + itl / 2 + mp.requestMs(w.isl);
  const hi = Math.min(prefillCap, decodeCap);
  const lambda = solveRate(concurrency, hi, s, ttftAt);
  const service = ttftAt(lambda);
  const ttft = Math.max(service, concurrency / lambda - s);
  const limitedBy = lambda >= hi * 0.999 ? (prefillCap <= decodeCap ? 'prefill' : 'decode') : nd > bmax ? 'batch' : 'latency';
  return fitting({ ttft, tpot: itl, osl: w.osl, bmax, gpus, concurrency, limitedBy, requestMs: mp.requestMs(w.isl), firstWave: ttft, steady: ttft });
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
    scheduling: pool.scheduling,
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
