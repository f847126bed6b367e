import { canonicalYaml, GENERATED_HEADER } from '../canonical.ts';
import type { KubeObject } from '../types.ts';
import {
  ENGINE_MOUNT_PATH,
  ENGINE_PORT,
  GPU_RESOURCE,
  PRODUCT_LABEL,
  configMapName,
  objectName,
  sharedObjects,
  sorted,
  unsupported,
  yamlFile,
  type Pool,
  type TargetContext,
  type TargetFile,
} from './common.ts';
import { nativeServer } from './engines.ts';

/** Gateway the llm-d-infra chart installs by default; HTTPRoutes attach to it. */
export const LLMD_GATEWAY = 'llm-d-inference-gateway';
/** The endpoint picker's ext-proc port (GAIE default). */
export const EPP_PORT = 9002;
/** vLLM's port behind llm-d's routing sidecar (modelservice `routing.proxy.targetPort`). */
export const PROXY_TARGET_PORT = 8200;
/** Chart references of the helmfile (llm-d guides). */
export const MODELSERVICE_CHART = { repo: 'https://llm-d-incubation.github.io/llm-d-modelservice/', chart: 'llm-d-modelservice' };

function poolValues(ctx: TargetContext, pool: Pool | undefined, disagg: boolean): Record<string, unknown> {
  if (!pool) return { create: false, replicas: 0 };
  const vllm = ctx.recipe.backend.name === 'vllm';
  // With the routing sidecar, decode vLLM listens behind it on 8200; prefill pods are reached directly.
  const port = disagg && pool.role === 'decode' ? PROXY_TARGET_PORT : ENGINE_PORT;
  const server = nativeServer(ctx, pool, port);
  let args = server.args;
  if (disagg) args = [...args, '--kv-transfer-config', JSON.stringify({ kv_connector: 'NixlConnector', kv_role: 'kv_both' })];
  const gpus = { [GPU_RESOURCE]: String(pool.gpusPerNode) };
  const cm = configMapName(ctx);
  const mounts: Record<string, unknown>[] = [{ name: 'dshm', mountPath: '/dev/shm' }];
  const volumes: Record<string, unknown>[] = [{ name: 'dshm', emptyDir: { medium: 'Memory' } }];
  if (cm !== null && pool.engineKey !== null) {
    mounts.push({ name: 'engine-config', mountPath: ENGINE_MOUNT_PATH, readOnly: true });
    volumes.push({ name: 'engine-config', configMap: { name: cm } });
  }
  const env: Record<string, unknown>[] = Object.entries(sorted(ctx.recipe.backend.env)).map(([name, value]) => ({ name, value }));
  return {
    create: true,
    replicas: pool.worker.replicas,
    parallelism: { tensor: pool.worker.tp, data: pool.worker.dp, dataLocal: pool.worker.dp, workers: pool.worker.nodes },
    acceleratorTypes: { labelKey: PRODUCT_LABEL, labelValues: [ctx.resolved.gpu.productLabel] },
    nodeSelector: sorted(ctx.cluster.gpus[ctx.resolved.gpu.id]?.nodeSelector ?? {}),
    containers: [
      {
        name: 'vllm',
        image: ctx.recipe.backend.image,
        // vllmServe lets the chart add `vllm serve <model>` (and the multinode wiring); other engines bring their command.
        modelCommand: vllm ? 'vllmServe' : 'custom',
        command: vllm ? [] : server.command,
        args: vllm ? args.filter((a, i) => !(i === 0 && a === ctx.modelRef)) : args,
        env,
        ports: [{ containerPort: port, name: 'metrics', protocol: 'TCP' }],
        resources: { limits: gpus, requests: gpus },
        mountModelVolume: true,
        volumeMounts: mounts,
      },
    ],
    volumes,
    monitoring: { podmonitor: { enabled: ctx.cluster.observability ?? ctx.recipe.observability, portName: 'metrics', path: '/metrics' } },
  };
}

/**
 * llm-d's modelservice method: values for the llm-d-modelservice chart (decode and prefill pools from the recipe's
 * topology; LeaderWorkerSets when a replica spans nodes), the InferencePool its endpoint picker serves, the HTTPRoute
 * from the llm-d Gateway to that pool, and a helmfile installing the release. The engine is the engine's own server;
 * prefill/decode disaggregation uses llm-d's routing sidecar with NIXL, which is vLLM-only.
 */
