import { slaItl, type ExperimentResults, type MeasuredPoint } from '@llm-recipes/profile';
import type { Comparison } from './compare.ts';

const f = (n: number | null | undefined, d = 1): string => (n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(d));

/** USD per million output tokens at a point: GPUs × $/h over tokens per hour. */
export function costPerMillionTokens(p: Pick<MeasuredPoint, 'gpus' | 'outputTokensPerSecond'>, gpuHourlyUsd: number | null): number | null {
  if (gpuHourlyUsd === null || p.outputTokensPerSecond <= 0) return null;
  return (gpuHourlyUsd * p.gpus * 1e6) / (p.outputTokensPerSecond * 3600);
}

function pointRow(p: MeasuredPoint, r: ExperimentResults, mark = ''): string {
  const cost = costPerMillionTokens(p, r.gpuHourlyUsd);
  return `| ${mark}${p.config} | ${p.isl}/${p.osl} | ${p.concurrency} | ${f(p.tokensPerSecondPerUser)} | ${f(p.tokensPerSecondPerGpu)} | ${f(p.ttftP50)} | ${f(slaItl(p), 2)} | ${p.meetsSla ? '✅' : '❌'} |${r.gpuHourlyUsd !== null ? ` ${cost === null ? '—' : `$${cost.toFixed(3)}`} |` : ''}`;
}

function tableHead(r: ExperimentResults): string {
  const cost = r.gpuHourlyUsd !== null;
  return [
    `| config | ISL/OSL | concurrency | tok/s/user | tok/s/GPU | TTFT p50 ms | ITL (TPOT) p50 ms | SLA |${cost ? ' $/M tok |' : ''}`,
    `|---|---|---:|---:|---:|---:|---:|:---:|${cost ? '---:|' : ''}`,
  ].join('\n');
}

/** A mermaid xychart of the Pareto front: tokens/s/GPU (y) against tokens/s/user (x, categories ascending). */
export function mermaidPareto(r: ExperimentResults): string {
  const front = r.pareto.map((id) => r.points.find((p) => p.id === id)!).filter(Boolean).sort((a, b) => a.tokensPerSecondPerUser - b.tokensPerSecondPerUser);
  if (front.length === 0) return '';
  const labels = front.map((p) => `"${p.tokensPerSecondPerUser.toFixed(0)}"`).join(', ');
  const ys = front.map((p) => p.tokensPerSecondPerGpu.toFixed(1)).join(', ');
  const max = Math.max(...front.map((p) => p.tokensPerSecondPerGpu));
  return [
    '```mermaid',
    'xychart-beta',
    '  title "Pareto front: tokens/s/GPU vs tokens/s/user"',
    `  x-axis "tokens/s/user" [${labels}]`,
    `  y-axis "tokens/s/GPU" 0 --> ${Math.ceil(max * 1.1)}`,
    `  line [${ys}]`,
    `  bar [${ys}]`,
    '```',
  ].join('\n');
}

/** The SLA verdict line: met (by which points) or not, with the closest miss. */
export function slaVerdict(r: ExperimentResults): { met: boolean; text: string } {
  const ok = r.points.filter((p) => p.meetsSla);
  if (ok.length > 0) return { met: true, text: `**SLA met** (TTFT ≤ ${r.sla.ttftMs} ms, ITL ≤ ${r.sla.itlMs} ms at p50) by ${ok.length} of ${r.points.length} points.` };
  return { met: false, text: `**SLA not met** (TTFT ≤ ${r.sla.ttftMs} ms, ITL ≤ ${r.sla.itlMs} ms at p50) by any of ${r.points.length} points.` };
}

export function comparisonMarkdown(c: Comparison): string {
  const lines = [
    `Verdict: **${c.verdict}** — ${c.summary}.`,
    '',
    `Candidate/base ratio of per-request medians with a 95 % bootstrap interval (${c.resamples} resamples over requests); tolerance ±${(c.tolerance * 100).toFixed(0)} %.`,
    '',
    '| point | metric | base p50 ms | candidate p50 ms | ratio | 95 % CI | verdict |',
    '|---|---|---:|---:|---:|---|---|',
  ];
  for (const p of c.points) {
    for (const m of p.metrics) {
      lines.push(`| ${p.point} | ${m.metric} | ${f(m.baseMedian, 2)} | ${f(m.candidateMedian, 2)} | ${f(m.ratio, 3)} | [${f(m.ciLow, 3)}, ${f(m.ciHigh, 3)}] | ${m.verdict} |`);
    }
  }
  return lines.join('\n');
}

/**
 * The markdown report of one experiment (`report.md`, and the body of PR comments): summary, SLA verdict, Pareto
 * table, a mermaid chart, the top configs with their evidence, every point, and optionally a comparison.
 */
