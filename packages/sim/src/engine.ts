import { PreciseTimer, nowMs } from './clock.ts';
import { addStepClock, stepEnded } from './idle-gc.ts';
import { KvBlockPool, blockHashes } from './kv-cache.ts';
import type { StepBatch, StepTimeModel } from './step-model.ts';
import { outputTokenIds } from './tokens.ts';

export type FinishReason = 'stop' | 'length' | 'abort';

/** Callbacks a sequence's owner (the HTTP layer or the disaggregation glue) receives, all at wall time `atMs`. */
export interface SequenceSink {
  /** Left the waiting queue (first admission; queue time ends here). */
  onScheduled?(seq: Sequence, atMs: number): void;
  /** One token was sampled; `wordIndex` indexes outputWords(). */
  onToken(seq: Sequence, wordIndex: number, atMs: number): void;
  onFinish(seq: Sequence, reason: FinishReason, atMs: number): void;
  /** Prefill-only sequences (disaggregated prefill pool): the prompt's KV is computed and the first token sampled. */
  onPrefillDone?(seq: Sequence, atMs: number): void;
}

export interface SequenceInit {
  id: string;
  promptIds: readonly number[];
  /** Prompt block hashes (computed once by the router). */
  promptHashes: readonly string[];
  /** Tokens to generate before finishing (the EOS point or max_tokens). */
  outputTokens: number;
  finishReason: 'stop' | 'length';
  /** Word indices source for generated tokens. */
  nextWord: () => number;
  sink: SequenceSink;
  /** prefill-only: stop after the first token (disagg prefill); decode-only: the prompt's KV arrives ready. */
  role?: 'full' | 'prefill-only' | 'decode-only';
  /** Tokens already generated elsewhere (decode-only sequences carry the prefill's first token). */
  generated?: number;
  /** Injected stall: after this many tokens, hold the sequence for `stallMs` wall ms (keeps its KV). */
  stall?: { afterTokens: number; ms: number } | undefined;
  arrivalMs?: number;
}

/** One request inside one worker's engine. */
export class Sequence {
  readonly id: string;
  readonly promptLen: number;
  readonly outputTokens: number;
  readonly finishReason: 'stop' | 'length';
  readonly sink: SequenceSink;
  readonly role: 'full' | 'prefill-only' | 'decode-only';
  readonly arrivalMs: number;
  readonly nextWord: () => number;
  /** Prompt ids followed by generated ids (hashing generated blocks lets multi-turn prompts hit them). */
  readonly tokenIds: number[];
  /** Full-block hashes of tokenIds known so far. */
  readonly hashes: string[];
  generated: number;
  /** Tokens whose KV is computed on this worker. */
  computed = 0;
  blocks: number[] = [];
  /** Prompt tokens served from the prefix cache at first admission. */
  cachedTokens = 0;
  scheduledMs: number | undefined;
  firstTokenMs: number | undefined;
  lastTokenMs: number | undefined;
  /** Previous token's time, kept by the HTTP layer for inter-token latency. */
  lastTokenPrevMs = 0;
  preemptions = 0;
  stall: { afterTokens: number; ms: number } | undefined;
  stallUntil = 0;
  aborted = false;
  finished = false;
  state: 'waiting' | 'running' | 'transferring' | 'done' = 'waiting';
  /** Leading blocks already registered in the prefix cache. */
  registeredBlocks = 0;

  constructor(init: SequenceInit) {
    this.id = init.id;
    this.promptLen = init.promptIds.length;
    this.tokenIds = [...init.promptIds];
    this.hashes = [...init.promptHashes];
    this.outputTokens = init.outputTokens;
    this.finishReason = init.finishReason;
    this.nextWord = init.nextWord;
    this.sink = init.sink;
    this.role = init.role ?? 'full';
    this.generated = init.generated ?? 0;
    this.stall = init.stall;
    this.arrivalMs = init.arrivalMs ?? nowMs();
  }

  /** Tokens whose KV this sequence needs: prompt plus every token generated so far. */
  get known(): number {
    return this.promptLen + this.generated;
  }
}

export interface WorkerOptions {
  id: string;
  model: StepTimeModel;
  maxNumSeqs: number;
  maxBatchedTokens: number;
  blockSize: number;
  /** Overrides model.kvCapacityTokens. */
  kvCapacityTokens?: number | undefined;
  prefixCaching: boolean;
  /** Simulated time runs this many times faster than wall time. */
  speedup: number;
  /** Waiting-queue bound; submit() refuses beyond it (the server answers 429). */
  maxWaiting: number;
  /** Called once per step after its tokens are emitted (diagnostics: schedule accuracy, step handling cost). */
  onStep?: ((trace: StepTrace) => void) | undefined;
}

