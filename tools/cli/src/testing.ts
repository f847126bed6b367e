// Shared by the CLI's own tests (not exported from index.ts): run `recipes …` in-process through main() with an io
// that keeps what the command wrote, and the small fixtures several command tests need.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { CliIo } from './io.ts';
import { main } from './main.ts';

/** A CliIo whose stdout and stderr are collected into `out` and `err`. */
export interface CapturedIo extends CliIo {
  out: string;
  err: string;
}

/** A non-TTY io with an empty environment rooted at `cwd`; `over` replaces any field (isTTY, env, …). */
export function captureIo(cwd: string, over: Partial<CliIo> = {}): CapturedIo {
  const io: CapturedIo = { out: '', err: '', stdout: (t) => void (io.out += t), stderr: (t) => void (io.err += t), cwd, isTTY: false, env: {}, ...over };
  return io;
}

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `recipes <argv>` in `cwd` and returns its exit code and everything it wrote. */
export async function runCli(argv: string[], cwd: string, over: Partial<CliIo> = {}): Promise<CliRun> {
  const io = captureIo(cwd, over);
  const code = await main(argv, io);
  return { code, out: io.out, err: io.err };
}

/** A maker of temporary directories for one test file; all it made are removed after the file's tests. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

/** True while a process with this pid exists (signal 0 only probes), e.g. a simulator an experiment left running. */
export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
