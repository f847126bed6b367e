import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { canonicalize, canonicalYaml } from './canonical.ts';

function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffleKeys(v, seed + i));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    const rotated = entries.map((_, i) => entries[(i + seed) % entries.length]!);
    return Object.fromEntries((seed % 2 === 0 ? rotated.reverse() : rotated).map(([k, v]) => [k, shuffleKeys(v, seed + 1)]));
  }
  return value;
}

describe('canonicalYaml', () => {
  it('puts apiVersion, kind and metadata first, sorts the rest and drops nulls', () => {
    // GIVEN an object in arbitrary key order with nulls
    const obj = { spec: { b: 1, a: null, c: [null, { z: 1, y: 2 }] }, metadata: { name: 'x' }, kind: 'K', apiVersion: 'v1', data: {} };
    // WHEN emitted  THEN the order is canonical, nulls are gone and the empty map stays
    expect(canonicalYaml([obj], { header: ['generated'] })).toMatchInlineSnapshot(`
      "# generated
      apiVersion: v1
      kind: K
      metadata:
        name: x
      data: {}
      spec:
        b: 1
        c:
          - "y": 2
            z: 1
      "
    `);
  });

  it('quotes strings (and keys such as y) a YAML 1.1 reader would turn into booleans or numbers', () => {
    const out = canonicalYaml([{ a: 'yes', b: 'on', c: '0755', d: '1e3', e: 'true', f: '8000' }], { header: [] });
    expect(parse(out, { version: '1.1' })).toEqual({ a: 'yes', b: 'on', c: '0755', d: '1e3', e: 'true', f: '8000' });
    expect(parse(out)).toEqual({ a: 'yes', b: 'on', c: '0755', d: '1e3', e: 'true', f: '8000' });
  });

  it('does not depend on key insertion order (property)', () => {
    fc.assert(
      fc.property(fc.object({ maxDepth: 3, values: [fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)] }), fc.nat(20), (obj, seed) => {
        expect(canonicalYaml([shuffleKeys(obj, seed)])).toBe(canonicalYaml([obj]));
      }),
    );
  });

  it('round-trips every JSON value without nulls (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalYaml([{ v: value }], { header: [] });
        expect(parse(text, { version: '1.1' })).toEqual(canonicalize({ v: value }) ?? {});
      }),
    );
  });
});

describe('canonicalYaml merge keys', () => {
  it('quotes a "<<" key so YAML 1.1 readers do not merge it', () => {
    const out = canonicalYaml([{ '<<': false, a: { '<<': 'x' } }], { header: [] });
    expect(parse(out, { version: '1.1', merge: true })).toEqual({ '<<': false, a: { '<<': 'x' } });
  });
});