/** One step as the wall clock saw it (all wall ms on `performance.now()`). */
export interface StepTrace {
  worker: string;
  /** When the step was scheduled to end. */
  intendedMs: number;
  /** When its timer actually fired. */
  firedMs: number;
  /** When its tokens were emitted (sinks called) and the next step was planned. */
  doneMs: number;
  /** Sequences in the step's batch. */
  seqs: number;
}

/** Cumulative counters of one worker (the /metrics counters). */
export interface WorkerCounters {
  promptTokens: number;
  generationTokens: number;
  preemptions: number;
  prefixQueryTokens: number;
  prefixHitTokens: number;
  steps: number;
  /** Σ |actual − intended| step-end lateness, ms, and the worst one: how well wall time tracks the schedule. */
  lateSumMs: number;
  lateMaxMs: number;
}

/**
 * A continuous-batching engine in the style of vLLM's v1 scheduler: each step takes running sequences first
 * (decodes, then unfinished prefill chunks), then admits waiting ones FIFO while max-num-seqs, the token budget
 * (chunked prefill) and free KV blocks allow; when a running sequence cannot get a block the newest one is
 * preempted and recomputed later. Steps run back to back on one timer per worker, each lasting the step-time
 * model's duration divided by `speedup`.
 */
export class Worker {
  readonly id: string;
  readonly opts: WorkerOptions;
  readonly kv: KvBlockPool;
  readonly counters: WorkerCounters = {
    promptTokens: 0,
    generationTokens: 0,
    preemptions: 0,
    prefixQueryTokens: 0,
    prefixHitTokens: 0,
    steps: 0,
    lateSumMs: 0,
    lateMaxMs: 0,
  };
  private waiting: Sequence[] = [];
  private running: Sequence[] = [];
  private readonly timer = new PreciseTimer();
  /** Intended wall time the step in flight ends (schedule anchor: the next step starts here, not when the timer fired). */
  private stepEnd = 0;
  private inFlight: { seqs: Sequence[]; computeTokens: number[] } | undefined;
  private stopped = false;
  /** Some queued sequence was aborted since the last reap (reaping is then O(queue), otherwise free). */
  private abortsPending = false;
  private readonly dropStepClock: () => void;

  constructor(opts: WorkerOptions) {
    this.id = opts.id;
    this.opts = opts;
    const capacity = opts.kvCapacityTokens ?? opts.model.kvCapacityTokens;
    this.kv = new KvBlockPool(Math.floor(capacity / opts.blockSize), opts.blockSize, opts.prefixCaching);
    this.dropStepClock = addStepClock(() => (this.inFlight ? this.stepEnd : Number.POSITIVE_INFINITY));
  }

  get numRunning(): number {
    return this.running.length;
  }
  get numWaiting(): number {
    return this.waiting.length;
  }
  /** Prompt tokens still to prefill across running and waiting sequences (routers use it as load). */
  get pendingPrefillTokens(): number {
    let n = 0;
    for (const s of this.running) if (s.computed < s.promptLen) n += s.promptLen - s.computed;
    for (const s of this.waiting) n += s.known - s.computed;
    return n;
  }
  /** KV tokens this worker can ever hold. */
  get capacityTokens(): number {
    return this.kv.totalBlocks * this.kv.blockSize;
  }

  /** Queues a sequence; false when the waiting queue is full (`force` skips the bound for already-accepted work). */
  submit(seq: Sequence, force = false): boolean {
    if (this.stopped) return false;
    if (!force && this.waiting.length >= this.opts.maxWaiting) return false;
    this.waiting.push(seq);
    this.kick();
    return true;
  }

  /** Client went away: drop the sequence at the next step boundary and free its KV. */
  abort(seq: Sequence): void {
    if (seq.finished) return;
    seq.aborted = true;
    this.abortsPending = true;
    if (!this.inFlight) this.reap();
  }

  /** Stops stepping; outstanding sequences are aborted. */
  stop(): void {
    this.stopped = true;
    this.timer.cancel();
    this.dropStepClock();
    const all = [...this.running, ...this.waiting];
    this.running = [];
    this.waiting = [];
    const t = nowMs();
    for (const s of all) this.finish(s, 'abort', t);
  }

  private kick(): void {
    if (this.stopped || this.inFlight || this.timer.pending) return;
    this.startStep(nowMs());
  }

