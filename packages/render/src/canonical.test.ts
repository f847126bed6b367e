import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { canonicalize, canonicalYaml, canonicalYamlDocument, referenceYamlDocument } from './canonical.ts';

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

describe('fast emitter', () => {
  // Strings built from the characters that steer YAML quoting: indicators, spaces around newlines, document
  // markers, YAML 1.1 booleans and numbers, control and non-ASCII characters.
  const tricky = fc.oneof(
    fc.string(),
    fc.string({ unit: fc.constantFrom('a', 'y', 'n', 'o', ' ', '\n', '\t', ':', '#', '-', '?', '|', '>', "'", '"', '%', '@', '`', '!', '&', '*', '{', '}', '[', ']', ',', '0', '1', '.', 'e', '+', '_', '\\', '\u0085', '\u2028', '\u00e9', '\u0000', '\r', '~') }),
    fc.constantFrom('yes', 'No', 'on', 'OFF', 'y', 'n', '~', 'null', '0755', '0x1F', '1e3', '1_000', '12:30:00', '2001-12-14', '.inf', '---', '--- x', '...', '%x', '<<', '', ' ', 'a\n', 'a\n\n', '\na', ' a\nb', 'a \nb', 'a\n  b\n', 'x'.repeat(1100)),
  );
  const value = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, tricky, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), tie('list'), tie('map')),
    list: fc.array(tie('node'), { maxLength: 4 }),
    map: fc.dictionary(tricky, tie('node'), { maxKeys: 4 }),
  }));

  it('emits exactly the bytes of the yaml library (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(tricky, value.node, { minKeys: 1, maxKeys: 5 }), (obj) => {
        const canonical = canonicalize(obj);
        expect(canonicalYamlDocument(canonical)).toBe(referenceYamlDocument(canonical));
      }),
      { numRuns: 2000 },
    );
  });

  it('matches the yaml library on the shapes rendered manifests have', () => {
    const doc = canonicalize({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', labels: { 'app.kubernetes.io/name': 'x', y: 'yes' } },
      data: { 'a.yaml': 'k: v\nlist:\n  - 1\n', lua: 'if x then\n  return 1\nend\n', keep: 'a\n\n\n', '<<': 'merge' },
      spec: { args: ['--port', '8000', '--flag'], empty: {}, none: [], nested: [[1, 2], [], [{}], [{ a: [] }]], n: -0, f: 1.5, big: 1e21 },
    });
    expect(canonicalYamlDocument(doc)).toBe(referenceYamlDocument(doc));
  });
});
