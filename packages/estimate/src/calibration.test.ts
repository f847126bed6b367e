import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { calibrationFile, type Priors } from './index.ts';

const data = (f: string): string => readFileSync(new URL(`../data/${f}`, import.meta.url), 'utf8');

describe('committed calibration', () => {
  // the fit and its 18 held-out refits take about 40 s on a 2-core machine
  it('is exactly what `npm run calibrate` fits from the published data and the priors', { timeout: 180_000 }, () => {
    const fitted = calibrationFile(JSON.parse(data('priors.json')) as Priors, data('perf-published.csv'), data('perf-latency.csv'));
    expect(fitted).toBe(data('calibration.json'));
  });
});
