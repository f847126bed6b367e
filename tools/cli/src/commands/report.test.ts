import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../index.ts';
import { captureIo, type CapturedIo } from '../testing.ts';

// Run-vs-run regression verdict on the simulator: a 10 % slower engine is flagged, a repeat of the same config is not.
const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const base = mkdtempSync(join(tmpdir(), 'report-cmp-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const io = (): CapturedIo => captureIo(ROOT);
const run = async (name: string, slowdown: string): Promise<string> => {
  const out = join(base, name);
  await main(['up', 'llama-3.1-8b/vllm/h100-sxm', '--out', out, '--isl-osl', '64x32', '--concurrency', '1', '--requests', '16', '--warmup', '2', '--speedup', '1', '--slowdown', slowdown], io());
  return out;
};

describe('recipes report --compare', () => {
  it('detects a 10 % slowdown and reports no regression for a repeat', async () => {
    const a = await run('a', '1');
    const b = await run('b', '1');
    const slow = await run('slow', '1.1');
    let o = io();
    await main(['report', slow, '--compare', a], o);
    expect(o.out).toContain('comparison: regression');
    expect(readFileSync(join(slow, 'report.md'), 'utf8')).toMatch(/\| tpot \| [\d.]+ \| [\d.]+ \| 1\.(0[5-9]|1\d)\d* \| \[[\d.]+, [\d.]+\] \| regression \|/);
    o = io();
    await main(['report', b, '--compare', a], o);
    expect(o.out).toContain('comparison: no-change');
    expect(readFileSync(join(b, 'report.html'), 'utf8')).toContain('id="comparison-verdict"');
  }, 90_000);
});
