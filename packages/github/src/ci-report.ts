import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '@llm-recipes/errors';
import { readResults, slaItl, type ExperimentResults } from '@llm-recipes/profile';
import { mermaidPareto, slaVerdict } from '@llm-recipes/report';
import { CI_SUMMARY_FILE, type CiProfileSummary } from './ci-profile.ts';
import { goldenVerdictMarkdown, verdictIcon, type GoldenVerdict } from './golden-compare.ts';
import { COMMENT_LIMIT, markerComment } from './sticky.ts';

/** One matrix cell the report covers: its experiment directory, or only what the plan expected. */
export interface ReportCell {
  name: string;
  recipe: string | null;
  gpu: string | null;
  dir: string | null;
  summary: CiProfileSummary | null;
  results: ExperimentResults | null;
}

export interface CiReportOptions {
  /** Directory the report job downloaded the artifacts into (one sub-directory per experiment). */
  experiments: string;
  /** The plan matrix: cells without an artifact are reported as failed instead of silently missing. */
  expected?: readonly { name: string; recipe: string; gpu: string }[] | undefined;
  /** The run holding the artifacts (report.html per experiment). */
  artifactUrl?: string | undefined;
  /** Marker of the sticky comment (its length counts against the limit). */
  marker?: string | undefined;
  /** Character budget of the whole comment (default GitHub's 65 536). */
  limit?: number | undefined;
}

export interface CiReport {
  body: string;
  cells: ReportCell[];
  /** Names of the cells whose section was cut to fit. */
  truncated: string[];
}

const f = (n: number | null | undefined, d = 1): string => (n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(d));
const readJson = <T>(p: string): T | null => {
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as T;
  } catch {
    return null;
  }
};
const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

/** Experiment directories under `root` (itself, or up to two levels down), by name (`experiment-` prefix dropped). */
export function findExperiments(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const isExperiment = (d: string): boolean => [CI_SUMMARY_FILE, 'results.json', 'experiment.json'].some((x) => existsSync(path.join(d, x)));
  const walk = (d: string, depth: number): void => {
    if (isExperiment(d)) {
      out.set(path.basename(d).replace(/^experiment-/, ''), d);
      return;
    }
    if (depth === 0) return;
    for (const n of readdirSync(d).sort()) if (isDir(path.join(d, n))) walk(path.join(d, n), depth - 1);
  };
  if (!isDir(root)) throw new UserError('CI_REPORT_NO_DIR', `--experiments ${root} is not a directory`, { hint: 'pass the directory download-artifact wrote the experiment-* artifacts into' });
  walk(root, 2);
  return out;
}

function cellHeading(c: ReportCell, icon: string): string {
  return `### ${icon} \`${c.recipe ?? c.name}\`${c.gpu ? ` on ${c.gpu}` : ''}`;
}

function artifactLine(c: ReportCell, url: string | undefined): string {
  return `📄 Full report: \`report.html\` in artifact \`experiment-${c.name}\`${url ? ` of ${url}` : ''}.`;
}

function paretoTable(r: ExperimentResults): string[] {
  const lines = ['| | config | ISL/OSL | concurrency | tok/s/user | tok/s/GPU | TTFT p50 ms | ITL p50 ms | SLA |', '|---|---|---|---:|---:|---:|---:|---:|:---:|'];
  for (const id of r.pareto) {
    const p = r.points.find((x) => x.id === id);
    if (!p) continue;
    lines.push(`| ${r.selected?.pointId === id ? '★' : ''} | ${p.config} | ${p.isl}/${p.osl} | ${p.concurrency} | ${f(p.tokensPerSecondPerUser)} | ${f(p.tokensPerSecondPerGpu)} | ${f(p.ttftP50)} | ${f(slaItl(p), 2)} | ${p.meetsSla ? '✅' : '❌'} |`);
  }
  return lines;
}

function goldenOf(c: ReportCell): GoldenVerdict | null {
  const g = c.summary?.golden;
  return g ? ({ ...g, comparison: null } as GoldenVerdict) : null;
}

/** One recipe's section: verdicts, selection, Pareto table, chart, regression vs golden, artifact link. */
export function cellSection(c: ReportCell, artifactUrl?: string): string {
  const out: string[] = [];
  if (!c.dir) {
    out.push(cellHeading(c, '❌'), '', '**No experiment artifact**: the profile job failed before writing one (runner, checkout or install). See the run logs.', '');
    return out.join('\n');
  }
  const r = c.results;
  const failed = c.summary?.failure ?? (r ? null : { reason: null, message: 'no results.json and no ci.json in the artifact' });
  const g = goldenOf(c);
  const icon = failed ? '❌' : g?.verdict === 'regression' ? '⚠️' : r && !r.points.some((p) => p.meetsSla) ? '⚠️' : '✅';
  out.push(cellHeading(c, icon), '');
  if (failed) out.push(`**Profiling failed**${failed.reason ? ` (${failed.reason})` : ''}: ${failed.message ?? 'see the run logs'}`, '');
  if (r) {
    const sel = r.selected ? r.points.find((p) => p.id === r.selected!.pointId) : undefined;
    out.push(`- ${slaVerdict(r).text}`);
    out.push(sel ? `- Selected config: **${sel.config}** at concurrency ${sel.concurrency} (ISL ${sel.isl}/OSL ${sel.osl}): ${f(sel.tokensPerSecondPerGpu)} tok/s/GPU, ${f(sel.tokensPerSecondPerUser)} tok/s/user, TTFT p50 ${f(sel.ttftP50)} ms, ITL p50 ${f(slaItl(sel), 2)} ms — ${r.selected!.reason}.` : '- Selected config: none (no point completed).');
    if (g) out.push(`- vs golden: ${verdictIcon(g.verdict)} **${g.verdict}** (${g.kind === 'bootstrap' ? 'per-request bootstrap' : g.kind === 'recorded-point' ? 'recorded golden metrics' : 'no golden'}) — ${g.summary}.`);
    out.push(`- Experiment \`${r.experiment.id}\` · ${r.experiment.target} · ${r.points.length} point(s).`, '');
    out.push('#### Pareto front', '', ...paretoTable(r), '');
    const chart = mermaidPareto(r);
    if (chart) out.push(chart, '');
    if (g) out.push(goldenVerdictMarkdown(g, '####'));
  }
  out.push(artifactLine(c, artifactUrl), '');
  return out.join('\n');
}

