import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { validateRendered, validateTree, type TreeOptions } from './index.ts';

const IMAGE = 'nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.0';
const GPU_NODES = { 'NVIDIA-H100-80GB-HBM3': 8, 'NVIDIA-GB200': 4 };

let root: string;
/** What was written, as a renderer would hand it over in memory (cluster profiles are inputs, not output). */
let written: Map<string, unknown[]>;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'validate-tree-'));
  written = new Map();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, ...docs: unknown[]): void {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'));
  if (!rel.endsWith('cluster.yaml')) written.set(rel, docs);
}

function worker(name: string, type: string, gpus: number, product = 'NVIDIA-H100-80GB-HBM3') {
  return {
    name,
    type,
    replicas: 1,
    podTemplate: {
      spec: {
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'nvidia.com/gpu.product', operator: 'In', values: [product] }] }] } } },
        containers: [
          {
            name: 'main',
            image: IMAGE,
            resources: { limits: { 'nvidia.com/gpu': String(gpus) } },
            envFrom: [{ secretRef: { name: 'hf-token-secret' } }],
            volumeMounts: [{ name: 'engine', mountPath: '/etc/engine' }, { name: 'cache', mountPath: '/models' }],
          },
        ],
        volumes: [
          { name: 'engine', configMap: { name: 'qwen3-engine' } },
          { name: 'cache', persistentVolumeClaim: { claimName: 'model-cache' } },
        ],
      },
    },
  };
}

function dgd(name: string, components: unknown[]) {
  return { apiVersion: 'nvidia.com/v1beta1', kind: 'DynamoGraphDeployment', metadata: { name }, spec: { components } };
}

/** A well-formed cluster tree: clusters/lab with one disaggregated workload. */
function goodTree(): void {
  write('clusters/lab/cluster.yaml', { name: 'lab' });
  write('clusters/lab/kustomization.yaml', { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['workloads/qwen3'] });
  write('clusters/lab/workloads/qwen3/kustomization.yaml', {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: 'llm',
    resources: ['dgd.yaml', 'configmaps.yaml', 'model-cache.yaml'],
  });
  write('clusters/lab/workloads/qwen3/dgd.yaml', dgd('qwen3-disagg', [worker('prefill', 'prefill', 2), worker('decode', 'decode', 8)]));
  write('clusters/lab/workloads/qwen3/configmaps.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'qwen3-engine' }, data: { 'engine.yaml': 'x: 1\n' } });
  write('clusters/lab/workloads/qwen3/model-cache.yaml', {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'model-cache' },
    spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '200Gi' } } },
  });
}

async function problems(options: TreeOptions = {}, paths = ['clusters/']) {
  const result = await validateTree(paths, { cwd: root, gpuNodes: GPU_NODES, ...options });
  return result.problems.map((p) => `${p.file}:${p.line ?? '-'} ${p.code} ${p.path} ${p.message}`);
}

