/**
 * Validators for Kubernetes built-in kinds and the GitOps/monitoring kinds the renderer emits, taken from the
 * kubernetes-models packages (ajv code generated from the Kubernetes OpenAPI spec and the Flux, Argo CD and
 * prometheus-operator CRDs). They check types, required fields, enums and formats; like the upstream OpenAPI
 * spec they do not reject unknown fields (kubeconform `-strict` does, in CI).
 */

/** An ajv-style error as thrown by kubernetes-models' `validate()`. */
export interface AjvLikeError {
  instancePath: string;
  keyword: string;
  message?: string | undefined;
  params: Record<string, unknown>;
  schemaPath: string;
}

type ModelClass = new (data: object) => { validate(): void };
// Each generated class types its constructor argument precisely; the loaders only promise "a model class".
type Loader = () => Promise<new (data: never) => { validate(): void }>;

// Literal import specifiers so each kind loads only its own generated validator, and only when seen.
const LOADERS: Record<string, Loader> = {
  'v1/ConfigMap': async () => (await import('kubernetes-models/v1/ConfigMap')).ConfigMap,
  'v1/Secret': async () => (await import('kubernetes-models/v1/Secret')).Secret,
  'v1/PersistentVolumeClaim': async () => (await import('kubernetes-models/v1/PersistentVolumeClaim')).PersistentVolumeClaim,
  'v1/Service': async () => (await import('kubernetes-models/v1/Service')).Service,
  'v1/ServiceAccount': async () => (await import('kubernetes-models/v1/ServiceAccount')).ServiceAccount,
  'v1/Namespace': async () => (await import('kubernetes-models/v1/Namespace')).Namespace,
  'apps/v1/Deployment': async () => (await import('kubernetes-models/apps/v1/Deployment')).Deployment,
  'batch/v1/Job': async () => (await import('kubernetes-models/batch/v1/Job')).Job,
  'monitoring.coreos.com/v1/PodMonitor': async () =>
    (await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor')).PodMonitor,
  'monitoring.coreos.com/v1/ServiceMonitor': async () =>
    (await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor')).ServiceMonitor,
  'kustomize.toolkit.fluxcd.io/v1/Kustomization': async () =>
    (await import('@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization')).Kustomization,
  'source.toolkit.fluxcd.io/v1/GitRepository': async () =>
    (await import('@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository')).GitRepository,
  'argoproj.io/v1alpha1/Application': async () => (await import('@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application')).Application,
  'argoproj.io/v1alpha1/ApplicationSet': async () =>
    (await import('@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSet')).ApplicationSet,
  'argoproj.io/v1alpha1/AppProject': async () => (await import('@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject')).AppProject,
  'argoproj.io/v1alpha1/Workflow': async () => (await import('@kubernetes-models/argo-workflows/argoproj.io/v1alpha1/Workflow')).Workflow,
  'gateway.networking.k8s.io/v1/HTTPRoute': async () => (await import('@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute')).HTTPRoute,
  'inference.networking.k8s.io/v1/InferencePool': async () => (await import('./inferencepool.ts')).InferencePool,
  'rbac.authorization.k8s.io/v1/Role': async () => (await import('kubernetes-models/rbac.authorization.k8s.io/v1/Role')).Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': async () => (await import('kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding')).RoleBinding,
};

const loaded = new Map<string, ModelClass>();

/** `apiVersion/kind` keys of the built-in kinds the embedded validator knows. */
export const BUILTIN_KINDS: readonly string[] = Object.keys(LOADERS);

export function isBuiltinKind(apiVersion: string, kind: string): boolean {
  return `${apiVersion}/${kind}` in LOADERS;
}

/** Validates one object of a built-in kind; returns ajv-style errors (empty when valid). */
export async function validateBuiltin(apiVersion: string, kind: string, object: object): Promise<AjvLikeError[]> {
  const key = `${apiVersion}/${kind}`;
  let Model = loaded.get(key);
  if (!Model) {
    const loader = LOADERS[key];
    if (!loader) throw new Error(`no built-in validator for ${key}`);
    Model = (await loader()) as ModelClass;
    loaded.set(key, Model);
  }
  try {
    new Model(object).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: AjvLikeError[] }).errors;
    if (Array.isArray(errors)) return errors;
    throw err;
  }
}
