import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateManifests, validateTree, type ValidationResult } from './index.ts';

// The kinds upstream Dynamo recipes ship (fixtures/dynamo, copied from ai-dynamo/dynamo: see its PROVENANCE.md)
// and the kustomize layouts they use, each accepted when valid and rejected when it is not. Every test works on a
// copy of the fixtures in a temporary directory.

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'dynamo');

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'validate-kinds-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, text: string): void {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

const lines = (r: ValidationResult) => r.problems.map((p) => `${p.file}:${p.line ?? '-'} ${p.severity} ${p.code} ${p.path} ${p.message}`);

describe('the upstream Dynamo fixtures', () => {
  it('are all accepted: DGD, kustomize Components and Kustomizations, ComputeDomain, PVC, Job, Pod', async () => {
    cpSync(FIXTURES, join(root, 'dynamo'), { recursive: true });
    const result = await validateTree(['dynamo'], { cwd: root, schemas: true });
    // the only note: upstream's DGD is the deprecated v1alpha1 form
    expect(lines(result)).toEqual(['dynamo/base/deploy.yaml:3 warning DEPRECATED_API /apiVersion nvidia.com/v1alpha1 DynamoGraphDeployment is deprecated by the CRD']);
    expect(result.ok).toBe(true);
    const kinds = result.resources.map((r) => `${r.apiVersion} ${r.kind} ${r.status}`).sort();
    expect(kinds).toEqual([
      'batch/v1 Job valid',
      'kustomize.config.k8s.io/v1alpha1 Component valid',
      'kustomize.config.k8s.io/v1alpha1 Component valid',
      'kustomize.config.k8s.io/v1beta1 Kustomization valid',
      'kustomize.config.k8s.io/v1beta1 Kustomization valid',
      'kustomize.config.k8s.io/v1beta1 Kustomization valid',
      'nvidia.com/v1alpha1 DynamoGraphDeployment valid',
      'resource.nvidia.com/v1beta1 ComputeDomain valid',
      'v1 PersistentVolumeClaim valid',
      'v1 Pod valid',
    ]);
    // the strategic-merge patch file is not a manifest: not validated, not counted, not a duplicate of its target
    expect(result.resources.some((r) => r.file.endsWith('patch-dgd.yaml'))).toBe(false);
  });
});

// One valid object per kind, and one change that makes it invalid (with the code it must produce).
const KINDS: { kind: string; doc: Record<string, unknown>; bad: (d: any) => void; code: string }[] = [
  {
    kind: 'v1 Pod',
    doc: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'perf' }, spec: { restartPolicy: 'Never', containers: [{ name: 'perf', image: 'python:3.12-slim', command: ['sleep', '1'] }] } },
    bad: (d) => (d.spec.containers[0].ports = [{ containerPort: 'http' }]),
    code: 'TYPE_MISMATCH',
  },
  {
    kind: 'batch/v1 Job',
    doc: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bench' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'b', image: 'i' }] } } } },
    bad: (d) => delete d.spec.template,
    code: 'REQUIRED_FIELD',
  },
  { kind: 'v1 ConfigMap', doc: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'runner' }, data: { 'run.sh': 'echo' } }, bad: (d) => (d.data = { n: 1 }), code: 'TYPE_MISMATCH' },
  { kind: 'v1 Secret', doc: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hf' }, stringData: { HF_TOKEN: 'x' } }, bad: (d) => (d.immutable = 'yes'), code: 'TYPE_MISMATCH' },
  {
    kind: 'v1 PersistentVolumeClaim',
    doc: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'model-cache' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '700Gi' } } } },
    bad: (d) => (d.spec.accessModes = 'ReadWriteMany'),
    code: 'TYPE_MISMATCH',
  },
  { kind: 'v1 Service', doc: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'frontend' }, spec: { ports: [{ port: 8000 }] } }, bad: (d) => delete d.spec.ports[0].port, code: 'REQUIRED_FIELD' },
  { kind: 'v1 ServiceAccount', doc: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'epp' } }, bad: (d) => (d.automountServiceAccountToken = 'no'), code: 'TYPE_MISMATCH' },
  {
    kind: 'rbac.authorization.k8s.io/v1 Role',
    doc: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'epp' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] },
    bad: (d) => delete d.rules[0].verbs,
    code: 'REQUIRED_FIELD',
  },
  {
    kind: 'rbac.authorization.k8s.io/v1 RoleBinding',
    doc: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'epp' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'epp' }, subjects: [{ kind: 'ServiceAccount', name: 'epp' }] },
    bad: (d) => delete d.roleRef,
    code: 'REQUIRED_FIELD',
  },
  {
    kind: 'resource.k8s.io/v1 ResourceClaimTemplate',
    doc: {
      apiVersion: 'resource.k8s.io/v1',
      kind: 'ResourceClaimTemplate',
      metadata: { name: 'worker-a4-devices' },
      spec: { spec: { devices: { requests: [{ name: 'gpu-0', exactly: { deviceClassName: 'gpu.nvidia.com', allocationMode: 'ExactCount', count: 1 } }] } } },
    },
    bad: (d) => (d.spec.spec.devices.requests[0].exactly.count = 'one'),
    code: 'TYPE_MISMATCH',
  },
  {
    kind: 'resource.nvidia.com/v1beta1 ComputeDomain',
    doc: { apiVersion: 'resource.nvidia.com/v1beta1', kind: 'ComputeDomain', metadata: { name: 'kimi-k3-compute-domain' }, spec: { numNodes: 0, channel: { allocationMode: 'Single', resourceClaimTemplate: { name: 'kimi-k3-compute-domain-channel' } } } },
    bad: (d) => (d.spec.channel.allocationMode = 'Every'),
    code: 'ENUM',
  },
];

