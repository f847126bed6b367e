import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { CLOCK_BASE_NS, loadTokenizer, runBenchmark } from '@llm-recipes/bench';
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
  request<T>(type: string, reply: string): Promise<T>;
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
  const rt = process.env.SIM_BENCH_RT ? ['chrt', '-f', '10'] : [];
  const argv = pinned ? [...rt, 'taskset', '-c', '1', process.execPath, ...nodeArgs] : [...rt, process.execPath, ...nodeArgs];
  const child = spawn(argv[0]!, argv.slice(1), { stdio });
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    new Promise((_, rej) => setTimeout(() => rej(new Error('simulator did not start in 20 s')), 20_000)),
  ])) as [Buffer];
  const request = <T>(type: string, reply: string): Promise<T> =>
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
      child.send({ type });
    });
  return { url: line.toString().trim().split('\n')[0]!, child, pinned, request };
}

const f = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

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
    if (process.env.SIM_BENCH_RT) spawnSync('chrt', ['-a', '-f', '-p', '10', String(process.pid)], { stdio: 'ignore' });
    let best = 0;
    const t0 = performance.now();
    try {
      for (const streams of levels) {
        if (performance.now() - t0 > BUDGET_MS) break;
        await server.request('mark', 'marked');
        const cpu0 = process.cpuUsage();
        const r = await runBenchmark({
          endpoint: server.url,
          api: 'completions',
          model: 'sim-model',
          load: { mode: 'concurrency', concurrency: streams },
          requests: streams,
          workload: { isl: 16, osl: OSL, seed: 5 },
          tokenizer,
          timeoutMs: 60_000,
        });
        const cpu = process.cpuUsage(cpu0);
        const rep = await server.request<SimServerReport>('report', 'report');
        const j = steadyJitter(r.records, ITL_MS);
        // records are ms since the measured window opened (originNs on this process's harness clock)
        const absNs = (ms: number): number => Number(CLOCK_BASE_NS) + r.originNs + ms * 1e6;
        const st = stepStats(rep.steps, absNs(j.window.startMs) - ITL_MS * 1e6, absNs(j.window.endMs));
        let received = 0;
        for (const rec of r.records) received += rec.chunk_ms.length;
        const serverUs = rep.cpuUs / Math.max(1, rep.chunks);
        const clientUs = (cpu.user + cpu.system) / Math.max(1, received);
        const failed = r.summary.counts.failed;
        const ok = failed === 0 && j.gaps > 0 && j.p99Ms < 1;
        rows.push({
          suite: 'sim',
          metric: `ITL jitter p99 at ${streams} streams`,
          value: Number(f(j.p99Ms, 3)),
          unit: 'ms',
          target: '< 1 ms',
          ok,
          note:
            `steady window ${f((j.window.endMs - j.window.startMs) / 1000, 1)} s: p50 ${f(j.p50Ms, 3)}, max ${f(j.maxMs)} ms over ${j.gaps} gaps; ` +
            `all gaps p99 ${f(j.all.p99Ms, 3)} ms; server step late p50/p99 ${f(st.lateP50Ms, 3)}/${f(st.lateP99Ms, 3)} ms, ` +
            `handling p50/p99 ${f(st.handleP50Ms)}/${f(st.handleP99Ms)} ms (${f(st.perChunkUs, 1)} µs/stream); ` +
            `CPU/chunk server ${f(serverUs, 1)} µs, client ${f(clientUs, 1)} µs; ${failed} failed`,
        });
        if (ok && streams > best) best = streams;
        rows.push({
          suite: 'sim',
          metric: `server CPU per chunk at ${streams} streams`,
          value: Number(f(serverUs, 1)),
          unit: 'µs',
          note: `${rep.chunks} chunks in ${f(rep.wallMs / 1000, 1)} s (${Math.round((rep.chunks * 1000) / rep.wallMs)} chunks/s), request handling included; one core ≈ ${Math.round(1e6 / serverUs)} chunks/s`,
        });
      }
    } finally {
      server.child.kill('SIGTERM');
      await once(server.child, 'exit');
      if (mask) spawnSync('taskset', ['-a', '-p', mask, String(process.pid)], { stdio: 'ignore' });
      if (process.env.SIM_BENCH_RT) spawnSync('chrt', ['-a', '-o', '-p', '0', String(process.pid)], { stdio: 'ignore' });
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
