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

  it('null fields are warnings (the API server drops them), null list items are errors, and the verdict stays ok', async () => {
    const doc = mutate(dgdV1beta1(), (d) => {
      d.spec.components[0].podTemplate.spec.initContainers = null;
      d.metadata.labels = null;
      d.spec.components[1].replicas = null;
    });
    const result = await validateManifests([{ file: 'mem.yaml', content: doc }]);
    expect(result.ok).toBe(true);
    expect(result.resources[0]?.status).toBe('valid');
    expect(result.problems.map(({ severity, path, code, message, hint }) => ({ severity, path, code, message, hint }))).toMatchInlineSnapshot(`
      [
        {
          "code": "NULL_VALUE",
          "hint": "the API server drops it; remove the line",
          "message": "explicit null: the API server drops "labels"",
          "path": "/metadata/labels",
          "severity": "warning",
        },
        {
          "code": "NULL_VALUE",
          "hint": "the API server drops it; remove the line",
          "message": "explicit null: the API server drops "initContainers"",
          "path": "/spec/components/0/podTemplate/spec/initContainers",
          "severity": "warning",
        },
        {
          "code": "NULL_VALUE",
          "hint": "the API server drops it; remove the line",
          "message": "explicit null: the API server drops "replicas"",
          "path": "/spec/components/1/replicas",
          "severity": "warning",
        },
      ]
    `);
    // a null list item is not pruned: the schema rejects it
    const item = mutate(dgdV1beta1(), (d) => {
      d.spec.components[1].podTemplate.spec.containers[0].args = ['--model', null];
    });
    const bad = await validateManifests([{ file: 'mem.yaml', content: item }]);
    expect(bad.ok).toBe(false);
    expect(bad.problems.map(({ severity, path, code, message, hint }) => ({ severity, path, code, message, hint }))).toMatchInlineSnapshot(`
      [
        {
          "code": "TYPE_MISMATCH",
          "hint": "a null list item is not dropped by the API server: remove it",
          "message": "must be string, got null",
          "path": "/spec/components/1/podTemplate/spec/containers/0/args/1",
          "severity": "error",
        },
      ]
    `);
  });

  it('a null field with a schema default is replaced by it; a null inside preserve-unknown-fields is kept (no warning)', async () => {
    const alpha = mutate(dgdV1alpha1(), (d) => {
      d.spec.services.VllmDecodeWorker.checkpoint = { enabled: null };
    });
    const dgdr = {
      apiVersion: 'nvidia.com/v1beta1',
      kind: 'DynamoGraphDeploymentRequest',
      metadata: { name: 'qwen3' },
      spec: { model: 'Qwen/Qwen3-32B', features: { planner: { mode: 'disagg', min_endpoint: null } } },
    };
    const result = await validateManifests([
      { file: 'alpha.yaml', content: alpha },
      { file: 'dgdr.yaml', content: dgdr },
    ]);
    expect(result.problems.filter((p) => p.code !== 'DEPRECATED_API').map(({ file, severity, path, code, message }) => ({ file, severity, path, code, message }))).toMatchInlineSnapshot(`
      [
        {
          "code": "NULL_VALUE",
          "file": "alpha.yaml",
          "message": "explicit null: the API server replaces "enabled" with its default false",
          "path": "/spec/services/VllmDecodeWorker/checkpoint/enabled",
          "severity": "warning",
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

  it('a CRD kind without a schema is skipped with a warning (not an error, never silently valid)', async () => {
    const doc = { apiVersion: 'grove.io/v1alpha1', kind: 'PodCliqueSet', metadata: { name: 'x' } };
    const unknown = await validateManifests([{ file: 'x.yaml', content: doc }]);
    expect(unknown.ok).toBe(true);
    expect(unknown.resources[0]?.status).toBe('skipped');
    expect(unknown.problems.map(({ severity, path, code, message, hint }) => ({ severity, path, code, message, hint }))).toMatchInlineSnapshot(`
      [
        {
          "code": "NO_SCHEMA",
          "hint": "add its CRD to validate it, or declare it external (--external-kind) if another tool does",
          "message": "no schema for grove.io/v1alpha1 PodCliqueSet: not validated",
          "path": "/apiVersion",
          "severity": "warning",
        },
      ]
    `);
    // declared external: skipped without a word
    const external = await validateManifests([{ file: 'x.yaml', content: doc }], { externalKinds: ['grove.io/*'] });
    expect(external.problems).toEqual([]);
    expect(external.resources[0]?.status).toBe('skipped');
  });

  it('an unknown version of a vendored CRD, or a kind Kubernetes does not have, is an error', async () => {
    const result = await validateManifests([
      { file: 'a.yaml', content: { apiVersion: 'nvidia.com/v1', kind: 'DynamoGraphDeployment', metadata: { name: 'x' } } },
      { file: 'b.yaml', content: { apiVersion: 'v1', kind: 'Pdo', metadata: { name: 'x' } } },
      { file: 'c.yaml', content: { apiVersion: 'apps/v1', kind: 'Pod', metadata: { name: 'x' } } },
    ]);
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => `${p.file} ${p.severity} ${p.code} ${p.path}: ${p.message} (${p.hint})`)).toMatchInlineSnapshot(`
      [
        "a.yaml error UNKNOWN_KIND /apiVersion: no schema for nvidia.com/v1 DynamoGraphDeployment (DynamoGraphDeployment is known as nvidia.com/v1alpha1 or nvidia.com/v1beta1)",
        "b.yaml error UNKNOWN_KIND /kind: Kubernetes v1 has no kind Pdo (check the spelling of kind and apiVersion; the schemas are those of Kubernetes v1.36.0)",
        "c.yaml error UNKNOWN_KIND /kind: Kubernetes apps/v1 has no kind Pod (check the spelling of kind and apiVersion; the schemas are those of Kubernetes v1.36.0)",
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
        "b/kustomization.yaml /resources/0 KUSTOMIZATION_RESOURCE_PATH: resources entries must be relative paths inside the tree; got "https://example.com/x.yaml"",
        "b/kustomization.yaml /resources/1 KUSTOMIZATION_RESOURCE_PATH: resources entries must be relative paths inside the tree; got "/abs.yaml"",
        "b/kustomization.yaml /apiVersion ENUM: apiVersion for Kustomization should be kustomize.config.k8s.io/v1beta1; got "kustomize.config.k8s.io/v1"",
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
