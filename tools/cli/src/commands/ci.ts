import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '@llm-recipes/errors';
import {
  assertSameRepository,
  clientOptionsFromEnv,
  createGitHubClient,
  gpusFromLabels,
  planChanges,
  readPullRequestEvent,
  upsertStickyComment,
} from '@llm-recipes/github';
import type { RegisterCommand } from './index.ts';
import { findWorkspaceRoot, repoFrom } from './github-common.ts';

interface PlanFlags {
  base?: string;
  head?: string;
  gpus?: string;
  labels?: string;
  event?: string;
  json?: boolean;
}

interface CommentFlags {
  pr: string;
  bodyFile: string[];
  artifactUrl?: string;
  marker: string;
  repo?: string;
  author?: string;
}

const list = (s: string | undefined): string[] | undefined => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const registerCi: RegisterCommand = (program, io) => {
  const ci = program.command('ci').description('The PR loop in CI: plan the profiling matrix, post the sticky report comment.');

  ci.command('plan')
    .description('Print the GitHub Actions matrix {"include":[{"recipe","gpu","name"}]} of recipes changed between two refs.')
    .option('--base <ref>', 'base of the diff (default: the PR base from --event, else main)')
    .option('--head <ref>', 'head of the diff (default: the PR head from --event, else HEAD)')
    .option('--gpus <list>', 'only these GPUs (ids or aliases, comma-separated)')
    .option('--labels <list>', 'PR labels; profile/<gpu> selects a GPU, profile/all every GPU (default: the labels in --event)')
    .option('--event <path>', 'GitHub event payload (default: $GITHUB_EVENT_PATH); a fork PR is refused')
    .option('--json', 'print the matrix as JSON (for $GITHUB_OUTPUT)')
    .action(async (flags: PlanFlags) => {
      const root = findWorkspaceRoot(io.cwd);
      const eventPath = flags.event ?? io.env.GITHUB_EVENT_PATH;
      const event = eventPath ? readPullRequestEvent(resolve(io.cwd, eventPath)) : undefined;
      if (event) assertSameRepository(event);
      // GPU selection: --gpus and --labels add up; without either, the event's labels; with no source at all, every GPU
      let gpus: string[] | undefined;
      const labelSource = list(flags.labels) ?? (flags.gpus === undefined ? event?.labels : undefined);
      const fromLabels = labelSource === undefined ? undefined : gpusFromLabels(labelSource);
      if (fromLabels !== 'all') {
        if (flags.gpus !== undefined || fromLabels !== undefined) gpus = [...(list(flags.gpus) ?? []), ...(fromLabels ?? [])];
      }
      const base = flags.base ?? event?.baseSha ?? 'main';
      const head = flags.head ?? event?.headSha ?? 'HEAD';
      const { plan, skipped, changed } = await planChanges({ root, base, head, gpus });
      if (flags.json) {
        io.stdout(`${JSON.stringify(plan)}\n`);
      } else {
        io.stdout(`${changed.length} file(s) changed between ${base} and ${head}\n`);
        if (plan.include.length === 0) io.stdout('nothing to profile\n');
        for (const e of plan.include) io.stdout(`profile ${e.recipe} on ${e.gpu}\n`);
      }
      for (const s of skipped) io.stderr(`skipped ${s.recipe}: its GPU ${s.gpu} was not requested (label the PR profile/${s.gpu.replace(/_/g, '-')})\n`);
    });

  ci.command('comment')
    .description('Create or update the sticky PR comment (found by its hidden marker and author) with a markdown report.')
    .requiredOption('--pr <number>', 'pull request number')
    .requiredOption('--body-file <path>', 'markdown file; repeat to join several reports', collect, [])
    .option('--artifact-url <url>', 'link to the HTML report artifact / run, shown under the report')
    .option('--marker <name>', 'names the sticky comment (several can coexist)', 'profile')
    .option('--repo <owner/name>', 'repository (default: $GITHUB_REPOSITORY, else the origin remote)')
    .option('--author <login>', 'login of the comment to update (default: the token owner, github-actions[bot] in Actions)')
    .action(async (flags: CommentFlags) => {
      const pr = Number(flags.pr);
      if (!Number.isInteger(pr) || pr <= 0) throw new UserError('CI_COMMENT_PR', `--pr ${flags.pr} is not a pull request number`, { hint: 'e.g. --pr ${{ github.event.pull_request.number }}' });
      if (flags.bodyFile.length === 0) throw new UserError('CI_COMMENT_BODY', '--body-file is required', { hint: 'pass the report.md of the experiment' });
      const parts = flags.bodyFile.map((f) => {
        try {
          return readFileSync(resolve(io.cwd, f), 'utf8').trim();
        } catch (err) {
          throw new UserError('CI_COMMENT_BODY', `cannot read --body-file ${f}: ${(err as Error).message}`, { hint: 'check the path; reports are report.md in each experiment directory' });
        }
      });
      const { owner, repo } = await repoFrom(flags.repo, io);
      const octokit = createGitHubClient({ ...clientOptionsFromEnv(io.env), log: (l) => io.stderr(`${l}\n`) });
      const result = await upsertStickyComment(octokit, {
        owner,
        repo,
        pr,
        marker: flags.marker,
        body: parts.join('\n\n---\n\n'),
        artifactUrl: flags.artifactUrl,
        author: flags.author,
      });
      io.stdout(`${result.action} comment ${result.id}: ${result.url}\n`);
    });
};
