import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitIn, startFakeGitHub, tempRecipesRepo, type FakeGitHub, type TempRepo } from '@llm-recipes/github/testing';
import { runCli } from '../testing.ts';

let repo: TempRepo;
let gh: FakeGitHub;
let base: string;
let head: string;
let scratch: string;

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => runCli(argv, repo.root, { env });

function event(headRepo: string | null, labels: string[]): string {
  const file = path.join(scratch, `event-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({
    action: 'labeled',
    label: { name: labels[0] },
    repository: { full_name: 'acme/recipes' },
    pull_request: {
      number: 12,
      labels: labels.map((name) => ({ name })),
      base: { sha: base, repo: { full_name: 'acme/recipes' } },
      head: { sha: head, repo: headRepo === null ? null : { full_name: headRepo } },
    },
  }));
  return file;
}

beforeAll(async () => {
  repo = await tempRecipesRepo();
  scratch = mkdtempSync(path.join(tmpdir(), 'llm-recipes-ci-'));
  base = (await gitIn(repo.root, 'rev-parse', 'HEAD')).trim();
  await gitIn(repo.root, 'switch', '-q', '-c', 'pr');
  appendFileSync(path.join(repo.root, 'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml'), '# tuned\n');
  appendFileSync(path.join(repo.root, 'recipes/qwen3-32b/sglang/h200-sxm/recipe.yaml'), '# tuned\n');
  await gitIn(repo.root, 'commit', '-q', '-am', 'tune');
  head = (await gitIn(repo.root, 'rev-parse', 'HEAD')).trim();
  gh = await startFakeGitHub({ actionsTokens: ['ghs_x'] });
}, 60_000);

afterAll(async () => {
  await gh?.close();
  repo?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

describe('recipes ci plan', () => {
  it('prints the matrix of changed recipes for the event label', async () => {
    const r = await run(['ci', 'plan', '--json', '--event', event('acme/recipes', ['profile/h100'])]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ include: [{ recipe: 'recipes/qwen3-32b/vllm/h100-sxm', gpu: 'h100_sxm', name: 'qwen3-32b-vllm-h100-sxm' }] });
    expect(r.err).toContain('skipped recipes/qwen3-32b/sglang/h200-sxm');
  });

  it('takes GPUs from --gpus and refs from --base/--head without an event', async () => {
    const r = await run(['ci', 'plan', '--json', '--base', base, '--head', head, '--gpus', 'h100,h200']);
    expect(JSON.parse(r.out).include.map((e: { gpu: string }) => e.gpu)).toEqual(['h200_sxm', 'h100_sxm']);
  });

  it('refuses a fork PR with exit 1 and a clear message', async () => {
    const r = await run(['ci', 'plan', '--json', '--event', event('mallory/recipes', ['profile/h100'])]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('error[FORK_PR]: PR #12 comes from mallory/recipes, not acme/recipes');
    const deleted = await run(['ci', 'plan', '--json'], { GITHUB_EVENT_PATH: event(null, ['profile/h100']) });
    expect(deleted.code).toBe(1);
  });

  it('an unknown GPU label is a usage error naming the known GPUs', async () => {
    const r = await run(['ci', 'plan', '--json', '--labels', 'profile/h999', '--base', base]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown GPU: h999[\s\S]*h100_sxm/);
  });
});

describe('recipes ci comment', () => {
  it('creates then updates the sticky comment with the Actions token', async () => {
    const report = path.join(scratch, 'report.md');
    writeFileSync(report, '## Pareto\n| c | tok/s/GPU |\n|---|---|\n| 16 | 900 |\n');
    const env = { GITHUB_TOKEN: 'ghs_x', GITHUB_API_URL: gh.url, GITHUB_REPOSITORY: 'acme/recipes' };
    const first = await run(['ci', 'comment', '--pr', '12', '--body-file', report, '--artifact-url', 'https://github.test/run/1'], env);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^created comment \d+/);
    const second = await run(['ci', 'comment', '--pr', '12', '--body-file', report, '--body-file', report], env);
    expect(second.out).toMatch(/^updated comment \d+/);
    const comments = gh.comments.get(12)!;
    expect(comments).toHaveLength(1);
    expect(comments[0]!.user.login).toBe('github-actions[bot]');
    expect(comments[0]!.body.split('## Pareto')).toHaveLength(3);
  });

  it('without a token: a usage error telling how to set one', async () => {
    const r = await run(['ci', 'comment', '--pr', '12', '--body-file', 'x.md', '--repo', 'acme/recipes'], {});
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot read --body-file|GITHUB_TOKEN/);
  });
});
