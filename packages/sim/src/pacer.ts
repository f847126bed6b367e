import { PreciseTimer, nowMs } from './clock.ts';

/**
 * Payloads due within this many wall ms go out together: each wake-up of the event loop costs a few µs of its own,
 * so serving one 20-µs slot per wake-up would spend as much on waking as on writing.
 */
export const DELIVERY_EARLY_MS = 0.1;

/**
 * Paced token delivery. A step ends with one token for every sequence in its batch, and one core can only hand so
 * many frames to the kernel per millisecond: written as one burst, the last stream's token leaves after the whole
 * burst, and every variation of the burst's length (a slow syscall, a descheduled moment) moves the gaps of every
 * stream after it. Instead each open stream holds a slot, the lowest one free when it opened, and receives every
 * token `slot × paceMs` after its step ended. A stream's offset never changes while it lives, so its inter-token
 * gaps are exactly the engine's step times, whatever the burst's length, and a late write delays only the streams
 * whose deadlines it overlaps. The cost is a fixed delivery offset per stream (at most `open streams × paceMs`).
 */
export class DeliveryPacer {
  readonly paceMs: number;
  private readonly heap: PacedStream[] = [];
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private readonly timer = new PreciseTimer();
  private readonly onDrain: (() => void) | undefined;

  /** `onDrain` runs whenever the last pending delivery has been made (idle time until the next step). */
  constructor(paceUs: number, onDrain?: () => void) {
    this.paceMs = paceUs / 1000;
    this.onDrain = onDrain;
  }

  /** Deliveries waiting for their deadline. */
  get pending(): number {
    return this.heap.length;
  }

  /** Opens a stream on the lowest free slot; `deliver(payload, last)` receives its payloads in order. */
  open(deliver: (payload: string, last: boolean) => void): PacedStream {
    const slot = this.freeSlots.length > 0 ? popMin(this.freeSlots) : this.nextSlot++;
    return new PacedStream(slot, slot * this.paceMs, deliver);
  }

  /**
   * Queues `payload` for `atMs + the stream's offset` (never before its previous payload). `last` closes the
   * stream once delivered; later pushes are ignored. Due payloads of an idle stream go out at once, synchronously.
   */
  push(s: PacedStream, atMs: number, payload: string, last = false): void {
    if (s.closed || s.sealed) return;
    if (last) s.sealed = true;
    const due = Math.max(atMs + s.offsetMs, s.lastDue);
    s.lastDue = due;
    if (s.queued === 0 && due <= nowMs() + DELIVERY_EARLY_MS) {
      this.deliver(s, payload, last);
      return;
    }
    s.dues.push(due);
    s.payloads.push(payload);
    s.lasts.push(last);
    s.queued++;
    if (s.queued > 1) return; // already in the heap under an earlier deadline
    s.heapDue = due;
    this.insert(s);
    const wake = due - DELIVERY_EARLY_MS;
    if (!this.timer.pending || wake < this.timer.deadline) this.timer.at(wake, this.pump);
  }

  /** Drops whatever the stream still has queued and frees its slot (client gone, request aborted). */
  close(s: PacedStream): void {
    if (s.closed) return;
    s.closed = true;
    s.dues.length = 0;
    s.payloads.length = 0;
    s.lasts.length = 0;
    s.queued = 0;
    s.head = 0;
    pushMin(this.freeSlots, s.slot);
    // a queued stream stays in the heap until it surfaces, then is skipped
  }

  /** Stops the timer; queued payloads are dropped. */
  stop(): void {
    this.timer.cancel();
    for (const s of this.heap) this.close(s);
    this.heap.length = 0;
  }

  private deliver(s: PacedStream, payload: string, last: boolean): void {
    if (last) this.close(s);
    s.sink(payload, last);
  }

  private readonly pump = (): void => {
    let now = nowMs();
    while (this.heap.length > 0) {
      const s = this.heap[0]!;
      if (s.closed) {
        this.removeTop();
        continue;
      }
      if (s.heapDue > now + DELIVERY_EARLY_MS) {
        now = nowMs();
        if (s.heapDue > now + DELIVERY_EARLY_MS) break;
      }
      const payload = s.payloads[s.head]!;
      const last = s.lasts[s.head]!;
      s.head++;
      s.queued--;
      if (s.queued > 0) {
        s.heapDue = s.dues[s.head]!;
        this.siftDown(0);
      } else {
        s.head = 0;
        s.dues.length = 0;
        s.payloads.length = 0;
        s.lasts.length = 0;
        this.removeTop();
      }
      this.deliver(s, payload, last);
    }
    if (this.heap.length > 0) this.timer.at(this.heap[0]!.heapDue - DELIVERY_EARLY_MS, this.pump);
    else this.onDrain?.();
  };

  // binary min-heap on (heapDue, slot): equal deadlines go out in slot order
  private less(a: PacedStream, b: PacedStream): boolean {
    return a.heapDue < b.heapDue || (a.heapDue === b.heapDue && a.slot < b.slot);
  }

  private insert(s: PacedStream): void {
    const h = this.heap;
    let i = h.push(s) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(s, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = s;
  }

  private removeTop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    this.siftDown(0);
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const s = h[i]!;
    const n = h.length;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(h[c + 1]!, h[c]!)) c++;
      if (!this.less(h[c]!, s)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = s;
  }
}

/** One stream's slot and its queue of payloads not yet due. */
export class PacedStream {
  readonly slot: number;
  /** Delivery offset after the token's step end, ms. */
  readonly offsetMs: number;
  readonly sink: (payload: string, last: boolean) => void;
  closed = false;
  /** Its last payload is queued: nothing more is accepted. */
  sealed = false;
  /** Deadline of the head payload while queued (the heap key). */
  heapDue = 0;
  lastDue = Number.NEGATIVE_INFINITY;
  queued = 0;
  head = 0;
  readonly dues: number[] = [];
  readonly payloads: string[] = [];
  readonly lasts: boolean[] = [];

  constructor(slot: number, offsetMs: number, sink: (payload: string, last: boolean) => void) {
    this.slot = slot;
    this.offsetMs = offsetMs;
    this.sink = sink;
  }
}

function pushMin(h: number[], v: number): void {
  let i = h.push(v) - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]! <= v) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = v;
}

function popMin(h: number[]): number {
  const top = h[0]!;
  const last = h.pop()!;
  if (h.length > 0) {
    let i = 0;
    const n = h.length;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1]! < h[c]!) c++;
      if (h[c]! >= last) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
  return top;
}
