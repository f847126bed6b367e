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

type ModelClass = (new (data: object) => { validate(): void }) & { apiVersion?: string; kind?: string };
// Each generated class types its constructor argument precisely; the loaders only promise "a model class".
type Loader = () => Promise<new (data: never) => { validate(): void }>;

/**
 * Kubernetes built-in kinds come from `kubernetes-models` (generated from the Kubernetes v1.36.0 OpenAPI spec, see
 * its CHANGELOG 5.0.0): `kubernetes-models/<apiVersion>/<Kind>`, loaded only when a document of that kind is seen.
 * Every resource kind of the package is covered (Pod, Job, ConfigMap, Secret, PVC, Service, ServiceAccount, RBAC,
 * resource.k8s.io/v1 ResourceClaimTemplate, …); a class only counts when it declares that apiVersion and kind, so
 * a nested type such as `v1/Container` is not taken for a kind. Other packages' kinds are listed here.
 */
const LOADERS: Record<string, Loader> = {
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
};

const KIND = /^[A-Z][A-Za-z0-9]*$/;
const API_VERSION = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;

const loaded = new Map<string, ModelClass | undefined>();

/** `apiVersion/kind` keys of the non-Kubernetes kinds the embedded validator knows (Kubernetes kinds: all of them). */
export const BUILTIN_KINDS: readonly string[] = Object.keys(LOADERS);

function isModuleMissing(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' || /Cannot find (module|package)|Failed to load url|does not provide an export|is not exported/i.test(String(err));
}

async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const key = `${apiVersion}/${kind}`;
  if (loaded.has(key)) return loaded.get(key);
  let Model: ModelClass | undefined;
  const loader = LOADERS[key];
  if (loader) Model = (await loader()) as ModelClass;
  else if (KIND.test(kind) && API_VERSION.test(apiVersion)) {
    try {
      const mod = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, unknown>;
      const candidate = mod[kind] as ModelClass | undefined;
      // a resource kind's class carries its type meta; nested types (Container, PodSpec…) do not
      if (typeof candidate === 'function' && candidate.apiVersion === apiVersion && candidate.kind === kind) Model = candidate;
    } catch (err) {
      if (!isModuleMissing(err)) throw err;
    }
  }
  loaded.set(key, Model);
  return Model;
}

/** Whether the embedded validator has a schema for this kind (loads its validator). */
export async function isBuiltinKind(apiVersion: string, kind: string): Promise<boolean> {
  return (await modelFor(apiVersion, kind)) !== undefined;
}

const groupVersions = new Map<string, boolean>();

/**
 * Whether `apiVersion` is a Kubernetes API group/version that `kubernetes-models` carries in full (`v1`,
 * `apps/v1`, `resource.k8s.io/v1`…): a kind it lacks there does not exist in Kubernetes 1.36.
 */
export async function isKubernetesGroupVersion(apiVersion: string): Promise<boolean> {
  if (!API_VERSION.test(apiVersion)) return false;
  let known = groupVersions.get(apiVersion);
  if (known === undefined) {
    try {
      await import(`kubernetes-models/${apiVersion}`);
      known = true;
    } catch (err) {
      if (!isModuleMissing(err)) throw err;
      known = false;
    }
    groupVersions.set(apiVersion, known);
  }
  return known;
}

/** Validates one object of a built-in kind; returns ajv-style errors (empty when valid). */
export async function validateBuiltin(apiVersion: string, kind: string, object: object): Promise<AjvLikeError[]> {
  const Model = await modelFor(apiVersion, kind);
  if (!Model) throw new Error(`no built-in validator for ${apiVersion}/${kind}`);
  try {
    new Model(object).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: AjvLikeError[] }).errors;
    if (Array.isArray(errors)) return errors;
    throw err;
  }
}
