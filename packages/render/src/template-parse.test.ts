import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseTemplateOutput } from './template-parse.ts';
import { renderRecipe } from './recipe.ts';
import { templateReads, yamlValue } from './templates.ts';
import * as f from './testing/fixtures.ts';

/** What the yaml library reads (the reference), or 'error' when it reports a problem. */
function reference(text: string): unknown[] | 'error' {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  if (!Array.isArray(docs)) return 'error';
  const out: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0 || doc.warnings.length > 0) return 'error';
    const v = doc.toJS({ maxAliasCount: 0 });
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

// Template-shaped text: block maps and sequences, JSON values from the helper, plain scalars a template author
// might write (some of which YAML reads as numbers, booleans or null), and damage (bad indents, duplicates, comments).
const plainScalars = fc.constantFrom('Never', 'v1', 'nvidia.com/v1beta1', '5m', '15s', '/metrics', 'https://k.default.svc', 'a=b', 'true', 'False', 'null', '~', '8000', '-1', '+2', '0755', '0x1F', '0o17', '1.5', '1e3', '.inf', '.NaN', 'yes', 'a: b', 'a #b', 'a:', '-x', '- x', '"x"', "'x'", '{}', '[]', '[1, 2]', '{a: 1}', '&a x', '*a', '!!str x', '|', '>-', '@x', '%x', 'x y', '1_000', '12:30');
const keys = fc.oneof(fc.constantFrom('a', 'b', 'c', 'name', 'spec'), fc.constantFrom('a', 'name', 'spec', 'apiVersion', 'x.y/z', '_k', 'true', 'null', '1', '<<', '__proto__', 'a b', 'http://x'), fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)));
const json = fc.jsonValue({ maxDepth: 2 }).map((v) => yamlValue(v));

type Tree = { map: [string, Tree][] } | { seq: Tree[] } | { scalar: string };
const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(json, json, json, plainScalars).map((scalar) => ({ scalar })),
    fc.uniqueArray(fc.tuple(keys, tie('tree')), { minLength: 1, maxLength: 4, selector: ([k]) => k }).map((map) => ({ map })),
    fc.array(tie('tree'), { minLength: 1, maxLength: 3 }).map((seq) => ({ seq })),
  ),
})).tree;

function lines(t: Tree, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if ('scalar' in t) return [`${pad}${t.scalar}`];
  if ('map' in t) {
    return t.map.flatMap(([k, v]) => ('scalar' in v ? [`${pad}${k}: ${v.scalar}`] : [`${pad}${k}:`, ...lines(v, indent + 2)]));
  }
  return t.seq.flatMap((v) => {
    const inner = lines(v, indent + 2);
    return [`${pad}- ${inner[0]!.slice(indent + 2)}`, ...inner.slice(1)];
  });
}

const damage = fc.constantFrom('none', 'none', 'none', 'none', 'none', 'none', 'none', 'none', 'indent', 'dedent', 'comment', 'doc', 'blank', 'trailing', 'tab', 'dup');

function render(docs: Tree[], how: string, at: number): string {
  const all = docs.map((d) => lines(d, 0));
  const flat = all.flatMap((l, i) => (i === 0 ? l : ['---', ...l]));
  const i = flat.length === 0 ? 0 : at % flat.length;
  if (flat.length > 0) {
    if (how === 'indent') flat[i] = ` ${flat[i]}`;
    if (how === 'dedent') flat[i] = flat[i]!.replace(/^ /, '');
    if (how === 'comment') flat.splice(i, 0, '# note');
    if (how === 'doc') flat.splice(i, 0, '---');
    if (how === 'blank') flat.splice(i, 0, '');
    if (how === 'trailing') flat[i] = `${flat[i]} `;
    if (how === 'tab') flat[i] = `\t${flat[i]}`;
    if (how === 'dup') flat.splice(i, 0, flat[i]!);
  }
  return `${flat.join('\n')}\n`;
}

describe('parseTemplateOutput', () => {
  it('returns what the yaml library returns, or leaves the text to it (property)', () => {
    let fast = 0;
    fc.assert(
      fc.property(fc.array(tree.filter((t) => 'map' in t), { minLength: 1, maxLength: 2 }), damage, fc.nat(), (docs, how, at) => {
        const text = render(docs, how, at);
        const got = parseTemplateOutput(text);
        if (got === undefined) return;
        fast++;
        // the fast reader never accepts what yaml rejects, and never reads a value differently
        expect(got).toEqual(reference(text));
      }),
      { numRuns: 3000 },
    );
    // the subset is not empty: most undamaged texts take the fast path
    expect(fast).toBeGreaterThan(150);
  });

  it('reads plain scalars as YAML 1.2 core does, or leaves them to yaml', () => {
    expect(parseTemplateOutput('a: 8000\nb: true\nc: 5m\nd: https://x.y/z\ne: -3\n')).toEqual([{ a: 8000, b: true, c: '5m', d: 'https://x.y/z', e: -3 }]);
    expect(parseTemplateOutput('a: null\nb: 1.5\nc: -0\nd: 1e+21\n')).toEqual([{ a: null, b: 1.5, c: -0, d: 1e21 }]);
    for (const s of ['1.', '.5', 'Null', '~', '0x1F', '.inf', 'yes: no', 'a #b', "'x'"]) expect(parseTemplateOutput(`a: ${s}\n`)).toBeUndefined();
  });

  it('leaves duplicate keys to yaml, which reports them', () => {
    expect(parseTemplateOutput('a: 1\na: 2\n')).toBeUndefined();
    expect(parseTemplateOutput('"a": 1\na: 2\n')).toBeUndefined();
  });

  it('reads every template the renderer uses on the fast path', () => {
    // GIVEN recipes that exercise every template (agg, disagg with observability, both DGD versions)
    const before = { ...templateReads };
    for (const apiVersion of ['v1beta1', 'v1alpha1'] as const) {
      renderRecipe(f.resolved(f.recipe()), f.cluster({ dynamoApiVersion: apiVersion }));
      renderRecipe(f.resolved(f.disaggRecipe({ observability: true })), f.cluster({ dynamoApiVersion: apiVersion }));
    }
    // THEN none of them fell back to the slow reader
    expect(templateReads.fast - before.fast).toBeGreaterThan(10);
    expect(templateReads.yaml - before.yaml).toBe(0);
  });
});
