import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';
import type { KubeObject } from './client.ts';

// A local HTTP server speaking the Kubernetes REST API for the calls llm-recipes makes (apply, get, list, pod logs,
// delete), with objects in memory and a scripted status progression. It stands in for a real API server in tests;
// a kind cluster running the simulator image is the real-cluster check (docs/profiling.md).

export interface FakeApiOptions {
  /** Bearer token the server requires (401 otherwise). */
  token?: string | undefined;
  /** GETs of a DGD before it reports Ready (default 2). */
  dgdReadyAfterGets?: number | undefined;
  /** Report every DGD as failed instead of ready. */
  dgdFails?: string | undefined;
  /** Runs a Job's work and returns its log; the Job completes when it resolves (fails when it throws). */
  jobRunner?: ((job: KubeObject) => Promise<string>) | undefined;
  /** Namespaces that exist (anything else is 404 NotFound, as on a real server); default: every namespace exists. */
  namespaces?: string[] | undefined;
  /** False: the Dynamo CRDs are not installed, so nvidia.com resources are 404 (default true). */
  dynamoCrds?: boolean | undefined;
}

export interface RecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: string;
}

export interface FakeApiServer {
  url: string;
  calls: RecordedCall[];
  /** Objects currently stored, keyed by their resource path. */
  objects: Map<string, KubeObject>;
  close(): Promise<void>;
}

const status = (code: number, reason: string, message: string): Record<string, unknown> => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });

/** Splits /apis/g/v/namespaces/ns/plural/name[/sub] (or /api/v1/…) into its parts. */
function parsePath(path: string): { apiVersion: string; namespace: string | null; plural: string; name: string | null; sub: string | null } | null {
  const m = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(path);
  if (!m) return null;
  return { apiVersion: m[1] ?? m[2]!, namespace: m[3] ? decodeURIComponent(m[3]) : null, plural: m[4]!, name: m[5] ? decodeURIComponent(m[5]) : null, sub: m[6] ?? null };
}

