// Child-process entry for the simulator suite: serves a simulator configured by argv[2] (JSON), prints its URL and
// answers the suite over IPC: `mark` starts a measurement window, `report` returns what the server did since then
// (CPU time, chunks emitted, every step's schedule and handling times). Times are sent as ns on CLOCK_MONOTONIC,
// the clock the harness uses, so the suite can line server steps up with client chunk arrivals.
import { startSimulator, type SimConfigInput } from '@llm-recipes/sim';

export interface SimServerReport {
  /** CPU time of this process (user + system) since `mark`, µs. */
  cpuUs: number;
  /** Output tokens (one SSE chunk each) emitted since `mark`. */
  chunks: number;
  wallMs: number;
  /** Per step since `mark`, 5 numbers: intended end, timer fired, tokens emitted, writes flushed (ns on
   * CLOCK_MONOTONIC), sequences in the batch. */
  steps: number[];
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
    steps.push(abs(s.intendedMs), abs(s.firedMs), abs(s.doneMs), 0, s.seqs);
    const buf = steps;
    // responses uncork their sockets on nextTick in write order; this tick runs after all of them
    process.nextTick(() => {
      buf[i + 3] = abs(performance.now());
    });
  },
});
const generated = (): number => sim.metrics().generationTokens;
let mark = { cpu: process.cpuUsage(), chunks: 0, t: performance.now() };

process.on('message', (msg: { type?: string }) => {
  if (msg.type === 'mark') {
    steps = [];
    mark = { cpu: process.cpuUsage(), chunks: generated(), t: performance.now() };
    process.send?.({ type: 'marked' });
  } else if (msg.type === 'report') {
    const cpu = process.cpuUsage(mark.cpu);
    const report: SimServerReport = {
      cpuUs: cpu.user + cpu.system,
      chunks: generated() - mark.chunks,
      wallMs: performance.now() - mark.t,
      steps,
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
