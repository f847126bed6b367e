import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

const REPO_ROOT = path.resolve(import.meta.dirname, '../../../..');

/** Runs git in `cwd` with a fixed identity and no user/system config, so tests behave the same everywhere. */
export async function gitIn(cwd: string, ...args: string[]): Promise<string> {
  const r = await execa('git', args, {
    cwd,
    env: {
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Test Author',
      GIT_AUTHOR_EMAIL: 'author@example.com',
      GIT_COMMITTER_NAME: 'Test Author',
      GIT_COMMITTER_EMAIL: 'author@example.com',
    },
  });
  return r.stdout;
}

export interface TempRepo {
  root: string;
  remove(): void;
}

/**
 * A real git repository in a temp directory holding a copy of this repository's recipes/, clusters/ and
 * schemas/, committed on `main`.
 */
export async function tempRecipesRepo(prefix = 'llm-recipes-gh-'): Promise<TempRepo> {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  for (const dir of ['recipes', 'clusters', 'schemas']) cpSync(path.join(REPO_ROOT, dir), path.join(root, dir), { recursive: true });
  await gitIn(root, 'init', '-q', '-b', 'main');
  await gitIn(root, 'config', 'user.name', 'Test Author');
  await gitIn(root, 'config', 'user.email', 'author@example.com');
  await gitIn(root, 'config', 'commit.gpgsign', 'false');
  await gitIn(root, 'add', '-A');
  await gitIn(root, 'commit', '-q', '-m', 'initial');
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
