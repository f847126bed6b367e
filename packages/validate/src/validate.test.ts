import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateManifests, type ValidationProblem } from './index.ts';

// One file for every DGD schema case: the v1beta1 schema compiles once per process (≈0.4 s).

const IMAGE = 'nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.0';

function dgdV1beta1(components?: unknown[]): Record<string, unknown> {
  return {
    apiVersion: 'nvidia.com/v1beta1',
    kind: 'DynamoGraphDeployment',
    metadata: { name: 'qwen3-agg', namespace: 'llm' },
    spec: {
      backendFramework: 'vllm',
      components: components ?? [
        { name: 'frontend', type: 'frontend', replicas: 1, podTemplate: { spec: { containers: [{ name: 'main', image: IMAGE }] } } },
        {
          name: 'decode',
          type: 'worker',
          replicas: 2,
          sharedMemorySize: '16Gi',
          podTemplate: {
            spec: {
              containers: [{ name: 'main', image: IMAGE, args: ['--model', 'Qwen/Qwen3-32B'], resources: { limits: { 'nvidia.com/gpu': '2', memory: '64Gi' } } }],
            },
          },
        },
      ],
    },
  };
}

function dgdV1alpha1(): Record<string, unknown> {
  return {
    apiVersion: 'nvidia.com/v1alpha1',
    kind: 'DynamoGraphDeployment',
    metadata: { name: 'llama-disagg' },
    spec: {
      backendFramework: 'vllm',
      services: {
        Frontend: { componentType: 'frontend', replicas: 1, extraPodSpec: { mainContainer: { image: IMAGE } } },
        VllmPrefillWorker: {
          componentType: 'worker',
          subComponentType: 'prefill',
          replicas: 1,
          resources: { limits: { gpu: '1' } },
          sharedMemory: { size: '8Gi' },
          extraPodSpec: { mainContainer: { image: IMAGE, args: ['--is-prefill-worker'] } },
        },
        VllmDecodeWorker: {
          componentType: 'worker',
          subComponentType: 'decode',
          replicas: 1,
          resources: { limits: { gpu: '1' } },
          extraPodSpec: { mainContainer: { image: IMAGE } },
        },
      },
    },
  };
}

async function problemsOf(content: unknown): Promise<Pick<ValidationProblem, 'path' | 'code' | 'message'>[]> {
  const result = await validateManifests([{ file: 'mem.yaml', content }]);
  return result.problems.map(({ path, code, message }) => ({ path, code, message }));
}

function mutate(base: Record<string, unknown>, edit: (d: any) => void): Record<string, unknown> {
  const copy = structuredClone(base);
  edit(copy);
  return copy;
}

