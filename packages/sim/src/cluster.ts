import type { PoolConfig, SimConfig } from './config.ts';
import { stepParamsOf } from './config.ts';
import { Sequence, Worker, type FinishReason, type SequenceSink, type StepTrace } from './engine.ts';
import { blockHashes } from './kv-cache.ts';
import type { EngineSample } from './metrics.ts';
import { createRng } from '@llm-recipes/bench';
import { ParametricStepModel, type StepTimeModel } from './step-model.ts';

/** Scales a step model's durations (the `slowdown` knob); KV sizes are unchanged, so only timing moves. */
function slowed(model: StepTimeModel, factor: number): StepTimeModel {
  if (factor === 1) return model;
  return {
    stepMs: (b) => model.stepMs(b) * factor,
    kvBytesPerToken: model.kvBytesPerToken,
    kvCapacityTokens: model.kvCapacityTokens,
  };
}

export type PoolRole = 'agg' | 'prefill' | 'decode';

/** Supplies the step-time model of a pool (the parametric default, or the estimator's once it is wired in). */
export type StepModelFactory = (role: PoolRole, pool: PoolConfig) => StepTimeModel;

export const parametricStepModels: StepModelFactory = (_role, pool) => new ParametricStepModel(stepParamsOf(pool));

/** What the router needs to place a request and the engine needs to run it. */
export interface ClusterRequest {
  id: string;
  promptIds: readonly number[];
  outputTokens: number;
  finishReason: 'stop' | 'length';
  nextWord: () => number;
  stall?: { afterTokens: number; ms: number } | undefined;
  arrivalMs: number;
}

/** Lifecycle of one request across pools (the HTTP layer's view). */
export interface RequestSink {
  onScheduled(atMs: number): void;
  onToken(wordIndex: number, atMs: number, seq: Sequence): void;
  onFinish(reason: FinishReason, atMs: number, seq: Sequence | undefined): void;
}

export interface RequestHandle {
  abort(): void;
}

/** Where the request is now, so an abort reaches the right place. */
type Stage =
  | { kind: 'worker'; worker: Worker; seq: Sequence }
  | { kind: 'transfer'; worker: Worker; seq: Sequence; timer: NodeJS.Timeout }
  | { kind: 'done' };

/**
 * N workers behind a router: aggregated (one pool) or disaggregated (prefill pool → KV transfer → decode pool).
 * Policies: round-robin, random, and kv (lowest cost = blocks still to prefill + the worker's active blocks, the
 * cost shape of KV-aware routers that weigh prefix overlap against load).
 */
export class SimCluster {
  readonly config: SimConfig;
  readonly pools: Record<PoolRole, Worker[]>;
  private readonly rr: Record<PoolRole, number> = { agg: 0, prefill: 0, decode: 0 };
  private readonly rand: () => number;
  private readonly transfers = new Set<NodeJS.Timeout>();
  /** Routing decisions per policy outcome, for tests and diagnostics. */
  readonly routed: Record<PoolRole, number[]>;

  constructor(config: SimConfig, stepModels: StepModelFactory = parametricStepModels, onStep?: (trace: StepTrace) => void) {
    this.config = config;
    this.rand = createRng(config.seed ^ 0x5f3759df);
    const make = (role: PoolRole, pool: PoolConfig): Worker[] => {
      const out: Worker[] = [];
      for (let i = 0; i < pool.replicas; i++) {
        out.push(
          new Worker({
            id: `${role}-${i}`,
            model: slowed(stepModels(role, pool), config.slowdown),
            maxNumSeqs: pool.maxNumSeqs,
            maxBatchedTokens: pool.maxBatchedTokens,
            blockSize: pool.blockSize,
            kvCapacityTokens: pool.kvCapacityTokens,
            prefixCaching: pool.prefixCaching,
            speedup: config.speedup,
            maxWaiting: config.maxWaiting,
            onStep,
          }),
        );
      }
      return out;
    };
    this.pools =
      config.mode === 'agg'
        ? { agg: make('agg', config.agg), prefill: [], decode: [] }
        : { agg: [], prefill: make('prefill', config.prefill), decode: make('decode', config.decode) };
    this.routed = {
      agg: this.pools.agg.map(() => 0),
      prefill: this.pools.prefill.map(() => 0),
      decode: this.pools.decode.map(() => 0),
    };
  }

  get workers(): Worker[] {
    return [...this.pools.agg, ...this.pools.prefill, ...this.pools.decode];
  }

  /** Largest prompt + output a request may need: it must fit one worker's KV (decode side when disaggregated). */
  get maxSequenceTokens(): number {
    const pools = this.config.mode === 'agg' ? [this.pools.agg] : [this.pools.prefill, this.pools.decode];
    return Math.min(...pools.map((p) => Math.min(...p.map((w) => w.capacityTokens))));
  }

