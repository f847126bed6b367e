#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// V8's code cache for every module the command loads, type-stripped TypeScript included: later runs skip parsing
// and compiling them. It lives in the OS temp directory ($NODE_COMPILE_CACHE moves it, NODE_DISABLE_COMPILE_CACHE=1
// turns it off), never in the repository, and a changed source file simply misses it. Enabled before main.ts is
// imported, so the CLI's own modules are covered.
enableCompileCache();
const { main } = await import('./main.ts');

process.exitCode = await main(process.argv.slice(2));
