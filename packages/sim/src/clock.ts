/** Monotonic wall clock in milliseconds (fractional). */
export function nowMs(): number {
  return performance.now();
}

/**
 * Runs `fn` at wall time `atMs` with sub-millisecond accuracy: a coarse setTimeout wakes ~1.5 ms early, then
 * setImmediate polls (yielding to I/O between polls) until the deadline. Node's timers alone fire up to ~1 ms late
 * with millisecond granularity, which would dominate inter-token jitter.
 */
export class PreciseTimer {
  private timeout: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private fn: (() => void) | undefined;
  private atMs = 0;

  get pending(): boolean {
    return this.fn !== undefined;
  }
  get deadline(): number {
    return this.atMs;
  }

  at(atMs: number, fn: () => void): void {
    this.cancel();
    this.fn = fn;
    this.atMs = atMs;
    // never run synchronously from at(): callers finish their own bookkeeping (e.g. response headers) first
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.arm();
    });
  }

  cancel(): void {
    if (this.timeout) clearTimeout(this.timeout);
    if (this.immediate) clearImmediate(this.immediate);
    this.timeout = undefined;
    this.immediate = undefined;
    this.fn = undefined;
  }

  private arm(): void {
    const wait = this.atMs - nowMs();
    if (wait > 2) {
      this.timeout = setTimeout(() => {
        this.timeout = undefined;
        this.arm();
      }, Math.floor(wait - 1.5));
    } else if (wait > 0) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.arm();
      });
    } else {
      const fn = this.fn;
      this.fn = undefined;
      fn?.();
    }
  }
}
