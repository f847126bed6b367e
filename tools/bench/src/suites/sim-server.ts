// Child-process entry for the simulator suite: serves a simulator configured by argv[2] (JSON), prints its URL and
// answers the suite over IPC: `mark` starts a measurement window, `report` returns what the server did since then
// (CPU time, chunks emitted, every step's schedule and handling times). Times are sent as ns on CLOCK_MONOTONIC,
// the clock the harness uses, so the suite can line server steps up with client chunk arrivals.
import { Socket } from 'node:net';
import { startSimulator, type SimConfigInput } from '@llm-recipes/sim';

export interface SimServerReport {
  /** CPU time of this process (user + system) since `mark`, µs. */
  cpuUs: number;
  /** Output tokens (one SSE chunk each) emitted since `mark`. */
  chunks: number;
  wallMs: number;
  /** Per step since `mark`, 6 numbers: intended end, timer fired, tokens emitted, writes flushed (ns on
   * CLOCK_MONOTONIC), sequences in the batch, this process's CPU time so far (µs). */
  steps: number[];
  /** |gap − intended| between consecutive SSE frames of one response as written to the socket (the server's own
   * jitter, before the network and the client), over the server-side steady window. */
  writeJitter: { gaps: number; p50Ms: number; p99Ms: number; maxMs: number };
}

// Records when every SSE frame of every response is handed to its socket. Frames are the simulator's direct
// chunked writes; a response starts at its header write ("HTTP/…"); the 5-byte terminator is not a frame.
const FRAME_SERIES = Symbol('frameSeries');
let series: number[][] = [];
const socketWrite = Socket.prototype.write;
Socket.prototype.write = function (this: Socket & { [FRAME_SERIES]?: number[] }, data: unknown, ...rest: unknown[]): boolean {
  if (typeof data === 'string') {
    if (data.startsWith('HTTP/')) {
      const a: number[] = [];
      series.push(a);
      this[FRAME_SERIES] = a;
    } else if (data.length > 16) this[FRAME_SERIES]?.push(performance.now());
  }
  return (socketWrite as (...a: unknown[]) => boolean).apply(this, [data, ...rest]);
} as typeof Socket.prototype.write;

function writeJitter(intendedMs: number): SimServerReport['writeJitter'] {
  let start = Number.NEGATIVE_INFINITY;
  let end = Number.POSITIVE_INFINITY;
  const full = series.filter((a) => a.length > 1);
  for (const a of full) {
    start = Math.max(start, a[0]!);
    end = Math.min(end, a[a.length - 1]!);
  }
  const dev: number[] = [];
  for (const a of full) for (let i = 1; i < a.length; i++) if (a[i - 1]! >= start && a[i]! <= end) dev.push(Math.abs(a[i]! - a[i - 1]! - intendedMs));
  if (dev.length === 0) return { gaps: 0, p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN };
  const sorted = Float64Array.from(dev).sort();
  const at = (p: number): number => {
    const r = (p / 100) * (sorted.length - 1);
    const lo = Math.floor(r);
    return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (r - lo);
  };
  return { gaps: dev.length, p50Ms: at(50), p99Ms: at(99), maxMs: sorted[sorted.length - 1]! };
}

const config = JSON.parse(process.argv[2] ?? '{}') as SimConfigInput;
// performance.now() and process.hrtime() read the same monotonic clock; only the origin differs
const offsetNs = Number(process.hrtime.bigint()) - performance.now() * 1e6;
const abs = (ms: number): number => offsetNs + ms * 1e6;

let steps: number[] = [];
const sim = await startSimulator(config, {
  port: 0,
  onStep: (s) => {
    const i = steps.length;
    const cpu = process.cpuUsage();
    steps.push(abs(s.intendedMs), abs(s.firedMs), abs(s.doneMs), 0, s.seqs, cpu.user + cpu.system);
    const buf = steps;
    // responses uncork their sockets on nextTick in write order; this tick runs after all of them
    process.nextTick(() => {
      buf[i + 3] = abs(performance.now());
    });
  },
});
const generated = (): number => sim.metrics().generationTokens;
let mark = { cpu: process.cpuUsage(), chunks: 0, t: performance.now() };

process.on('message', (msg: { type?: string; intendedMs?: number }) => {
  if (msg.type === 'mark') {
    steps = [];
    series = [];
    mark = { cpu: process.cpuUsage(), chunks: generated(), t: performance.now() };
    process.send?.({ type: 'marked' });
  } else if (msg.type === 'report') {
    const cpu = process.cpuUsage(mark.cpu);
    const report: SimServerReport = {
      cpuUs: cpu.user + cpu.system,
      chunks: generated() - mark.chunks,
      wallMs: performance.now() - mark.t,
      steps,
      writeJitter: writeJitter(msg.intendedMs ?? 0),
    };
    process.send?.({ type: 'report', report });
  }
});

process.stdout.write(`${sim.url}\n`);
const stop = async (): Promise<void> => {
  await sim.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop());
