import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '@llm-recipes/errors';
import { git, repoSlugFromUrl } from '@llm-recipes/github';
import type { CliIo } from '../io.ts';

/** The nearest directory at or above `cwd` holding recipes/. */
export function findWorkspaceRoot(cwd: string): string {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, 'recipes'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new UserError('NO_WORKSPACE', `no recipes/ directory in ${resolve(cwd)} or above`, { hint: 'run inside an llm-recipes checkout' });
    dir = up;
  }
}

/** owner/name from --repo, $GITHUB_REPOSITORY, or the origin remote's URL. */
export async function repoFrom(flag: string | undefined, io: CliIo): Promise<{ owner: string; repo: string }> {
  let slug = flag ?? io.env.GITHUB_REPOSITORY;
  if (!slug) {
    const url = await git(io.cwd, ['remote', 'get-url', 'origin']).catch(() => '');
    slug = repoSlugFromUrl(url);
  }
  const m = slug ? /^([\w.-]+)\/([\w.-]+)$/.exec(slug) : null;
  if (!m) {
    throw new UserError('GITHUB_REPO', slug ? `"${slug}" is not owner/name` : 'cannot tell which GitHub repository to use', {
      hint: 'pass --repo owner/name (GitHub Actions sets GITHUB_REPOSITORY)',
    });
  }
  return { owner: m[1]!, repo: m[2]! };
}
