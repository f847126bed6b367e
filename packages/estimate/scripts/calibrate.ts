// `npm run calibrate`: fits the bounded efficiency terms on data/perf-published.csv, scores them by leave-one-model-out
// and leave-one-GPU-out refits, derives the uncertainty bands from those held-out residuals and writes
// data/calibration.json (atomically). Deterministic: same inputs, same file (calibration.test.ts holds it to that).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import writeFileAtomic from 'write-file-atomic';
import { calibrationFile, type Priors } from '../src/index.ts';

const data = (f: string): string => fileURLToPath(new URL(`../data/${f}`, import.meta.url));
const priors = JSON.parse(readFileSync(data('priors.json'), 'utf8')) as Priors;
const text = calibrationFile(priors, readFileSync(data('perf-published.csv'), 'utf8'), readFileSync(data('perf-latency.csv'), 'utf8'));
writeFileAtomic.sync(data('calibration.json'), text);
interface Fold { fold: string; rows: number; mapePct: number }
type ByMetric = Partial<Record<'ttft' | 'tpot' | 'throughput', { rows: number; mapePct: number }>>;
interface HeldOut { mapePct: number; byMetric: ByMetric; folds: Fold[] }
const { fit } = JSON.parse(text) as {
  fit: { rows: number; trainMapePct: number; parameters: { name: string; prior: number; fitted: number }[]; heldOut: { lomo: HeldOut; logo: HeldOut; loso: HeldOut } };
};
const metrics = (b: ByMetric): string => (['ttft', 'tpot', 'throughput'] as const).filter((m) => b[m]).map((m) => `${m.toUpperCase()} ${b[m]!.mapePct.toFixed(1)} % (${b[m]!.rows})`).join(', ');
process.stdout.write(`fitted on ${fit.rows} published rows\n`);
for (const p of fit.parameters) process.stdout.write(`  ${p.name.padEnd(20)} prior ${p.prior.toPrecision(3).padStart(7)}  fitted ${p.fitted.toPrecision(3).padStart(7)}\n`);
const folds = (fs: Fold[]): string => fs.map((f) => `${f.fold} ${f.mapePct.toFixed(1)} %`).join(', ');
process.stdout.write(`in-sample MAPE ${fit.trainMapePct.toFixed(1)} %\n`);
for (const [name, h] of [['leave-one-model-out', fit.heldOut.lomo], ['leave-one-GPU-out', fit.heldOut.logo], ['leave-one-source-out', fit.heldOut.loso]] as const) {
  process.stdout.write(`${name} MAPE ${metrics(h.byMetric)}\n  folds: ${folds(h.folds)}\n`);
}
