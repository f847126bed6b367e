// Child-process entry for the simulator suite's transport floor: what this machine's kernel and Node deliver with
// no HTTP, no simulator and no harness. `server N STEP_MS PACE_US STEPS` accepts N loopback connections and, once
// all are open, writes one pre-encoded 250-byte frame to each on the simulator's paced schedule (connection k at
// step end + k × PACE_US; spin-wait for the deadline, no allocation per write). `client PORT N STEPS` opens the N
// connections and timestamps every read into a preallocated array; it answers over IPC with the same |gap − step|
// statistics the suite computes for the harness, over the steps after a warm-up.
import { connect, createServer, type Socket } from 'node:net';

export interface FloorResult {
  gaps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const WARMUP_STEPS = 20;
const [role, ...args] = process.argv.slice(2);

if (role === 'server') {
  const [n, stepMs, paceUs, steps] = args.map(Number) as [number, number, number, number];
  const frame = Buffer.alloc(250, 'x');
  const socks: Socket[] = [];
  const server = createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => undefined);
    socks.push(s);
    if (socks.length === n) run();
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
  const run = (): void => {
    const pace = paceUs / 1000;
    let at = performance.now() + 200;
    let k = 0;
    let step = 0;
    const pump = (): void => {
      let now = performance.now();
      while (k < n && at + k * pace <= now) {
        socks[k]!.write(frame);
        k++;
        now = performance.now();
      }
      if (k === n) {
        k = 0;
        at += stepMs;
        if (++step === steps) {
          setTimeout(() => process.exit(0), 500);
          return;
        }
      }
      const wait = at + k * pace - performance.now();
      if (wait > 2) setTimeout(pump, wait - 1.5);
      else setImmediate(pump);
    };
    pump();
  };
} else if (role === 'client') {
  const [port, n, steps, stepMs] = args.map(Number) as [number, number, number, number];
  const t = new Float64Array(n * steps);
  const count = new Int32Array(n);
  let done = 0;
  for (let i = 0; i < n; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('data', (d: Buffer) => {
      const now = performance.now();
      // one frame per read in the common case; a coalesced read counts its frames at the same time
      for (let f = 0; f < Math.max(1, Math.round(d.length / 250)); f++) {
        if (count[i]! < steps) t[i * steps + count[i]!++] = now;
      }
      if (count[i] === steps && ++done === n) report();
    });
    s.on('error', () => undefined);
  }
  const report = (): void => {
    const dev: number[] = [];
    for (let i = 0; i < n; i++) for (let j = WARMUP_STEPS + 1; j < steps; j++) dev.push(Math.abs(t[i * steps + j]! - t[i * steps + j - 1]! - stepMs));
    const sorted = Float64Array.from(dev).sort();
    const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
    const result: FloorResult = { gaps: sorted.length, p50Ms: at(50), p99Ms: at(99), maxMs: sorted[sorted.length - 1]! };
    process.send?.(result, () => process.exit(0));
  };
}
