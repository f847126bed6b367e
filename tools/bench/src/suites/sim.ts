import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { CLOCK_BASE_NS, loadTokenizer, monoNow, runBenchmark, type RequestRecord } from '@llm-recipes/bench';
import type { BenchRow, BenchSuite } from '../types.ts';
import type { SimServerReport } from './sim-server.ts';
import { steadyJitter, stepStats } from './sim-jitter.ts';

// How many concurrent streams one simulator process (pinned to one core) sustains while keeping every
// inter-token gap within 1 ms of the step schedule at p99, measured by the project's harness in this process
// (pinned to the other core). Steps last a fixed 50 ms whatever the batch, so the intended gap is constant and every
// deviation is the simulator's, the client's or the OS's. Each level runs N streams of OSL tokens, started
// together; jitter is taken over the steady window (all N streams decoding, none arriving or leaving).
//
// Knobs (environment): SIM_BENCH_LEVELS=500,2000 runs only those levels; SIM_BENCH_CPU_PROF=DIR writes a V8 CPU
// profile of the simulator process to DIR (open it in Chrome DevTools or speedscope).

const ITL_MS = 50;
const OSL = 64;
const LEVELS = [250, 500, 1000, 2000, 3000];
const TARGET_STREAMS = 2000;
const BUDGET_MS = 90_000;

function haveTaskset(): boolean {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** This process's CPU affinity mask (hex, as taskset prints it), to restore after the run. */
function affinityOf(pid: number): string | undefined {
  const out = spawnSync('taskset', ['-p', String(pid)], { encoding: 'utf8' }).stdout ?? '';
  return /mask:\s*([0-9a-f]+)/i.exec(out)?.[1];
}

/** Pins every thread of `pid` (-a: V8's platform threads too, not only the main one). */
function pin(pid: number, cpuList: string): void {
  spawnSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}

interface Server {
  url: string;
  child: ChildProcess;
  pinned: boolean;
  request<T>(type: string, reply: string, extra?: Record<string, unknown>): Promise<T>;
}

async function startServer(): Promise<Server> {
  const config = {
    speedup: 1,
    agg: {
      maxNumSeqs: 4096,
      maxBatchedTokens: 65536,
      kvCapacityTokens: 1_000_000,
      prefixCaching: false,
      // constant step time: no per-sequence, context or prefill cost, so every gap should be exactly ITL_MS
      step: { decodeBaseMs: ITL_MS, decodeMsPerSeq: 0, decodeMsPerKContextToken: 0, prefillOverheadMs: 0, prefillMsPerToken: 0, prefillMsPerTokenPerKContext: 0 },
    },
    maxWaiting: 10_000,
  };
  const entry = fileURLToPath(new URL('./sim-server.ts', import.meta.url));
  const pinned = haveTaskset();
  const prof = process.env.SIM_BENCH_CPU_PROF;
  const nodeArgs = [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), entry, JSON.stringify(config)];
  // taskset execs node, so every thread the simulator ever starts is born on core 1; the IPC channel survives exec
  const stdio: ['ignore', 'pipe', 'inherit', 'ipc'] = ['ignore', 'pipe', 'inherit', 'ipc'];
  const child = pinned ? spawn('taskset', ['-c', '1', process.execPath, ...nodeArgs], { stdio }) : spawn(process.execPath, nodeArgs, { stdio });
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    new Promise((_, rej) => setTimeout(() => rej(new Error('simulator did not start in 20 s')), 20_000)),
  ])) as [Buffer];
  const request = <T>(type: string, reply: string, extra: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onMsg = (m: { type?: string; report?: T }): void => {
        if (m.type !== reply) return;
        child.off('message', onMsg);
        clearTimeout(timer);
        resolve(m.report as T);
      };
      const timer = setTimeout(() => {
        child.off('message', onMsg);
        reject(new Error(`simulator did not answer ${type}`));
      }, 10_000);
      child.on('message', onMsg);
      child.send({ ...extra, type });
    });
  return { url: line.toString().trim().split('\n')[0]!, child, pinned, request };
}

const f = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

/** This process's CPU µs per chunk received inside [fromNs, toNs] (run-relative harness ns), from the samples. */
function clientCpuPerChunk(samples: readonly number[], records: readonly RequestRecord[], fromNs: number, toNs: number): number {
  let first = -1;
  let last = -1;
  for (let i = 0; i < samples.length; i += 2) {
    const t = samples[i]!;
    if (t < fromNs || t > toNs) continue;
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0 || last === first) return Number.NaN;
  const [t0, t1] = [samples[first]!, samples[last]!];
  let chunks = 0;
  for (const rec of records) {
    const sent = rec.sent_ms * 1e6;
    for (const c of rec.chunk_ms) {
      const t = sent + c * 1e6;
      if (t > t0 && t <= t1) chunks++;
    }
  }
  return chunks > 0 ? (samples[last + 1]! - samples[first + 1]!) / chunks : Number.NaN;
}

