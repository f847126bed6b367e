import {
  configMapName,
  ENGINE_MOUNT_PATH,
  ENGINE_PORT,
  GPU_RESOURCE,
  gpuScheduling,
  hfTokenEnv,
  objectName,
  sharedObjects,
  sorted,
  unsupported,
  waitForWeights,
  yamlFile,
  type TargetContext,
  type TargetFile,
} from './common.ts';
import { nativeServer } from './engines.ts';
import type { KubeObject } from '../types.ts';

/** Port of the standalone Service (llm-d-benchmark's standalone method: Service 80 → engine 8000). */
export const STANDALONE_SERVICE_PORT = 80;

/** Labels llm-d's tooling selects model-serving pods by (llm-d-benchmark, GAIE InferencePools). */
export function servingLabels(ctx: TargetContext, role: string): Record<string, string> {
  return { 'llm-d.ai/inferenceServing': 'true', 'llm-d.ai/model': objectName(ctx), 'llm-d.ai/role': role };
}

/** The pod spec shared by the standalone Deployment and the distributed benchmark's view of it. */
function podSpec(ctx: TargetContext): Record<string, unknown> {
  const pool = ctx.pools[0]!;
  const { command, args } = nativeServer(ctx, pool);
  const cm = configMapName(ctx);
  const mc = ctx.recipe.modelCache;
  const gpus = { [GPU_RESOURCE]: String(pool.gpusPerNode) };
  const env: Record<string, unknown>[] = [{ name: 'HF_HOME', value: mc.mountPath }, ...hfTokenEnv(ctx.recipe)];
  for (const [name, value] of Object.entries(sorted(ctx.recipe.backend.env))) if (name !== 'HF_TOKEN' && name !== 'HF_HOME') env.push({ name, value });
  const volumes: Record<string, unknown>[] = [
    { name: 'model-cache', persistentVolumeClaim: { claimName: mc.pvcName } },
    // NCCL and the engines' worker processes share tensors through /dev/shm; the container default (64 MiB) is too small.
    { name: 'dshm', emptyDir: { medium: 'Memory' } },
  ];
  const mounts: Record<string, unknown>[] = [
    { name: 'model-cache', mountPath: mc.mountPath },
    { name: 'dshm', mountPath: '/dev/shm' },
  ];
  if (cm !== null && pool.engineKey !== null) {
    volumes.push({ name: 'engine-config', configMap: { name: cm } });
    mounts.push({ name: 'engine-config', mountPath: ENGINE_MOUNT_PATH, readOnly: true });
  }
  const probe = { httpGet: { path: '/health', port: 'http' }, periodSeconds: 10 };
  const wait = waitForWeights(ctx);
  return {
    ...gpuScheduling(ctx),
    initContainers: wait ? [wait] : null,
    containers: [
      {
        name: 'engine',
        image: ctx.recipe.backend.image,
        command,
        args,
        env,
        ports: [{ name: 'http', containerPort: ENGINE_PORT, protocol: 'TCP' }],
        resources: { limits: gpus, requests: gpus },
        // Loading weights takes minutes: the startup probe allows an hour before liveness applies.
        startupProbe: { ...probe, failureThreshold: 360 },
        readinessProbe: { ...probe, failureThreshold: 3 },
        livenessProbe: { ...probe, failureThreshold: 6 },
        volumeMounts: mounts,
      },
    ],
    volumes,
  };
}

/**
 * llm-d's "standalone" method: one Deployment of the engine's own OpenAI server (vLLM, SGLang or trtllm-serve, no
 * Dynamo), a ClusterIP Service in front, the model cache and engine ConfigMap of the DGD rendering. Aggregated,
 * single-node recipes only: there is no router for prefill/decode pools and a Deployment cannot span nodes.
 */
export function renderStandalone(ctx: TargetContext): TargetFile[] {
  const { recipe } = ctx;
  if (recipe.topology.mode !== 'agg') {
    unsupported(ctx, ['topology', 'mode'], 'a standalone Deployment serves aggregated recipes only (no router between prefill and decode pools)', 'render it with --target dgd or --target llm-d, or use a variant with topology.mode: agg');
  }
  const pool = ctx.pools[0];
  if (pool && pool.worker.nodes > 1) {
    unsupported(ctx, ['topology', pool.role, 'nodes'], `one replica spans ${pool.worker.nodes} nodes; a Deployment pod runs on one node`, 'render it with --target dgd or --target llm-d (LeaderWorkerSet)');
  }
  if (ctx.issues.length > 0 || !pool) return [];
  const name = objectName(ctx);
  const meta = { namespace: ctx.namespace, labels: ctx.labels, annotations: ctx.annotations };
  const selector = { 'app.kubernetes.io/instance': ctx.name, 'llm-d.ai/role': 'decode' };
  const podLabels = sorted({ ...ctx.labels, ...servingLabels(ctx, 'decode') });
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, ...meta },
    spec: {
      replicas: pool.worker.replicas,
      selector: { matchLabels: selector },
      // Surge would need GPUs the pool may not have: replace one pod at a time instead.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      template: { metadata: { labels: podLabels, annotations: ctx.annotations }, spec: podSpec(ctx) },
    },
  };
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, ...meta },
    spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: STANDALONE_SERVICE_PORT, targetPort: 'http', protocol: 'TCP' }] },
  };
  const shared = sharedObjects(ctx);
  const files: TargetFile[] = [];
  if (shared.configMaps.length > 0) files.push(yamlFile(ctx, 'configmaps.yaml', shared.configMaps));
  files.push(yamlFile(ctx, 'model-cache.yaml', shared.modelCache));
  files.push(yamlFile(ctx, 'deployment.yaml', [deployment, service]));
  if (ctx.cluster.observability ?? recipe.observability) {
    const pm: KubeObject = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name, ...meta },
      spec: { selector: { matchLabels: selector }, podMetricsEndpoints: [{ port: 'http', path: '/metrics' }] },
    };
    files.push(yamlFile(ctx, 'podmonitor.yaml', [pm]));
  }
  return files;
}

/** In-cluster URL of the standalone Service. */
export function standaloneUrl(ctx: TargetContext): string {
  return `http://${objectName(ctx)}:${STANDALONE_SERVICE_PORT}`;
}
