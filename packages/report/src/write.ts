import { join } from 'node:path';
import { UserError } from '@llm-recipes/errors';
import { readResults, writeAtomic, type ExperimentResults } from '@llm-recipes/profile';
import { compareExperiments, type Comparison } from './compare.ts';
import { renderHtmlReport } from './html.ts';
import { renderMarkdownReport } from './markdown.ts';

export interface WrittenReports {
  markdown: string;
  html: string;
  comparison: Comparison | null;
}

/** Writes `report.md` and `report.html` into the experiment (atomically), comparing against a base experiment if given. */
export function writeReports(dir: string, options: { results?: ExperimentResults | undefined; compareWith?: string | undefined; tolerance?: number | undefined } = {}): WrittenReports {
  const results = options.results ?? readResults(dir);
  if (!results) throw new UserError('NO_RESULTS', `${dir} holds no results.json`, { hint: 'run recipes up (or its collect step) first' });
  let comparison: Comparison | null = null;
  if (options.compareWith) {
    const base = readResults(options.compareWith);
    if (!base) throw new UserError('NO_RESULTS', `--compare ${options.compareWith} holds no results.json`, { hint: 'pass an experiment directory written by recipes up' });
    comparison = compareExperiments({ dir: options.compareWith, results: base }, { dir, results }, { tolerance: options.tolerance });
  }
  const markdown = join(dir, 'report.md');
  const html = join(dir, 'report.html');
  writeAtomic(markdown, renderMarkdownReport(results, { comparison: comparison ?? undefined }));
  writeAtomic(html, renderHtmlReport(results, { comparison: comparison ?? undefined }));
  return { markdown, html, comparison };
}
