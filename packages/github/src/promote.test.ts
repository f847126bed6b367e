import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoldenSchema, loadWorkspace, resolveRecipe } from '@llm-recipes/recipe';
import { createGitHubClient } from './client.ts';
import { promote } from './promote.ts';
import { gitIn, startFakeGitHub, tempRecipesRepo, writeFakeExperiment, type FakeGitHub, type TempRepo } from './testing/index.ts';
import { parse } from 'yaml';

const RECIPE = 'qwen3-32b/vllm/h100-sxm';
let repo: TempRepo;
let bare: string;
let gh: FakeGitHub;
let expDir: string;
let sla: { ttftMs: number; itlMs: number };

beforeAll(async () => {
  // GIVEN a repository with a bare "GitHub" remote, the fake API backed by that remote, and an experiment
  repo = await tempRecipesRepo();
  bare = mkdtempSync(path.join(tmpdir(), 'llm-recipes-remote-'));
  await gitIn(bare, 'init', '-q', '--bare', '-b', 'main');
  await gitIn(repo.root, 'remote', 'add', 'origin', bare);
  await gitIn(repo.root, 'push', '-q', 'origin', 'main');
  gh = await startFakeGitHub({ users: { tok: 'maintainer' }, gitDir: bare });
  const ws = loadWorkspace(repo.root);
  const r = resolveRecipe(ws, { recipe: RECIPE }).resolved!;
  sla = r.recipe.sla;
  expDir = mkdtempSync(path.join(tmpdir(), 'llm-recipes-exp-'));
  writeFakeExperiment(expDir, {
    recipe: RECIPE,
    recipeObject: r.recipe,
    gpus: 8,
    results: [
      { concurrency: 4, ttftP50: sla.ttftMs * 0.4, itlP50: sla.itlMs * 0.5, tokensPerSecondPerGpu: 300 },
      { concurrency: 16, ttftP50: sla.ttftMs * 0.7, itlP50: sla.itlMs * 0.8, tokensPerSecondPerGpu: 900 },
      { concurrency: 64, ttftP50: sla.ttftMs * 3, itlP50: sla.itlMs * 1.5, tokensPerSecondPerGpu: 2100 },
      { concurrency: 32, ttftP50: sla.ttftMs * 0.6, itlP50: sla.itlMs * 0.7, tokensPerSecondPerGpu: 1200, errorRate: 0.2 },
      { concurrency: 256, ttftP50: 0, itlP50: 0, tokensPerSecondPerGpu: 0, state: 'failed' },
    ],
  });
}, 60_000);

afterAll(async () => {
  await gh?.close();
  repo?.remove();
  rmSync(bare, { recursive: true, force: true });
  rmSync(expDir, { recursive: true, force: true });
});

const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const now = new Date('2025-06-02T08:00:00.000Z');

