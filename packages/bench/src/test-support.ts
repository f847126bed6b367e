// Shared by bench's own tests (not exported): reference servers that are closed after each test.
import { afterEach } from 'vitest';
import { startReferenceServer, type ReferenceServer, type ReferenceServerOptions } from './testing/index.ts';

/** Registers the file's reference servers for cleanup and returns a starter; each is closed after its test. */
export function referenceServers(): (o: ReferenceServerOptions) => Promise<ReferenceServer> {
  const servers: ReferenceServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (o) => {
    const s = await startReferenceServer(o);
    servers.push(s);
    return s;
  };
}