describe('validateTree', () => {
  it('accepts a consistent tree (the HF token Secret is external by design)', async () => {
    goodTree();
    const result = await validateTree(['clusters/'], { cwd: root, gpuNodes: GPU_NODES });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.resources.map((r) => r.kind).sort()).toEqual(['ConfigMap', 'DynamoGraphDeployment', 'PersistentVolumeClaim']);
  });

  it('reports a missing ConfigMap, unless declared external', async () => {
    goodTree();
    write('clusters/lab/workloads/qwen3/configmaps.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other-engine' }, data: {} });
    expect(await problems()).toMatchInlineSnapshot(`
      [
        "clusters/lab/workloads/qwen3/dgd.yaml:38 MISSING_REFERENCE /spec/components/0/podTemplate/spec/volumes/0/configMap/name ConfigMap "qwen3-engine" is referenced but not defined in the tree (namespace llm)",
        "clusters/lab/workloads/qwen3/dgd.yaml:73 MISSING_REFERENCE /spec/components/1/podTemplate/spec/volumes/0/configMap/name ConfigMap "qwen3-engine" is referenced but not defined in the tree (namespace llm)",
      ]
    `);
    expect(await problems({ external: { configMaps: ['qwen3-*'] } })).toEqual([]);
  });

  it('resolves references per cluster: a ConfigMap in another cluster does not count', async () => {
    goodTree();
    write('clusters/other/cluster.yaml', { name: 'other' });
    write('clusters/other/kustomization.yaml', { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['dgd.yaml'] });
    write('clusters/other/dgd.yaml', dgd('solo', [worker('decode', 'decode', 1)]));
    expect(await problems()).toMatchInlineSnapshot(`
      [
        "clusters/other/dgd.yaml:38 MISSING_REFERENCE /spec/components/0/podTemplate/spec/volumes/0/configMap/name ConfigMap "qwen3-engine" is referenced but not defined in the tree",
        "clusters/other/dgd.yaml:41 MISSING_REFERENCE /spec/components/0/podTemplate/spec/volumes/1/persistentVolumeClaim/claimName PersistentVolumeClaim "model-cache" is referenced but not defined in the tree",
      ]
    `);
  });

  it('too many GPUs per pod for the node type, over-long DGD names, prefill without decode', async () => {
    goodTree();
    const name = 'qwen3-235b-a22b-fp8-trtllm-disagg-prefill-heavy-h100';
    write('clusters/lab/workloads/qwen3/dgd.yaml', dgd(name, [worker('prefill', 'prefill', 16), worker('agg', 'worker', 2, 'NVIDIA-L4')]));
    expect(await problems()).toMatchInlineSnapshot(`
      [
        "clusters/lab/workloads/qwen3/dgd.yaml:4 DGD_NAME_TOO_LONG /metadata/name DynamoGraphDeployment name is 52 characters; Grove allows at most 45",
        "clusters/lab/workloads/qwen3/dgd.yaml:6 DISAGG_INCOMPLETE /spec disaggregated graph has prefill workers but no decode worker",
        "clusters/lab/workloads/qwen3/dgd.yaml:12 GPU_OVER_NODE /spec/components/0/podTemplate/spec component "prefill" asks for 16 GPUs per pod but a NVIDIA-H100-80GB-HBM3 node has 8",
        "clusters/lab/workloads/qwen3/dgd.yaml:47 UNKNOWN_GPU_PRODUCT /spec/components/1/podTemplate/spec nvidia.com/gpu.product "NVIDIA-L4" is not in the GPU catalog; cannot check GPUs per node",
      ]
    `);
  });

  it('kustomization coverage: missing resources and unlisted files', async () => {
    goodTree();
    write('clusters/lab/workloads/qwen3/extra.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'extra' }, data: {} });
    write('clusters/lab/kustomization.yaml', { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['workloads/qwen3', 'workloads/gone', 'flux'] });
    write('clusters/lab/flux/kustomization-flux.yaml', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flux-system' } });
    expect(await problems()).toMatchInlineSnapshot(`
      [
        "clusters/lab/kustomization.yaml:5 KUSTOMIZATION_MISSING_RESOURCE /resources/1 resource "workloads/gone" does not exist",
        "clusters/lab/kustomization.yaml:6 KUSTOMIZATION_MISSING_RESOURCE /resources/2 resource "flux" is a directory without a kustomization.yaml",
        "clusters/lab/flux:- KUSTOMIZATION_MISSING  directory has 1 manifest file(s) but no kustomization.yaml",
        "clusters/lab/workloads/qwen3/kustomization.yaml:5 KUSTOMIZATION_UNLISTED_FILE /resources extra.yaml is in this directory but not listed in resources",
      ]
    `);
  });

  it('v1alpha1 component names, duplicates across files, and the tree-level document rules', async () => {
    goodTree();
    write('clusters/lab/workloads/qwen3/dgd.yaml', {
      apiVersion: 'nvidia.com/v1alpha1',
      kind: 'DynamoGraphDeployment',
      metadata: { name: 'qwen3-disagg' },
      spec: {
        pvcs: [{ name: 'compile-cache', create: true, size: '10Gi', storageClass: 'x', volumeAccessMode: 'ReadWriteMany' }],
        services: {
          Worker_1: { componentType: 'worker', subComponentType: 'decode', envFromSecret: 'hf-token-secret', volumeMounts: [{ name: 'compile-cache' }], sharedMemory: { disabled: false } },
          worker_1: { componentType: 'worker', extraPodSpec: { volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'compile-cache' } }] }, labels: null },
        },
      },
    });
    write('clusters/lab/workloads/qwen3/model-cache.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'qwen3-engine' }, data: {} });
    expect(await problems({ documentRules: true })).toMatchInlineSnapshot(`
      [
        "clusters/lab/workloads/qwen3/model-cache.yaml:4 DUPLICATE_OBJECT /metadata/name ConfigMap "qwen3-engine" is also defined in clusters/lab/workloads/qwen3/configmaps.yaml",
        "clusters/lab/workloads/qwen3/dgd.yaml:14 COMPONENT_NAME_INVALID /spec/services/Worker_1 component name "Worker_1" must match ^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$ and be at most 63 characters",
        "clusters/lab/workloads/qwen3/dgd.yaml:22 COMPONENT_NAME_INVALID /spec/services/worker_1 component name "worker_1" must match ^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$ and be at most 63 characters",
        "clusters/lab/workloads/qwen3/dgd.yaml:22 COMPONENT_NAME_DUPLICATE /spec/services/worker_1 component names must be unique case-insensitively ("worker_1" repeats "Worker_1")",
        "clusters/lab/workloads/qwen3/dgd.yaml:28 NULL_VALUE /spec/services/worker_1/labels explicit null: the API server drops "labels"",
        "clusters/lab/workloads/qwen3/dgd.yaml:20 CEL_SHARED_MEMORY /spec/services/Worker_1/sharedMemory size is required when disabled is false",
      ]
    `);
  });

  it('names the missing path', async () => {
    await expect(validateTree(['clusters/'], { cwd: root })).rejects.toThrow('no such file or directory: clusters');
  });
});