describe('promote', () => {
  it('--pr: commits golden.yaml on a branch, pushes it and opens a PR with the evidence; main is untouched', async () => {
    const octokit = createGitHubClient({ token: 'tok', baseUrl: gh.url, pacing: false, retryUnitMs: 5 });
    const result = await promote({ root: repo.root, recipe: RECIPE, from: expDir, who: 'maintainer', mode: 'pr', github: { octokit, owner: 'acme', repo: 'recipes' }, now, evidenceUrl: 'https://github.test/acme/recipes/actions/runs/42' });

    // THEN the best point meeting the SLA is chosen: c=16 (c=64 misses latency, c=32 has 20 % errors)
    expect(result.selected.id).toBe('isl1024-osl128-c16');
    const goldenPath = `recipes/${RECIPE}/golden.yaml`;
    expect(result.goldenPath).toBe(goldenPath);
    // the golden lives on the pushed branch, with content hashes of the evidence files
    const onBranch = await gitIn(bare, 'show', `${result.branch}:${goldenPath}`);
    const golden = GoldenSchema.parse(parse(onBranch));
    expect(golden).toMatchObject({
      recipe: RECIPE,
      sla,
      point: { id: 'isl1024-osl128-c16', concurrency: 16, percentile: 'p50', metrics: { tokensPerSecondPerGpu: 900 } },
      selection: { how: 'best-meeting-sla', candidates: 4, meetingSla: 2 },
      experiment: { id: result.golden.experiment.id, manifestSha256: sha(path.join(expDir, 'manifest.json')), summarySha256: sha(path.join(expDir, 'points/isl1024-osl128-c16/summary.json')), url: 'https://github.test/acme/recipes/actions/runs/42' },
      promotedBy: 'maintainer',
      promotedAt: now.toISOString(),
    });
    await expect(onBranch).toMatchFileSnapshot('__golden__/golden.yaml');
    // the PR request carried branch, base and the evidence
    const post = gh.seen('POST', /\/pulls$/);
    expect(post).toHaveLength(1);
    expect(post[0]!.body).toMatchObject({ head: result.branch, base: 'main', title: `promote(${RECIPE}): isl1024-osl128-c16 at 900 tok/s/GPU` });
    const body = (post[0]!.body as { body: string }).body;
    expect(body).toContain('| **isl1024-osl128-c16** ⭐ | c=16 |');
    expect(body).toMatch(/isl1024-osl128-c64 \| c=64 \|.*TTFT p50 .* > /);
    expect(body).toMatch(/error rate 20 % > 1 %/);
    expect(body).toContain(golden.experiment.manifestSha256);
    expect(result.pr).toMatchObject({ action: 'created', number: 1 });
    expect(gh.pulls[0]!.head.sha).toBe(result.commit);
    // and the local checkout is back on main without the promotion files
    expect((await gitIn(repo.root, 'rev-parse', '--abbrev-ref', 'HEAD')).trim()).toBe('main');
    expect(existsSync(path.join(repo.root, goldenPath))).toBe(false);
  });

  it('--pr again for the same experiment updates the open PR instead of opening another', async () => {
    const octokit = createGitHubClient({ token: 'tok', baseUrl: gh.url, pacing: false, retryUnitMs: 5 });
    const result = await promote({ root: repo.root, recipe: RECIPE, from: expDir, who: 'maintainer', mode: 'pr', github: { octokit, owner: 'acme', repo: 'recipes' }, now: new Date('2025-06-03T00:00:00Z') });
    expect(result.pr).toMatchObject({ action: 'updated', number: 1 });
    expect(gh.pulls).toHaveLength(1);
    expect(gh.pulls[0]!.head.sha).toBe(result.commit);
  });

  it('--point that misses the SLA is refused (exit 1) and writes nothing', async () => {
    await expect(promote({ root: repo.root, recipe: RECIPE, from: expDir, point: 'isl1024-osl128-c64', who: 'x', mode: 'write' })).rejects.toMatchObject({ code: 'PROMOTE_SLA_MISS', exitCode: 1 });
    await expect(promote({ root: repo.root, recipe: RECIPE, from: expDir, point: 'nope', who: 'x', mode: 'write' })).rejects.toMatchObject({ code: 'PROMOTE_NO_POINT', hint: expect.stringContaining('isl1024-osl128-c4') });
    expect(existsSync(path.join(repo.root, `recipes/${RECIPE}/golden.yaml`))).toBe(false);
  });

  it('refuses an experiment of another recipe and a tampered manifest', async () => {
    await expect(promote({ root: repo.root, recipe: 'qwen3-32b/sglang/h200-sxm', from: expDir, who: 'x', mode: 'write' })).rejects.toMatchObject({ code: 'PROMOTE_RECIPE_MISMATCH' });
    const copy = mkdtempSync(path.join(tmpdir(), 'llm-recipes-exp-'));
    const m = writeFakeExperiment(copy, { recipe: RECIPE, recipeObject: null, gpus: 8, results: [{ concurrency: 1, ttftP50: 1, itlP50: 1, tokensPerSecondPerGpu: 1 }] });
    writeFileSync(path.join(copy, 'manifest.json'), JSON.stringify({ ...m, seeds: { seed: 7 } }));
    await expect(promote({ root: repo.root, recipe: RECIPE, from: copy, who: 'x', mode: 'write' })).rejects.toMatchObject({ code: 'EXPERIMENT_TAMPERED' });
    rmSync(copy, { recursive: true, force: true });
  });

  it('--auto-apply commits golden.yaml on the current branch, and a later promotion records the previous golden', async () => {
    const first = await promote({ root: repo.root, recipe: RECIPE, from: expDir, point: 'isl1024-osl128-c4', who: 'alice', mode: 'auto-apply', now });
    expect(first.commit).toBe((await gitIn(repo.root, 'rev-parse', 'HEAD')).trim());
    expect(await gitIn(repo.root, 'log', '-1', '--format=%s')).toBe(`promote(${RECIPE}): isl1024-osl128-c4 at 300 tok/s/GPU`);
    expect(await gitIn(repo.root, 'status', '--porcelain')).toBe('');
    const second = await promote({ root: repo.root, recipe: RECIPE, from: expDir, who: 'bob', mode: 'auto-apply', now });
    expect(second.golden.previous).toEqual({ experiment: first.golden.experiment.id, point: 'isl1024-osl128-c4', tokensPerSecondPerGpu: 300, promotedAt: now.toISOString() });
    expect(second.evidence).toMatch(/\+200 %\*\* \(✅ improvement\)/);
    expect(second.golden.selection.how).toBe('best-meeting-sla');
  });
});
