import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRD_DIR, generateSchemas, openApiToJsonSchema, type JsonSchema } from './index.ts';

describe('openApiToJsonSchema', () => {
  it('closes objects with properties, exempts the root unless asked, keeps explicit additionalProperties', () => {
    const schema = {
      type: 'object',
      properties: {
        spec: { type: 'object', properties: { a: { type: 'string' } } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        // a field literally named "properties" is a field, not a schema keyword
        properties: { type: 'object', properties: { x: { type: 'integer' } } },
      },
    };
    expect(openApiToJsonSchema(schema)).toEqual({
      type: 'object',
      properties: {
        spec: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        properties: { type: 'object', properties: { x: { type: 'integer' } }, additionalProperties: false },
      },
    });
    expect(openApiToJsonSchema(schema, { denyRootAdditionalProperties: true })['additionalProperties']).toBe(false);
  });

  it('converts both int-or-string spellings to oneOf string|integer', () => {
    expect(openApiToJsonSchema({ properties: { p: { format: 'int-or-string', description: 'port' } } }, {})).toEqual({
      properties: { p: { oneOf: [{ type: 'string' }, { type: 'integer' }], description: 'port' } },
    });
    expect(openApiToJsonSchema({ anyOf: [{ type: 'integer' }, { type: 'string' }], pattern: '^\\d+Gi$', 'x-kubernetes-int-or-string': true })).toEqual({
      pattern: '^\\d+Gi$',
      'x-kubernetes-int-or-string': true,
      oneOf: [{ type: 'string' }, { type: 'integer' }],
    });
  });

  it('honours x-kubernetes-preserve-unknown-fields and folds enums nested in allOf', () => {
    const out = openApiToJsonSchema({
      properties: {
        raw: { type: 'object', properties: { a: { type: 'string' } }, 'x-kubernetes-preserve-unknown-fields': true },
        backend: { type: 'string', allOf: [{ enum: ['auto', 'vllm', 'sglang'] }, { enum: ['auto', 'vllm', 'trtllm'] }] },
      },
    });
    expect(out).toEqual({
      properties: {
        raw: { type: 'object', properties: { a: { type: 'string' } }, 'x-kubernetes-preserve-unknown-fields': true },
        backend: { type: 'string', enum: ['auto', 'vllm'] },
      },
    });
    const validate = new Ajv({ strict: false }).compile(out);
    expect(validate({ raw: { anything: 1 }, backend: 'vllm' })).toBe(true);
    expect(validate({ backend: 'sglang' })).toBe(false);
  });

  // Random nested object schemas: after conversion, an extra property anywhere below the root is rejected,
  // and the instance without it is accepted.
  const objectSchema: fc.Arbitrary<JsonSchema> = fc.letrec<{ node: JsonSchema }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant<JsonSchema>({ type: 'string' }),
      fc.constant<JsonSchema>({ type: 'integer' }),
      fc
        .dictionary(fc.stringMatching(/^[a-z][a-zA-Z]{0,6}$/), tie('node'), { minKeys: 1, maxKeys: 3 })
        .map((properties): JsonSchema => ({ type: 'object', properties })),
      tie('node').map((items): JsonSchema => ({ type: 'array', items })),
    ),
  })).node;

  function sample(schema: JsonSchema): unknown {
    if (schema['type'] === 'string') return 's';
    if (schema['type'] === 'integer') return 1;
    if (schema['type'] === 'array') return [sample(schema['items'] as JsonSchema)];
    return Object.fromEntries(Object.entries(schema['properties'] as Record<string, JsonSchema>).map(([k, v]) => [k, sample(v)]));
  }

  /** Paths of every object in `value` (a sample of the schema). */
  function objectPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
    if (Array.isArray(value)) return value.flatMap((v, i) => objectPaths(v, [...path, i]));
    if (value && typeof value === 'object') return [path, ...Object.entries(value).flatMap(([k, v]) => objectPaths(v, [...path, k]))];
    return [];
  }

  it('property: an extra property at any depth is rejected', () => {
    const ajv = new Ajv({ strict: false });
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z]{1,5}$/), objectSchema, { minKeys: 1, maxKeys: 3 }),
        fc.nat(),
        (properties, pick) => {
          const root = { type: 'object', properties };
          const validate = ajv.compile(openApiToJsonSchema(root, { denyRootAdditionalProperties: true }));
          const instance = sample(root);
          expect(validate(instance)).toBe(true);
          const paths = objectPaths(instance);
          const at = paths[pick % paths.length]!;
          const bad = structuredClone(instance) as Record<string, unknown>;
          let target: any = bad;
          for (const seg of at) target = target[seg];
          target['zzExtraField'] = 1;
          expect(validate(bad)).toBe(false);
          expect(validate.errors?.some((e) => e.keyword === 'additionalProperties')).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('vendored CRDs and generated schemas', () => {
  it('the CRD files match the sha256 recorded in PROVENANCE.md', () => {
    const provenance = readFileSync(join(CRD_DIR, 'PROVENANCE.md'), 'utf8');
    const files = readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'));
    expect(files).toHaveLength(4);
    for (const f of files) {
      const digest = createHash('sha256').update(readFileSync(join(CRD_DIR, f))).digest('hex');
      expect(provenance).toContain(`${digest}  ${f}`);
      expect(readFileSync(join(CRD_DIR, f), 'utf8')).toMatch(/^# SPDX-FileCopyrightText: .*NVIDIA CORPORATION/);
    }
  });

  it('generateSchemas writes the kubeconform layout for every served version', () => {
    const out = mkdtempSync(join(tmpdir(), 'validate-schemas-'));
    try {
      const result = generateSchemas(out);
      expect(result.files.sort()).toEqual([
        'nvidia.com/dynamographdeployment_v1alpha1.json',
        'nvidia.com/dynamographdeployment_v1beta1.json',
        'nvidia.com/dynamographdeploymentrequest_v1alpha1.json',
        'nvidia.com/dynamographdeploymentrequest_v1beta1.json',
        'nvidia.com/dynamographdeploymentscalingadapter_v1alpha1.json',
        'nvidia.com/dynamographdeploymentscalingadapter_v1beta1.json',
        'resource.nvidia.com/computedomain_v1beta1.json',
      ]);
      const dgd = JSON.parse(readFileSync(join(out, 'nvidia.com/dynamographdeployment_v1beta1.json'), 'utf8'));
      expect(dgd.additionalProperties).toBe(false);
      expect(dgd.properties.spec.additionalProperties).toBe(false);
      expect(dgd.properties.spec.properties.components.items.properties.sharedMemorySize.oneOf).toEqual([{ type: 'string' }, { type: 'integer' }]);
      expect(JSON.stringify(dgd)).not.toContain('"format":"int-or-string"');
      // no temp files left behind (whatever their names): exactly the schema files and their directory
      expect((readdirSync(out, { recursive: true }) as string[]).sort()).toEqual(['nvidia.com', 'resource.nvidia.com', ...result.files].sort());
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
