import { readFileSync } from 'node:fs';

/** This package's version, recorded in experiment manifests and exports. */
export const BENCH_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
