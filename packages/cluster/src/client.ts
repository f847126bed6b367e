import { Agent, request, type Dispatcher } from 'undici';
import { UserError } from '@llm-recipes/errors';
import type { ClusterAccess } from './kubeconfig.ts';

/** A Kubernetes object as plain data. */
export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  status?: Record<string, unknown>;
};

/** The API server answered with an error Status. */
export class KubeApiError extends UserError {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string, hint?: string) {
    super('KUBE_API', message, { hint, exitCode: 1 });
    this.status = status;
    this.reason = reason;
  }
}

// Plural resource names of the kinds llm-recipes renders; anything else falls back to the lower-case kind + "s".
const PLURALS: Record<string, string> = {
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  Service: 'services',
  Pod: 'pods',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  Deployment: 'deployments',
  Job: 'jobs',
  Namespace: 'namespaces',
  DynamoGraphDeployment: 'dynamographdeployments',
  DynamoGraphDeploymentRequest: 'dynamographdeploymentrequests',
  PodMonitor: 'podmonitors',
  ServiceMonitor: 'servicemonitors',
};
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'StorageClass']);

/** Collection URL of a kind in a namespace: /api/v1/namespaces/ns/pods, /apis/batch/v1/namespaces/ns/jobs … */
export function resourcePath(apiVersion: string, kind: string, namespace: string | undefined, name?: string): string {
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const plural = PLURALS[kind] ?? `${kind.toLowerCase()}s`;
  const ns = CLUSTER_SCOPED.has(kind) || !namespace ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${prefix}${ns}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export interface KubeClientOptions {
  /** Field manager recorded by server-side apply. */
  fieldManager?: string | undefined;
  /** Per-request timeout, ms. */
  timeoutMs?: number | undefined;
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number | undefined;
  /** Called with every observed object (progress display). */
  onPoll?: ((obj: KubeObject) => void) | undefined;
}

/**
 * A small client for the calls llm-recipes makes: server-side apply, get, poll until a condition, list, pod logs
 * and delete with propagation. Plain HTTPS with the kubeconfig's token or client certificate.
 */
export class KubeClient {
  readonly access: ClusterAccess;
  readonly fieldManager: string;
  private readonly dispatcher: Dispatcher;
  private readonly timeoutMs: number;

  constructor(access: ClusterAccess, options: KubeClientOptions = {}) {
    this.access = access;
    this.fieldManager = options.fieldManager ?? 'llm-recipes';
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.dispatcher = new Agent({
      connect: { ca: access.ca, cert: access.cert, key: access.key, rejectUnauthorized: !access.insecureSkipTlsVerify },
    });
  }

  private async call(method: 'GET' | 'PATCH' | 'DELETE', path: string, body?: string, contentType?: string): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.access.token) headers['authorization'] = `Bearer ${this.access.token}`;
    if (contentType) headers['content-type'] = contentType;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(`${this.access.server}${path}`, { method, headers, body, dispatcher: this.dispatcher, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    } catch (err) {
      throw new UserError('KUBE_UNREACHABLE', `cannot reach the API server ${this.access.server} (context ${this.access.context}): ${(err as Error).message}`, {
        hint: 'check the kubeconfig context and that the cluster is running (kubectl cluster-info)',
        exitCode: 1,
      });
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) {
      let reason = 'Unknown';
      let message = text.slice(0, 500);
      try {
        const st = JSON.parse(text) as { reason?: string; message?: string };
        reason = st.reason ?? reason;
        message = st.message ?? message;
      } catch {
        // not a Status object: keep the raw text
      }
      const hint =
        res.statusCode === 401 || res.statusCode === 403
          ? 'the kubeconfig user lacks permission: it needs get/patch/delete on the rendered kinds, Jobs and pods/log'
          : res.statusCode === 404 && path.includes('dynamographdeployments')
            ? 'is the Dynamo operator (its CRDs) installed on this cluster?'
            : undefined;
      throw new KubeApiError(res.statusCode, reason, `${method} ${path}: ${res.statusCode} ${reason}: ${message}`, hint);
    }
    return { status: res.statusCode, text };
  }

  private nsOf(obj: KubeObject): string | undefined {
    return obj.metadata?.namespace ?? (CLUSTER_SCOPED.has(obj.kind) ? undefined : this.access.namespace);
  }

  /** Server-side apply (PATCH application/apply-patch+yaml, force), returning the object the server holds. */
  async apply(obj: KubeObject): Promise<KubeObject> {
    const name = obj.metadata?.name;
    if (!name) throw new UserError('KUBE_NO_NAME', `cannot apply a ${obj.kind} without metadata.name`, { hint: 'render the manifests with recipes render' });
    const path = `${resourcePath(obj.apiVersion, obj.kind, this.nsOf(obj), name)}?fieldManager=${encodeURIComponent(this.fieldManager)}&force=true`;
    // JSON is YAML, so the object goes as-is
    const res = await this.call('PATCH', path, JSON.stringify(obj), 'application/apply-patch+yaml');
    return JSON.parse(res.text) as KubeObject;
  }

  /** The object, or null when it does not exist. */
  async get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | null> {
    try {
      const res = await this.call('GET', resourcePath(apiVersion, kind, CLUSTER_SCOPED.has(kind) ? undefined : (namespace ?? this.access.namespace), name));
      return JSON.parse(res.text) as KubeObject;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }

  async list(apiVersion: string, kind: string, namespace: string | undefined, labelSelector?: string): Promise<KubeObject[]> {
    const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    const res = await this.call('GET', `${resourcePath(apiVersion, kind, namespace ?? this.access.namespace)}${q}`);
    return ((JSON.parse(res.text) as { items?: KubeObject[] }).items ?? []);
  }

  /** Polls the object until `done` returns true (resolves with it) or `failed` returns a reason (throws it). */
  async waitFor(
    ref: { apiVersion: string; kind: string; name: string; namespace?: string | undefined },
    done: (obj: KubeObject) => boolean,
    failed: (obj: KubeObject) => string | null,
    options: WaitOptions,
  ): Promise<KubeObject> {
    const deadline = Date.now() + options.timeoutMs;
    const interval = options.intervalMs ?? 2000;
    let last: KubeObject | null = null;
    for (;;) {
      last = await this.get(ref.apiVersion, ref.kind, ref.name, ref.namespace);
      if (last) {
        options.onPoll?.(last);
        if (done(last)) return last;
        const why = failed(last);
        if (why) throw new KubeApiError(200, 'Failed', `${ref.kind} ${ref.name} failed: ${why}`);
      }
      if (Date.now() >= deadline) {
        throw new UserError('KUBE_TIMEOUT', `${ref.kind} ${ref.name} not ready after ${Math.round(options.timeoutMs / 1000)} s${last ? `: status ${JSON.stringify(last.status ?? {})}` : ' (not found)'}`, {
          hint: `inspect it with kubectl describe ${ref.kind.toLowerCase()} ${ref.name} -n ${ref.namespace ?? this.access.namespace}`,
          exitCode: 1,
        });
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  }

  /** A pod's log (one container, or the only one). */
  async podLogs(name: string, namespace?: string, container?: string): Promise<string> {
    const q = container ? `?container=${encodeURIComponent(container)}` : '';
    const res = await this.call('GET', `${resourcePath('v1', 'Pod', namespace ?? this.access.namespace, name)}/log${q}`);
    return res.text;
  }

  /** Logs of a Job's pods (the `job-name` label the Job controller sets), oldest pod first. */
  async jobLogs(name: string, namespace?: string, container?: string): Promise<string> {
    const pods = await this.list('v1', 'Pod', namespace, `job-name=${name}`);
    pods.sort((a, b) => String(a.metadata?.['creationTimestamp'] ?? '').localeCompare(String(b.metadata?.['creationTimestamp'] ?? '')));
    const out: string[] = [];
    for (const p of pods) out.push(await this.podLogs(p.metadata!.name!, namespace, container));
    return out.join('');
  }

  /** Deletes with foreground propagation (dependents first); a missing object is not an error. Returns whether it existed. */
  async delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean> {
    try {
      await this.call(
        'DELETE',
        resourcePath(apiVersion, kind, CLUSTER_SCOPED.has(kind) ? undefined : (namespace ?? this.access.namespace), name),
        JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Foreground' }),
        'application/json',
      );
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/** DGD readiness across API versions: v1alpha1 `status.state: successful`, v1beta1 a `Ready` condition. */
export function dgdReady(obj: KubeObject): boolean {
  const st = obj.status ?? {};
  if (st['state'] === 'successful') return true;
  const conds = Array.isArray(st['conditions']) ? (st['conditions'] as { type?: string; status?: string }[]) : [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * DGD failure: `status.state: failed`. The CRD's status has no message field, so the reason comes from the
 * conditions the operator sets (the first False condition's reason and message, Ready first).
 */
export function dgdFailed(obj: KubeObject): string | null {
  const st = obj.status ?? {};
  if (st['state'] !== 'failed') return null;
  const conds = Array.isArray(st['conditions']) ? (st['conditions'] as { type?: string; status?: string; reason?: string; message?: string }[]) : [];
  const bad = [...conds].sort((a, b) => Number(b.type === 'Ready') - Number(a.type === 'Ready')).find((c) => c.status === 'False' && (c.message || c.reason));
  if (!bad) return 'state failed (no condition says why)';
  return bad.message ? `${bad.reason ? `${bad.reason}: ` : ''}${bad.message}` : String(bad.reason);
}

/** Job finished: `Complete` (or succeeded ≥ 1) → true. */
export function jobComplete(obj: KubeObject): boolean {
  const st = obj.status ?? {};
  const conds = Array.isArray(st['conditions']) ? (st['conditions'] as { type?: string; status?: string }[]) : [];
  return conds.some((c) => c.type === 'Complete' && c.status === 'True') || Number(st['succeeded'] ?? 0) >= 1;
}

export function jobFailed(obj: KubeObject): string | null {
  const st = obj.status ?? {};
  const conds = Array.isArray(st['conditions']) ? (st['conditions'] as { type?: string; status?: string; reason?: string; message?: string }[]) : [];
  const f = conds.find((c) => c.type === 'Failed' && c.status === 'True');
  return f ? `${f.reason ?? 'Failed'}: ${f.message ?? ''}`.trim() : null;
}