export async function startFakeApiServer(options: FakeApiOptions = {}): Promise<FakeApiServer> {
  const objects = new Map<string, KubeObject>();
  const calls: RecordedCall[] = [];
  const gets = new Map<string, number>();
  const logs = new Map<string, string>();
  let rv = 1;
  const readyAfter = options.dgdReadyAfterGets ?? 2;

  const send = (res: ServerResponse, code: number, body: unknown): void => {
    res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  const startJob = (key: string, job: KubeObject): void => {
    const ns = job.metadata!.namespace!;
    const podName = `${job.metadata!.name}-${(rv++).toString(36).padStart(5, 'x')}`;
    const podKey = `/api/v1/namespaces/${ns}/pods/${podName}`;
    objects.set(podKey, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: podName, namespace: ns, labels: { 'job-name': job.metadata!.name! }, creationTimestamp: new Date().toISOString() },
      status: { phase: 'Running' },
    });
    job.status = { active: 1, startTime: new Date().toISOString() };
    const finish = (ok: boolean, log: string): void => {
      logs.set(podKey, log);
      const pod = objects.get(podKey);
      if (pod) pod.status = { phase: ok ? 'Succeeded' : 'Failed' };
      const current = objects.get(key);
      if (!current) return;
      current.status = ok
        ? { succeeded: 1, completionTime: new Date().toISOString(), conditions: [{ type: 'Complete', status: 'True' }] }
        : { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] };
    };
    const runner = options.jobRunner ?? (async () => '');
    runner(job).then(
      (log) => finish(true, log),
      (err: unknown) => finish(false, `error: ${(err as Error).message}\n`),
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    let body = '';
    for await (const chunk of req) body += chunk;
    calls.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), contentType: req.headers['content-type'], body });
    if (options.token && req.headers['authorization'] !== `Bearer ${options.token}`) return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const p = parsePath(url.pathname);
    if (!p) return send(res, 404, status(404, 'NotFound', `no route ${url.pathname}`));
    if (options.dynamoCrds === false && p.apiVersion.startsWith('nvidia.com/')) return send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    if (p.namespace && options.namespaces && !options.namespaces.includes(p.namespace)) return send(res, 404, status(404, 'NotFound', `namespaces "${p.namespace}" not found`));
    const base = url.pathname.replace(/\/log$/, '');

    if (req.method === 'GET' && p.sub === 'log') {
      const log = logs.get(base);
      return log === undefined ? send(res, 400, status(400, 'BadRequest', 'container is waiting to start')) : send(res, 200, log);
    }
    if (req.method === 'GET' && p.name === null) {
      const sel = url.searchParams.get('labelSelector');
      const [lk, lv] = sel ? sel.split('=') : [];
      const prefix = `${url.pathname}/`;
      const items = [...objects.entries()]
        .filter(([k, o]) => k.startsWith(prefix) && (!lk || o.metadata?.labels?.[lk] === lv))
        .map(([, o]) => o);
      return send(res, 200, { kind: 'List', apiVersion: p.apiVersion, items });
    }
    if (req.method === 'GET') {
      const obj = objects.get(url.pathname);
      if (!obj) return send(res, 404, status(404, 'NotFound', `${p.plural} "${p.name}" not found`));
      if (obj.kind === 'DynamoGraphDeployment') {
        const n = (gets.get(url.pathname) ?? 0) + 1;
        gets.set(url.pathname, n);
        // the operator's part: status (state + Ready condition; the CRD has no status.message) progresses after apply
        const gen = obj.metadata?.['generation'];
        const now = new Date().toISOString();
        const cond = (st: string, reason: string, message: string) => [{ type: 'Ready', status: st, reason, message, lastTransitionTime: now }];
        if (options.dgdFails) obj.status = { state: 'failed', observedGeneration: gen, conditions: cond('False', 'ServicesFailed', options.dgdFails) };
        else if (n >= readyAfter) obj.status = { state: 'successful', observedGeneration: gen, conditions: cond('True', 'AllServicesReady', 'all services ready') };
        else obj.status = { state: 'pending', observedGeneration: gen, conditions: cond('False', 'ServicesNotReady', `waiting for services (${n}/${readyAfter})`) };
      }
      return send(res, 200, obj);
    }
    if (req.method === 'PATCH') {
      if (req.headers['content-type'] !== 'application/apply-patch+yaml') return send(res, 415, status(415, 'UnsupportedMediaType', 'only server-side apply is served'));
      if (!url.searchParams.get('fieldManager')) return send(res, 422, status(422, 'Invalid', 'fieldManager is required for apply patch'));
      const obj = parse(body) as KubeObject;
      if (obj.metadata?.name !== p.name) return send(res, 400, status(400, 'BadRequest', 'the name of the object does not match the name on the URL'));
      const prior = objects.get(url.pathname);
      const manager = url.searchParams.get('fieldManager')!;
      const owners = ((prior?.metadata?.['managedFields'] ?? []) as { manager: string }[]).map((m) => m.manager);
      // another manager owns the fields: a conflict unless the apply forces ownership (real servers list the fields)
      if (prior && url.searchParams.get('force') !== 'true' && owners.some((m) => m !== manager)) {
        return send(res, 409, status(409, 'Conflict', `Apply failed with 1 conflict: conflict with "${owners.find((m) => m !== manager)}": .spec`));
      }
      // Job templates are immutable once created
      if (prior && obj.kind === 'Job' && JSON.stringify((obj['spec'] as { template?: unknown } | undefined)?.template) !== JSON.stringify((prior['spec'] as { template?: unknown } | undefined)?.template)) {
        return send(res, 422, status(422, 'Invalid', `Job.batch "${p.name}" is invalid: spec.template: Invalid value: field is immutable`));
      }
      const specChanged = !prior || JSON.stringify(prior['spec']) !== JSON.stringify(obj['spec']);
      const generation = (Number(prior?.metadata?.['generation'] ?? 0) || 0) + (specChanged ? 1 : 0);
      const stored: KubeObject = {
        ...obj,
        metadata: {
          ...obj.metadata,
          namespace: p.namespace ?? undefined,
          uid: prior?.metadata?.['uid'] ?? `uid-${rv}`,
          resourceVersion: String(rv++),
          generation,
          creationTimestamp: prior?.metadata?.['creationTimestamp'] ?? new Date().toISOString(),
          managedFields: [{ manager, operation: 'Apply', apiVersion: obj.apiVersion, time: new Date().toISOString() }],
        },
        ...(prior?.status ? { status: prior.status } : {}),
      };
      objects.set(url.pathname, stored);
      if (stored.kind === 'Job' && !prior) startJob(url.pathname, stored);
      return send(res, prior ? 200 : 201, stored);
    }
    if (req.method === 'DELETE') {
      const obj = objects.get(url.pathname);
      if (!obj) return send(res, 404, status(404, 'NotFound', `${p.plural} "${p.name}" not found`));
      let policy = url.searchParams.get('propagationPolicy');
      try {
        policy = (JSON.parse(body || '{}') as { propagationPolicy?: string }).propagationPolicy ?? policy;
      } catch {
        return send(res, 400, status(400, 'BadRequest', 'DeleteOptions body is not JSON'));
      }
      // dependents (a Job's pods) go first under Foreground and Background; Orphan leaves them
      if (obj.kind === 'Job' && policy !== 'Orphan') for (const [k, o] of objects) if (o.kind === 'Pod' && o.metadata?.labels?.['job-name'] === obj.metadata?.name) objects.delete(k);
      objects.delete(url.pathname);
      if (policy === 'Foreground') {
        // the object as the server holds it while its dependents are removed (here: already gone)
        return send(res, 200, { ...obj, metadata: { ...obj.metadata, deletionTimestamp: new Date().toISOString(), finalizers: ['foregroundDeletion'] } });
      }
      return send(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name: p.name, kind: p.plural } });
    }
    return send(res, 405, status(405, 'MethodNotAllowed', `${req.method} not served`));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, status(500, 'InternalError', (err as Error).message)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    objects,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** A kubeconfig (YAML text) pointing at a server with a bearer token. */
export function kubeconfigFor(server: string, token: string, namespace = 'default', context = 'test'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${context}`,
    'clusters:',
    `  - name: ${context}`,
    `    cluster: { server: "${server}" }`,
    'users:',
    `  - name: ${context}`,
    `    user: { token: "${token}" }`,
    'contexts:',
    `  - name: ${context}`,
    `    context: { cluster: ${context}, user: ${context}, namespace: ${namespace} }`,
    '',
  ].join('\n');
}
