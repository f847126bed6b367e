// `npm run calibrate`: fits the efficiency factors on the train half of data/perf-published.csv and writes
// data/calibration.json (atomically). Deterministic: same inputs, same file (calibration.test.ts holds it to that).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import writeFileAtomic from 'write-file-atomic';
import { calibrationFile, type Priors } from '../src/index.ts';

const data = (f: string): string => fileURLToPath(new URL(`../data/${f}`, import.meta.url));
const priors = JSON.parse(readFileSync(data('priors.json'), 'utf8')) as Priors;
const text = calibrationFile(priors, readFileSync(data('perf-published.csv'), 'utf8'));
writeFileAtomic.sync(data('calibration.json'), text);
const { fit } = JSON.parse(text) as { fit: { trainRows: number; rule: string; trainMape: number; testMape: number; parameters: { name: string; prior: number; fitted: number }[] } };
process.stdout.write(`calibrated on ${fit.trainRows} train rows (${fit.rule})\n`);
for (const p of fit.parameters) process.stdout.write(`  ${p.name.padEnd(18)} prior ${p.prior.toPrecision(3).padStart(7)}  fitted ${p.fitted.toPrecision(3).padStart(7)}\n`);
process.stdout.write(`train MAPE ${fit.trainMape.toFixed(1)} %, held-back test MAPE ${fit.testMape.toFixed(1)} %\n`);
