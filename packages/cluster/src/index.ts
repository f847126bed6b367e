export { defaultKubeconfigPath, loadKubeconfig, parseKubeconfig } from './kubeconfig.ts';
export type { ClusterAccess } from './kubeconfig.ts';
export { dgdFailed, dgdReady, jobComplete, jobFailed, KubeApiError, KubeClient, resourcePath } from './client.ts';
export type { KubeClientOptions, KubeObject, WaitOptions } from './client.ts';
