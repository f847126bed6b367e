// What `recipes up` and `recipes profile` share: number parsers, the --target flags and their TargetSpec, and how a
// run of the experiment steps is reported (live status, reports, a Failed phase as exit 1 with the reason).
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { UserError } from '@llm-recipes/errors';
import { formatStatusLine, readStatus, type ExperimentStatus, type Reporter, type TargetSpec } from '@llm-recipes/profile';
import { writeReports } from '@llm-recipes/report';
import type { CliIo } from '../io.ts';

export const posNum = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${v}"`);
  return n;
};
export const posInt = (v: string): number => {
  const n = posNum(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`);
  return n;
};
export const intList = (v: string): number[] => v.split(',').map((s) => posInt(s.trim()));
export const islOslList = (v: string): [number, number][] =>
  v.split(',').map((part) => {
    const m = /^(\d+)\s*[x:/]\s*(\d+)$/i.exec(part.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new InvalidArgumentError(`"${part}" is not ISLxOSL (e.g. 512x128)`);
    return [Number(m[1]), Number(m[2])];
  });
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** The parsed --target flags. */
export interface TargetFlags {
  target: string;
  endpoint?: string;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  timeout: number;
  pollInterval: number;
  speedup: number;
  slowdown: number;
}

/** What differs between the commands' --target flags: which targets they take and what the timeouts bound. */
export interface TargetOptionsHelp {
  /** Whether `--target endpoint` (and so --endpoint) is offered. */
  endpoint: boolean;
  /** What --timeout bounds. */
  timeout: string;
  speedup: { help: string; default: number };
}

/** Adds --target and the per-target flags (local, endpoint, cluster) to a command. */
export function addTargetOptions(cmd: Command, help: TargetOptionsHelp): Command {
  cmd.option('--target <kind>', help.endpoint ? 'local (simulator) | endpoint | cluster' : 'local (simulator) | cluster', 'local');
  if (help.endpoint) cmd.option('--endpoint <url>', 'endpoint target: the server to benchmark');
  return cmd
    .option('--kubeconfig <file>', 'cluster target: kubeconfig (default $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'cluster target: kubeconfig context (default: current)')
    .option('--namespace <ns>', "cluster target: namespace (default: the context's)")
    .option('--timeout <s>', `cluster target: ${help.timeout}`, posNum, 3600)
    .option('--poll-interval <s>', 'cluster target: seconds between status polls', posNum, 2)
    .option('--speedup <x>', `local target: ${help.speedup.help}`, posNum, help.speedup.default)
    .option('--slowdown <x>', 'local target: multiply every simulated step time (regression checks)', posNum, 1);
}

/** The --target flags as a TargetSpec. */
export function targetFrom(o: TargetFlags, io: CliIo): TargetSpec {
  const pollMs = Math.round(o.pollInterval * 1000);
  const target: TargetSpec =
    o.target === 'local'
      ? { kind: 'local', speedup: o.speedup, slowdown: o.slowdown }
      : o.target === 'endpoint'
        ? { kind: 'endpoint', url: o.endpoint ?? '' }
        : o.target === 'cluster'
          ? { kind: 'cluster', kubeconfig: o.kubeconfig ? resolve(io.cwd, o.kubeconfig) : null, context: o.context ?? null, namespace: o.namespace ?? null, timeoutS: o.timeout, pollMs }
          : (() => {
              throw new UserError('UNKNOWN_TARGET', `--target: unknown target "${o.target}"`, { hint: 'local | endpoint | cluster' });
            })();
  if (target.kind === 'endpoint' && !target.url) throw new UserError('ENDPOINT_REQUIRED', '--target endpoint needs --endpoint URL', { hint: 'e.g. --endpoint http://127.0.0.1:8000' });
  return target;
}

/** Live phase/sub-phase: one rewritten line on a TTY, plain lines otherwise. */
export function statusPrinter(io: CliIo): (s: ExperimentStatus) => void {
  let last = '';
  return (s) => {
    const line = `${s.phase}/${s.subPhase}${s.progress ? ` ${s.progress}` : ''}`;
    if (line === last) return;
    last = line;
    io.stderr(io.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  };
}

/** The reporting hooks of runSteps/runProfile: both reports, live status on stderr, step logs under it. */
export function runHooks(io: CliIo): {
  reporter: Reporter;
  onStatus: (s: ExperimentStatus) => void;
  log: (line: string) => void;
} {
  return {
    reporter: async (d, results) => {
      const w = writeReports(d, { results });
      return [w.markdown, w.html];
    },
    onStatus: statusPrinter(io),
    log: (line) => io.stderr(`${io.isTTY ? '\r\x1b[2K' : ''}  ${line}\n`),
  };
}

/**
 * After a run threw: when the experiment is marked Failed, prints its status line and the reason, sets exit code 1
 * and returns true (the error is reported); otherwise false and the caller rethrows.
 */
export function reportFailed(dir: string, io: CliIo, state: { exitCode: number }): boolean {
  const st = readStatus(dir);
  if (st?.phase !== 'Failed') return false;
  if (io.isTTY) io.stderr('\n');
  io.stdout(`${formatStatusLine(st)}\n`);
  io.stderr(`failed: ${st.reason}: ${st.message}\nresults so far are kept in ${dir}; fix the cause and re-run the same command to resume\n`);
  state.exitCode = 1;
  return true;
}