export function renderLlmd(ctx: TargetContext): TargetFile[] {
  const { recipe } = ctx;
  const disagg = recipe.topology.mode === 'disagg';
  if (disagg && recipe.backend.name !== 'vllm') {
    unsupported(ctx, ['backend', 'name'], `llm-d's prefill/decode disaggregation (routing sidecar + NIXL) serves vLLM only, not ${recipe.backend.name}`, 'render it with --target dgd, or use an aggregated variant');
  }
  const name = objectName(ctx, [], 63 - 4);
  const decode = ctx.pools.find((p) => p.role !== 'prefill');
  const prefill = ctx.pools.find((p) => p.role === 'prefill');
  const values = {
    fullnameOverride: name,
    multinode: ctx.pools.some((p) => p.worker.nodes > 1),
    modelArtifacts: {
      name: ctx.servedName,
      // The download Job of the model cache fills the PVC; the chart mounts it instead of downloading again.
      uri: `pvc://${recipe.modelCache.pvcName}/${ctx.resolved.model.hfId}`,
      size: recipe.modelCache.size,
      ...(recipe.modelCache.hfTokenFrom === 'none' ? {} : { authSecretName: recipe.modelCache.hfTokenSecret }),
      mountPath: recipe.modelCache.mountPath,
      labels: { 'llm-d.ai/inferenceServing': 'true', 'llm-d.ai/model': objectName(ctx) },
    },
    routing: {
      servicePort: ENGINE_PORT,
      proxy: { enabled: disagg, targetPort: PROXY_TARGET_PORT, connector: 'nixlv2', secure: false },
    },
    decode: poolValues(ctx, decode, disagg),
    prefill: poolValues(ctx, prefill, disagg),
  };
  if (ctx.issues.length > 0) return [];
  const meta = { namespace: ctx.namespace, labels: ctx.labels, annotations: ctx.annotations };
  const pool: KubeObject = {
    apiVersion: 'inference.networking.k8s.io/v1',
    kind: 'InferencePool',
    metadata: { name, ...meta },
    spec: {
      selector: { matchLabels: { 'llm-d.ai/inferenceServing': 'true', 'llm-d.ai/model': objectName(ctx) } },
      targetPorts: [{ number: ENGINE_PORT }],
      endpointPickerRef: { name: `${name}-epp`, port: { number: EPP_PORT }, failureMode: 'FailClose' },
    },
  };
  const route: KubeObject = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, ...meta },
    spec: {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: ctx.options.gateway ?? LLMD_GATEWAY }],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [{ group: 'inference.networking.k8s.io', kind: 'InferencePool', name }],
          // Long generations stream for minutes; the Gateway API default would cut them off.
          timeouts: { request: '0s' },
        },
      ],
    },
  };
  const header = [GENERATED_HEADER, `source: recipes/${ctx.resolved.id}`];
  const helmfile = {
    repositories: [{ name: 'llm-d-modelservice', url: MODELSERVICE_CHART.repo }],
    releases: [
      {
        name,
        namespace: ctx.namespace,
        chart: `llm-d-modelservice/${MODELSERVICE_CHART.chart}`,
        values: ['modelservice-values.yaml'],
      },
    ],
  };
  const shared = sharedObjects(ctx);
  const files: TargetFile[] = [];
  if (shared.configMaps.length > 0) files.push(yamlFile(ctx, 'configmaps.yaml', shared.configMaps));
  files.push(yamlFile(ctx, 'model-cache.yaml', shared.modelCache));
  files.push(yamlFile(ctx, 'inferencepool.yaml', [pool], `endpoint picker: Service ${name}-epp:${EPP_PORT} (llm-d router / GAIE chart)`));
  files.push(yamlFile(ctx, 'httproute.yaml', [route]));
  files.push({ path: 'modelservice-values.yaml', content: canonicalYaml([values], { header: [...header, `values for the ${MODELSERVICE_CHART.chart} chart`] }) });
  files.push({ path: 'helmfile.yaml', content: canonicalYaml([helmfile], { header: [...header, 'helmfile apply (after kubectl apply -f configmaps.yaml -f model-cache.yaml)'] }) });
  return files;
}