describe('DynamoGraphDeployment against the real CRD schema', () => {
  it('accepts a minimal v1beta1 DGD', async () => {
    const result = await validateManifests([{ file: 'dgd.yaml', content: dgdV1beta1() }]);
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.validator).toBe('embedded');
    expect(result.resources).toEqual([{ file: 'dgd.yaml', index: 0, apiVersion: 'nvidia.com/v1beta1', kind: 'DynamoGraphDeployment', name: 'qwen3-agg', status: 'valid' }]);
  });

  it('accepts a v1alpha1 DGD, with a deprecation warning only', async () => {
    const result = await validateManifests([{ file: 'dgd.yaml', content: dgdV1alpha1() }]);
    expect(result.ok).toBe(true);
    expect(result.problems.map((p) => [p.severity, p.code, p.message])).toMatchInlineSnapshot(`
      [
        [
          "warning",
          "DEPRECATED_API",
          "nvidia.com/v1alpha1 DynamoGraphDeployment is deprecated by the CRD",
        ],
      ]
    `);
  });

  it('rejects a typo in a nested PodSpec field with a suggestion', async () => {
    const doc = mutate(dgdV1beta1(), (d) => {
      d.spec.components[1].podTemplate.spec.containers[0].imagePullPolicyy = 'Always';
    });
    const result = await validateManifests([{ file: 'dgd.yaml', content: doc }]);
    expect(result.problems.map((p) => ({ path: p.path, code: p.code, message: p.message, hint: p.hint }))).toMatchInlineSnapshot(`
      [
        {
          "code": "UNKNOWN_FIELD",
          "hint": "did you mean "imagePullPolicy"?",
          "message": "unknown field "imagePullPolicyy"",
          "path": "/spec/components/1/podTemplate/spec/containers/0/imagePullPolicyy",
        },
      ]
    `);
  });

  it('rejects an unknown top-level spec field', async () => {
    expect(await problemsOf(mutate(dgdV1beta1(), (d) => (d.spec.service = {})))).toMatchInlineSnapshot(`
      [
        {
          "code": "UNKNOWN_FIELD",
          "message": "unknown field "service"",
          "path": "/spec/service",
        },
      ]
    `);
  });

  it('rejects wrong types and enum values', async () => {
    const doc = mutate(dgdV1beta1(), (d) => {
      d.spec.components[1].replicas = 'two';
      d.spec.components[1].type = 'workr';
      d.spec.backendFramework = 'tensorrt';
    });
    expect(await problemsOf(doc)).toMatchInlineSnapshot(`
      [
        {
          "code": "ENUM",
          "message": "must be one of "sglang", "vllm", "trtllm"; got "tensorrt"",
          "path": "/spec/backendFramework",
        },
        {
          "code": "TYPE_MISMATCH",
          "message": "must be integer, got string "two"",
          "path": "/spec/components/1/replicas",
        },
        {
          "code": "ENUM",
          "message": "must be one of "frontend", "worker", "prefill", "decode", "planner", "epp"; got "workr"",
          "path": "/spec/components/1/type",
        },
      ]
    `);
  });

  it('int-or-string: accepts integers and quantity strings, rejects booleans and bad quantities', async () => {
    const ok = mutate(dgdV1beta1(), (d) => {
      d.spec.components[1].sharedMemorySize = 17179869184;
      d.spec.components[1].podTemplate.spec.containers[0].resources.limits['nvidia.com/gpu'] = 2;
    });
    expect(await problemsOf(ok)).toEqual([]);
    const bad = mutate(dgdV1beta1(), (d) => {
      d.spec.components[1].sharedMemorySize = true;
      d.spec.components[0].sharedMemorySize = '16 GB';
    });
    expect(await problemsOf(bad)).toMatchInlineSnapshot(`
      [
        {
          "code": "PATTERN",
          "message": "must match ^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$; got "16 GB"",
          "path": "/spec/components/0/sharedMemorySize",
        },
        {
          "code": "TYPE_MISMATCH",
          "message": "must be an integer or a string, got boolean",
          "path": "/spec/components/1/sharedMemorySize",
        },
      ]
    `);
  });

  it('reports explicit nulls with their own code (and judges the rest as the API server would after pruning)', async () => {
    const doc = mutate(dgdV1beta1(), (d) => {
      d.spec.components[0].podTemplate.spec.initContainers = null;
      d.metadata.labels = null;
    });
    expect(await problemsOf(doc)).toMatchInlineSnapshot(`
      [
        {
          "code": "NULL_VALUE",
          "message": "explicit null",
          "path": "/metadata/labels",
        },
        {
          "code": "NULL_VALUE",
          "message": "explicit null",
          "path": "/spec/components/0/podTemplate/spec/initContainers",
        },
      ]
    `);
  });

  it('evaluates the CEL rules: unique names case-insensitively, at most one epp, eppConfig only on epp', async () => {
    const doc = mutate(dgdV1beta1(), (d) => {
      const [frontend, decode] = d.spec.components;
      d.spec.components = [
        frontend,
        decode,
        { ...structuredClone(decode), name: 'Decode' },
        { name: 'epp-a', type: 'epp', podTemplate: { spec: { containers: [{ name: 'main', image: IMAGE }] } }, eppConfig: { configMapRef: { name: 'epp', key: 'config.yaml' } } },
        { name: 'epp-b', type: 'epp', podTemplate: { spec: { containers: [{ name: 'main', image: IMAGE }] } } },
        { ...structuredClone(frontend), name: 'planner', type: 'planner', eppConfig: { configMapRef: { name: 'epp', key: 'config.yaml' }, config: { plugins: [], schedulingProfiles: [] } } },
      ];
    });
    expect(await problemsOf(doc)).toMatchInlineSnapshot(`
      [
        {
          "code": "CEL_EPP_CONFIG_TYPE",
          "message": "eppConfig may only be set when type is epp",
          "path": "/spec/components/5/eppConfig",
        },
        {
          "code": "CEL_EPP_CONFIG_SOURCE",
          "message": "exactly one of configMapRef or config must be specified",
          "path": "/spec/components/5/eppConfig",
        },
        {
          "code": "CEL_SINGLE_EPP",
          "message": "at most one component may have type epp (found "epp-a", "epp-b")",
          "path": "/spec/components",
        },
        {
          "code": "CEL_UNIQUE_COMPONENT_NAMES",
          "message": "component names must be unique case-insensitively ("Decode" repeats "decode" at /spec/components/1)",
          "path": "/spec/components/2/name",
        },
      ]
    `);
  });

  it('v1beta1 component without a "main" container: the schema accepts it, the webhook rule does not', async () => {
    const doc = mutate(dgdV1beta1(), (d) => {
      d.spec.components[0].podTemplate.spec.containers = [{ name: 'frontend', image: IMAGE }, { name: 'sidecar' }];
    });
    expect(await problemsOf(doc)).toMatchInlineSnapshot(`
      [
        {
          "code": "CEL_SIDECAR_IMAGE",
          "message": "sidecar containers must specify a non-empty image",
          "path": "/spec/components/0/podTemplate/spec/containers/1",
        },
        {
          "code": "DGD_MAIN_CONTAINER",
          "message": "component "frontend" needs a container named "main" with a non-empty image in podTemplate (enforced by the Dynamo admission webhook)",
          "path": "/spec/components/0/podTemplate/spec/containers",
        },
      ]
    `);
  });

  it('v1alpha1 sharedMemory rule, restart on create and minAvailable', async () => {
    const doc = mutate(dgdV1alpha1(), (d) => {
      d.spec.services.VllmPrefillWorker.sharedMemory = { disabled: false };
      d.spec.services.VllmDecodeWorker.sharedMemory = { disabled: true };
      d.spec.services.VllmDecodeWorker.minAvailable = 3;
      d.spec.restart = { id: 'r1' };
    });
    expect((await problemsOf(doc)).filter((p) => p.code !== 'DEPRECATED_API')).toMatchInlineSnapshot(`
      [
        {
          "code": "CEL_RESTART_ON_CREATE",
          "message": "spec.restart must be unset on create; set spec.restart.id after creation to request a restart",
          "path": "/spec/restart",
        },
        {
          "code": "CEL_SHARED_MEMORY",
          "message": "size is required when disabled is false",
          "path": "/spec/services/VllmPrefillWorker/sharedMemory",
        },
        {
          "code": "CEL_MIN_AVAILABLE",
          "message": "minAvailable must be less than or equal to replicas unless replicas is 0 (minAvailable 3, replicas 1)",
          "path": "/spec/services/VllmDecodeWorker/minAvailable",
        },
      ]
    `);
  });
});

