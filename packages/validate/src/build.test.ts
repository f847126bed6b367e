import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findKubectl, kubectlError, kustomizeBuild, kustomizeRoots, validateTree } from './index.ts';
import { loadManifests } from './load.ts';

// `kubectl kustomize` for real (kubectl carries kustomize; it is on the machine image): the upstream Dynamo
// fixtures are built and the output validated. Without kubectl the build tests cannot run and say so.
const kubectl = findKubectl();
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'dynamo');

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'validate-build-'));
  cpSync(FIXTURES, join(root, 'dynamo'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, text: string): void {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

const COMPONENT = 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n';
const OVERLAY = (component: string) => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../base]\ncomponents: [../../components/${component}]\n`;

describe('kustomize roots', () => {
  it('are the Kustomizations no other kustomization includes; Components never are', () => {
    const loaded = loadManifests(['dynamo'], root);
    expect(kustomizeRoots(loaded).map((d) => d.slice(root.length + 1))).toEqual(['dynamo/model-cache', 'dynamo/overlays/aws-efa']);
  });
});

describe.skipIf(!kubectl)('kubectl kustomize, then the schema pass on its output', () => {
  it('builds the upstream aws-efa component onto the upstream DGD and finds nothing new', async () => {
    const source = await validateTree(['dynamo'], { cwd: root, schemas: true });
    const { result, report } = await kustomizeBuild(['dynamo'], { cwd: root, sourceProblems: source.problems });
    expect(report).toMatchObject({ built: true, roots: ['dynamo/model-cache', 'dynamo/overlays/aws-efa'], kubectl });
    expect(report.kustomizeVersion).toMatch(/^v\d+\.\d+/);
    expect(result.problems).toEqual([]);
  });

  it('reports what a patch breaks at the source document, with its line, and says so', async () => {
    write('dynamo/components/bad/kustomization.yaml', `${COMPONENT}patches:\n  - target: {group: nvidia.com, kind: DynamoGraphDeployment}\n    patch: |-\n      - op: add\n        path: /spec/services/VllmDecodeWorker/replicaz\n        value: 3\n      - op: replace\n        path: /spec/services/VllmDecodeWorker/replicas\n        value: two\n`);
    write('dynamo/overlays/bad/kustomization.yaml', OVERLAY('bad'));
    const source = await validateTree(['dynamo'], { cwd: root, schemas: true });
    expect(source.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const { result } = await kustomizeBuild(['dynamo'], { cwd: root, sourceProblems: source.problems });
    expect(result.problems.map((p) => `${p.file}:${p.line} ${p.severity} ${p.code} ${p.path} ${p.message}`)).toEqual([
      'dynamo/base/deploy.yaml:101 error UNKNOWN_FIELD /spec/services/VllmDecodeWorker/replicaz unknown field "replicaz" (after kustomize build of dynamo/overlays/bad)',
      'dynamo/base/deploy.yaml:163 error TYPE_MISMATCH /spec/services/VllmDecodeWorker/replicas must be integer, got string "two" (after kustomize build of dynamo/overlays/bad)',
    ]);
  });

  it('a JSON patch path that does not exist fails the build with kustomize\'s own message', async () => {
    write('dynamo/components/nowhere/kustomization.yaml', `${COMPONENT}patches:\n  - target: {kind: DynamoGraphDeployment}\n    patch: |-\n      - op: replace\n        path: /spec/services/TrtllmWorker/replicas\n        value: 2\n`);
    write('dynamo/overlays/nowhere/kustomization.yaml', OVERLAY('nowhere'));
    const source = await validateTree(['dynamo'], { cwd: root, schemas: true });
    const { result } = await kustomizeBuild(['dynamo'], { cwd: root, sourceProblems: source.problems });
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({ file: 'dynamo/overlays/nowhere/kustomization.yaml', code: 'KUSTOMIZE_BUILD_FAILED', severity: 'error' });
    expect(result.problems[0]!.message).toMatch(/^kubectl kustomize dynamo\/overlays\/nowhere failed: .*TrtllmWorker/);
    expect(result.problems[0]!.message).not.toMatch(/run\.go|command failed/);
  });
});

describe('build modes', () => {
  it('auto without kubectl: no build, and the report says the patches were checked structurally only', async () => {
    const { result, report } = await kustomizeBuild(['dynamo'], { cwd: root, env: { PATH: '' } });
    expect(result.problems).toEqual([]);
    expect(report).toEqual({ built: false, roots: ['dynamo/model-cache', 'dynamo/overlays/aws-efa'], reason: 'kubectl not found: patches and components were checked structurally, not applied' });
  });

  it('always without kubectl is a usage error; never does nothing; auto skips a tree without transforms', async () => {
    await expect(kustomizeBuild(['dynamo'], { cwd: root, env: { PATH: '' }, mode: 'always' })).rejects.toMatchObject({ code: 'KUBECTL_NOT_FOUND' });
    expect((await kustomizeBuild(['dynamo'], { cwd: root, mode: 'never' })).report.built).toBe(false);
    const plain = await kustomizeBuild(['dynamo/model-cache'], { cwd: root, mode: 'auto' });
    expect(plain.report).toMatchObject({ built: false, reason: 'no kustomization uses patches, components or generators' });
  });

  it('kustomize messages lose kubectl\'s log frame', () => {
    expect(kubectlError('E1204 21:43:48.993897     757 run.go:72] "command failed" err="accumulating resources: \\"x\\" is a Component"\n')).toBe('accumulating resources: "x" is a Component');
    expect(kubectlError('error: no such file\n')).toBe('no such file');
  });
});
