import path from 'node:path';
import { CheckFailedError, InvalidInputError, UserError } from '@llm-recipes/errors';
import { pointMeetsSla, selectPoint, slaItl, type MeasuredPoint } from '@llm-recipes/profile';
import { findRecipeId, GOLDEN_FILE, loadWorkspace, readGolden, resolveRecipe, writeGolden, type Golden, type Recipe } from '@llm-recipes/recipe';
import { renderCluster, writeClusters, type RenderedFiles, type WriteResult } from '@llm-recipes/render';
import type { GitHubOctokit } from './client.ts';
import { readEvidence, type ExperimentEvidence } from './evidence.ts';
import { git } from './git.ts';
import { openPromotionPr, type PromotionPrResult } from './pulls.ts';

export interface PromoteOptions {
  /** Repository root (holds recipes/ and clusters/). */
  root: string;
  /** Recipe id or directory. */
  recipe: string;
  /** Experiment directory (`recipes up` / `recipes ci profile`, or `recipes bench --recipe`). */
  from: string;
  /** Promote this point instead of the best one meeting the SLA (it must meet the SLA too). */
  point?: string | undefined;
  who: string;
  /** Link to the run that produced the experiment, recorded as evidence. */
  evidenceUrl?: string | undefined;
  /** `write`: files only; `auto-apply`: commit on the current branch; `pr`: commit on a branch, push, open a PR. */
  mode: 'write' | 'auto-apply' | 'pr';
  /** auto-apply: also push the commit to `remote`. */
  push?: boolean | undefined;
  remote?: string | undefined;
  /** pr: branch the PR targets (default: the current branch). */
  base?: string | undefined;
  github?: { octokit: GitHubOctokit; owner: string; repo: string } | undefined;
  now?: Date | undefined;
}

/** The numbers promotion records for a point (ms, tokens/s). */
export type PointMetrics = Golden['point']['metrics'];

/** A completed point with its metrics and SLA verdict, for the evidence table. */
export interface Candidate {
  id: string;
  concurrency: number | null;
  rate: number | null;
  metrics: PointMetrics;
  /** Why the point misses the SLA; empty when it meets it. */
  misses: string[];
}

export interface PromoteResult {
  golden: Golden;
  /** Repo-relative path of golden.yaml. */
  goldenPath: string;
  candidates: Candidate[];
  selected: Candidate;
  render: WriteResult;
  /** Markdown evidence (PR body, commit trailer source). */
  evidence: string;
  commit?: string | undefined;
  branch?: string | undefined;
  pr?: PromotionPrResult | undefined;
}

function pickConfig(recipe: Recipe): Golden['config'] {
  // Pod settings are where the deployment runs, not what was measured: resolving with a golden keeps the recipe's
  // own, so they are not pinned here.
  const topology = structuredClone(recipe.topology) as unknown as Record<string, Record<string, unknown> | unknown>;
  for (const role of ['agg', 'prefill', 'decode', 'frontend']) {
    const pool = topology[role];
    if (pool !== null && typeof pool === 'object') delete (pool as Record<string, unknown>).pod;
  }
  return {
    backend: recipe.backend as unknown as Record<string, unknown>,
    dtype: recipe.dtype,
    kvCacheDtype: recipe.kvCacheDtype,
    maxModelLen: recipe.maxModelLen,
    topology: topology as Record<string, unknown>,
  };
}

function experimentRecipe(exp: ExperimentEvidence, id: string): { variant: string | undefined } {
  if (exp.recipe === undefined) {
    throw new UserError('PROMOTE_NO_RECIPE', `experiment ${exp.id} (${exp.dir}) was not run from a recipe`, {
      hint: 'promote experiments made by `recipes up <recipe>`, `recipes ci profile` or `recipes bench --recipe <dir>`',
    });
  }
  if (exp.recipe !== id) {
    throw new UserError('PROMOTE_RECIPE_MISMATCH', `experiment ${exp.id} measured ${exp.recipe}, not ${id}`, {
      hint: `promote it as: recipes promote ${exp.recipe} --from ${exp.dir}`,
    });
  }
  return { variant: exp.variant };
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Why a measured point misses the SLA, under the product's one rule (profile's pointMeetsSla); empty when it meets it. */
export function slaMisses(p: MeasuredPoint, sla: { ttftMs: number; itlMs: number }): string[] {
  if (pointMeetsSla(p, sla)) return [];
  const out: string[] = [];
  const itl = slaItl(p);
  if (p.ttftP50 === null || itl === null) out.push('no latency measured');
  if (p.ttftP50 !== null && p.ttftP50 > sla.ttftMs) out.push(`TTFT p50 ${r2(p.ttftP50)} ms > ${sla.ttftMs} ms`);
  if (itl !== null && itl > sla.itlMs) out.push(`ITL p50 ${r2(itl)} ms > ${sla.itlMs} ms`);
  if (p.errorRate > 0.01) out.push(`error rate ${r2(p.errorRate * 100)} % > 1 %`);
  return out;
}

