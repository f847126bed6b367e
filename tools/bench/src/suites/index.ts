import type { BenchSuite } from '../types.ts';

// Each suite lives in its own file beside this one and is listed here.
export const suites: BenchSuite[] = [];
