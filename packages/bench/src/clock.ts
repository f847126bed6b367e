/**
 * The harness clock: `process.hrtime.bigint()` (CLOCK_MONOTONIC, shared by every process on the host) taken
 * relative to a base captured once per process, as a double of nanoseconds. A double holds integer ns exactly
 * for 104 days, and reading it allocates one short-lived BigInt only.
 */
export const CLOCK_BASE_NS: bigint = process.hrtime.bigint();

/** Nanoseconds since CLOCK_BASE_NS on the monotonic clock. */
export function monoNow(): number {
  return Number(process.hrtime.bigint() - CLOCK_BASE_NS);
}

/** Converts a time taken against another base (e.g. a server in another process) to this process's base. */
export function rebase(ns: number, fromBase: bigint): number {
  return ns + Number(fromBase - CLOCK_BASE_NS);
}

export const NS_PER_MS = 1e6;