export const simSuite: BenchSuite = {
  name: 'sim',
  async run(): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    const levels = process.env.SIM_BENCH_LEVELS ? process.env.SIM_BENCH_LEVELS.split(',').map(Number) : LEVELS;
    const tokenizer = await loadTokenizer('o200k_base');
    const server = await startServer();
    const mask = server.pinned ? affinityOf(process.pid) : undefined;
    // the harness gets the other core, so client and server never preempt each other
    if (server.pinned) pin(process.pid, '0');
    let best = 0;
    const t0 = performance.now();
    try {
      for (const streams of levels) {
        if (performance.now() - t0 > BUDGET_MS) break;
        await server.request('mark', 'marked');
        // this process's CPU, sampled so it can be charged to the steady window only
        const cpuSamples: number[] = [];
        const sampleCpu = (): void => {
          const c = process.cpuUsage();
          cpuSamples.push(monoNow(), c.user + c.system);
        };
        const sampler = setInterval(sampleCpu, 20);
        let r: Awaited<ReturnType<typeof runBenchmark>>;
        try {
          r = await runBenchmark({
            endpoint: server.url,
            api: 'completions',
            model: 'sim-model',
            load: { mode: 'concurrency', concurrency: streams },
            requests: streams,
            workload: { isl: 16, osl: OSL, seed: 5 },
            tokenizer,
            timeoutMs: 60_000,
          });
        } finally {
          clearInterval(sampler);
        }
        const rep = await server.request<SimServerReport>('report', 'report', { intendedMs: ITL_MS });
        const j = steadyJitter(r.records, ITL_MS);
        // records are ms since the measured window opened (originNs on this process's harness clock)
        const relNs = (ms: number): number => r.originNs + ms * 1e6;
        const st = stepStats(rep.steps, Number(CLOCK_BASE_NS) + relNs(j.window.startMs) - ITL_MS * 1e6, Number(CLOCK_BASE_NS) + relNs(j.window.endMs));
        const clientUs = clientCpuPerChunk(cpuSamples, r.records, relNs(j.window.startMs), relNs(j.window.endMs));
        const failed = r.summary.counts.failed;
        const ok = failed === 0 && j.gaps > 0 && j.p99Ms < 1;
        const w = rep.writeJitter;
        rows.push({
          suite: 'sim',
          metric: `ITL jitter p99 at ${streams} streams`,
          value: Number(f(j.p99Ms, 3)),
          unit: 'ms',
          target: '< 1 ms',
          ok,
          note:
            `client, steady window ${f((j.window.endMs - j.window.startMs) / 1000, 1)} s: p50 ${f(j.p50Ms, 3)}, max ${f(j.maxMs)} ms over ${j.gaps} gaps ` +
            `(all gaps p99 ${f(j.all.p99Ms, 3)} ms); server writes: p50/p99 ${f(w.p50Ms, 3)}/${f(w.p99Ms, 3)} ms; ` +
            `step timer late p50/p99 ${f(st.lateP50Ms, 3)}/${f(st.lateP99Ms, 3)} ms; step handling p50/p99 ${f(st.handleP50Ms)}/${f(st.handleP99Ms)} ms; ${failed} failed`,
        });
        rows.push({
          suite: 'sim',
          metric: `CPU per chunk at ${streams} streams, server / client`,
          value: `${f(st.cpuPerChunkUs, 1)} / ${f(clientUs, 1)}`,
          unit: 'µs',
          note:
            `steady window; server one core ≈ ${Math.round(1e6 / st.cpuPerChunkUs)} chunks/s; handling ${f(st.perChunkUs, 1)} µs wall per stream; ` +
            `whole level incl. request handling ${f(rep.cpuUs / Math.max(1, rep.chunks), 1)} µs/chunk`,
        });
        if (ok && streams > best) best = streams;
      }
    } finally {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
      if (mask) spawnSync('taskset', ['-a', '-p', mask, String(process.pid)], { stdio: 'ignore' });
    }
    const load = (await import('node:os')).loadavg()[0]!;
    rows.push({
      suite: 'sim',
      metric: 'concurrent streams on one core with ITL jitter p99 < 1 ms',
      value: best,
      unit: 'streams',
      target: `≥ ${TARGET_STREAMS}`,
      ok: best >= TARGET_STREAMS,
      note: `${ITL_MS} ms steps, OSL ${OSL}; simulator ${server.pinned ? 'pinned to core 1, harness to core 0 (taskset)' : 'unpinned'}; load average ${load.toFixed(1)} at the end (other processes' CPU counts against the figure)`,
    });
    return rows;
  },
};
