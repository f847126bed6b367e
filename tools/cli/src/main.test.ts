import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '@llm-recipes/errors';
import { runCli } from './testing.ts';

describe('recipes', () => {
  it('prints its package version with --version and exits 0', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runCli(['--version'], process.cwd());
    expect(r.code).toBe(ExitCode.Ok);
    expect(r.out.trim()).toBe(pkg.version);
    expect(r.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('treats an unknown command as a usage error', async () => {
    const r = await runCli(['no-such-command'], process.cwd());
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.err).toMatch(/unknown command/);
  });
});