  /** Removes aborted sequences from the queues. */
  private reap(): void {
    if (!this.abortsPending) return;
    this.abortsPending = false;
    const t = nowMs();
    const keep = (s: Sequence): boolean => {
      if (!s.aborted) return true;
      this.finish(s, 'abort', t);
      return false;
    };
    this.running = this.running.filter(keep);
    this.waiting = this.waiting.filter(keep);
  }

  private finish(s: Sequence, reason: FinishReason, atMs: number): void {
    if (s.finished) return;
    s.finished = true;
    s.state = 'done';
    this.kv.release(s.blocks);
    s.blocks = [];
    s.sink.onFinish(s, reason, atMs);
  }

  /** Ensures `s` holds blocks for `tokens` tokens of KV; false if the pool is short. */
  private ensureBlocks(s: Sequence, tokens: number): boolean {
    const need = Math.ceil(tokens / this.kv.blockSize) - s.blocks.length;
    if (need <= 0) return true;
    const ids = this.kv.allocate(need);
    if (!ids) return false;
    s.blocks.push(...ids);
    return true;
  }

  private preempt(victim: Sequence): void {
    this.kv.release(victim.blocks);
    victim.blocks = [];
    victim.computed = 0;
    victim.registeredBlocks = 0;
    victim.state = 'waiting';
    victim.preemptions++;
    this.counters.preemptions++;
    this.running.splice(this.running.indexOf(victim), 1);
    this.waiting.unshift(victim);
  }

  /** Builds the next batch; returns undefined when there is nothing to run right now. */
  private schedule(t: number): { seqs: Sequence[]; computeTokens: number[]; batch: StepBatch } | undefined {
    this.reap();
    // decode-only admissions emit (and may finish) during scheduling
    this.running = this.running.filter((s) => s.state === 'running');
    let budget = this.opts.maxBatchedTokens;
    const seqs: Sequence[] = [];
    const computeTokens: number[] = [];
    const batch: StepBatch = { prefillTokens: 0, prefillSeqs: 0, decodeSeqs: 0, decodeContextTokens: 0, prefillContextTokens: 0 };
    const add = (s: Sequence, n: number): void => {
      seqs.push(s);
      computeTokens.push(n);
      budget -= n;
      if (s.known - s.computed === 1 && s.generated > 0) {
        batch.decodeSeqs++;
        batch.decodeContextTokens += s.computed;
      } else {
        batch.prefillSeqs++;
        batch.prefillTokens += n;
        batch.prefillContextTokens += s.computed;
      }
    };

    // 1. running sequences, oldest first; decodes take one token, prefills continue their chunks
    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const s = this.running[i]!;
      if (s.stallUntil > t) continue;
      const n = Math.min(s.known - s.computed, budget);
      if (n <= 0) continue;
      // make room, preempting the newest running sequences (recompute) until this one fits
      while (!this.ensureBlocks(s, s.computed + n)) {
        const victim = this.running[this.running.length - 1]!;
        if (victim === s) break;
        this.preempt(victim);
      }
      if (s.blocks.length * this.kv.blockSize < s.computed + n) {
        // even alone it cannot grow: preempt itself and retry later
        this.preempt(s);
        i--;
        continue;
      }
      add(s, n);
    }

