import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '@llm-recipes/errors';
import {
  assertSameRepository,
  buildCiReport,
  ciProfile,
  clientOptionsFromEnv,
  createGitHubClient,
  gpusFromLabels,
  planChanges,
  readPullRequestEvent,
  upsertStickyComment,
} from '@llm-recipes/github';
import type { RegisterCommand } from './index.ts';
import { intList, islOslList, posInt, posNum } from './experiment-flags.ts';
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

interface ProfileFlags {
  engine: string;
  recipe: string;
  gpu?: string;
  namespace?: string;
  kubeconfig?: string;
  context?: string;
  timeout: number;
  out: string;
  baseline?: string;
  tolerance: number;
  islOsl?: [number, number][];
  concurrency?: number[];
  requests?: number;
  warmup?: number;
  speedup: number;
  failOnRegression?: boolean;
}

interface ReportFlags {
  pr?: string;
  experiments: string;
  matrix?: string;
  artifactUrl?: string;
  marker: string;
  repo?: string;
  author?: string;
  output?: string;
}

function parsePr(pr: string): number {
  const n = Number(pr);
  if (!Number.isInteger(n) || n <= 0) throw new UserError('CI_COMMENT_PR', `--pr ${pr} is not a pull request number`, { hint: 'e.g. --pr ${{ github.event.pull_request.number }}' });
  return n;
}

function parseMatrix(text: string): { name: string; recipe: string; gpu: string }[] {
  try {
    const m = JSON.parse(text) as { include?: { name: string; recipe: string; gpu: string }[] };
    if (!Array.isArray(m.include)) throw new Error('no include list');
    return m.include;
  } catch (err) {
    throw new UserError('CI_REPORT_MATRIX', `--matrix is not the JSON \`recipes ci plan --json\` prints: ${(err as Error).message}`, { hint: 'pass needs.plan.outputs.matrix through an env variable: --matrix "$MATRIX"' });
  }
}