describe('other kinds', () => {
  it('validates built-in kinds with the Kubernetes OpenAPI validators', async () => {
    const result = await validateManifests([
      { file: 'cm.yaml', content: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'engine' }, data: { 'engine.yaml': 'a: 1' } } },
      { file: 'pvc.yaml', content: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'cache' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '100Gi' } } } } },
      { file: 'job.yaml', content: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bench' }, spec: { backoffLimit: 'x', template: { spec: { containers: [{ name: 'b', image: 'i' }], restartPolicy: 'Never' } } } } },
      { file: 'cm2.yaml', content: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad' }, data: { n: 1 } } },
      { file: 'flux.yaml', content: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'w', namespace: 'flux-system' }, spec: { interval: '10m', prune: 'yes', sourceRef: { kind: 'GitRepository', name: 'repo' } } } },
      { file: 'appset.yaml', content: { apiVersion: 'argoproj.io/v1alpha1', kind: 'ApplicationSet', metadata: { name: 'w' }, spec: { generators: [], template: { metadata: {}, spec: { project: 'default', destination: {}, source: { repoURL: 'x' } } } } } },
      { file: 'pm.yaml', content: { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'm' }, spec: { selector: {}, podMetricsEndpoints: [{ port: 'metrics' }] } } },
    ]);
    expect(result.problems.map((p) => `${p.file} ${p.path} ${p.code}: ${p.message}`)).toMatchInlineSnapshot(`
      [
        "job.yaml /spec/backoffLimit TYPE_MISMATCH: must be integer, got string "x"",
        "cm2.yaml /data/n TYPE_MISMATCH: must be string, got integer 1",
        "flux.yaml /spec/prune TYPE_MISMATCH: must be boolean, got string "yes"",
      ]
    `);
  });

  it('unknown kinds fail unless declared external', async () => {
    const doc = { apiVersion: 'grove.io/v1alpha1', kind: 'PodCliqueSet', metadata: { name: 'x' } };
    expect(await problemsOf(doc)).toMatchInlineSnapshot(`
      [
        {
          "code": "UNKNOWN_KIND",
          "message": "no schema for grove.io/v1alpha1 PodCliqueSet",
          "path": "/apiVersion",
        },
      ]
    `);
    const result = await validateManifests([{ file: 'x.yaml', content: doc }], { externalKinds: ['grove.io/*'] });
    expect(result.ok).toBe(true);
    expect(result.resources[0]?.status).toBe('skipped');
    expect(await problemsOf({ ...doc, apiVersion: 'nvidia.com/v1', kind: 'DynamoGraphDeployment' })).toMatchInlineSnapshot(`
      [
        {
          "code": "UNKNOWN_KIND",
          "message": "no schema for nvidia.com/v1 DynamoGraphDeployment",
          "path": "/apiVersion",
        },
      ]
    `);
  });

  it('checks kustomization files against the fields a rendered tree uses', async () => {
    const result = await validateManifests([
      { file: 'a/kustomization.yaml', content: { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['dgd.yaml', '../base'] } },
      { file: 'b/kustomization.yaml', content: { apiVersion: 'kustomize.config.k8s.io/v1', kind: 'Kustomization', resource: ['x.yaml'], resources: ['https://example.com/x.yaml', '/abs.yaml'] } },
    ]);
    expect(result.problems.map((p) => `${p.file} ${p.path} ${p.code}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`)).toMatchInlineSnapshot(`
      [
        "b/kustomization.yaml /resource UNKNOWN_FIELD: unknown field "resource" (did you mean "resources"?)",
        "b/kustomization.yaml /apiVersion ENUM: must be "kustomize.config.k8s.io/v1beta1"; got "kustomize.config.k8s.io/v1"",
        "b/kustomization.yaml /resources/0 KUSTOMIZATION_RESOURCE_PATH: resources entries must be relative paths inside the tree; got "https://example.com/x.yaml"",
        "b/kustomization.yaml /resources/1 KUSTOMIZATION_RESOURCE_PATH: resources entries must be relative paths inside the tree; got "/abs.yaml"",
      ]
    `);
  });
});

