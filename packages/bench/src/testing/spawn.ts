import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLOCK_BASE_NS } from '../clock.ts';
import type { ReferenceServerOptions, ServedRequest } from './reference-server.ts';

/** The reference server in a child process: its own event loop, so a client under test does not share one. */
export interface SpawnedReferenceServer {
  url: string;
  port: number;
  pid: number;
  /** The server's log; times are on this process's clock base. `compact` drops bodies and per-chunk times. */
  log(compact?: boolean): Promise<ServedRequest[]>;
  clearLog(): Promise<void>;
  close(): Promise<void>;
}

export async function spawnReferenceServer(options: Omit<ReferenceServerOptions, 'clockBaseNs'> = {}): Promise<SpawnedReferenceServer> {
  const script = fileURLToPath(new URL('./reference-server-process.ts', import.meta.url));
  const child: ChildProcess = fork(script, [JSON.stringify({ ...options, clockBase: CLOCK_BASE_NS.toString() })], {
    execPath: process.execPath,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(type: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onMsg = (m: { type: string }) => {
        if (m.type !== type) return;
        child.off('message', onMsg);
        child.off('exit', onExit);
        resolve(m as T);
      };
      const onExit = (code: number | null) => reject(new Error(`reference server exited (code ${code}) before "${type}"`));
      child.on('message', onMsg);
      child.once('exit', onExit);
    });
  const ready = await next<{ url: string; port: number }>('ready');
  return {
    url: ready.url,
    port: ready.port,
    pid: child.pid!,
    log: async (compact = false) => {
      const p = next<{ log: ServedRequest[] }>('log');
      child.send({ type: 'log', compact });
      return (await p).log;
    },
    clearLog: async () => {
      const p = next('cleared');
      child.send({ type: 'clear' });
      await p;
    },
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.send({ type: 'close' });
      await exited;
    },
  };
}
