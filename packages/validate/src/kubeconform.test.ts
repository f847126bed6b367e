import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findKubeconform, runKubeconform, type KubeconformOutput } from './index.ts';

// kubeconform cannot be installed here: a stand-in executable named `kubeconform` on PATH records its argv and
// prints a report in kubeconform's JSON format (pkg/output/json.go), with the exit code kubeconform would use.
const work = mkdtempSync(join(tmpdir(), 'validate-kubeconform-'));
const bin = join(work, 'bin');
mkdirSync(bin);
const fake = join(bin, 'kubeconform');
writeFileSync(
  fake,
  `#!/bin/sh
dir="$(dirname "$0")"
printf '%s\\n' "$@" > "$dir/argv.txt"
cat "$dir/stdout.txt"
cat "$dir/stderr.txt" >&2
exit "$(cat "$dir/exit.txt")"
`,
);
chmodSync(fake, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));

function respond(stdout: string, exit: number, stderr = ''): void {
  writeFileSync(join(bin, 'stdout.txt'), stdout);
  writeFileSync(join(bin, 'stderr.txt'), stderr);
  writeFileSync(join(bin, 'exit.txt'), String(exit));
}

const env = { ...process.env, PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}` };

const manifests = join(work, 'clusters');
mkdirSync(manifests);
writeFileSync(
  join(manifests, 'dgd.yaml'),
  [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: engine',
    '---',
    'apiVersion: nvidia.com/v1beta1',
    'kind: DynamoGraphDeployment',
    'metadata:',
    '  name: qwen3',
    'spec:',
    '  components:',
    '    - name: decode',
    '      replicas: two',
    '',
  ].join('\n'),
);

const invalid: KubeconformOutput = {
  resources: [
    { filename: 'clusters/dgd.yaml', kind: 'ConfigMap', name: 'engine', version: 'v1', status: 'statusValid', msg: '', validationErrors: null },
    {
      filename: 'clusters/dgd.yaml',
      kind: 'DynamoGraphDeployment',
      name: 'qwen3',
      version: 'nvidia.com/v1beta1',
      status: 'statusInvalid',
      msg: 'problem validating schema. Check JSON formatting: jsonschema: \'/spec/components/0/replicas\' does not validate',
      validationErrors: [
        { path: '/spec/components/0/replicas', msg: 'expected integer, but got string' },
        { path: '/spec/components/0', msg: "additionalProperties 'replica' not allowed" },
      ],
    },
    { filename: 'clusters/grove.yaml', kind: 'PodCliqueSet', name: 'x', version: 'grove.io/v1alpha1', status: 'statusError', msg: 'could not find schema for PodCliqueSet' },
    { filename: 'clusters/skip.yaml', kind: 'Secret', name: 's', version: 'v1', status: 'statusSkipped', msg: '' },
  ],
  summary: { valid: 1, invalid: 1, errors: 1, skipped: 1 },
};

describe('runKubeconform (fake binary at the wire)', () => {
  it('finds kubeconform on PATH', () => {
    expect(findKubeconform(env)).toBe(fake);
    expect(findKubeconform({ PATH: work })).toBeUndefined();
  });

  it('passes the strict flags and the generated schema location, and maps an invalid report (exit 1)', async () => {
    respond(JSON.stringify(invalid, null, 2), 1);
    const result = await runKubeconform(['clusters/'], { cwd: work, env, externalKinds: ['Secret', 'grove.io/*'] });
    const argv = readFileSync(join(bin, 'argv.txt'), 'utf8').trim().split('\n');
    expect(argv.slice(0, 7)).toEqual(['-strict', '-summary', '-verbose', '-output', 'json', '-schema-location', 'default']);
    const local = argv[argv.indexOf('default') + 2]!;
    expect(local).toMatch(/\/\{\{ \.Group \}\}\/\{\{ \.ResourceKind \}\}_\{\{ \.ResourceAPIVersion \}\}\.json$/);
    // the location the binary is told about holds the generated DGD schema
    expect(existsSync(local.replace('{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}', 'nvidia.com/dynamographdeployment_v1beta1'))).toBe(true);
    expect(argv).toContain('https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json');
    expect(argv.join(' ')).toContain('-ignore-filename-pattern (^|/)kustomization\\.ya?ml$');
    expect(argv.join(' ')).toContain('-skip Secret');
    expect(argv.at(-1)).toBe('clusters/');

    expect(result.validator).toBe('kubeconform');
    expect(result.ok).toBe(false);
    expect(result.summary).toEqual({ files: 3, resources: 4, errors: 2, warnings: 0, skipped: 2 });
    expect(result.resources.map((r) => `${r.file}#${r.index} ${r.kind} ${r.status}`)).toEqual([
      'clusters/dgd.yaml#0 ConfigMap valid',
      'clusters/dgd.yaml#1 DynamoGraphDeployment invalid',
      'clusters/grove.yaml#0 PodCliqueSet skipped',
      'clusters/skip.yaml#0 Secret skipped',
    ]);
    expect(result.problems.map((p) => `${p.file}:${p.line ?? '-'} ${p.kind}/${p.name} ${p.code} ${p.path} ${p.message}`)).toMatchInlineSnapshot(`
      [
        "clusters/dgd.yaml:13 DynamoGraphDeployment/qwen3 TYPE_MISMATCH /spec/components/0/replicas expected integer, but got string",
        "clusters/dgd.yaml:12 DynamoGraphDeployment/qwen3 UNKNOWN_FIELD /spec/components/0 additionalProperties 'replica' not allowed",
      ]
    `);
  });

  it('a kind without a schema that is not declared external is an error', async () => {
    respond(JSON.stringify(invalid), 1);
    const result = await runKubeconform(['clusters/'], { cwd: work, env });
    expect(result.problems.filter((p) => p.kind === 'PodCliqueSet').map((p) => [p.code, p.message, p.hint])).toEqual([
      ['UNKNOWN_KIND', 'could not find schema for PodCliqueSet', 'declare the kind external (--external-kind) or add its CRD'],
    ]);
  });

  it('maps an all-valid report (exit 0)', async () => {
    respond(JSON.stringify({ resources: [invalid.resources![0]], summary: { valid: 1, invalid: 0, errors: 0, skipped: 0 } }), 0);
    const result = await runKubeconform(['clusters/'], { cwd: work, env });
    expect(result.ok).toBe(true);
    expect(result.problems).toEqual([]);
    expect(result.resources).toHaveLength(1);
  });

  it('fails clearly on a crash, on output that is not a report, and on exit 1 without an invalid resource', async () => {
    respond('', 2, 'flag provided but not defined: -bogus');
    await expect(runKubeconform(['clusters/'], { cwd: work, env })).rejects.toThrow(/exited with code 2:\nflag provided but not defined: -bogus/);
    respond('Summary: 1 resource found', 0);
    await expect(runKubeconform(['clusters/'], { cwd: work, env })).rejects.toThrow('did not print a JSON report');
    respond(JSON.stringify({ resources: [], summary: { valid: 0, invalid: 0, errors: 0, skipped: 0 } }), 1);
    await expect(runKubeconform(['clusters/'], { cwd: work, env })).rejects.toThrow('exited 1 but reported no invalid resource');
    await expect(runKubeconform(['clusters/'], { cwd: work, env: { PATH: work } })).rejects.toMatchObject({ code: 'KUBECONFORM_NOT_FOUND' });
  });
});
