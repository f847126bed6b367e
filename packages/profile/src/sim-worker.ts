// Child-process entry of the local target: serves one simulated deployment until SIGTERM. It takes its whole config
// from a JSON file and reports its URL by writing `<ready file>` atomically, so the parent (which may be killed and
// re-run) finds it without holding a pipe to it.
import { readFileSync } from 'node:fs';
import { startSimulator, type SimConfigInput } from '@llm-recipes/sim';
import { writeAtomic } from './status.ts';

const [configPath, readyPath] = process.argv.slice(2);
if (!configPath || !readyPath) {
  process.stderr.write('usage: sim-worker.ts <config.json> <ready.json>\n');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8')) as SimConfigInput;
const sim = await startSimulator(config, { host: '127.0.0.1', port: 0 });
writeAtomic(readyPath, JSON.stringify({ url: sim.url, pid: process.pid, startedAt: new Date().toISOString() }));
process.stdout.write(`simulator ${sim.url} pid ${process.pid}\n`);
const stop = (): void => {
  sim.close().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