describe('kinds upstream recipes ship', () => {
  for (const { kind, doc, bad, code } of KINDS) {
    it(`${kind}: accepted when valid, ${code} when not`, async () => {
      const ok = await validateManifests([{ file: 'ok.yaml', content: doc }]);
      expect(lines(ok)).toEqual([]);
      expect(ok.resources[0]?.status).toBe('valid');
      const broken = structuredClone(doc);
      bad(broken);
      const result = await validateManifests([{ file: 'bad.yaml', content: broken }]);
      expect(result.ok).toBe(false);
      expect(result.problems.map((p) => p.code)).toContain(code);
    });
  }

  it('ComputeDomain: the CRD is strict (unknown field) and requires spec.channel', async () => {
    const result = await validateManifests([{ file: 'cd.yaml', content: { apiVersion: 'resource.nvidia.com/v1beta1', kind: 'ComputeDomain', metadata: { name: 'cd' }, spec: { numNode: 2 } } }]);
    expect(lines(result).sort()).toEqual(['cd.yaml:- error REQUIRED_FIELD /spec/channel missing required field "channel"', 'cd.yaml:- error UNKNOWN_FIELD /spec/numNode unknown field "numNode"']);
  });
});

const KUSTOMIZE = 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n';
const COMPONENT = 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n';
const DGD = (name: string) => `apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata:\n  name: ${name}\nspec:\n  components:\n    - name: frontend\n      type: frontend\n      podTemplate:\n        spec:\n          containers:\n            - name: main\n              image: img:1\n`;

