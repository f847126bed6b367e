import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '@llm-recipes/errors';
import { commands } from './commands/index.ts';
import { buildProgram, invokedCommand } from './main.ts';
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

describe('command loading', () => {
  const io = () => ({ stdout: () => {}, stderr: () => {}, cwd: process.cwd(), isTTY: false, env: {} });

  it('lists every command in --help exactly as the fully registered program does', async () => {
    const lazy = await buildProgram(io(), { exitCode: 0 }, ['--help']);
    const full = await buildProgram(io(), { exitCode: 0 }, 'all');
    expect(lazy.helpInformation()).toBe(full.helpInformation());
    expect(full.commands.map((c) => c.name())).toEqual(commands.map((c) => c.name));
  });

  it('finds the command a command line runs', () => {
    expect(invokedCommand(['render', '--check'])).toBe('render');
    expect(invokedCommand(['--help'])).toBeUndefined();
    expect(invokedCommand(['help', 'validate'])).toBe('validate');
    expect(invokedCommand(['bench', 'merge', 'a', 'b'])).toBe('bench');
  });

  // A fresh process records every module it resolves while main() handles the command line.
  const loadedBy = (argv: string[]): string[] => {
    const script = `
      import { registerHooks } from 'node:module';
      const urls = [];
      registerHooks({ resolve(s, c, next) { const r = next(s, c); urls.push(r.url); return r; } });
      const { main } = await import(${JSON.stringify(new URL('./main.ts', import.meta.url).href)});
      const io = { stdout() {}, stderr() {}, cwd: process.cwd(), isTTY: false, env: {} };
      const code = await main(${JSON.stringify(argv)}, io);
      process.stdout.write(JSON.stringify({ code, urls }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const { code, urls } = JSON.parse(out) as { code: number; urls: string[] };
    expect(code).toBe(ExitCode.Ok);
    return urls;
  };
  const ours = (urls: string[]) => urls.filter((u) => /\/(packages|tools)\/[^/]+\/src\//.test(u)).map((u) => u.replace(/^.*\/(packages|tools)\//, ''));
  const libraries = (urls: string[]) => [...new Set(urls.filter((u) => u.includes('/node_modules/')).map((u) => /\/node_modules\/((@[^/]+\/)?[^/]+)/.exec(u)![1]!))];

  it('imports no command module and no library but commander for --help and --version', () => {
    for (const argv of [['--help'], ['--version']]) {
      const urls = loadedBy(argv);
      expect(ours(urls).filter((u) => !u.startsWith('cli/src/main.ts') && !u.startsWith('cli/src/io.ts') && !u.startsWith('cli/src/commands/index.ts') && !u.startsWith('errors/'))).toEqual([]);
      expect(libraries(urls)).toEqual(['commander']);
    }
  });

  it('imports only the module of the command that runs', () => {
    const commandModules = ours(loadedBy(['render', '--help'])).filter((u) => u.startsWith('cli/src/commands/'));
    expect(commandModules.sort()).toEqual(['cli/src/commands/index.ts', 'cli/src/commands/render.ts', 'cli/src/commands/workspace-root.ts']);
  });
});
