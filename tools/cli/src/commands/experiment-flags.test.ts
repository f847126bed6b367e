import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { UserError } from '@llm-recipes/errors';
import { StatusBook } from '@llm-recipes/profile';
import { captureIo, tempDirs } from '../testing.ts';
import { intList, islOslList, posInt, posNum, reportFailed, targetFrom, type TargetFlags } from './experiment-flags.ts';

const tmp = tempDirs('cli-experiment-flags-');
const flags = (over: Partial<TargetFlags>): TargetFlags => ({ target: 'local', timeout: 3600, pollInterval: 2, speedup: 10, slowdown: 1, ...over });

describe('number and matrix parsers', () => {
  it('accept positive numbers, integers and ISLxOSL lists; reject the rest naming the value', () => {
    expect(posNum('2.5')).toBe(2.5);
    expect(posInt('16')).toBe(16);
    expect(intList('1, 4,16')).toEqual([1, 4, 16]);
    expect(islOslList('512x128, 2048:256,64/8')).toEqual([[512, 128], [2048, 256], [64, 8]]);
    for (const bad of ['0', '-1', 'abc', 'Infinity']) expect(() => posNum(bad), bad).toThrow(InvalidArgumentError);
    expect(() => posInt('1.5')).toThrow('expected a positive integer, got "1.5"');
    expect(() => islOslList('512x128,512')).toThrow('"512" is not ISLxOSL');
    expect(() => islOslList('0x128')).toThrow(InvalidArgumentError);
  });
});

describe('targetFrom', () => {
  it('maps each --target to its TargetSpec, resolving the kubeconfig against the cwd', () => {
    const io = captureIo('/srv/recipes');
    expect(targetFrom(flags({ speedup: 3, slowdown: 1.1 }), io)).toEqual({ kind: 'local', speedup: 3, slowdown: 1.1 });
    expect(targetFrom(flags({ target: 'endpoint', endpoint: 'http://127.0.0.1:8000' }), io)).toEqual({ kind: 'endpoint', url: 'http://127.0.0.1:8000' });
    expect(targetFrom(flags({ target: 'cluster', kubeconfig: 'kube.yaml', context: 'kind', pollInterval: 0.25, timeout: 60 }), io)).toEqual({
      kind: 'cluster',
      kubeconfig: join('/srv/recipes', 'kube.yaml'),
      context: 'kind',
      namespace: null,
      timeoutS: 60,
      pollMs: 250,
    });
  });

  it('rejects an unknown target and an endpoint target without --endpoint', () => {
    const io = captureIo('/');
    expect(() => targetFrom(flags({ target: 'k8s' }), io)).toThrow(expect.objectContaining({ code: 'UNKNOWN_TARGET' }));
    expect(() => targetFrom(flags({ target: 'endpoint' }), io)).toThrow(UserError);
    expect(() => targetFrom(flags({ target: 'endpoint' }), io)).toThrow(expect.objectContaining({ code: 'ENDPOINT_REQUIRED' }));
  });
});

describe('reportFailed', () => {
  it('leaves an experiment that did not fail (or does not exist) to the caller', () => {
    const dir = tmp();
    const io = captureIo(dir);
    const state = { exitCode: 0 };
    expect(reportFailed(dir, io, state)).toBe(false);
    new StatusBook(dir).enter('Profiling', 'Benchmarking');
    expect(reportFailed(dir, io, state)).toBe(false);
    expect(state.exitCode).toBe(0);
    expect(io.out + io.err).toBe('');
  });

  it('prints the Failed status line and the reason, exits 1, and ends a TTY status line first', () => {
    const dir = tmp();
    const book = new StatusBook(dir);
    book.enter('Profiling', 'Benchmarking');
    book.failPhase('endpoint went away');
    for (const isTTY of [false, true]) {
      const io = captureIo(dir, { isTTY });
      const state = { exitCode: 0 };
      expect(reportFailed(dir, io, state)).toBe(true);
      expect(state.exitCode).toBe(1);
      expect(io.out).toBe('Failed/Benchmarking BenchmarkingFailed: endpoint went away\n');
      expect(io.err).toBe(`${isTTY ? '\n' : ''}failed: BenchmarkingFailed: endpoint went away\nresults so far are kept in ${dir}; fix the cause and re-run the same command to resume\n`);
    }
  });
});
