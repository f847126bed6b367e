// Child-process entry of spawnReferenceServer: runs the reference server on its own event loop and answers
// log requests over IPC. Options arrive as JSON in argv[2]; the clock base as a decimal string.
import { startReferenceServer, type ReferenceServerOptions, type ServedRequest } from './reference-server.ts';

const raw = JSON.parse(process.argv[2] ?? '{}') as ReferenceServerOptions & { clockBase?: string };
const { clockBase, ...options } = raw;
const server = await startReferenceServer({ ...options, clockBaseNs: clockBase === undefined ? undefined : BigInt(clockBase) });

type Msg = { type: 'log'; compact?: boolean } | { type: 'clear' } | { type: 'close' };
process.on('message', (m: Msg) => {
  if (m.type === 'log') {
    const log = server.log().map((r: ServedRequest) =>
      m.compact ? { ...r, body: {}, chunkNs: [], chunkTokens: [] } : r,
    );
    process.send?.({ type: 'log', log });
  } else if (m.type === 'clear') {
    server.clearLog();
    process.send?.({ type: 'cleared' });
  } else if (m.type === 'close') {
    void server.close().then(() => process.exit(0));
  }
});
process.on('disconnect', () => void server.close().then(() => process.exit(0)));
process.send?.({ type: 'ready', url: server.url, port: server.port });
