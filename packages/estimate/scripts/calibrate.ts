// `npm run calibrate`: fits the efficiency factors on the train half of data/perf-published.csv and writes
// data/calibration.json (atomically). Deterministic: same inputs, same file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import writeFileAtomic from 'write-file-atomic';
import { accuracyTable, fitCalibration, parseCsv, publishedCases, splitOf, type Priors } from '../src/index.ts';

const data = (f: string): string => fileURLToPath(new URL(`../data/${f}`, import.meta.url));
const priors = JSON.parse(readFileSync(data('priors.json'), 'utf8')) as Priors;
const { cases, skipped } = publishedCases(parseCsv(readFileSync(data('perf-published.csv'), 'utf8')));
const { calibration, report } = fitCalibration(priors, cases);
const test = accuracyTable(cases.filter((c) => splitOf(c.key) === 'test'), calibration);
const out = {
  ...calibration,
  fit: { ...report, testMape: test.overall.mapePct, skippedRows: skipped.length, data: 'data/perf-published.csv', priors: 'data/priors.json' },
};
writeFileAtomic.sync(data('calibration.json'), `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(`calibrated on ${report.trainRows} train rows (${report.rule})\n`);
for (const p of report.parameters) process.stdout.write(`  ${p.name.padEnd(18)} prior ${p.prior.toPrecision(3).padStart(7)}  fitted ${p.fitted.toPrecision(3).padStart(7)}\n`);
process.stdout.write(`train MAPE ${report.trainMape.toFixed(1)} %, held-back test MAPE ${test.overall.mapePct.toFixed(1)} % over ${test.overall.rows} rows\n`);
