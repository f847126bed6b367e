import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schemaMessages } from './ajv-errors.ts';
import { loadCrdSchemas, splitSchema } from './schemas.ts';

const addFormats = addFormatsModule.default;

function compile(schema: object, inlineRefs: boolean): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true, verbose: true, logger: false, inlineRefs });
  addFormats(ajv);
  for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password']) ajv.addFormat(f, true);
  return ajv.compile(schema);
}

const IMAGE = 'nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.0';
const probe = { httpGet: { path: '/health', port: 9090 }, periodSeconds: 10, failureThreshold: 3 };
const container = {
  name: 'main',
  image: IMAGE,
  args: ['--model', 'Qwen/Qwen3-32B'],
  env: [{ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'hf-token-secret', key: 'HF_TOKEN' } } }],
  ports: [{ name: 'system', containerPort: 9090, protocol: 'TCP' }],
  resources: { limits: { 'nvidia.com/gpu': '2', memory: '64Gi' } },
  livenessProbe: probe,
  readinessProbe: probe,
  startupProbe: probe,
  volumeMounts: [{ name: 'engine', mountPath: '/engine' }],
};
// A DGD touching the large, shared parts of the schema: containers, probes, env sources, volumes, tolerations.
const dgd = {
  apiVersion: 'nvidia.com/v1beta1',
  kind: 'DynamoGraphDeployment',
  metadata: { name: 'qwen3-agg', namespace: 'llm' },
  spec: {
    backendFramework: 'vllm',
    components: [
      { name: 'frontend', type: 'frontend', replicas: 1, podTemplate: { spec: { containers: [{ name: 'main', image: IMAGE }] } } },
      {
        name: 'decode',
        type: 'worker',
        replicas: 2,
        podTemplate: {
          metadata: { labels: { app: 'x' } },
          spec: {
            containers: [container],
            initContainers: [{ ...container, name: 'init' }],
            volumes: [{ name: 'engine', configMap: { name: 'engine' } }],
            tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
            nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
          },
        },
      },
    ],
  },
};

/** A path into the document (each step picks a key or index by number) and what to put there. */
const edit = fc.record({
  steps: fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
  value: fc.oneof(
    fc.constantFrom<unknown>(42, -1, 1.5, 'text', '', true, [], [1], {}, { bogus: 1 }, null, '16Gi'),
    fc.constant(Symbol.for('delete')),
    fc.constant(Symbol.for('unknown-field')),
  ),
});

function apply(doc: unknown, e: { steps: number[]; value: unknown }): void {
  let parent: Record<string, unknown> | undefined;
  let key = '';
  let cur = doc;
  for (const step of e.steps) {
    if (typeof cur !== 'object' || cur === null) break;
    const keys = Object.keys(cur);
    if (keys.length === 0) break;
    parent = cur as Record<string, unknown>;
    key = keys[step % keys.length]!;
    cur = parent[key];
  }
  if (!parent) return;
  if (e.value === Symbol.for('delete')) delete parent[key];
  else if (e.value === Symbol.for('unknown-field')) parent['unknownFeild'] = 1;
  else parent[key] = structuredClone(e.value);
}

// what callers see: everything but the schema locations, which now point into `definitions`
const comparable = (errors: readonly ErrorObject[] | null | undefined) =>
  (errors ?? []).map(({ schemaPath: _p, parentSchema: _ps, schema: _s, ...rest }) => rest);

describe('splitSchema', () => {
  const version = loadCrdSchemas().find((v) => v.kind === 'DynamoGraphDeployment' && v.version === 'v1beta1')!;
  const split = splitSchema(version.schema);

  it('moves large subschemas of a CRD into shared definitions, leaving no large inline subschema', () => {
    const definitions = split['definitions'] as Record<string, object>;
    expect(Object.keys(definitions).length).toBeGreaterThan(10);
    // the three probes of a container are one definition
    expect(JSON.stringify(split).length).toBeLessThan(JSON.stringify(version.schema).length);
    // every definition's own text is small except for the $refs to the others
    for (const d of Object.values(definitions)) expect(JSON.stringify(d).length).toBeLessThan(60_000);
    // nothing under a oneOf/anyOf/allOf/not was moved (errors there are folded by schemaPath)
    const inBranch = (node: unknown, under: boolean): boolean => {
      if (typeof node !== 'object' || node === null) return false;
      if (under && '$ref' in node) return true;
      return Object.entries(node).some(([k, v]) => inBranch(v, under || ['oneOf', 'anyOf', 'allOf', 'not'].includes(k)));
    };
    expect(inBranch(split, false)).toBe(false);
  });

  it('judges every document as the unsplit schema does, with the same errors and messages', () => {
    const whole = compile(version.schema, true);
    const parts = compile(split, false);
    expect(whole(dgd)).toBe(true);
    expect(parts(dgd)).toBe(true);
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        const doc = structuredClone(dgd);
        for (const e of edits) apply(doc, e);
        expect(parts(doc)).toBe(whole(doc));
        expect(comparable(parts.errors)).toEqual(comparable(whole.errors));
        expect(schemaMessages(parts.errors ?? [], doc)).toEqual(schemaMessages(whole.errors ?? [], doc));
      }),
      { numRuns: 400 },
    );
  });
});
