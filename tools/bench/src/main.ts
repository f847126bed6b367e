import { formatTable } from './table.ts';
import { suites } from './suites/index.ts';
import type { BenchRow } from './types.ts';

// `npm run bench [suite…]`: runs every suite (or the named ones) one after another and prints one table.
const wanted = new Set(process.argv.slice(2));
const rows: BenchRow[] = [];
for (const suite of suites) {
  if (wanted.size > 0 && !wanted.has(suite.name)) continue;
  process.stderr.write(`bench: ${suite.name}…\n`);
  rows.push(...(await suite.run()));
}
process.stdout.write(`${formatTable(rows)}\n`);
process.exitCode = rows.some((r) => r.ok === false) ? 1 : 0;