export function renderMarkdownReport(r: ExperimentResults, options: { comparison?: Comparison | undefined } = {}): string {
  const e = r.experiment;
  const sel = r.selected ? r.points.find((p) => p.id === r.selected!.pointId) : undefined;
  const verdict = slaVerdict(r);
  const out: string[] = [];
  out.push(`# ${e.recipe}${e.variant ? ` (${e.variant})` : ''} — ${e.strategy === 'benchmark' ? 'benchmark' : `${e.strategy} search`}`);
  out.push('');
  out.push(`${e.model} · ${e.backend} · ${e.gpu} · ${e.mode} · target ${e.target} · experiment \`${e.id}\``);
  out.push('');
  out.push('## Summary');
  out.push('');
  out.push(`- ${verdict.text}`);
  if (sel) {
    const cost = costPerMillionTokens(sel, r.gpuHourlyUsd);
    out.push(`- Selected: **${sel.config}** at concurrency ${sel.concurrency} (ISL ${sel.isl}/OSL ${sel.osl}): ${f(sel.tokensPerSecondPerGpu)} tok/s/GPU, ${f(sel.tokensPerSecondPerUser)} tok/s/user, TTFT p50 ${f(sel.ttftP50)} ms, ITL (TPOT) p50 ${f(slaItl(sel), 2)} ms — ${r.selected!.reason}.`);
    if (cost !== null) out.push(`- Cost at the selection: **$${cost.toFixed(3)} per million output tokens** at $${r.gpuHourlyUsd!.toFixed(2)}/GPU-hour × ${sel.gpus} GPU(s).`);
  } else {
    out.push('- Selected: none (no point completed).');
  }
  const peak = r.points.reduce<MeasuredPoint | undefined>((a, p) => (!a || p.outputTokensPerSecond > a.outputTokensPerSecond ? p : a), undefined);
  if (peak) out.push(`- Peak output: ${f(peak.outputTokensPerSecond, 0)} tok/s at concurrency ${peak.concurrency} (ISL ${peak.isl}/OSL ${peak.osl}).`);
  out.push(`- Points: ${r.points.length} ${r.points[0]?.source === 'estimated' ? 'estimated' : 'measured'}; Pareto front: ${r.pareto.length}.`);
  out.push('');
  out.push('## Pareto front');
  out.push('');
  out.push('Non-dominated points: no other point has both more tokens/s/GPU and more tokens/s/user.');
  out.push('');
  out.push(tableHead(r));
  for (const id of r.pareto) {
    const p = r.points.find((x) => x.id === id);
    if (p) out.push(pointRow(p, r, r.selected?.pointId === id ? '★ ' : ''));
  }
  out.push('');
  const chart = mermaidPareto(r);
  if (chart) out.push(chart, '');
  if (r.top.length > 0) {
    out.push('## Top configurations meeting the SLA');
    out.push('');
    for (const [i, t] of r.top.entries()) out.push(`${i + 1}. **${t.config}** — ${t.evidence}`);
    out.push('');
  }
  if (r.sweeps) {
    out.push('## Sweeps');
    out.push('');
    out.push('| sweep | TP | x | latency ms | tok/s/GPU |');
    out.push('|---|---:|---:|---:|---:|');
    for (const s of r.sweeps.prefill) out.push(`| prefill (x = ISL) | ${s.tp} | ${s.x} | ${f(s.latencyMs)} | ${f(s.tokensPerSecondPerGpu)} |`);
    for (const s of r.sweeps.decode) out.push(`| decode (x = concurrency) | ${s.tp} | ${s.x} | ${f(s.latencyMs, 2)} | ${f(s.tokensPerSecondPerGpu)} |`);
    for (const s of r.sweeps.load ?? []) out.push(`| load (x = concurrency) | ${s.tp} | ${s.x} | ${f(s.latencyMs, 2)} | ${f(s.tokensPerSecondPerGpu)} |`);
    out.push('');
    out.push('Latency is TTFT for the prefill sweep and ITL (p50 TPOT) for decode and load; prefill tok/s/GPU = ISL ÷ TTFT ÷ TP.');
    const stops = [...r.sweeps.prefill, ...r.sweeps.decode].filter((s) => s.stop);
    if (stops.length > 0) {
      out.push('');
      out.push('Early stops:');
      for (const s of stops) out.push(`- TP ${s.tp}: ${s.stop}`);
    }
    out.push('');
  }
  if (r.others && r.others.length > 0) {
    out.push('## Why the others lost');
    out.push('');
    for (const o of r.others.slice(0, 20)) out.push(`- **${o.config}** — ${o.reason}`);
    if (r.others.length > 20) out.push(`- … and ${r.others.length - 20} more (results.json lists all)`);
    out.push('');
  }
  out.push('## All points');
  out.push('');
  out.push(tableHead(r));
  for (const p of [...r.points].sort((a, b) => a.config.localeCompare(b.config) || a.isl - b.isl || a.osl - b.osl || a.concurrency - b.concurrency)) out.push(pointRow(p, r));
  out.push('');
  if (options.comparison) {
    out.push('## Comparison');
    out.push('');
    out.push(`Base \`${options.comparison.base}\` → candidate \`${options.comparison.candidate}\`.`);
    out.push('');
    out.push(comparisonMarkdown(options.comparison));
    out.push('');
  }
  out.push('Latencies are p50 over measured requests; tok/s/user = 1000 / TPOT p50; tok/s/GPU = output tokens/s ÷ GPUs.');
  out.push('');
  return out.join('\n');
}