    // 2. admit waiting sequences FIFO (no skipping ahead: keeps order fair like vLLM's FCFS policy)
    while (this.waiting.length > 0 && budget > 0 && this.running.length < this.opts.maxNumSeqs) {
      const s = this.waiting[0]!;
      if (s.blocks.length === 0 && s.computed === 0) {
        // prefix-cache lookup over the tokens known so far; keep at least one token to compute
        this.extendHashes(s);
        const usable = Math.floor((s.known - 1) / this.kv.blockSize);
        const hit = this.kv.matchPrefix(s.hashes.slice(0, usable));
        if (s.role === 'decode-only') {
          // KV arrives by transfer: needs blocks for the whole prompt up front
          if (!this.ensureBlocks(s, s.promptLen)) break;
          s.computed = s.promptLen;
        } else {
          const hitTokens = hit * this.kv.blockSize;
          const firstChunk = Math.min(s.known - hitTokens, budget);
          const needBlocks = Math.ceil((hitTokens + firstChunk) / this.kv.blockSize) - hit;
          if (needBlocks > this.kv.freeBlocks) break; // KV full: stay queued
          s.blocks = this.kv.acquireCached(s.hashes, hit);
          s.registeredBlocks = hit;
          s.computed = hitTokens;
          if (s.preemptions === 0) {
            s.cachedTokens = hitTokens;
            this.counters.prefixQueryTokens += s.promptLen;
            this.counters.prefixHitTokens += Math.min(hitTokens, s.promptLen);
            this.counters.promptTokens += s.promptLen;
          }
        }
      }
      const n = Math.min(s.known - s.computed, budget);
      if (!this.ensureBlocks(s, s.computed + n)) break;
      this.waiting.shift();
      this.running.push(s);
      s.state = 'running';
      if (s.scheduledMs === undefined) {
        s.scheduledMs = t;
        s.sink.onScheduled?.(s, t);
      }
      if (s.role === 'decode-only' && s.firstTokenMs === undefined) {
        // the prefill worker sampled the first token; it reaches the client once the KV has landed here
        this.emit(s, t);
        if (s.finished) continue;
      }
      add(s, Math.min(s.known - s.computed, budget));
    }
    if (seqs.length === 0) return undefined;
    return { seqs, computeTokens, batch };
  }

  private extendHashes(s: Sequence): void {
    const full = Math.floor(s.tokenIds.length / this.kv.blockSize);
    if (s.hashes.length < full) {
      const more = blockHashes(s.tokenIds, this.kv.blockSize, s.hashes.length, s.hashes[s.hashes.length - 1] ?? '');
      s.hashes.push(...more);
    }
  }

  private emit(s: Sequence, t: number): void {
    const w = s.nextWord();
    s.tokenIds.push(outputTokenIds()[w]!);
    s.generated++;
    this.counters.generationTokens++;
    s.firstTokenMs ??= t;
    s.lastTokenMs = t;
    s.sink.onToken(s, w, t);
    if (s.stall && s.generated === s.stall.afterTokens) s.stallUntil = t + s.stall.ms;
    // finished sequences leave `running` when the step compacts it
    if (s.generated >= s.outputTokens) this.finish(s, s.finishReason, t);
  }

  private startStep(start: number): void {
    const plan = this.schedule(start);
    if (!plan) {
      // idle, or every running sequence is stalled: wake when the first stall ends
      let wake = Infinity;
      for (const s of this.running) if (s.stallUntil > start) wake = Math.min(wake, s.stallUntil);
      if (wake !== Infinity) this.timer.at(wake, () => this.startStep(nowMs()));
      return;
    }
    this.inFlight = plan;
    this.stepEnd = start + this.opts.model.stepMs(plan.batch) / this.opts.speedup;
    this.timer.at(this.stepEnd, () => this.endStep());
  }

  private endStep(): void {
    const plan = this.inFlight!;
    this.inFlight = undefined;
    const t = nowMs();
    const late = t - this.stepEnd;
    this.counters.steps++;
    this.counters.lateSumMs += late;
    if (late > this.counters.lateMaxMs) this.counters.lateMaxMs = late;
    // tokens carry the intended time so a late timer does not smear the schedule (the wire sees the real time)
    const at = this.stepEnd;
    for (let i = 0; i < plan.seqs.length; i++) {
      const s = plan.seqs[i]!;
      if (s.state !== 'running' || s.aborted) continue;
      s.computed += plan.computeTokens[i]!;
      this.registerFullBlocks(s);
      if (s.computed < s.known) continue; // more prefill chunks to go
      if (s.role === 'prefill-only') {
        // hand over: the KV stays allocated until the transfer completes (the owner calls release)
        s.state = 'transferring';
        s.sink.onPrefillDone?.(s, at);
        continue;
      }
      this.emit(s, at);
    }
    this.running = this.running.filter((s) => s.state === 'running');
    // back-to-back steps anchored to the intended schedule; resync if we fell behind by a whole step
    const next = t - at > 50 ? t : at;
    this.startStep(next);
    stepEnded();
    this.opts.onStep?.({ worker: this.id, intendedMs: at, firedMs: t, doneMs: nowMs(), seqs: plan.seqs.length });
  }

  /** Prefill-only sequences keep their KV until the transfer finishes; the owner releases it here. */
  releaseTransferred(s: Sequence): void {
    this.finish(s, s.finishReason, nowMs());
  }

  private registerFullBlocks(s: Sequence): void {
    if (!this.kv.prefixCaching) return;
    const full = Math.min(Math.floor(s.computed / this.kv.blockSize), s.blocks.length);
    if (full <= s.registeredBlocks) return;
    this.extendHashes(s);
    for (let b = s.registeredBlocks; b < full && b < s.hashes.length; b++) this.kv.register(s.blocks[b]!, s.hashes[b]!);
    s.registeredBlocks = Math.min(full, s.hashes.length);
  }
}
