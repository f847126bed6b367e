import { resolve } from 'node:path';
import { UserError } from '@llm-recipes/errors';
import { clientOptionsFromEnv, createGitHubClient, promote } from '@llm-recipes/github';
import type { RegisterCommand } from './index.ts';
import { findWorkspaceRoot, repoFrom } from './github-common.ts';

interface PromoteFlags {
  from: string;
  point?: string;
  autoApply?: boolean;
  pr?: boolean;
  push?: boolean;
  who?: string;
  remote: string;
  base?: string;
  repo?: string;
  evidenceUrl?: string;
  json?: boolean;
}

export const registerPromote: RegisterCommand = (program, io) => {
  program
    .command('promote <recipe>')
    .description("Write the recipe's golden.yaml from an experiment (best point meeting the SLA), re-render the clusters that run it, and commit or open a PR.")
    .requiredOption('--from <experiment-dir>', 'experiment directory (recipes up / ci profile: results.json; recipes bench: manifest.json)')
    .option('--point <id>', 'promote this point (it must meet the SLA) instead of the best one')
    .option('--auto-apply', 'commit on the current branch')
    .option('--push', 'with --auto-apply: push the commit')
    .option('--pr', 'commit on promote/<recipe>-<experiment>, push it and open (or update) a pull request')
    .option('--who <name>', 'who promotes (default: $GITHUB_ACTOR, else git user.name)')
    .option('--remote <name>', 'git remote to push to', 'origin')
    .option('--base <branch>', 'with --pr: branch the PR targets (default: the current branch)')
    .option('--repo <owner/name>', 'with --pr: repository (default: $GITHUB_REPOSITORY, else the origin remote)')
    .option('--evidence-url <url>', 'link to the run that produced the experiment (default: this Actions run)')
    .option('--json', 'print the golden.yaml content and outcome as JSON')
    .action(async (recipe: string, flags: PromoteFlags) => {
      if (flags.autoApply && flags.pr) throw new UserError('PROMOTE_MODE', '--auto-apply and --pr exclude each other', { hint: 'commit here (--auto-apply) or open a PR (--pr)' });
      if (flags.push && !flags.autoApply) throw new UserError('PROMOTE_MODE', '--push goes with --auto-apply', { hint: '--pr always pushes its branch' });
      const root = findWorkspaceRoot(io.cwd);
      const env = io.env;
      const runUrl = env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
      let who = flags.who ?? env.GITHUB_ACTOR;
      if (!who) {
        const { execa } = await import('execa');
        who = (await execa('git', ['config', 'user.name'], { cwd: root, reject: false })).stdout.trim() || undefined;
      }
      if (!who) throw new UserError('PROMOTE_WHO', 'cannot tell who promotes', { hint: 'pass --who NAME (or set git config user.name)' });
      const github = flags.pr
        ? { octokit: createGitHubClient({ ...clientOptionsFromEnv(env), log: (l) => io.stderr(`${l}\n`) }), ...(await repoFrom(flags.repo, { ...io, cwd: root })) }
        : undefined;
      const result = await promote({
        root,
        recipe,
        from: resolve(io.cwd, flags.from),
        point: flags.point,
        who,
        evidenceUrl: flags.evidenceUrl ?? runUrl,
        mode: flags.pr ? 'pr' : flags.autoApply ? 'auto-apply' : 'write',
        push: flags.push,
        remote: flags.remote,
        base: flags.base,
        github,
      });
      if (flags.json) {
        io.stdout(`${JSON.stringify({ golden: result.golden, goldenPath: result.goldenPath, commit: result.commit ?? null, branch: result.branch ?? null, pr: result.pr ?? null, rendered: { added: result.render.added, changed: result.render.changed, removed: result.render.removed } }, null, 2)}\n`);
        return;
      }
      const m = result.selected.metrics;
      io.stdout(`promoted ${result.golden.recipe} → ${result.selected.id}: ${Math.round(m.tokensPerSecondPerGpu)} tok/s/GPU, TTFT ${result.golden.point.percentile} ${Math.round(m.ttftMs)} ms, ITL ${Math.round(m.itlMs * 10) / 10} ms\n`);
      io.stdout(`wrote ${result.goldenPath}${result.render.diff ? `; re-rendered ${[...result.render.added, ...result.render.changed, ...result.render.removed].length} file(s)` : ''}\n`);
      if (result.commit) io.stdout(`commit ${result.commit}${result.branch ? ` on ${result.branch}` : ''}\n`);
      if (result.pr) io.stdout(`${result.pr.action} pull request #${result.pr.number}: ${result.pr.url}\n`);
    });
};
