// Local deployments for the profiler: one simulator process per candidate engine or selected config, and one
// benchmark point at a time against it with the project's harness, committed the way bench experiments are
// (records and summary first, status.json last) so a re-run keeps finished points.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { recordsToJsonl, runBenchmark, type BenchTokenizer, type Summary } from '@llm-recipes/bench';
import { UserError } from '@llm-recipes/errors';
import { alive, healthy, SIM_WORKER } from './steps.ts';
import { writeAtomic } from './status.ts';

export interface LocalEngine {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts a simulator process for `config` (written to `<dir>/sim-config.json`) and waits until it serves `servedName`. */
export async function startLocalEngine(dir: string, config: unknown, servedName: string, options: { detached?: boolean; timeoutMs?: number } = {}): Promise<LocalEngine> {
  mkdirSync(dir, { recursive: true });
  const cfgPath = join(dir, 'sim-config.json');
  const readyPath = join(dir, 'ready.json');
  writeAtomic(cfgPath, `${JSON.stringify(config, null, 2)}\n`);
  rmSync(readyPath, { force: true });
  const logFd = openSync(join(dir, 'sim.log'), 'a');
  const child = spawn(process.execPath, [SIM_WORKER, cfgPath, readyPath], { detached: options.detached ?? false, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  if (options.detached) child.unref();
  const pid = child.pid!;
  const stop = async (): Promise<void> => {
    if (!alive(pid)) return;
    process.kill(pid, 'SIGTERM');
    const until = Date.now() + 5000;
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (existsSync(readyPath)) {
      const ready = JSON.parse(readFileSync(readyPath, 'utf8')) as { url: string };
      if (await healthy(ready.url, servedName)) return { url: ready.url, pid, stop };
    }
    if (child.exitCode !== null || !alive(pid)) {
      const log = existsSync(join(dir, 'sim.log')) ? readFileSync(join(dir, 'sim.log'), 'utf8').slice(-400).trim() : '';
      throw new UserError('SIM_EXITED', `the simulator (pid ${pid}) exited before it was ready: ${log}`, { hint: `see ${join(dir, 'sim.log')}`, exitCode: 1 });
    }
    if (Date.now() > deadline) {
      await stop();
      throw new UserError('NOT_READY', `the simulator did not become ready within ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s`, { hint: `see ${join(dir, 'sim.log')}`, exitCode: 1 });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PointRequest {
  isl: number;
  osl: number;
  concurrency: number;
  requests: number;
  warmup: number;
  seed: number;
}

/**
 * One benchmark point into `<dir>`: records.jsonl and summary.json, then status.json as the commit marker. A point
 * already committed is read back instead of re-run (resume).
 */
export async function measurePoint(dir: string, endpoint: string, model: string, tokenizer: BenchTokenizer, p: PointRequest): Promise<{ summary: Summary; reused: boolean }> {
  const statusPath = join(dir, 'status.json');
  if (existsSync(statusPath) && existsSync(join(dir, 'summary.json'))) {
    const st = JSON.parse(readFileSync(statusPath, 'utf8')) as { state: string; request?: PointRequest };
    if (st.state === 'done' && JSON.stringify(st.request) === JSON.stringify(p)) return { summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary, reused: true };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const startedAt = new Date().toISOString();
  const result = await runBenchmark({
    endpoint,
    api: 'chat',
    model,
    load: { mode: 'concurrency', concurrency: p.concurrency },
    requests: p.requests,
    warmup: p.warmup,
    timeoutMs: 120_000,
    workload: { isl: p.isl, osl: p.osl, seed: p.seed, forceOutputLength: true },
    tokenizer,
  });
  writeAtomic(join(dir, 'records.jsonl'), recordsToJsonl(result.records));
  writeAtomic(join(dir, 'summary.json'), `${JSON.stringify(result.summary, null, 2)}\n`);
  writeAtomic(statusPath, `${JSON.stringify({ state: 'done', request: p, startedAt, finishedAt: new Date().toISOString() }, null, 2)}\n`);
  return { summary: result.summary, reused: false };
}
