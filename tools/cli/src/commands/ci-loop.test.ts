import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { gitIn, startFakeGitHub, tempRecipesRepo, type FakeGitHub, type TempRepo } from '@llm-recipes/github/testing';
import { runCli } from '../testing.ts';

// The PR loop end to end on a real temporary git repository: the profile job's and the report job's `run:` lines
// are read from .github/workflows/profile.yml and executed through main() (the GPU job with --engine sim), then
// the promotion re-renders the production cluster tree.

const ROOT = path.resolve(import.meta.dirname, '../../../..');
const RECIPE = 'llama-3.1-8b/vllm/h100-sxm';
const PROD_DGD = 'clusters/prod-flux/workloads/llama-3-1-8b-vllm-h100-sxm/dgd.yaml';
const LAB_DGD = 'clusters/lab-argo/workloads/llama-3-1-8b-vllm-h100-sxm/dgd.yaml';
// the simulator is fast, but the recipe's own matrix (1024/8192 tokens × 4 loads × 200 requests) is not a unit test
const SMALL = ['--isl-osl', '128x32', '--concurrency', '1,4', '--requests', '8', '--warmup', '1'];

let repo: TempRepo;
let gh: FakeGitHub;
let scratch: string;

type Step = { run?: string; env?: Record<string, string> };
const workflow = parse(readFileSync(path.join(ROOT, '.github/workflows/profile.yml'), 'utf8')) as { jobs: Record<string, { steps: Step[] }> };

/** Splits one shell command line into words, expanding "$VAR" from `env` (all that these run lines use). */
function words(line: string, env: Record<string, string>): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    const raw = m[1] ?? m[2]!;
    out.push(raw.replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, (_, k: string) => {
      if (env[k] === undefined) throw new Error(`the workflow line uses $${k}, which the test does not set`);
      return env[k]!;
    }));
  }
  return out;
}

/** The argv of the job step that runs `npx recipes <sub>`: a single command line, as the workflow promises. */
function jobArgv(job: string, sub: string, env: Record<string, string>): string[] {
  const step = workflow.jobs[job]!.steps.find((s) => s.run?.includes(`recipes ${sub}`));
  expect(step, `${job} job runs recipes ${sub}`).toBeDefined();
  const lines = step!.run!.trim().split('\n');
  expect(lines).toHaveLength(1);
  const argv = words(lines[0]!, env);
  expect(argv.slice(0, 2)).toEqual(['npx', 'recipes']);
  return argv.slice(2);
}

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => runCli(argv, repo.root, { env });

const read = (rel: string): string => readFileSync(path.join(repo.root, rel), 'utf8');

beforeAll(async () => {
  repo = await tempRecipesRepo('llm-recipes-loop-');
  scratch = mkdtempSync(path.join(tmpdir(), 'llm-recipes-loop-dl-'));
  gh = await startFakeGitHub({ actionsTokens: ['ghs_loop'] });
}, 60_000);