describe('validateRendered (in memory)', () => {
  const key = (p: { file: string; code: string; path: string; message: string; severity: string }) => `${p.file} ${p.code} ${p.path} ${p.message} ${p.severity}`;

  it('finds exactly what validating the written files finds (both passes), without reading them', async () => {
    // GIVEN two clusters: one consistent, one with a schema error, a missing reference, an unlisted file and a
    // kustomization entry that does not exist; the same PVC name in both clusters is no duplicate
    goodTree();
    write('clusters/b/cluster.yaml', { name: 'b' });
    write('clusters/b/kustomization.yaml', { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['workloads/x', 'gone'] });
    write('clusters/b/workloads/x/kustomization.yaml', { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', namespace: 'llm', resources: ['dgd.yaml', 'model-cache.yaml'] });
    write('clusters/b/workloads/x/dgd.yaml', { ...dgd('x', [worker('decode', 'decode', 16)]), spec: { components: [worker('decode', 'decode', 16)], bogus: 1 } });
    write('clusters/b/workloads/x/model-cache.yaml', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'model-cache' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } });
    write('clusters/b/workloads/x/stray.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'stray' } });
    // WHEN validated from disk and from memory
    const fromFiles = await validateTree(['clusters/'], { cwd: root, gpuNodes: GPU_NODES, schemas: true });
    const inMemory = await validateRendered(written, { root, gpuNodes: GPU_NODES });
    // THEN the verdicts and problems are the same (in memory there is no text, so no line numbers)
    expect(inMemory.ok).toBe(false);
    expect(inMemory.ok).toBe(fromFiles.ok);
    expect(inMemory.problems.map(key).sort()).toEqual(fromFiles.problems.map(key).sort());
    const codes = new Set(inMemory.problems.map((p) => p.code));
    for (const c of ['UNKNOWN_FIELD', 'MISSING_REFERENCE', 'KUSTOMIZATION_UNLISTED_FILE', 'KUSTOMIZATION_MISSING_RESOURCE', 'GPU_OVER_NODE']) expect(codes).toContain(c);
    expect(codes).not.toContain('DUPLICATE_OBJECT');
    expect(inMemory.summary.files).toBe(fromFiles.summary.files);
    expect(inMemory.resources.length).toBe(fromFiles.resources.length);
  });

  it('treats clusters/<name>/ as a cluster even without a cluster.yaml on disk', async () => {
    const pvc = (name: string) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'llm' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    const kust = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['pvc.yaml'] };
    const files = new Map<string, unknown[]>([
      ['clusters/a/kustomization.yaml', [kust]],
      ['clusters/a/pvc.yaml', [pvc('cache')]],
      ['clusters/b/kustomization.yaml', [kust]],
      ['clusters/b/pvc.yaml', [pvc('cache'), pvc('cache')]],
    ]);
    const result = await validateRendered(files, { root });
    // one duplicate, inside cluster b only
    expect(result.problems.filter((p) => p.code === 'DUPLICATE_OBJECT').map((p) => p.file)).toEqual(['clusters/b/pvc.yaml']);
  });
});
