import { execa } from 'execa';
import { UserError } from '@llm-recipes/errors';

/** Runs git in `cwd`; a failure becomes a UserError carrying git's own message. */
export async function git(cwd: string, args: string[]): Promise<string> {
  const r = await execa('git', args, { cwd, reject: false });
  if (r.exitCode !== 0) {
    throw new UserError('GIT_FAILED', `git ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim()}`, {
      hint: 'run the command inside a git checkout of the repository; fetch the refs it names (actions/checkout with fetch-depth: 0)',
    });
  }
  return r.stdout;
}

/** owner/name from a GitHub remote URL (https, ssh or scp-like); undefined for anything else. */
export function repoSlugFromUrl(url: string): string | undefined {
  const m = /^(?:https?:\/\/(?:[^@/]+@)?[^/]+\/|ssh:\/\/git@[^/]+\/|git@[^:]+:)([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(url.trim());
  return m ? `${m[1]}/${m[2]}` : undefined;
}
