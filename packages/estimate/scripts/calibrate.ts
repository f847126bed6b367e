// `npm run calibrate`: fits the bounded efficiency terms on data/perf-published.csv, scores them by leave-one-model-out
// and leave-one-GPU-out refits, derives the uncertainty bands from those held-out residuals and writes
// data/calibration.json (atomically). Deterministic: same inputs, same file (calibration.test.ts holds it to that).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import writeFileAtomic from 'write-file-atomic';
import { calibrationFile, type Priors } from '../src/index.ts';

const data = (f: string): string => fileURLToPath(new URL(`../data/${f}`, import.meta.url));
const priors = JSON.parse(readFileSync(data('priors.json'), 'utf8')) as Priors;
const text = calibrationFile(priors, readFileSync(data('perf-published.csv'), 'utf8'));
writeFileAtomic.sync(data('calibration.json'), text);
interface Fold { fold: string; rows: number; mapePct: number }
const { fit } = JSON.parse(text) as {
  fit: { rows: number; trainMapePct: number; parameters: { name: string; prior: number; fitted: number }[]; heldOut: { lomo: { mapePct: number; folds: Fold[] }; logo: { mapePct: number; folds: Fold[] } } };
};
process.stdout.write(`fitted on ${fit.rows} published rows\n`);
for (const p of fit.parameters) process.stdout.write(`  ${p.name.padEnd(20)} prior ${p.prior.toPrecision(3).padStart(7)}  fitted ${p.fitted.toPrecision(3).padStart(7)}\n`);
const folds = (fs: Fold[]): string => fs.map((f) => `${f.fold} ${f.mapePct.toFixed(1)} %`).join(', ');
process.stdout.write(`in-sample MAPE ${fit.trainMapePct.toFixed(1)} %\n`);
process.stdout.write(`leave-one-model-out MAPE ${fit.heldOut.lomo.mapePct.toFixed(1)} % (${folds(fit.heldOut.lomo.folds)})\n`);
process.stdout.write(`leave-one-GPU-out MAPE ${fit.heldOut.logo.mapePct.toFixed(1)} % (${folds(fit.heldOut.logo.folds)})\n`);