function metricsOf(p: MeasuredPoint): PointMetrics {
  return {
    ttftMs: p.ttftP50 ?? Number.NaN,
    itlMs: slaItl(p) ?? Number.NaN,
    tpotMs: p.tpotP50,
    e2eMs: p.e2eP50,
    tokensPerSecondPerGpu: p.tokensPerSecondPerGpu,
    tokensPerSecondPerUser: p.tokensPerSecondPerUser > 0 ? p.tokensPerSecondPerUser : null,
    outputTokensPerSecond: p.outputTokensPerSecond,
    requestsPerSecond: p.requestsPerSecond,
    errorRate: p.errorRate,
  };
}

function fmt(x: number | null): string {
  return x === null ? '–' : String(r2(x));
}

/** The evidence block: selection, candidates table, change vs the previous golden, hashes. */
export function promotionEvidence(golden: Golden, all: readonly Candidate[], changed: readonly string[]): string {
  const m = golden.point.metrics;
  const lines = [
    `## Promote \`${golden.recipe}\`${golden.variant ? ` (variant \`${golden.variant}\`)` : ''} → \`${golden.point.id}\``,
    '',
    `**${fmt(m.tokensPerSecondPerGpu)} output tok/s/GPU** at TTFT ${golden.point.percentile} ${fmt(m.ttftMs)} ms and ITL ${golden.point.percentile} ${fmt(m.itlMs)} ms — SLA TTFT ≤ ${golden.sla.ttftMs} ms, ITL ≤ ${golden.sla.itlMs} ms${golden.sla.e2eMs ? `, E2E ≤ ${golden.sla.e2eMs} ms` : ''}.`,
    '',
    golden.selection.how === 'chosen'
      ? `Point chosen by ${golden.promotedBy}; it meets the SLA.`
      : `Selected automatically: ${golden.selection.rule} (${golden.selection.meetingSla} of ${golden.selection.candidates} points meet the SLA).`,
    '',
  ];
  if (golden.previous) {
    const delta = ((m.tokensPerSecondPerGpu - golden.previous.tokensPerSecondPerGpu) / golden.previous.tokensPerSecondPerGpu) * 100;
    const verdict = delta < -5 ? '⚠️ regression' : delta > 5 ? '✅ improvement' : '≈ unchanged';
    lines.push(`Previous golden: \`${golden.previous.point}\` of experiment \`${golden.previous.experiment}\` at ${fmt(golden.previous.tokensPerSecondPerGpu)} tok/s/GPU → **${delta >= 0 ? '+' : ''}${r2(delta)} %** (${verdict}).`, '');
  }
  lines.push('| point | load | TTFT ms | ITL ms | tok/s/GPU | tok/s/user | errors | SLA |', '|---|---:|---:|---:|---:|---:|---:|---|');
  for (const c of all) {
    const sel = c.id === golden.point.id;
    const load = c.concurrency !== null ? `c=${c.concurrency}` : `r=${c.rate}`;
    const cells = [c.id, load, fmt(c.metrics.ttftMs), fmt(c.metrics.itlMs), fmt(c.metrics.tokensPerSecondPerGpu), fmt(c.metrics.tokensPerSecondPerUser), `${r2(c.metrics.errorRate * 100)} %`, c.misses.length === 0 ? 'meets' : c.misses.join('; ')];
    lines.push(`| ${cells.map((x, i) => (sel && i === 0 ? `**${x}** ⭐` : x)).join(' | ')} |`);
  }
  lines.push(
    '',
    '<details><summary>Evidence</summary>',
    '',
    `- experiment \`${golden.experiment.id}\` (created ${golden.experiment.createdAt})${golden.experiment.url ? `, run: ${golden.experiment.url}` : ''}`,
    `- ${golden.experiment.manifestPath ?? 'manifest.json'} sha256 \`${golden.experiment.manifestSha256}\``,
    `- ${golden.experiment.summaryPath ?? `points/${golden.point.id}/summary.json`} sha256 \`${golden.experiment.summarySha256}\``,
    ...Object.entries(golden.experiment.deployedManifests).map(([p, h]) => `- deployed \`${p}\` sha256 \`${h.sha256}\``),
    `- promoted by ${golden.promotedBy} at ${golden.promotedAt}`,
    '',
    changed.length > 0 ? `Re-rendered: ${changed.map((f) => `\`${f}\``).join(', ')}` : 'The rendered cluster tree was already up to date.',
    '',
    '</details>',
  );
  return `${lines.join('\n')}\n`;
}

/** Re-renders every cluster that runs the recipe and writes the drifted ones. */
async function rerender(root: string, id: string): Promise<WriteResult> {
  const ws = loadWorkspace(root);
  if (ws.issues.some((i) => i.severity !== 'warning')) throw new InvalidInputError(ws.issues);
  const files: RenderedFiles = new Map();
  for (const c of [...ws.clusters.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!c.cluster.recipes.some((ref) => findRecipeId(ws, ref.recipe) === id)) continue;
    for (const [p, v] of renderCluster(ws, c.cluster)) files.set(p, v);
  }
  if (files.size === 0) return { added: [], changed: [], removed: [], diff: '' };
  return writeClusters(root, files);
}

/**
 * `recipes promote`: picks the experiment point (the best meeting the recipe's SLA, or the one named), writes
 * golden.yaml with the evidence, re-renders the clusters that run the recipe, then commits or opens a PR.
 */
export async function promote(o: PromoteOptions): Promise<PromoteResult> {
  const ws = loadWorkspace(o.root);
  if (ws.issues.some((i) => i.severity !== 'warning')) throw new InvalidInputError(ws.issues);
  const id = findRecipeId(ws, o.recipe, o.root);
  if (id === undefined) {
    throw new InvalidInputError(resolveRecipe(ws, { recipe: o.recipe }).issues);
  }
  const exp = readEvidence(o.from);
  const { variant } = experimentRecipe(exp, id);
  const resolved = resolveRecipe(ws, { recipe: id, variant });
  if (!resolved.resolved) throw new InvalidInputError(resolved.issues);
  const current = resolved.resolved.recipe;
  const measured = exp.measuredRecipe ?? current;
  // the SLA in force now decides, under the same rule the profiler selects with (profile's selectPoint)
  const sla = current.sla;
  const points = exp.points.map((e) => ({ ...e.measured, id: e.id, meetsSla: pointMeetsSla(e.measured, sla) }));
  const all: Candidate[] = exp.points.map((e, i) => ({ id: e.id, concurrency: e.measured.concurrency || null, rate: e.rate, metrics: metricsOf(points[i]!), misses: slaMisses(points[i]!, sla) }));

  let selected: Candidate | undefined;
  let reason: string;
  if (o.point !== undefined) {
    selected = all.find((c) => c.id === o.point || exp.points.find((e) => e.id === c.id)?.measured.id === o.point);
    if (!selected) {
      throw new UserError('PROMOTE_NO_POINT', `experiment ${exp.id} has no completed point "${o.point}"`, {
        hint: all.length > 0 ? `completed points: ${all.map((c) => c.id).join(', ')}` : 'the experiment has no completed points',
      });
    }
    if (selected.misses.length > 0) {
      throw new CheckFailedError('PROMOTE_SLA_MISS', `point ${o.point} misses the SLA of ${id}: ${selected.misses.join('; ')}`, {
        hint: 'promote a point that meets the SLA (omit --point to take the best one), or change the recipe SLA in its own PR',
      });
    }
    reason = `chosen by ${o.who}; meets TTFT ≤ ${sla.ttftMs} ms and ITL ≤ ${sla.itlMs} ms at p50 with at most 1 % errors`;
  } else {
    const sel = selectPoint(points, sla);
    if (!sel || !sel.meetsSla) {
      const why = all.map((c) => `  ${c.id}: ${c.misses.join('; ')}`).join('\n');
      throw new CheckFailedError('PROMOTE_SLA_MISS', `no point of experiment ${exp.id} meets the SLA of ${id} (TTFT ≤ ${sla.ttftMs} ms, ITL ≤ ${sla.itlMs} ms)${why ? `:\n${why}` : ''}`, {
        hint: 'nothing to promote: tune the recipe and profile again',
      });
    }
    selected = all.find((c) => c.id === sel.point.id)!;
    reason = sel.reason;
  }
  const point = exp.points.find((p) => p.id === selected.id)!;
  const goldenRel = path.posix.join(ws.recipes.get(id)!.dir, GOLDEN_FILE);
  const goldenAbs = path.join(o.root, goldenRel);
  const previous = readGolden(goldenAbs, goldenRel);
  const golden: Golden = {
    schema: 'llm-recipes/golden@1',
    recipe: id,
    ...(variant !== undefined ? { variant } : {}),
    config: pickConfig(measured),
    sla: { ttftMs: sla.ttftMs, itlMs: sla.itlMs, ...(sla.e2eMs !== undefined ? { e2eMs: sla.e2eMs } : {}) },
    point: {
      id: selected.id,
      isl: point.measured.isl,
      osl: point.measured.osl,
      concurrency: selected.concurrency,
      rate: selected.rate,
      percentile: 'p50',
      metrics: selected.metrics,
    },
    selection: {
      how: o.point !== undefined ? 'chosen' : 'best-meeting-sla',
      rule: reason,
      candidates: all.length,
      meetingSla: all.filter((c) => c.misses.length === 0).length,
    },
    experiment: {
      id: exp.id,
      createdAt: exp.createdAt,
      manifestSha256: exp.manifestSha256,
      summarySha256: point.summarySha256,
      ...(exp.format === 'experiment' ? { manifestPath: exp.manifestPath, summaryPath: point.summaryPath } : {}),
      deployedManifests: exp.deployedManifests,
      ...(o.evidenceUrl ? { url: o.evidenceUrl } : {}),
    },
    ...(previous
      ? { previous: { experiment: previous.experiment.id, point: previous.point.id, tokensPerSecondPerGpu: previous.point.metrics.tokensPerSecondPerGpu, promotedAt: previous.promotedAt } }
      : {}),
    promotedAt: (o.now ?? new Date()).toISOString(),
    promotedBy: o.who,
  };

  // PR mode commits on a fresh branch: switch before writing so the current branch's tree is never touched
  let original: string | undefined;
  const branch = o.mode === 'pr' ? `promote/${id.replace(/\//g, '-')}-${exp.id}` : undefined;
  if (o.mode === 'pr') {
    if (!o.github) throw new UserError('PROMOTE_NO_GITHUB', '--pr needs a GitHub repository and token', { hint: 'set GITHUB_TOKEN and GITHUB_REPOSITORY (or --repo owner/name)' });
    original = (await git(o.root, ['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
    await git(o.root, ['switch', '-q', '-C', branch!]);
  }
  try {
    writeGolden(goldenAbs, golden);
    const render = await rerender(o.root, id);
    const changedFiles = [...render.added, ...render.changed, ...render.removed];
    const evidence = promotionEvidence(golden, all, changedFiles);
    const result: PromoteResult = { golden, goldenPath: goldenRel, candidates: all, selected, render, evidence };
    if (o.mode === 'write') return result;

    const title = `promote(${id}): ${selected.id} at ${r2(selected.metrics.tokensPerSecondPerGpu)} tok/s/GPU`;
    await git(o.root, ['add', '-A', '--', goldenRel, ...changedFiles]);
    await git(o.root, ['commit', '-q', '-m', title, '-m', `Experiment ${exp.id}, point ${selected.id}, promoted by ${o.who}.`]);
    result.commit = (await git(o.root, ['rev-parse', 'HEAD'])).trim();
    const remote = o.remote ?? 'origin';
    if (o.mode === 'auto-apply') {
      if (o.push) await git(o.root, ['push', '-q', remote, 'HEAD']);
      return result;
    }
    // the branch is generated from the experiment: re-promoting replaces it
    await git(o.root, ['push', '-q', '--force', remote, `${branch}:refs/heads/${branch}`]);
    result.branch = branch;
    result.pr = await openPromotionPr(o.github!.octokit, {
      owner: o.github!.owner,
      repo: o.github!.repo,
      branch: branch!,
      base: o.base ?? original!,
      title,
      body: evidence,
      expectedSha: result.commit,
    });
    return result;
  } finally {
    if (original !== undefined) await git(o.root, ['switch', '-q', original]);
  }
}