describe('kustomize configuration', () => {
  it('accepts patches (inline strategic merge and JSON 6902, path patches, target selectors), components and the deprecated patch fields with a warning', async () => {
    write('base/kustomization.yaml', `${KUSTOMIZE}resources: [dgd.yaml]\n`);
    write('base/dgd.yaml', DGD('qwen3'));
    write('comp/kustomization.yaml', `${COMPONENT}patches:\n  - path: patch.yaml\n    target: {group: nvidia.com, version: v1beta1, kind: DynamoGraphDeployment, labelSelector: "app=qwen3"}\n    options: {allowNameChange: false}\n`);
    write('comp/patch.yaml', '- op: replace\n  path: /spec/components/0/replicas\n  value: 2\n');
    write(
      'overlay/kustomization.yaml',
      [
        KUSTOMIZE.trimEnd(),
        'resources: [../base]',
        'components: [../comp]',
        'namePrefix: prod-',
        'images: [{name: img, newTag: "2"}]',
        'patches:',
        '  - patch: |-',
        '      apiVersion: nvidia.com/v1beta1',
        '      kind: DynamoGraphDeployment',
        '      metadata: {name: qwen3}',
        '      spec: {backendFramework: vllm}',
        '  - target: {kind: DynamoGraphDeployment, name: qwen3}',
        '    patch: |-',
        '      - op: add',
        '        path: /metadata/labels',
        '        value: {tier: prod}',
        'patchesStrategicMerge:',
        '  - smp.yaml',
        'patchesJson6902:',
        '  - target: {group: nvidia.com, version: v1beta1, kind: DynamoGraphDeployment, name: qwen3}',
        '    path: json6902.yaml',
        '',
      ].join('\n'),
    );
    write('overlay/smp.yaml', 'apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata:\n  name: qwen3\nspec:\n  components:\n    - name: frontend\n      replicas: null\n');
    write('overlay/json6902.yaml', '[{"op": "remove", "path": "/spec/backendFramework"}]\n');
    const result = await validateTree(['.'], { cwd: root, schemas: true });
    expect(lines(result)).toEqual([
      'overlay/kustomization.yaml:19 warning DEPRECATED_FIELD /patchesStrategicMerge patchesStrategicMerge is deprecated by kustomize; use patches',
      'overlay/kustomization.yaml:21 warning DEPRECATED_FIELD /patchesJson6902 patchesJson6902 is deprecated by kustomize; use patches',
    ]);
    expect(result.ok).toBe(true);
    // patch files are neither manifests nor unlisted files
    expect(result.resources.map((r) => r.file).sort()).toEqual(['base/dgd.yaml', 'base/kustomization.yaml', 'comp/kustomization.yaml', 'overlay/kustomization.yaml']);
  });

  it('rejects what kustomize rejects: unknown fields, a Component with the Kustomization apiVersion, bad patches, misplaced components, missing files', async () => {
    write('base/kustomization.yaml', `${KUSTOMIZE}resources: [dgd.yaml]\n`);
    write('base/dgd.yaml', DGD('qwen3'));
    write('comp/kustomization.yaml', `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Component\npatchs: []\npatches:\n  - path: p.yaml\n    patch: "[]"\n  - patch: |-\n      - op: upsert\n        path: spec/x\n    target: {kind: DynamoGraphDeployment, nmae: x}\n`);
    write('comp/p.yaml', '[]\n');
    write('overlay/kustomization.yaml', `${KUSTOMIZE}resources: [../base, ../comp]\ncomponents: [../base, ../gone]\npatches:\n  - path: missing.yaml\n  - patch: |-\n      spec: {a: 1}\n`);
    const result = await validateTree(['.'], { cwd: root, schemas: true });
    expect(result.ok).toBe(false);
    expect(lines(result)).toMatchInlineSnapshot(`
      [
        "comp/kustomization.yaml:1 error ENUM /apiVersion apiVersion for Component should be kustomize.config.k8s.io/v1alpha1; got "kustomize.config.k8s.io/v1beta1"",
        "comp/kustomization.yaml:3 error UNKNOWN_FIELD /patchs unknown field "patchs"",
        "comp/kustomization.yaml:5 error KUSTOMIZE_PATCH_INVALID /patches/0 set either path or patch, not both",
        "comp/kustomization.yaml:7 error KUSTOMIZE_PATCH_INVALID /patches/1/patch operation 1: op must be one of add, remove, replace, move, copy, test; got "upsert"",
        "comp/kustomization.yaml:10 error UNKNOWN_FIELD /patches/1/target/nmae unknown field "nmae"",
        "comp/p.yaml:1 error KUSTOMIZE_PATCH_INVALID  a JSON 6902 patch needs a target",
        "overlay/kustomization.yaml:3 error KUSTOMIZATION_NOT_A_COMPONENT /resources/1 resource "../comp" is a Component: kustomize only accepts it under components",
        "overlay/kustomization.yaml:4 error KUSTOMIZATION_NOT_A_COMPONENT /components/0 component "../base" is a Kustomization, not a kustomize Component",
        "overlay/kustomization.yaml:4 error KUSTOMIZATION_MISSING_RESOURCE /components/1 component "../gone" does not exist",
        "overlay/kustomization.yaml:6 error KUSTOMIZATION_MISSING_RESOURCE /patches/0/path patch file "missing.yaml" does not exist",
        "overlay/kustomization.yaml:7 error KUSTOMIZE_PATCH_INVALID /patches/1/patch a strategic-merge patch without target needs apiVersion, kind, metadata.name to find the object it patches",
      ]
    `);
  });

  it('a patch file is checked as a patch: JSON 6902 operations need op, a JSON-pointer path and a value', async () => {
    write('comp/kustomization.yaml', `${COMPONENT}patches:\n  - path: ops.yaml\n    target: {kind: Deployment}\n`);
    write('comp/ops.yaml', '- op: add\n  path: /spec/replicas\n- op: jump\n  path: /x\n');
    const result = await validateTree(['.'], { cwd: root, schemas: true });
    expect(lines(result)).toMatchInlineSnapshot(`
      [
        "comp/ops.yaml:1 error KUSTOMIZE_PATCH_INVALID  operation 1 (add): needs a value",
        "comp/ops.yaml:1 error KUSTOMIZE_PATCH_INVALID  operation 2: op must be one of add, remove, replace, move, copy, test; got "jump"",
      ]
    `);
  });

  it('a null in a kustomization is a warning (kustomize ignores it)', async () => {
    write('kustomization.yaml', `${KUSTOMIZE}namespace:\nresources:\n  - cm.yaml\n`);
    write('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n');
    const result = await validateTree(['.'], { cwd: root, schemas: true });
    expect(result.ok).toBe(true);
    expect(lines(result)).toMatchInlineSnapshot(`
      [
        "cm.yaml:5 warning NULL_VALUE /metadata/labels explicit null: the API server drops "labels"",
        "kustomization.yaml:3 warning NULL_VALUE /namespace explicit null: kustomize ignores "namespace"",
      ]
    `);
  });
});
