import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { UserError } from '@llm-recipes/errors';

/** What a client needs to reach one API server as one user. */
export interface ClusterAccess {
  /** API server base URL, e.g. https://127.0.0.1:6443. */
  server: string;
  /** Context the access came from. */
  context: string;
  /** Default namespace of the context (`default` when unset). */
  namespace: string;
  token?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  insecureSkipTlsVerify: boolean;
}

interface NamedEntry<T> {
  name: string;
  [k: string]: unknown;
  value?: T;
}

const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** The kubeconfig path kubectl would use: $KUBECONFIG (first entry), else ~/.kube/config. */
export function defaultKubeconfigPath(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env['KUBECONFIG']?.split(':').find((p) => p !== '');
  return fromEnv ?? join(homedir(), '.kube', 'config');
}

/**
 * Reads a kubeconfig and returns the access of one context (the current one by default). Supports bearer tokens
 * (inline or token-file), client certificates and CAs (inline data or files relative to the kubeconfig).
 * Exec and auth-provider plugins are reported as unsupported rather than silently ignored.
 */
export function loadKubeconfig(path: string, contextName?: string): ClusterAccess {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError('KUBECONFIG_UNREADABLE', `cannot read kubeconfig ${path}: ${(err as Error).message}`, { hint: 'pass --kubeconfig FILE or set KUBECONFIG' });
  }
  return parseKubeconfig(text, path, contextName);
}

export function parseKubeconfig(text: string, file: string, contextName?: string): ClusterAccess {
  let doc: Record<string, unknown>;
  try {
    doc = (parse(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new UserError('KUBECONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, { hint: 'check the file with kubectl config view' });
  }
  const list = <T>(key: string): NamedEntry<T>[] => (Array.isArray(doc[key]) ? (doc[key] as NamedEntry<T>[]) : []);
  const name = contextName ?? (doc['current-context'] as string | undefined);
  const contexts = list<Record<string, string>>('contexts');
  if (!name) throw new UserError('KUBECONFIG_NO_CONTEXT', `${file}: no current-context and no --context given`, { hint: `pass --context (one of: ${contexts.map((c) => c.name).join(', ') || 'none defined'})` });
  const ctx = contexts.find((c) => c.name === name)?.['context'] as Record<string, string> | undefined;
  if (!ctx) throw new UserError('KUBECONFIG_NO_CONTEXT', `${file}: context "${name}" not found`, { hint: `contexts: ${contexts.map((c) => c.name).join(', ') || 'none'}` });
  const cluster = list('clusters').find((c) => c.name === ctx['cluster'])?.['cluster'] as Record<string, unknown> | undefined;
  if (!cluster || typeof cluster['server'] !== 'string') {
    throw new UserError('KUBECONFIG_NO_CLUSTER', `${file}: context "${name}" names cluster "${ctx['cluster']}", which has no server`, { hint: 'fix clusters[].cluster.server' });
  }
  const user = (list('users').find((u) => u.name === ctx['user'])?.['user'] ?? {}) as Record<string, unknown>;
  if (user['exec'] || user['auth-provider']) {
    throw new UserError('KUBECONFIG_UNSUPPORTED_AUTH', `${file}: user "${ctx['user']}" authenticates with an exec/auth-provider plugin`, {
      hint: 'use a kubeconfig with a token or client certificate (e.g. a ServiceAccount token) for llm-recipes',
    });
  }
  const base = dirname(file);
  const fileOrData = (data: unknown, f: unknown): string | undefined => {
    if (typeof data === 'string') return b64(data);
    if (typeof f === 'string') return readFileSync(isAbsolute(f) ? f : join(base, f), 'utf8');
    return undefined;
  };
  const tokenFile = user['tokenFile'] ?? user['token-file'];
  return {
    server: (cluster['server'] as string).replace(/\/+$/, ''),
    context: name,
    namespace: ctx['namespace'] ?? 'default',
    token: typeof user['token'] === 'string' ? (user['token'] as string) : typeof tokenFile === 'string' ? readFileSync(isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile), 'utf8').trim() : undefined,
    ca: fileOrData(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: fileOrData(user['client-certificate-data'], user['client-certificate']),
    key: fileOrData(user['client-key-data'], user['client-key']),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
  };
}
