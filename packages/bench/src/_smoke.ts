import { startReferenceServer } from './testing/index.ts';
import { main } from '../../../tools/cli/src/index.ts';
const srv = await startReferenceServer({ ttftMs: 50, itlMs: 10, tokensPerChunk: 1 });
const io = { stdout: (t: string) => process.stdout.write(t), stderr: (t: string) => process.stderr.write(t), cwd: process.cwd(), isTTY: false, env: {} };
const argv = process.argv.slice(2).map((a) => a.replace('URL', srv.url));
const code = await main(argv, io);
console.log('exit', code);
await srv.close();
