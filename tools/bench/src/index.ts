export type { BenchRow, BenchSuite } from './types.ts';
export { formatTable } from './table.ts';