/** Cuts a section to `max` characters at a line boundary, never inside a code fence, and says where the rest is. */
export function truncateSection(text: string, max: number, note: string): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - note.length - 2));
  const nl = cut.lastIndexOf('\n');
  cut = nl >= 0 ? cut.slice(0, nl) : '';
  // an odd number of ``` lines means the cut is inside a fence (a mermaid chart): drop the open fence
  const fences = [...cut.matchAll(/^```/gm)];
  if (fences.length % 2 === 1) cut = cut.slice(0, fences[fences.length - 1]!.index);
  return `${cut.replace(/\s+$/, '')}\n\n${note}\n`;
}

/**
 * The sticky comment body of a profile run: an overview table, then one section per experiment. When everything
 * does not fit GitHub's comment limit, the short sections stay whole and the long ones share what is left, each
 * cut at a line boundary with a note pointing at its artifact.
 */
export function buildCiReport(o: CiReportOptions): CiReport {
  const found = findExperiments(o.experiments);
  const cells: ReportCell[] = [];
  const seen = new Set<string>();
  for (const e of o.expected ?? []) {
    const dir = found.get(e.name) ?? null;
    seen.add(e.name);
    cells.push(loadCell(e.name, dir, e.recipe, e.gpu));
  }
  for (const [name, dir] of found) if (!seen.has(name)) cells.push(loadCell(name, dir, null, null));
  if (cells.length === 0) throw new UserError('CI_REPORT_EMPTY', `no experiments under ${o.experiments} and no --matrix`, { hint: 'pass the directory holding the experiment-* artifacts, and --matrix with the plan' });

  const head = ['## Profiling report', '', '| | recipe | GPU | SLA | selected tok/s/GPU | vs golden |', '|---|---|---|:---:|---:|---|'];
  for (const c of cells) {
    const r = c.results;
    const sel = r?.selected ? r.points.find((p) => p.id === r.selected!.pointId) : undefined;
    const g = goldenOf(c);
    const failed = !c.dir || c.summary?.failure || !r;
    head.push(`| ${failed ? '❌' : g?.verdict === 'regression' ? '⚠️' : '✅'} | \`${c.recipe ?? c.name}\` | ${c.gpu ?? '—'} | ${r ? (r.points.some((p) => p.meetsSla) ? 'met' : 'missed') : '—'} | ${sel ? f(sel.tokensPerSecondPerGpu) : '—'} | ${g ? `${verdictIcon(g.verdict)} ${g.verdict}` : failed ? 'failed' : '—'} |`);
  }
  const header = `${head.join('\n')}\n`;
  const sections = cells.map((c) => cellSection(c, o.artifactUrl));
  const limit = o.limit ?? COMMENT_LIMIT;
  // room for the marker and the artifact footer composeStickyBody adds, plus the separators
  const overhead = markerComment(o.marker ?? 'profile').length + 2 + (o.artifactUrl ? o.artifactUrl.length + 80 : 2) + sections.length * 2 + 16;
  let budget = limit - overhead - header.length;
  const truncated: string[] = [];
  const out = [...sections];
  if (sections.reduce((n, s) => n + s.length, 0) > budget) {
    const order = sections.map((_, i) => i).sort((a, b) => sections[a]!.length - sections[b]!.length);
    let left = order.length;
    for (const i of order) {
      const share = Math.floor(budget / left);
      if (sections[i]!.length > share) {
        const c = cells[i]!;
        out[i] = truncateSection(sections[i]!, share, `… _section truncated to fit a GitHub comment; ${artifactLine(c, o.artifactUrl)}_`);
        truncated.push(c.name);
      }
      budget -= out[i]!.length;
      left--;
    }
  }
  return { body: [header, ...out].join('\n'), cells, truncated };
}

function loadCell(name: string, dir: string | null, recipe: string | null, gpu: string | null): ReportCell {
  const summary = dir ? readJson<CiProfileSummary>(path.join(dir, CI_SUMMARY_FILE)) : null;
  const results = dir ? readResults(dir) : null;
  return { name, dir, summary, results, recipe: summary?.recipe ?? results?.experiment.recipe ?? recipe, gpu: summary?.gpu ?? results?.experiment.gpu ?? gpu };
}
