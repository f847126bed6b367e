import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.ts';
import { findKubectl } from '@llm-recipes/validate';
import { captureIo, type CapturedIo } from '../testing.ts';

const root = mkdtempSync(join(tmpdir(), 'cli-validate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const io = (): CapturedIo => captureIo(root, { env: { PATH: '' } });

mkdirSync(join(root, 'clusters/lab'), { recursive: true });
writeFileSync(join(root, 'clusters/lab/kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cm.yaml\n');
writeFileSync(join(root, 'clusters/lab/cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: engine\ndata:\n  a: "1"\n');

describe('recipes validate', () => {
  it('passes a valid tree with exit 0 and says which validator ran', async () => {
    const out = io();
    expect(await main(['validate'], out)).toBe(0);
    expect(out.out).toContain('valid: 2 resources in 2 files — 0 errors, 0 warnings, 0 skipped (schemas: embedded)');
  });

  it('reports problems grouped by file and exits 1; --json carries the same problems', async () => {
    writeFileSync(join(root, 'clusters/lab/job.yaml'), 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: bench\nspec:\n  backoffLimit: x\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: b\n          image: i\n          envFrom:\n            - configMapRef:\n                name: missing\n');
    const out = io();
    expect(await main(['validate', 'clusters/', '--embedded'], out)).toBe(1);
    expect(out.out).toMatchInlineSnapshot(`
      "clusters/lab/job.yaml
           6 ✖ Job/bench /spec/backoffLimit: must be integer, got string "x" [TYPE_MISMATCH]
          15 ✖ Job/bench /spec/template/spec/containers/0/envFrom/0/configMapRef/name: ConfigMap "missing" is referenced but not defined in the tree [MISSING_REFERENCE]
             hint: render the ConfigMap alongside this object, or declare it external (--external configmap:missing)

      clusters/lab/kustomization.yaml
           4 ✖ Kustomization /resources: job.yaml is in this directory but not listed in resources [KUSTOMIZATION_UNLISTED_FILE]
             hint: add "job.yaml" to resources (or name it as a patch) or move the file out of the tree

      invalid: 3 resources in 3 files — 3 errors, 0 warnings, 0 skipped (schemas: embedded)
      note: GPU fit per node not checked (no GPU catalog under recipes/gpus)
      "
    `);
    const json = io();
    expect(await main(['validate', '--json'], json)).toBe(1);
    const parsed = JSON.parse(json.out);
    expect(parsed.validator).toBe('embedded');
    expect(parsed.problems.map((p: { code: string }) => p.code).sort()).toEqual(['KUSTOMIZATION_UNLISTED_FILE', 'MISSING_REFERENCE', 'TYPE_MISMATCH']);
    rmSync(join(root, 'clusters/lab/job.yaml'));
  });

  it('a null field is a warning with file:line and a hint, and does not fail the run (embedded and kubeconform alike)', async () => {
    mkdirSync(join(root, 'nulls'), { recursive: true });
    writeFileSync(join(root, 'nulls/kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - dgd.yaml\n');
    writeFileSync(
      join(root, 'nulls/dgd.yaml'),
      'apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata:\n  name: qwen3\nspec:\n  components:\n    - name: frontend\n      type: frontend\n      replicas: null\n      podTemplate:\n        spec:\n          containers:\n            - name: main\n              image: img:1\n',
    );
    const embedded = io();
    expect(await main(['validate', 'nulls/'], embedded)).toBe(0);
    expect(embedded.out).toContain('     9 ⚠ DynamoGraphDeployment/qwen3 /spec/components/0/replicas: explicit null: the API server drops "replicas" [NULL_VALUE]\n       hint: the API server drops it; remove the line');
    expect(embedded.out).toContain('valid: 2 resources in 2 files — 0 errors, 1 warning, 0 skipped (schemas: embedded)');
    // kubeconform (a stand-in at the wire, as in packages/validate) judges the schema; the null warning is the same
    const bin = join(root, 'bin');
    mkdirSync(bin, { recursive: true });
    // printf is a shell builtin: the run's PATH is empty
    writeFileSync(join(bin, 'kubeconform'), `#!/bin/sh\nprintf '%s\\n' '${JSON.stringify({ resources: [{ filename: 'nulls/dgd.yaml', kind: 'DynamoGraphDeployment', name: 'qwen3', version: 'nvidia.com/v1beta1', status: 'statusValid', msg: '' }], summary: { valid: 1, invalid: 0, errors: 0, skipped: 0 } })}'\n`);
    chmodSync(join(bin, 'kubeconform'), 0o755);
    const kc = io();
    expect(await main(['validate', 'nulls/', '--kubeconform', 'bin/kubeconform'], kc), kc.err).toBe(0);
    expect(kc.out).toContain('     9 ⚠ DynamoGraphDeployment/qwen3 /spec/components/0/replicas: explicit null: the API server drops "replicas" [NULL_VALUE]');
    expect(kc.out).toContain('0 errors, 1 warning, 0 skipped (schemas: kubeconform)');
    rmSync(join(root, 'nulls'), { recursive: true });
  });

  it.skipIf(!findKubectl())('--kustomize-build runs kubectl kustomize on the kustomization roots and validates the output', async () => {
    cpSync(join(import.meta.dirname, '../../../../packages/validate/fixtures/dynamo'), join(root, 'dynamo'), { recursive: true });
    const out = captureIo(root, { env: { PATH: dirname(findKubectl()!) } });
    expect(await main(['validate', 'dynamo/', '--kustomize-build', 'always'], out)).toBe(0);
    expect(out.out).toMatch(/kustomize build: 2 root\(s\) built with .*kubectl \(kustomize v5\.\d+\.\d+\) and validated/);
    const json = captureIo(root, { env: { PATH: dirname(findKubectl()!) } });
    expect(await main(['validate', 'dynamo/', '--json'], json)).toBe(0);
    expect(JSON.parse(json.out).kustomizeBuild).toMatchObject({ built: true, roots: ['dynamo/model-cache', 'dynamo/overlays/aws-efa'] });
    // without kubectl the same tree is checked structurally, and the report says so
    const bare = io();
    expect(await main(['validate', 'dynamo/'], bare)).toBe(0);
    expect(bare.out).toContain('note: kustomize build skipped — kubectl not found: patches and components were checked structurally, not applied');
    rmSync(join(root, 'dynamo'), { recursive: true });
  });

  it('rejects bad flags as usage errors', async () => {
    const mode = io();
    expect(await main(['validate', '--kustomize-build', 'sometimes'], mode)).toBe(2);
    expect(mode.err).toContain('--kustomize-build sometimes: expected auto, always or never');
    const out = io();
    expect(await main(['validate', '--external', 'bogus'], out)).toBe(2);
    expect(out.err).toContain('expected secret:NAME, configmap:NAME or pvc:NAME');
    const missing = io();
    expect(await main(['validate', 'nowhere/'], missing)).toBe(2);
    expect(missing.err).toContain('no such file or directory: nowhere/');
  });
});
