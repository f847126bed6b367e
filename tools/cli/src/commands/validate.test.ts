import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.ts';
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
             hint: add "job.yaml" to resources or move the file out of the tree

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

  it('rejects bad flags as usage errors', async () => {
    const out = io();
    expect(await main(['validate', '--external', 'bogus'], out)).toBe(2);
    expect(out.err).toContain('expected secret:NAME, configmap:NAME or pvc:NAME');
    const missing = io();
    expect(await main(['validate', 'nowhere/'], missing)).toBe(2);
    expect(missing.err).toContain('no such file or directory: nowhere/');
  });
});