describe('files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'validate-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads multi-document files and points problems at their line', async () => {
    writeFileSync(
      join(dir, 'all.yaml'),
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: engine',
        'data:',
        '  a: "1"',
        '---',
        'apiVersion: nvidia.com/v1beta1',
        'kind: DynamoGraphDeployment',
        'metadata:',
        '  name: m',
        'spec:',
        '  components:',
        '    - name: frontend',
        '      type: frontend',
        '      replica: 1',
        '      podTemplate:',
        '        spec:',
        '          containers:',
        '            - name: main',
        '              image: img:1.0.0',
        '---',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'broken.yaml'), 'a: [1, 2\nb: c\n');
    const result = await validateManifests([dir], { cwd: dir });
    expect(result.summary).toEqual({ files: 2, resources: 2, errors: 2, warnings: 0, skipped: 0 });
    expect(result.problems.map((p) => `${p.file}:${p.line} ${p.code} ${p.path} ${p.message}`)).toMatchInlineSnapshot(`
      [
        "broken.yaml:2 YAML_PARSE  YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1",
        "all.yaml:16 UNKNOWN_FIELD /spec/components/0/replica unknown field "replica"",
      ]
    `);
  });

  it('a missing path is a usage error naming it', async () => {
    await expect(validateManifests(['nope/'], { cwd: dir })).rejects.toThrow('no such file or directory: nope/');
  });
});
