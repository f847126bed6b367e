import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '@llm-recipes/errors';
import { explainRecipe, formatExplain, loadWorkspace, resolveRecipe, type Cluster } from '@llm-recipes/recipe';
import { validateManifests } from '@llm-recipes/validate';
import { canonicalYaml } from './canonical.ts';
import { renderRecipe } from './recipe.ts';
import type { RenderedRecipe } from './types.ts';

// Pod settings end to end: written at the cluster profile, the recipe and each pool, layered by the resolver,
// rendered for both DGD APIs and checked against the real CRDs.

const REPO = join(import.meta.dirname, '..', '..', '..');
const MODELINE = '# yaml-language-server: $schema=../../../../schemas/recipe.schema.json';

const RECIPE = `${MODELINE}
model: qwen3-32b
backend:
  name: vllm
  env: { VLLM_LOGGING_LEVEL: INFO }
gpu: h100-sxm
maxModelLen: 16384
modelCache: { layout: hub, hfTokenFrom: secret, mountOnFrontend: true }
pod:
  sharedMemory: 40Gi
  securityContext: { capabilities: { add: [IPC_LOCK] } }
  resources:
    requests: { cpu: "16", memory: 200Gi }
    limits: { memory: 400Gi, rdma/ib: 8 }
  env:
    NCCL_IB_HCA: mlx5
    POD_IP: { fieldRef: { fieldPath: status.podIP } }
    NCCL_SOCKET_IFNAME: $(POD_IFACE)
    POD_IFACE: eth0
    WANDB_API_KEY: { secretKeyRef: { name: wandb, key: api-key, optional: true } }
topology:
  mode: disagg
  frontend:
    replicas: 2
    args: { kv-overlap-score-weight: 1.5, busy-threshold: 0.9 }
    pod:
      env: { DYN_LOG: info }
      resources: { requests: { cpu: "2", memory: 8Gi } }
      probes:
        readiness: { httpGet: { path: /health, port: 8000 }, periodSeconds: 10 }
  prefill:
    tp: 2
    pod:
      gpuNodes: [NVIDIA-H100-80GB-HBM3, NVIDIA-H200]
      env: { NCCL_IB_HCA: "mlx5_0,mlx5_1" }
      probes:
        startup: { httpGet: { path: /live, port: system }, periodSeconds: 10, failureThreshold: 360 }
  decode:
    tp: 4
    pod:
      image: registry.example.com/dynamo/vllm-runtime:1.2.0-ofed
      gpuNodes: any
      compilationCache: { pvcName: vllm-compile-cache }
      volumes:
        scratch: { mountPath: /scratch, emptyDir: { medium: Memory, sizeLimit: 16Gi } }
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm: { topologyKey: kubernetes.io/hostname, labelSelector: { matchLabels: { role: decode } } }
      podSpec: { priorityClassName: inference-high }
      annotations: { prometheus.io/scrape: "true" }
variants:
  debug:
    pod:
      env: { NCCL_DEBUG: INFO }
`;

const CLUSTER = `# yaml-language-server: $schema=../../schemas/cluster.schema.json
dynamoApiVersion: v1beta1
dynamoVersion: 1.2.0
namespace: llm
storageClass: fast-rwx
gitops: [flux]
repo: { url: https://example.com/r.git, branch: main, path: clusters/lab }
gpus: { h100_sxm: { nodes: 4, nodeSelector: { node.kubernetes.io/pool: gpu-h100 } } }
pod:
  imagePullSecrets: [ngc]
workerPod:
  env: { NCCL_IB_GID_INDEX: "3" }
  tolerations:
    - { key: nvidia.com/gpu, operator: Exists, effect: NoSchedule }
    - { key: dedicated, operator: Equal, value: inference, effect: NoSchedule }
recipes:
  - recipe: qwen3-32b/vllm/h100-sxm
`;

const root = mkdtempSync(join(tmpdir(), 'render-pod-'));
cpSync(join(REPO, 'recipes/gpus'), join(root, 'recipes/gpus'), { recursive: true });
cpSync(join(REPO, 'recipes/qwen3-32b/model.yaml'), join(root, 'recipes/qwen3-32b/model.yaml'));
for (const [rel, text] of Object.entries({ 'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml': RECIPE, 'clusters/lab/cluster.yaml': CLUSTER })) {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
}
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ws = loadWorkspace(root);
const lab: Cluster = ws.clusters.get('lab')!.cluster;

