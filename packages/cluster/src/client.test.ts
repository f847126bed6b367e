import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dgdReady, jobComplete, jobFailed, dgdFailed, KubeClient, loadKubeconfig, resourcePath } from './index.ts';
import { kubeconfigFor, startFakeApiServer, type FakeApiServer } from './testing.ts';

let server: FakeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function client(s: FakeApiServer, token = 't0k'): KubeClient {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  writeFileSync(join(dir, 'config'), kubeconfigFor(s.url, token, 'llm-lab'));
  return new KubeClient(loadKubeconfig(join(dir, 'config')));
}

const dgd = { apiVersion: 'nvidia.com/v1beta1', kind: 'DynamoGraphDeployment', metadata: { name: 'qwen', namespace: 'llm-lab' }, spec: { services: {} } };

describe('KubeClient against an API server', () => {
  it('maps kinds to REST paths', () => {
    expect(resourcePath('v1', 'ConfigMap', 'ns', 'a')).toBe('/api/v1/namespaces/ns/configmaps/a');
    expect(resourcePath('batch/v1', 'Job', 'ns')).toBe('/apis/batch/v1/namespaces/ns/jobs');
    expect(resourcePath('nvidia.com/v1beta1', 'DynamoGraphDeployment', 'ns', 'x')).toBe('/apis/nvidia.com/v1beta1/namespaces/ns/dynamographdeployments/x');
  });

  it('applies server-side, waits for the DGD Ready condition, and deletes with propagation', async () => {
    server = await startFakeApiServer({ token: 't0k', dgdReadyAfterGets: 3 });
    const k = client(server);
    const live = await k.apply(dgd);
    expect(live.metadata?.['uid']).toBeTruthy();
    const patch = server.calls.find((c) => c.method === 'PATCH')!;
    expect(patch.contentType).toBe('application/apply-patch+yaml');
    expect(patch.query).toMatchObject({ fieldManager: 'llm-recipes', force: 'true' });
    const seen: string[] = [];
    const ready = await k.waitFor({ apiVersion: dgd.apiVersion, kind: dgd.kind, name: 'qwen' }, dgdReady, dgdFailed, { timeoutMs: 5000, intervalMs: 10, onPoll: (o) => seen.push(String(o.status?.['state'])) });
    expect(seen).toEqual(['pending', 'pending', 'successful']);
    expect(dgdReady(ready)).toBe(true);
    expect(await k.delete(dgd.apiVersion, dgd.kind, 'qwen')).toBe(true);
    expect(JSON.parse(server.calls.at(-1)!.body).propagationPolicy).toBe('Foreground');
    expect(await k.get(dgd.apiVersion, dgd.kind, 'qwen')).toBeNull();
    expect(await k.delete(dgd.apiVersion, dgd.kind, 'qwen')).toBe(false);
    await k.close();
  });

  it('runs a Job to completion and reads its pod logs; a failed DGD and a bad token are errors', async () => {
    server = await startFakeApiServer({ token: 't0k', jobRunner: async (job) => `hello from ${job.metadata!.name}\n` });
    const k = client(server);
    await k.apply({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bench-1' }, spec: {} });
    const done = await k.waitFor({ apiVersion: 'batch/v1', kind: 'Job', name: 'bench-1' }, jobComplete, jobFailed, { timeoutMs: 5000, intervalMs: 10 });
    expect(jobComplete(done)).toBe(true);
    expect(await k.jobLogs('bench-1')).toBe('hello from bench-1\n');
    await expect(client(server, 'wrong').get('v1', 'ConfigMap', 'x')).rejects.toThrow(/401/);
    await k.close();
    await server.close();
    server = await startFakeApiServer({ dgdFails: 'image pull failed' });
    const k2 = client(server);
    await k2.apply(dgd);
    await expect(k2.waitFor({ apiVersion: dgd.apiVersion, kind: dgd.kind, name: 'qwen' }, dgdReady, dgdFailed, { timeoutMs: 2000, intervalMs: 10 })).rejects.toThrow(/image pull failed/);
    await k2.close();
  });

  it('the fake speaks the API for the calls used: apply conflicts without force, immutable Job templates, missing namespaces and CRDs', async () => {
    server = await startFakeApiServer({ namespaces: ['llm-lab'] });
    const apply = (path: string, obj: unknown, manager: string, force: boolean) =>
      fetch(`${server!.url}${path}?fieldManager=${manager}${force ? '&force=true' : ''}`, { method: 'PATCH', headers: { 'content-type': 'application/apply-patch+yaml' }, body: JSON.stringify(obj) });
    const path = resourcePath(dgd.apiVersion, dgd.kind, 'llm-lab', 'qwen');
    expect((await apply(path, dgd, 'llm-recipes', false)).status).toBe(201);
    expect((await apply(path, dgd, 'llm-recipes', false)).status).toBe(200);
    const conflict = await apply(path, dgd, 'kubectl', false);
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { reason: string }).reason).toBe('Conflict');
    expect((await apply(path, dgd, 'kubectl', true)).status).toBe(200);
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'llm-lab' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'x:1' }] } } } };
    const jpath = resourcePath('batch/v1', 'Job', 'llm-lab', 'j');
    expect((await apply(jpath, job, 'm', true)).status).toBe(201);
    const changed = { ...job, spec: { template: { spec: { containers: [{ name: 'a', image: 'x:2' }] } } } };
    expect((await apply(jpath, changed, 'm', true)).status).toBe(422);
    expect((await apply(resourcePath('v1', 'ConfigMap', 'nope', 'c'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, 'm', true)).status).toBe(404);
    expect((await fetch(`${server.url}${path}`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: '{}' })).status).toBe(415);
    await server.close();
    server = await startFakeApiServer({ dynamoCrds: false });
    const k = client(server);
    await expect(k.apply({ ...dgd, metadata: { name: 'qwen', namespace: 'llm-lab' } })).rejects.toThrow(/404 NotFound: the server could not find the requested resource/);
    await k.close();
  });
});
