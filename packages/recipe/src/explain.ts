import { isEnvEntry, type Layer, type ResolvedRecipe } from './resolve.ts';

/** One effective value and where it came from. */
export interface ExplainRow {
  path: string;
  value: unknown;
  layer: Layer;
  file?: string | undefined;
  line?: number | undefined;
}

function leaves(value: unknown, path: string[], out: [string, unknown][]): void {
  // an environment variable is one value, whatever its form (a layer replaces it whole)
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0 && !isEnvEntry(path)) {
    for (const [k, v] of Object.entries(value)) leaves(v, [...path, k], out);
  } else {
    out.push([path.join('.'), value]);
  }
}

/**
 * Every effective value of a resolved recipe with its layer and file:line, in recipe order. With `field`, only that
 * path and what is below it (`topology.decode` lists the decode pool).
 */
export function explainRecipe(resolved: ResolvedRecipe, field?: string): ExplainRow[] {
  const all: [string, unknown][] = [];
  leaves(resolved.recipe, [], all);
  const rows: ExplainRow[] = [];
  for (const [path, value] of all) {
    if (field !== undefined && field !== '' && path !== field && !path.startsWith(`${field}.`)) continue;
    const p = resolved.provenance[path] ?? { layer: 'default' as const };
    rows.push({ path, value, layer: p.layer, file: p.file, line: p.line });
  }
  return rows;
}

/** Aligned text table of explain rows: path, value, layer, origin. */
export function formatExplain(rows: readonly ExplainRow[]): string {
  const cells = rows.map((r) => [
    r.path,
    typeof r.value === 'string' ? r.value : JSON.stringify(r.value),
    r.layer,
    r.file === undefined ? '' : r.line === undefined ? r.file : `${r.file}:${r.line}`,
  ]);
  const header = ['FIELD', 'VALUE', 'LAYER', 'FROM'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}
