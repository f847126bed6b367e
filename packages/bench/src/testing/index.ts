// Test support for other packages: a loopback OpenAI-compatible server with a known token schedule.
export { startReferenceServer, OUTPUT_WORDS } from './reference-server.ts';
export type { FaultKind, FaultRule, ReferenceServer, ReferenceServerOptions, ServedRequest } from './reference-server.ts';
export { spawnReferenceServer } from './spawn.ts';
export type { SpawnedReferenceServer } from './spawn.ts';