afterAll(async () => {
  await gh?.close();
  repo?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the PR loop on the simulator', () => {
  let matrix: { include: { recipe: string; gpu: string; name: string }[] };
  let cell: { recipe: string; gpu: string; name: string };
  const prodBefore = (): string => read(PROD_DGD);

  it('a first promotion pins production to the measured config without changing its manifests', async () => {
    const base = await run(['ci', 'profile', '--engine', 'sim', '--recipe', `recipes/${RECIPE}`, '--gpu', 'h100', '--out', 'experiments/golden-run', ...SMALL]);
    expect(base.err).not.toContain('error[');
    expect(base.code).toBe(0);
    expect(base.out).toContain('vs golden: no-golden (none)');
    const before = prodBefore();
    const p = await run(['promote', RECIPE, '--from', 'experiments/golden-run', '--auto-apply', '--who', 'alice']);
    expect(p.err).toBe('');
    expect(p.code).toBe(0);
    expect(existsSync(path.join(repo.root, `recipes/${RECIPE}/golden.yaml`))).toBe(true);
    expect(prodBefore()).toBe(before);
    expect((await run(['render', '--check'])).code).toBe(0);
  }, 120_000);

  it('a PR changing the recipe re-renders the lab cluster while production stays on the golden', async () => {
    await gitIn(repo.root, 'switch', '-q', '-c', 'tune');
    const file = path.join(repo.root, `recipes/${RECIPE}/recipe.yaml`);
    writeFileSync(file, readFileSync(file, 'utf8').replace('max-num-seqs: 256', 'max-num-seqs: 128'));
    const prod = prodBefore();
    const lab = read(LAB_DGD);
    expect((await run(['render', '--check'])).code).toBe(1);
    expect((await run(['render'])).code).toBe(0);
    expect(read(LAB_DGD)).not.toBe(lab);
    expect(read(PROD_DGD)).toBe(prod);
    expect((await run(['render', '--check'])).code).toBe(0);
    await gitIn(repo.root, 'add', '-A', 'recipes', 'clusters');
    await gitIn(repo.root, 'commit', '-q', '-m', 'tune max-num-seqs');
    // the plan job's matrix for the label profile/h100
    const plan = await run(['ci', 'plan', '--json', '--labels', 'profile/h100', '--base', 'main', '--head', 'HEAD']);
    matrix = JSON.parse(plan.out);
    cell = matrix.include.find((e) => e.recipe === `recipes/${RECIPE}`)!;
    expect(cell).toEqual({ recipe: `recipes/${RECIPE}`, gpu: 'h100_sxm', name: 'llama-3.1-8b-vllm-h100-sxm' });
  }, 60_000);

  it("the profile job's run line, with --engine sim, writes the experiment with both reports and the verdict vs the golden", async () => {
    const argv = jobArgv('profile', 'ci profile', { RECIPE: cell.recipe, GPU: cell.gpu, NAME: cell.name, PR: '7' });
    expect(argv).toContain('--engine');
    const i = argv.indexOf('--engine');
    expect(argv[i + 1]).toBe('cluster');
    argv[i + 1] = 'sim';
    const r = await run([...argv, ...SMALL]);
    expect(r.code).toBe(0);
    const dir = path.join(repo.root, 'experiments', cell.name);
    const md = readFileSync(path.join(dir, 'report.md'), 'utf8');
    expect(md).toContain('## Pareto front');
    expect(md).toContain('```mermaid');
    expect(md).toContain('## Regression vs golden');
    expect(md).toContain('Comparison: **recorded golden metrics**');
    expect(readFileSync(path.join(dir, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    const ci = JSON.parse(readFileSync(path.join(dir, 'ci.json'), 'utf8'));
    expect(ci).toMatchObject({ recipe: RECIPE, gpu: 'h100_sxm', engine: 'sim', phase: 'Ready', failure: null, golden: { kind: 'recorded-point' } });
    expect(['no-change', 'improvement', 'regression']).toContain(ci.golden.verdict);
    expect(ci.golden.metrics.map((m: { metric: string }) => m.metric)).toEqual(['ttft', 'itl', 'tokens/s/GPU']);
  }, 120_000);

  it("with the golden's experiment at hand (--baseline) the verdict is the per-request bootstrap", async () => {
    const r = await run(['ci', 'profile', '--engine', 'sim', '--recipe', cell.recipe, '--gpu', cell.gpu, '--out', 'experiments/with-baseline', '--baseline', 'experiments/golden-run', ...SMALL]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/vs golden: (no-change|regression|improvement|insufficient-data) \(bootstrap\)/);
    expect(read('experiments/with-baseline/report.md')).toContain('Comparison: **per-request bootstrap**');
    // a baseline that is not the golden's experiment is refused
    const wrong = await run(['ci', 'profile', '--engine', 'sim', '--recipe', cell.recipe, '--out', 'experiments/x', '--baseline', 'experiments/with-baseline', ...SMALL]);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain('error[CI_BASELINE_NOT_GOLDEN]');
  }, 120_000);

  it("the report job's run line posts one sticky comment from the downloaded artifacts; a re-run updates it", async () => {
    // download-artifact puts each artifact in experiments/experiment-<name>/
    const dl = path.join(scratch, 'run');
    cpSync(path.join(repo.root, 'experiments', cell.name), path.join(dl, 'experiments', `experiment-${cell.name}`), { recursive: true });
    const summaryFile = path.join(scratch, 'step-summary.md');
    const env = { PR: '7', LABEL: 'profile/h100', MATRIX: JSON.stringify({ include: [...matrix.include, { recipe: 'recipes/qwen3-32b/vllm/h100-sxm', gpu: 'h100_sxm', name: 'qwen3-32b-vllm-h100-sxm' }] }), RUN_URL: 'https://github.test/acme/recipes/actions/runs/99', GITHUB_STEP_SUMMARY: summaryFile };
    const argv = jobArgv('report', 'ci report', env);
    const ghEnv = { GITHUB_TOKEN: 'ghs_loop', GITHUB_API_URL: gh.url, GITHUB_REPOSITORY: 'acme/recipes' };
    const cwd = repo.root;
    repo.root = dl; // the report job's working directory holds experiments/
    try {
      const first = await run(argv, ghEnv);
      expect(first.err).not.toContain('error[');
      expect(first.out).toMatch(/^created comment \d+ \(2 experiment\(s\)\)/);
      const second = await run(argv, ghEnv);
      expect(second.out).toMatch(/^unchanged comment/);
    } finally {
      repo.root = cwd;
    }
    const comments = gh.comments.get(7)!;
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body.startsWith('<!-- llm-recipes:profile/h100 -->')).toBe(true);
    expect(body).toContain(`\`${RECIPE}\` on h100_sxm`);
    expect(body).toContain('#### Pareto front');
    expect(body).toContain('```mermaid');
    expect(body).toContain('Selected config: **vllm agg');
    expect(body).toContain('#### Regression vs golden');
    expect(body).toContain(`artifact \`experiment-${cell.name}\` of https://github.test/acme/recipes/actions/runs/99`);
    // the matrix cell whose job left no artifact is reported, not silently dropped
    expect(body).toContain('`recipes/qwen3-32b/vllm/h100-sxm` on h100_sxm');
    expect(body).toContain('**No experiment artifact**');
    expect(readFileSync(summaryFile, 'utf8')).toContain('## Profiling report');
  }, 60_000);

  it('promotion writes the new golden and re-renders production; render --check passes; explain shows the golden layer', async () => {
    const prod = prodBefore();
    const p = await run(['promote', RECIPE, '--from', `experiments/${cell.name}`, '--auto-apply', '--who', 'bob', '--json']);
    expect(p.code).toBe(0);
    const out = JSON.parse(p.out);
    expect(out.rendered.changed).toContain(PROD_DGD);
    expect(out.golden.previous.experiment).toBeDefined();
    expect(out.golden.experiment).toMatchObject({ manifestPath: 'results.json', summaryPath: expect.stringMatching(/^bench\/points\/isl128-osl32-c\d+\/summary\.json$/) });
    const after = read(PROD_DGD);
    expect(after).not.toBe(prod);
    expect(after).toMatch(/--max-num-seqs\n\s+- "?128"?/);
    expect((await run(['render', '--check'])).code).toBe(0);
    expect(await gitIn(repo.root, 'status', '--porcelain', '--', 'recipes', 'clusters')).toBe('');
    const ex = await run(['explain', RECIPE, 'backend.args.max-num-seqs', '--golden', '--json']);
    const rows = JSON.parse(ex.out);
    expect(rows.golden).toMatchObject({ file: `recipes/${RECIPE}/golden.yaml`, experiment: out.golden.experiment.id });
    expect(rows.rows[0]).toMatchObject({ path: 'backend.args.max-num-seqs', value: 128, layer: 'golden', file: `recipes/${RECIPE}/golden.yaml` });
    expect(rows.rows[0].line).toBeGreaterThan(1);
    // without --golden the recipe as written (what profiling measures)
    const plain = JSON.parse((await run(['explain', RECIPE, 'backend.args.max-num-seqs', '--json'])).out);
    expect(plain.rows[0]).toMatchObject({ layer: 'recipe', file: `recipes/${RECIPE}/recipe.yaml` });
  }, 60_000);
});
