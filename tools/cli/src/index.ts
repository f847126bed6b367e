export { main, buildProgram } from './main.ts';
export type { CliIo } from './io.ts';
