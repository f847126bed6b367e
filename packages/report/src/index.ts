export { bootstrapRatio, compareExperiments } from './compare.ts';
export type { Comparison, MetricComparison, PointComparison, Verdict } from './compare.ts';
export { comparisonMarkdown, costPerMillionTokens, mermaidPareto, renderMarkdownReport, slaVerdict } from './markdown.ts';
export { renderHtmlReport } from './html.ts';
export { writeReports } from './write.ts';
export type { WrittenReports } from './write.ts';