function render(apiVersion: 'v1beta1' | 'v1alpha1', variant?: string): RenderedRecipe {
  const { resolved, issues } = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', cluster: lab, ...(variant === undefined ? {} : { variant }) });
  expect(issues).toEqual([]);
  return renderRecipe(resolved!, { ...lab, dynamoApiVersion: apiVersion });
}

function pods(out: RenderedRecipe): Record<string, any> {
  const dgd = out.manifests.find((m) => m.object.kind === 'DynamoGraphDeployment')!.object as any;
  return Object.fromEntries(dgd.spec.components.map((c: any) => [c.name, { ...c, main: c.podTemplate.spec.containers[0] }]));
}

describe('pod settings', () => {
  it('loads without issues', () => {
    expect(ws.issues).toEqual([]);
  });

  for (const apiVersion of ['v1beta1', 'v1alpha1'] as const) {
    it(`render every setting for both DGD APIs, valid against the CRDs (${apiVersion})`, async () => {
      const out = render(apiVersion);
      const text = canonicalYaml(out.manifests.map((m) => m.object));
      await expect(text).toMatchFileSnapshot(`__golden__/fixtures/vllm-disagg-pod-settings.${apiVersion}.yaml`);
      const result = await validateManifests(out.manifests.map((m, i) => ({ file: `${i}.yaml`, content: m.object })));
      expect(result.problems.filter((p) => p.severity === 'error')).toEqual([]);
    });
  }

  it('merge environment variables by name: cluster, then recipe, then pool; references stay references', () => {
    const { prefill, decode, frontend } = pods(render('v1beta1'));
    const env = (c: any) => Object.fromEntries(c.main.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env(prefill)).toMatchObject({
      NCCL_IB_HCA: 'mlx5_0,mlx5_1', // the pool's own value over the recipe's
      NCCL_IB_GID_INDEX: '3', // from the cluster's worker pods
      POD_IP: { fieldRef: { fieldPath: 'status.podIP' } },
      WANDB_API_KEY: { secretKeyRef: { name: 'wandb', key: 'api-key', optional: true } },
      VLLM_LOGGING_LEVEL: 'INFO',
      HF_HOME: '/opt/models',
    });
    expect(env(decode).NCCL_IB_HCA).toBe('mlx5');
    // the frontend gets neither the recipe-level worker settings nor the cluster's worker settings
    expect(env(frontend)).toEqual({ DYN_LOG: 'info', HF_HOME: '/opt/models' });
    // Kubernetes expands $(POD_IFACE) only when POD_IFACE comes first
    const names = prefill.main.env.map((e: any) => e.name);
    expect(names.indexOf('POD_IFACE')).toBeLessThan(names.indexOf('NCCL_SOCKET_IFNAME'));
  });

  it('give the cluster\'s pull secrets to every pod, its worker settings to workers only', () => {
    const { prefill, decode, frontend } = pods(render('v1beta1'));
    for (const c of [prefill, decode, frontend]) expect(c.podTemplate.spec.imagePullSecrets).toEqual([{ name: 'ngc' }]);
    expect(prefill.podTemplate.spec.tolerations).toContainEqual({ key: 'dedicated', operator: 'Equal', value: 'inference', effect: 'NoSchedule' });
    expect(frontend.podTemplate.spec.tolerations).toBeUndefined();
  });

  it('select GPU nodes by product list, by the recipe GPU, or any node with GPUs', () => {
    const { prefill, decode } = pods(render('v1beta1'));
    const product = (c: any) => c.podTemplate.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    expect(product(prefill)).toEqual([{ matchExpressions: [{ key: 'nvidia.com/gpu.product', operator: 'In', values: ['NVIDIA-H100-80GB-HBM3', 'NVIDIA-H200'] }] }]);
    expect(product(decode)).toBeUndefined();
    // the cluster's node selector for the GPU inventory still applies
    expect(decode.podTemplate.spec.nodeSelector).toEqual({ 'node.kubernetes.io/pool': 'gpu-h100' });
  });

  it('pass the model as the Hugging Face id with HF_HOME on the cache, mounted on the frontend too', () => {
    const { prefill, frontend } = pods(render('v1beta1'));
    expect(prefill.main.args.slice(0, 2)).toEqual(['--model', 'Qwen/Qwen3-32B']);
    expect(frontend.main.volumeMounts).toEqual([{ name: 'model-cache', mountPath: '/opt/models' }]);
    expect(prefill.main.envFrom).toEqual([{ secretRef: { name: 'hf-token-secret' } }]);
  });

  it('render CPU, memory and devices beside the GPUs, never GPUs from the pod settings', () => {
    const { prefill } = pods(render('v1beta1'));
    expect(prefill.main.resources).toEqual({
      requests: { cpu: '16', memory: '200Gi', 'nvidia.com/gpu': '2' },
      limits: { memory: '400Gi', 'nvidia.com/gpu': '2', 'rdma/ib': '8' },
    });
    const alpha = render('v1alpha1').manifests.find((m) => m.object.kind === 'DynamoGraphDeployment')!.object as any;
    expect(alpha.spec.services.prefill.resources).toEqual({
      requests: { cpu: '16', memory: '200Gi', gpu: '2' },
      limits: { memory: '400Gi', gpu: '2', custom: { 'rdma/ib': '8' } },
    });
  });

  it('v1alpha1: every container mounts only volumes the pod will have (the operator names a spec.pvcs volume after its claim)', () => {
    const alpha = render('v1alpha1').manifests.find((m) => m.object.kind === 'DynamoGraphDeployment')!.object as any;
    for (const [name, svc] of Object.entries<any>(alpha.spec.services)) {
      const volumes = new Set([...(svc.volumeMounts ?? []).map((m: any) => m.name), ...(svc.extraPodSpec.volumes ?? []).map((v: any) => v.name)]);
      const containers = [svc.extraPodSpec.mainContainer, ...(svc.extraPodSpec.initContainers ?? [])];
      for (const c of containers) for (const m of c.volumeMounts ?? []) expect(volumes, `${name}/${c.name ?? 'main'} mounts ${m.name}`).toContain(m.name);
    }
  });

  it('a variant adds a variable without dropping the inherited ones', () => {
    const { decode } = pods(render('v1beta1', 'debug'));
    const names = decode.main.env.map((e: any) => e.name);
    expect(names).toEqual(expect.arrayContaining(['NCCL_DEBUG', 'NCCL_IB_HCA', 'POD_IP', 'NCCL_IB_GID_INDEX']));
  });

  it('explain shows where each pod setting came from', () => {
    const { resolved } = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', cluster: lab, set: ['topology.decode.pod.sharedMemory=64Gi'] });
    const rows = explainRecipe(resolved!, 'topology.decode.pod');
    const row = (p: string) => rows.find((r) => r.path === p);
    expect(row('topology.decode.pod.sharedMemory')).toMatchObject({ value: '64Gi', layer: 'set' });
    expect(row('topology.decode.pod.env.NCCL_IB_HCA')).toMatchObject({ layer: 'recipe', file: 'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml', line: 16 });
    expect(row('topology.decode.pod.env.NCCL_IB_GID_INDEX')).toMatchObject({ layer: 'cluster', file: 'clusters/lab/cluster.yaml' });
    expect(row('topology.decode.pod.image')).toMatchObject({ layer: 'recipe', line: 41 });
    expect(formatExplain(rows)).toContain('topology.decode.pod.env.POD_IP');
  });

  it('refuse GPUs among the pod resources and a variable the renderer owns, naming the field', () => {
    const { resolved } = resolveRecipe(ws, {
      recipe: 'qwen3-32b/vllm/h100-sxm',
      cluster: lab,
      set: ['topology.prefill.pod.resources.limits={"nvidia.com/gpu": 4}', 'topology.decode.pod.env.HF_HOME=/x'],
    });
    let err: unknown;
    try {
      renderRecipe(resolved!, lab);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    const issues = (err as InvalidInputError).issues.map((i) => [i.code, i.path?.join('.')]);
    expect(issues).toEqual(
      expect.arrayContaining([
        ['RENDER_POD_SETTINGS', 'topology.prefill.pod.resources.limits.nvidia.com/gpu'],
        ['RENDER_POD_SETTINGS', 'topology.decode.pod.env.HF_HOME'],
      ]),
    );
  });
});
