import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { ensureSchemaDir, findKubeconform, runKubeconform, validateManifests, type KubeconformOutput } from './index.ts';

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

  it('a kind without any schema is judged as the embedded validator judges it: a CRD is skipped with a warning, a typo is an error', async () => {
    const report: KubeconformOutput = {
      resources: [
        { filename: 'clusters/grove.yaml', kind: 'PodCliqueSet', name: 'x', version: 'grove.io/v1alpha1', status: 'statusError', msg: 'could not find schema for PodCliqueSet' },
        { filename: 'clusters/typo.yaml', kind: 'Pdo', name: 'y', version: 'v1', status: 'statusError', msg: 'could not find schema for Pdo' },
      ],
      summary: { valid: 0, invalid: 0, errors: 2, skipped: 0 },
    };
    respond(JSON.stringify(report), 1);
    const result = await runKubeconform(['clusters/'], { cwd: work, env });
    expect(result.problems.map((p) => [p.kind, p.severity, p.code, p.message])).toEqual([
      ['PodCliqueSet', 'warning', 'NO_SCHEMA', 'no schema for grove.io/v1alpha1 PodCliqueSet: not validated'],
      ['Pdo', 'error', 'UNKNOWN_KIND', 'Kubernetes v1 has no kind Pdo'],
    ]);
    expect(result.resources.map((r) => `${r.kind} ${r.status}`)).toEqual(['PodCliqueSet skipped', 'Pdo invalid']);
  });

  it('tells kubeconform to skip the patch files and inputs the kustomizations name', async () => {
    mkdirSync(join(manifests, 'comp'), { recursive: true });
    writeFileSync(join(manifests, 'comp', 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - path: patch-dgd.yaml\n    target: {kind: DynamoGraphDeployment}\nconfigMapGenerator:\n  - name: engine\n    files: [engine.yaml=vllm.args.yaml]\n');
    respond(JSON.stringify({ resources: [], summary: { valid: 0, invalid: 0, errors: 0, skipped: 0 } }), 0);
    await runKubeconform(['clusters/'], { cwd: work, env });
    const argv = readFileSync(join(bin, 'argv.txt'), 'utf8').trim().split('\n');
    const ignored = argv.filter((_, i) => argv[i - 1] === '-ignore-filename-pattern');
    expect(ignored).toContain(String.raw`(^|/)clusters/comp/patch-dgd\.yaml$`);
    expect(ignored).toContain(String.raw`(^|/)clusters/comp/vllm\.args\.yaml$`);
    rmSync(join(manifests, 'comp'), { recursive: true, force: true });
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

describe('the schema files kubeconform reads judge nulls as the embedded validator does', () => {
  // kubeconform is not installable here: a standard JSON Schema validator reading the very files kubeconform is
  // pointed at stands in for its engine, and must agree with the embedded verdict document by document.
  const file = join(ensureSchemaDir(), 'nvidia.com', 'dynamographdeployment_v1beta1.json');
  const onDisk = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(JSON.parse(readFileSync(file, 'utf8')));
  const base = () => ({
    apiVersion: 'nvidia.com/v1beta1',
    kind: 'DynamoGraphDeployment',
    metadata: { name: 'qwen3', labels: null as unknown },
    spec: { backendFramework: 'vllm', components: [{ name: 'frontend', type: 'frontend', replicas: null as unknown, podTemplate: { spec: { containers: [{ name: 'main', image: 'img:1', args: ['--a'] as unknown[] }] } } }] },
  });
  const cases: [string, (d: ReturnType<typeof base>) => void, boolean][] = [
    ['null fields (dropped by the API server)', () => {}, true],
    ['a null list item', (d) => d.spec.components[0]!.podTemplate.spec.containers[0]!.args.push(null), false],
    ['an unknown field', (d) => Object.assign(d.spec, { replicaz: 1 }), false],
    ['a wrong type', (d) => (d.spec.components[0]!.replicas = 'two'), false],
  ];
  for (const [what, edit, valid] of cases) {
    it(`${what}: ${valid ? 'valid' : 'invalid'} in both`, async () => {
      const doc = base();
      edit(doc);
      const embedded = await validateManifests([{ file: 'dgd.yaml', content: doc }]);
      expect(embedded.ok).toBe(valid);
      expect(onDisk(doc)).toBe(valid);
    });
  }
});
