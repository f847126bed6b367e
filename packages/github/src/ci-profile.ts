import path from 'node:path';
import { InvalidInputError, UserError } from '@llm-recipes/errors';
import { planExperiment, readResults, readStatus, runSteps, writeAtomic, type ExperimentResults, type ExperimentStatus, type TargetSpec } from '@llm-recipes/profile';
import { findGpu, findRecipeId, loadWorkspace, resolveRecipe, type Golden } from '@llm-recipes/recipe';
import { renderHtmlReport, renderMarkdownReport } from '@llm-recipes/report';
import { readEvidence } from './evidence.ts';
import { compareWithGolden, goldenVerdictMarkdown, type GoldenVerdict } from './golden-compare.ts';

export interface CiProfileOptions {
  /** Repository root (holds recipes/). */
  root: string;
  /** Recipe id or directory (the matrix passes recipes/<model>/<backend>/<gpu>). */
  recipe: string;
  /** sim: the simulator on this machine (the local rehearsal); cluster: the cluster the runner's kubeconfig reaches. */
  engine: 'sim' | 'cluster';
  /** The runner's GPU (matrix.gpu): must be the recipe's GPU, or the numbers would describe other hardware. */
  gpu?: string | undefined;
  /** cluster: scratch namespace (a DNS label); sim: ignored. */
  namespace?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
  /** cluster: seconds to wait for Ready and for each benchmark Job. */
  timeoutS?: number | undefined;
  /** Experiment directory to write. */
  out: string;
  /** The golden's own experiment directory, when its artifacts are at hand: enables the per-request bootstrap. */
  baseline?: string | undefined;
  tolerance?: number | undefined;
  islOsl?: [number, number][] | undefined;
  concurrency?: number[] | undefined;
  requests?: number | undefined;
  warmup?: number | undefined;
  /** sim: simulated time runs this many times faster (default 10). */
  speedup?: number | undefined;
  log?: ((line: string) => void) | undefined;
  onStatus?: ((s: ExperimentStatus) => void) | undefined;
}

/** `<experiment>/ci.json`: what the report job needs to summarise one matrix cell, even when it failed. */
export interface CiProfileSummary {
  schema: 'llm-recipes/ci-profile@1';
  recipe: string;
  variant: string | null;
  gpu: string;
  engine: 'sim' | 'cluster';
  experiment: string | null;
  phase: string;
  /** Failure reason and message when the run failed. */
  failure: { reason: string | null; message: string | null } | null;
  slaMet: boolean | null;
  selected: { pointId: string; config: string; reason: string; tokensPerSecondPerGpu: number; ttftP50: number | null; itlP50: number | null; concurrency: number } | null;
  golden: Omit<GoldenVerdict, 'comparison'> & { comparison: { verdict: string; summary: string } | null };
  reports: { markdown: string; html: string } | null;
}

export interface CiProfileResult {
  dir: string;
  summary: CiProfileSummary;
  results: ExperimentResults | null;
  verdict: GoldenVerdict;
}

export const CI_SUMMARY_FILE = 'ci.json';

function target(o: CiProfileOptions): TargetSpec {
  if (o.engine === 'sim') return { kind: 'local', speedup: o.speedup ?? 10, slowdown: 1 };
  if (o.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(o.namespace)) {
    throw new UserError('CI_NAMESPACE', `--namespace "${o.namespace}" is not a Kubernetes namespace name (DNS label, at most 63 characters)`, {
      hint: 'use lower-case letters, digits and "-", e.g. profile-pr-12-qwen3-32b-vllm-h100-sxm',
    });
  }
  return { kind: 'cluster', kubeconfig: o.kubeconfig ?? null, context: o.context ?? null, namespace: o.namespace ?? null, timeoutS: o.timeoutS ?? 3600, pollMs: 2000 };
}

/** Markdown report with the "Regression vs golden" section placed before the Pareto front. */
export function reportWithVerdict(results: ExperimentResults, verdict: GoldenVerdict): string {
  const md = renderMarkdownReport(results);
  const section = `${goldenVerdictMarkdown(verdict)}\n`;
  const at = md.indexOf('\n## Pareto front');
  return at < 0 ? `${md}\n${section}` : `${md.slice(0, at + 1)}${section}${md.slice(at + 1)}`;
}

/**
 * `recipes ci profile`: the profile job of profile.yml. Runs the recipe's experiment on the simulator or on the
 * runner's cluster, writes report.md/report.html with the regression verdict against the recipe's golden.yaml, and
 * ci.json for the report job — also when the run fails, so the PR comment can say what broke.
 */
