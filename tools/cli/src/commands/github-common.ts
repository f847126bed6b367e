import { UserError } from '@llm-recipes/errors';
import { git, repoSlugFromUrl } from '@llm-recipes/github';
import type { CliIo } from '../io.ts';

export { findWorkspaceRoot } from './workspace-root.ts';

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
