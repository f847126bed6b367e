import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { calibrationFile, type Priors } from './index.ts';

const data = (f: string): string => readFileSync(new URL(`../data/${f}`, import.meta.url), 'utf8');

describe('committed calibration', () => {
  it('is exactly what `npm run calibrate` fits from the published data and the priors', () => {
    const fitted = calibrationFile(JSON.parse(data('priors.json')) as Priors, data('perf-published.csv'), data('perf-latency.csv'));
    expect(fitted).toBe(data('calibration.json'));
  });
});
