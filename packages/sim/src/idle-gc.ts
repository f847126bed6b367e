import { nowMs } from './clock.ts';

/**
 * Young-generation collections in idle time. With thousands of open streams a scavenge takes 1–20 ms, and one
 * that lands while a step's tokens are being delivered delays every delivery it overlaps. With `node --expose-gc`
 * one minor collection runs per step, once the step's deliveries are all made and only if the next step end is
 * at least 5 ms away, so the next step starts with an empty young generation. Without the flag nothing happens.
 */
const exposedGc = (globalThis as { gc?: (opts?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void }).gc;

/** Next step end (wall ms, Infinity when idle) of every running worker. */
const stepClocks = new Set<() => number>();
const deliveryProbes = new Set<() => boolean>();
/** A step ended since the last collection. */
let wanted = false;
let queued = false;

/** Registers a worker's next step end; returns the unregister function. No-op without `--expose-gc`. */
export function addStepClock(next: () => number): () => void {
  if (!exposedGc) return () => {};
  stepClocks.add(next);
  return () => void stepClocks.delete(next);
}

/** Registers a delivery pacer's "payloads still waiting" probe (collect only once they are out). */
export function addDeliveryProbe(pending: () => boolean): () => void {
  if (!exposedGc) return () => {};
  deliveryProbes.add(pending);
  return () => void deliveryProbes.delete(pending);
}

/** A step ended: collect when its deliveries are done. */
export function stepEnded(): void {
  if (!exposedGc) return;
  wanted = true;
  idleNow();
}

/** Called when there may be idle time (a step just ended, or the pacer drained). */
export function idleNow(): void {
  if (!exposedGc || !wanted || queued) return;
  queued = true;
  setImmediate(run);
}

function run(): void {
  queued = false;
  if (!wanted) return;
  for (const p of deliveryProbes) if (p()) return; // the pacer calls idleNow() again when it drains
  let next = Number.POSITIVE_INFINITY;
  for (const c of stepClocks) next = Math.min(next, c());
  if (next - nowMs() < 5) return;
  wanted = false;
  exposedGc!({ type: 'minor', execution: 'sync' });
}