const list = (s: string | undefined): string[] | undefined => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const registerCi: RegisterCommand = (program, io, state) => {
  const ci = program.command('ci').description('The PR loop in CI: plan the profiling matrix, profile a recipe, post the sticky report comment.');

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

  ci.command('profile')
    .description("The profile job of profile.yml: run a recipe's experiment (simulator or the runner's cluster), write report.md/report.html with the regression verdict vs its golden.yaml, and ci.json.")
    .requiredOption('--engine <engine>', 'sim (the simulator here: the local rehearsal) | cluster (the cluster the kubeconfig reaches)')
    .requiredOption('--recipe <dir>', 'recipe directory or id (the plan matrix passes recipes/<model>/<backend>/<gpu>)')
    .option('--gpu <id>', "the runner's GPU: refuse a recipe of another GPU")
    .option('--namespace <ns>', 'cluster: scratch namespace, e.g. profile-pr-<n>-<name>')
    .option('--kubeconfig <file>', 'cluster: kubeconfig (default $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'cluster: kubeconfig context')
    .option('--timeout <s>', 'cluster: seconds to wait for Ready and for each benchmark Job', posNum, 3600)
    .requiredOption('--out <dir>', 'experiment directory to write (uploaded as the artifact)')
    .option('--baseline <dir>', "the golden's own experiment directory: per-request bootstrap instead of the recorded golden metrics")
    .option('--tolerance <pct>', 'relative change treated as noise, percent', posNum, 5)
    .option('--isl-osl <list>', "matrix ISL×OSL pairs (default: the recipe's benchmark section)", islOslList)
    .option('--concurrency <list>', 'matrix concurrencies, e.g. 1,4,16', intList)
    .option('--requests <n>', 'measured requests per point', posInt)
    .option('--warmup <n>', 'warmup requests per point', (v: string) => (v === '0' ? 0 : posInt(v)))
    .option('--speedup <x>', 'sim: simulated time runs this many times faster', posNum, 10)
    .option('--fail-on-regression', 'exit 1 when the verdict against the golden is a regression')
    .action(async (flags: ProfileFlags) => {
      if (flags.engine !== 'sim' && flags.engine !== 'cluster') throw new UserError('CI_ENGINE', `--engine ${flags.engine} is not sim or cluster`, { hint: 'sim runs the simulator here (the local rehearsal); cluster deploys with the runner kubeconfig' });
      const root = findWorkspaceRoot(io.cwd);
      const out = resolve(io.cwd, flags.out);
      io.stderr(`experiment ${out}\n`);
      try {
        const r = await ciProfile({
          root,
          recipe: resolve(io.cwd, flags.recipe),
          engine: flags.engine,
          gpu: flags.gpu,
          namespace: flags.namespace,
          kubeconfig: flags.kubeconfig ? resolve(io.cwd, flags.kubeconfig) : undefined,
          context: flags.context,
          timeoutS: flags.timeout,
          out,
          baseline: flags.baseline ? resolve(io.cwd, flags.baseline) : undefined,
          tolerance: flags.tolerance / 100,
          islOsl: flags.islOsl,
          concurrency: flags.concurrency,
          requests: flags.requests,
          warmup: flags.warmup,
          speedup: flags.speedup,
          log: (line) => io.stderr(`  ${line}\n`),
        });
        const s = r.summary;
        io.stdout(`${s.recipe} on ${s.gpu}: ${s.phase}; SLA ${s.slaMet ? 'met' : 'not met'}${s.selected ? `; selected ${s.selected.config} at concurrency ${s.selected.concurrency} (${s.selected.tokensPerSecondPerGpu.toFixed(1)} tok/s/GPU)` : ''}\n`);
        io.stdout(`vs golden: ${r.verdict.verdict} (${r.verdict.kind}) — ${r.verdict.summary}\n`);
        io.stdout(`report: ${resolve(out, 'report.md')}\nreport: ${resolve(out, 'report.html')}\n`);
        if (flags.failOnRegression && r.verdict.verdict === 'regression') state.exitCode = 1;
      } catch (err) {
        const st = readStatusSafe(out);
        if (st) {
          io.stderr(`failed: ${st}\nci.json and the results so far are in ${out}\n`);
          state.exitCode = 1;
          return;
        }
        throw err;
      }
    });

  ci.command('report')
    .description('Gather the experiments a profile run downloaded into one markdown report (per recipe: Pareto table, chart, selection, verdict vs golden) and upsert the sticky PR comment.')
    .option('--pr <number>', 'pull request number (omit with --output to only write the body)')
    .requiredOption('--experiments <dir>', 'directory holding the experiment-* artifacts')
    .option('--matrix <json>', 'the plan matrix (recipes ci plan --json): cells without an artifact are reported as failed')
    .option('--artifact-url <url>', 'the run holding the artifacts (report.html per experiment)')
    .option('--marker <name>', 'names the sticky comment (several can coexist)', 'profile')
    .option('--repo <owner/name>', 'repository (default: $GITHUB_REPOSITORY, else the origin remote)')
    .option('--author <login>', 'login of the comment to update (default: the token owner, github-actions[bot] in Actions)')
    .option('--output <file>', 'also write the body to this file (e.g. $GITHUB_STEP_SUMMARY)')
    .action(async (flags: ReportFlags) => {
      if (flags.pr === undefined && flags.output === undefined) throw new UserError('CI_REPORT_TARGET', 'nothing to do: pass --pr N (comment) and/or --output FILE', { hint: 'in profile.yml: --pr "$PR"' });
      const pr = flags.pr === undefined ? undefined : parsePr(flags.pr);
      const report = buildCiReport({
        experiments: resolve(io.cwd, flags.experiments),
        expected: flags.matrix === undefined ? undefined : parseMatrix(flags.matrix),
        artifactUrl: flags.artifactUrl,
        marker: flags.marker,
      });
      if (report.truncated.length > 0) io.stderr(`truncated to fit a GitHub comment: ${report.truncated.join(', ')}\n`);
      if (flags.output) {
        const { appendFileSync } = await import('node:fs');
        appendFileSync(resolve(io.cwd, flags.output), `${report.body}\n`);
      }
      if (pr === undefined) {
        io.stdout(`wrote the report of ${report.cells.length} experiment(s) to ${flags.output}\n`);
        return;
      }
      const { owner, repo } = await repoFrom(flags.repo, io);
      const octokit = createGitHubClient({ ...clientOptionsFromEnv(io.env), log: (l) => io.stderr(`${l}\n`) });
      const result = await upsertStickyComment(octokit, { owner, repo, pr, marker: flags.marker, body: report.body, artifactUrl: flags.artifactUrl, author: flags.author });
      io.stdout(`${result.action} comment ${result.id} (${report.cells.length} experiment(s)): ${result.url}\n`);
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
      const pr = parsePr(flags.pr);
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

/** The status line of a failed experiment, when it got far enough to write one. */
function readStatusSafe(dir: string): string | undefined {
  try {
    const st = JSON.parse(readFileSync(resolve(dir, 'status.json'), 'utf8')) as { phase?: string; reason?: string | null; message?: string | null };
    return st.phase === 'Failed' ? `${st.reason ?? 'Failed'}: ${st.message ?? ''}` : undefined;
  } catch {
    return undefined;
  }
}
