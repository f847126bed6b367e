// The committed calibration (written by `npm run calibrate`) and priors, loaded as JSON modules: no file I/O here.
import calibrationJson from '../data/calibration.json' with { type: 'json' };
import priorsJson from '../data/priors.json' with { type: 'json' };
import type { Priors } from './fit.ts';
import type { Calibration } from './types.ts';

/** The fitted calibration shipped with the package. */
export const defaultCalibration: Calibration = calibrationJson as unknown as Calibration;
/** The priors the fit starts from. */
export const defaultPriors: Priors = priorsJson as unknown as Priors;
/** Location of the published measurement set (read by the calibrate script and the accuracy benchmark). */
export const publishedCsvUrl: URL = new URL('../data/perf-published.csv', import.meta.url);
/** Location of the published latency set (TTFT/TPOT means at a fixed concurrency, each with its protocol). */
export const latencyCsvUrl: URL = new URL('../data/perf-latency.csv', import.meta.url);
