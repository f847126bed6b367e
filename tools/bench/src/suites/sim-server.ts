// Child-process entry for the simulator suite: serves a simulator configured by argv[2] (JSON) and prints its URL.
import { startSimulator, type SimConfigInput } from '@llm-recipes/sim';

const config = JSON.parse(process.argv[2] ?? '{}') as SimConfigInput;
const sim = await startSimulator(config, { port: 0 });
process.stdout.write(`${sim.url}\n`);
const stop = async (): Promise<void> => {
  const s = sim.metrics().schedule;
  process.stdout.write(`${JSON.stringify({ schedule: s })}\n`);
  await sim.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