export async function ciProfile(o: CiProfileOptions): Promise<CiProfileResult> {
  const ws = loadWorkspace(o.root);
  const id = findRecipeId(ws, o.recipe, o.root);
  if (id === undefined) throw new InvalidInputError(resolveRecipe(ws, { recipe: o.recipe }).issues);
  const loaded = ws.recipes.get(id)!;
  const recipeGpu = findGpu(ws, String(loaded.written.gpu))?.gpu.id;
  if (o.gpu !== undefined) {
    const runner = findGpu(ws, o.gpu)?.gpu.id;
    if (runner === undefined) throw new UserError('CI_UNKNOWN_GPU', `--gpu ${o.gpu} is not in recipes/gpus/`, { hint: `known GPUs: ${[...ws.gpus.keys()].sort().join(', ')}` });
    if (runner !== recipeGpu) {
      throw new UserError('CI_GPU_MISMATCH', `${id} is a ${recipeGpu} recipe but this runner has ${runner} GPUs`, {
        hint: 'a recipe is profiled only on its own GPU; check the runner labels and the plan matrix',
      });
    }
  }
  const golden: Golden | undefined = loaded.golden?.golden;
  let baseline: { dir: string; results: ExperimentResults } | undefined;
  if (o.baseline !== undefined) {
    const results = readResults(o.baseline);
    if (!results) throw new UserError('CI_BASELINE', `--baseline ${o.baseline} holds no results.json`, { hint: "pass the golden's experiment directory (the artifact of the run golden.yaml links to)" });
    const evidence = readEvidence(o.baseline);
    if (golden && evidence.id !== golden.experiment.id) {
      throw new UserError('CI_BASELINE_NOT_GOLDEN', `--baseline ${o.baseline} is experiment ${evidence.id}, but ${id}'s golden was promoted from ${golden.experiment.id}`, {
        hint: `download the artifact of ${golden.experiment.url ?? 'the run that produced the golden'}, or drop --baseline to compare with the recorded metrics`,
      });
    }
    baseline = { dir: o.baseline, results };
  }

  const dir = path.resolve(o.out);
  planExperiment(dir, { root: o.root, ref: id, target: target(o), islOsl: o.islOsl, concurrency: o.concurrency, requests: o.requests, warmup: o.warmup, seed: 0 });
  let verdict: GoldenVerdict | undefined;
  let results: ExperimentResults | null = null;
  let failure: unknown;
  try {
    const outcome = await runSteps({
      dir,
      root: o.root,
      log: o.log,
      onStatus: o.onStatus,
      reporter: async (d, r) => {
        verdict = compareWithGolden({ dir: d, results: r }, golden, { baseline, tolerance: o.tolerance });
        const md = path.join(d, 'report.md');
        const html = path.join(d, 'report.html');
        writeAtomic(md, reportWithVerdict(r, verdict));
        writeAtomic(html, renderHtmlReport(r, { comparison: verdict.comparison ?? undefined }));
        return [md, html];
      },
    });
    results = outcome.results;
  } catch (err) {
    failure = err;
    results = readResults(dir);
  }
  if (results) verdict ??= compareWithGolden({ dir, results }, golden, { baseline, tolerance: o.tolerance });
  verdict ??= {
    ...compareWithGolden({ dir, results: { points: [], selected: null, pareto: [] } as unknown as ExperimentResults }, golden, { tolerance: o.tolerance }),
    verdict: golden ? 'insufficient-data' : 'no-golden',
    summary: 'the run failed before any result was collected',
  };
  const status = readStatus(dir);
  const sel = results?.selected ? results.points.find((p) => p.id === results!.selected!.pointId) : undefined;
  const summary: CiProfileSummary = {
    schema: 'llm-recipes/ci-profile@1',
    recipe: id,
    variant: null,
    gpu: recipeGpu ?? String(loaded.written.gpu),
    engine: o.engine,
    experiment: results?.experiment.id ?? null,
    phase: status?.phase ?? 'Failed',
    failure: failure === undefined ? null : { reason: status?.reason ?? null, message: status?.message ?? (failure instanceof Error ? failure.message : String(failure)) },
    slaMet: results ? results.points.some((p) => p.meetsSla) : null,
    selected: sel ? { pointId: sel.id, config: sel.config, reason: results!.selected!.reason, tokensPerSecondPerGpu: sel.tokensPerSecondPerGpu, ttftP50: sel.ttftP50, itlP50: sel.tpotP50 ?? sel.itlP50, concurrency: sel.concurrency } : null,
    golden: { ...verdict, comparison: verdict.comparison ? { verdict: verdict.comparison.verdict, summary: verdict.comparison.summary } : null },
    reports: failure === undefined ? { markdown: 'report.md', html: 'report.html' } : null,
  };
  writeAtomic(path.join(dir, CI_SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}\n`);
  if (failure !== undefined) throw failure;
  return { dir, summary, results, verdict };
}