  /** Places a request; undefined when the chosen worker's queue is full (429). */
  submit(req: ClusterRequest, sink: RequestSink): RequestHandle | undefined {
    const firstRole: PoolRole = this.config.mode === 'agg' ? 'agg' : 'prefill';
    const firstPool = this.pools[firstRole];
    const blockSize = firstPool[0]!.kv.blockSize;
    const hashes = blockHashes(req.promptIds, blockSize);
    const idx = this.pick(firstRole, hashes, req.promptIds.length);
    const worker = firstPool[idx]!;
    let stage: Stage = { kind: 'done' };
    const clientSink: SequenceSink = {
      onScheduled: (_s, t) => sink.onScheduled(t),
      onToken: (s, w, t) => sink.onToken(w, t, s),
      onFinish: (s, reason, t) => {
        stage = { kind: 'done' };
        sink.onFinish(reason, t, s);
      },
    };

    if (this.config.mode === 'agg') {
      const seq = new Sequence({ ...req, promptHashes: hashes, sink: clientSink });
      stage = { kind: 'worker', worker, seq };
      if (!worker.submit(seq)) return undefined;
    } else {
      const prefillSink: SequenceSink = {
        onScheduled: (_s, t) => sink.onScheduled(t),
        onToken: () => {},
        onFinish: (s, reason, t) => {
          // normal completion is the hand-over (releaseTransferred); only aborts end the request here
          if (reason === 'abort' && stage.kind !== 'done') {
            stage = { kind: 'done' };
            sink.onFinish('abort', t, s);
          }
        },
        onPrefillDone: (s) => {
          const bytes = s.promptLen * worker.opts.model.kvBytesPerToken;
          const simMs = this.config.transfer.latencyMs + (bytes / (this.config.transfer.bandwidthGBs * 1e9)) * 1000;
          const timer = setTimeout(() => {
            this.transfers.delete(timer);
            stage = { kind: 'done' }; // releasing the prefill KV must not end the request
            worker.releaseTransferred(s);
            const dIdx = this.pick('decode', [], 0);
            const dWorker = this.pools.decode[dIdx]!;
            const dSeq = new Sequence({
              ...req,
              promptHashes: hashes,
              sink: clientSink,
              role: 'decode-only',
              arrivalMs: req.arrivalMs,
            });
            dSeq.scheduledMs = s.scheduledMs; // queue time was spent on the prefill side
            dSeq.cachedTokens = s.cachedTokens;
            stage = { kind: 'worker', worker: dWorker, seq: dSeq };
            // the request is already accepted: the decode queue takes it regardless of its bound
            dWorker.submit(dSeq, true);
          }, simMs / this.config.speedup);
          this.transfers.add(timer);
          stage = { kind: 'transfer', worker, seq: s, timer };
        },
      };
      const seq = new Sequence({ ...req, promptHashes: hashes, sink: prefillSink, role: 'prefill-only' });
      stage = { kind: 'worker', worker, seq };
      if (!worker.submit(seq)) return undefined;
    }
    this.routed[firstRole][idx]!++;
    return {
      abort: () => {
        const st = stage as Stage;
        if (st.kind === 'worker') st.worker.abort(st.seq);
        else if (st.kind === 'transfer') {
          clearTimeout(st.timer);
          this.transfers.delete(st.timer);
          stage = { kind: 'done' };
          st.worker.releaseTransferred(st.seq);
          sink.onFinish('abort', performance.now(), st.seq);
        }
      },
    };
  }

  private pick(role: PoolRole, hashes: readonly string[], promptLen: number): number {
    const pool = this.pools[role];
    if (pool.length === 1) return 0;
    const policy = role === 'decode' && this.config.router === 'kv' ? 'least-loaded' : this.config.router;
    if (policy === 'random') return Math.floor(this.rand() * pool.length);
    if (policy === 'round-robin') return this.rr[role]++ % pool.length;
    // kv / least-loaded: rotate the scan start so equal costs spread over workers
    const start = this.rr[role]++ % pool.length;
    let best = start;
    let bestCost = Infinity;
    for (let k = 0; k < pool.length; k++) {
      const i = (start + k) % pool.length;
      const w = pool[i]!;
      const bs = w.kv.blockSize;
      const hit = policy === 'kv' ? w.kv.matchPrefix(hashes) : 0;
      const toPrefill = Math.ceil(promptLen / bs) - hit;
      const cost = toPrefill + w.kv.usedBlocks + Math.ceil(w.pendingPrefillTokens / bs);
      if (cost < bestCost) {
        bestCost = cost;
        best = i;
      }
    }
    return best;
  }

  stop(): void {
    for (const t of this.transfers) clearTimeout(t);
    this.transfers.clear();
    for (const w of this.workers) w.stop();
  }

  samples(): EngineSample[] {
    return this.workers.map((w) => ({
      engine: w.id,
      running: w.numRunning,
      waiting: w.numWaiting,
      kvUsage: w.kv.usage,
      promptTokens: w.counters.promptTokens,
      generationTokens: w.counters.generationTokens,
      preemptions: w.counters.preemptions,
      prefixQueries: w.counters.prefixQueryTokens,
      prefixHits: w.counters.prefixHitTokens,
      blockSize: w.kv.blockSize,
      numGpuBlocks: w.kv.totalBlocks,
      prefixCaching: w.kv.prefixCaching,
    }));
  }
}
