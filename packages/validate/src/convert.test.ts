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
    // every field also accepts null (the API server drops a null field before validating)
    expect(openApiToJsonSchema(schema)).toEqual({
      type: 'object',
      properties: {
        spec: { type: ['object', 'null'], properties: { a: { type: ['string', 'null'] } }, additionalProperties: false },
        labels: { type: ['object', 'null'], additionalProperties: { type: ['string', 'null'] } },
        properties: { type: ['object', 'null'], properties: { x: { type: ['integer', 'null'] } }, additionalProperties: false },
      },
    });
    expect(openApiToJsonSchema(schema, { denyRootAdditionalProperties: true })['additionalProperties']).toBe(false);
  });

  it('converts both int-or-string spellings to oneOf string|integer', () => {
    expect(openApiToJsonSchema({ properties: { p: { format: 'int-or-string', description: 'port' } } }, {})).toEqual({
      properties: { p: { oneOf: [{ type: 'string' }, { type: 'integer' }, { type: 'null' }], description: 'port' } },
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
        raw: { type: ['object', 'null'], properties: { a: { type: ['string', 'null'] } }, 'x-kubernetes-preserve-unknown-fields': true },
        backend: { type: ['string', 'null'], enum: ['auto', 'vllm', null] },
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

  /** Paths of every field (object member) and of every list item in `value`. */
  function memberPaths(value: unknown, path: (string | number)[] = []): { fields: (string | number)[][]; items: (string | number)[][] } {
    const out = { fields: [] as (string | number)[][], items: [] as (string | number)[][] };
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        out.items.push([...path, i]);
        const sub = memberPaths(v, [...path, i]);
        out.fields.push(...sub.fields);
        out.items.push(...sub.items);
      });
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        out.fields.push([...path, k]);
        const sub = memberPaths(v, [...path, k]);
        out.fields.push(...sub.fields);
        out.items.push(...sub.items);
      }
    }
    return out;
  }

  function withNull(instance: unknown, at: (string | number)[]): unknown {
    const copy = structuredClone(instance) as Record<string | number, unknown>;
    let target: any = copy;
    for (const seg of at.slice(0, -1)) target = target[seg];
    target[at.at(-1)!] = null;
    return copy;
  }

  it('property: a null field is accepted at any depth (the API server drops it), a null list item is not', () => {
    const ajv = new Ajv({ strict: false });
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z]{1,5}$/), objectSchema, { minKeys: 1, maxKeys: 3 }), fc.nat(), (properties, pick) => {
        const root = { type: 'object', properties };
        const validate = ajv.compile(openApiToJsonSchema(root, { denyRootAdditionalProperties: true }));
        const instance = sample(root);
        const { fields, items } = memberPaths(instance);
        expect(validate(withNull(instance, fields[pick % fields.length]!))).toBe(true);
        if (items.length > 0) {
          expect(validate(withNull(instance, items[pick % items.length]!))).toBe(false);
          expect(validate.errors?.some((e) => e.keyword === 'type')).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps null list items valid where the items are nullable: true', () => {
    const validate = new Ajv({ strict: false }).compile(openApiToJsonSchema({ type: 'object', properties: { xs: { type: 'array', items: { type: 'string', nullable: true } }, ys: { type: 'array', items: { type: 'string' } } } }));
    expect(validate({ xs: ['a', null], ys: ['b'] })).toBe(true);
    expect(validate({ ys: [null] })).toBe(false);
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
      // the Dynamo CRDs carry their SPDX header; the DRA driver's generated CRD has none, its license is recorded
      if (f.startsWith('nvidia.com_')) expect(readFileSync(join(CRD_DIR, f), 'utf8')).toMatch(/^# SPDX-FileCopyrightText: .*NVIDIA CORPORATION/);
      else {
        const section = provenance.slice(provenance.indexOf('## NVIDIA DRA driver for GPUs'));
        expect(section).toContain(`| \`${f}\` |`);
        expect(section).toMatch(/License: Apache-2\.0/);
      }
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
      expect(dgd.properties.spec.properties.components.items.properties.sharedMemorySize.oneOf).toEqual([{ type: 'string' }, { type: 'integer' }, { type: 'null' }]);
      expect(JSON.stringify(dgd)).not.toContain('"format":"int-or-string"');
      // no temp files left behind (whatever their names): exactly the schema files and their directory
      expect((readdirSync(out, { recursive: true }) as string[]).sort()).toEqual(['nvidia.com', 'resource.nvidia.com', ...result.files].sort());
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
