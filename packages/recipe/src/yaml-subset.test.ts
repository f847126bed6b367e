import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { readYamlSubset, type SubsetNode } from './yaml-subset.ts';

/** The reference: yaml's document (with its line starts), or 'error' when it reports a problem or a warning. */
function reference(text: string): { doc: ReturnType<typeof parseDocument>; lineStarts: number[] } | 'error' {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0 || doc.warnings.length > 0) return 'error';
  return { doc, lineStarts: lineCounter.lineStarts };
}

/** Every difference between the fast reader's position tree and yaml's node ranges. */
function positionDiffs(y: unknown, n: SubsetNode, path: string, out: string[]): void {
  const range = (y as Node | null)?.range;
  if (range?.[0] !== n.offset) out.push(`${path}: yaml ${range?.[0]}, fast ${n.offset}`);
  if (isMap(y)) {
    if (n.kind !== 'map') return void out.push(`${path}: yaml map, fast ${n.kind}`);
    for (const pair of y.items) {
      const key = String((pair.key as { value: unknown }).value);
      const entry = n.pairs.get(key);
      if (entry === undefined) {
        out.push(`${path}.${key}: missing`);
        continue;
      }
      if ((pair.key as Node).range?.[0] !== entry.keyOffset) out.push(`${path}.${key}: key at yaml ${(pair.key as Node).range?.[0]}, fast ${entry.keyOffset}`);
      positionDiffs(pair.value, entry.value, `${path}.${key}`, out);
    }
  } else if (isSeq(y)) {
    if (n.kind !== 'seq') return void out.push(`${path}: yaml seq, fast ${n.kind}`);
    y.items.forEach((item, i) => positionDiffs(item, n.items[i]!, `${path}.${i}`, out));
  } else if (n.kind !== 'scalar') out.push(`${path}: yaml scalar, fast ${n.kind}`);
}

/** Fast reader and yaml agree: the reader declines what yaml rejects, and what it reads equals yaml's, offsets too. */
function agrees(text: string): { accepted: boolean } {
  const fast = readYamlSubset(text);
  const ref = reference(text);
  if (ref === 'error') {
    expect(fast, `yaml rejects, the fast reader must decline:\n${text}`).toBeUndefined();
    return { accepted: false };
  }
  if (fast === undefined) return { accepted: false };
  expect(fast.data, text).toStrictEqual(ref.doc.toJS());
  const diffs: string[] = [];
  positionDiffs(ref.doc.contents, fast.root, '$', diffs);
  expect(diffs, text).toEqual([]);
  expect(fast.lineStarts, text).toEqual(ref.lineStarts);
  return { accepted: true };
}

// Text shaped like recipe files: block maps and sequences (compact `- key:` items, sequences at their key's indent),
// one-line flow collections, plain scalars of every core type and the strings around them, quoted strings,
// comments and blank lines — and damage.
const plainTokens = [
  'vllm', 'h100-sxm', 'Qwen/Qwen3-32B', 'https://example.com/r.git', 'a:b:c', 'a::b', 'a://', 'x#', 'x:#', 'https://huggingface.co/Qwen/Qwen3-32B/blob/main/config.json', 'agg', 'disagg', 'kv',
  'a b c', 'x,y', 'a[0]', 'a{b}', 'a#b', 'a #b', 'a: b', 'a:', 'a:b', '-x', '- x', '-1', '+2', '-.5', '.5', '1.', '1e3', '1E-3',
  '0755', '0o17', '0x1F', '0xG', '8000', '1_000', '12:30', 'true', 'True', 'TRUE', 'tRue', 'false', 'yes', 'no', 'on', 'null',
  'Null', 'NULL', '~', '.inf', '-.Inf', '.NaN', '.nan', 'nan', 'inf', '@x', '`x', '%x', '&a x', '*a', '!!str x', '|', '>-', '?x',
  ':x', ',x', '[x', ']x', '{x', '}x', "'x", '"x', 'x"y', "x'y", 'é', '日本', 'a  b', 'v1beta1', '5m', '/metrics', '<<', '=',
];
const quotedTokens = ['"x"', '"a b"', '""', "'x'", "'it''s'", "''", '"a\\"b"', '"a\\nb"', '"\\u00e9"', '"\\x41"', '"\\e"', '"a\\ b"', "'a\"b'", '"#x"', "'# x'", '"x" y', "'x' #c", '"x"#c', '"unterminated', "'unterminated"];
const keyTokens = ['model', 'backend', 'name', 'tp', 'max-num-seqs', 'nvidia.com/gpu', 'VLLM_LOGGING_LEVEL', '_k', 'a.b', 'x/y'];
const oddKeys = ['true', 'null', 'Null', '1', '08', '.5', '<<', '__proto__', 'a b', '"q"', "'q'", '-k', 'k:', '?k', 'http://x', '日本'];

const scalar = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...plainTokens) }, { weight: 1, arbitrary: fc.constantFrom(...quotedTokens) }, { weight: 1, arbitrary: fc.integer({ min: -1000, max: 100000 }).map(String) }, { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => String(d)) });
const key = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...keyTokens) }, { weight: 1, arbitrary: fc.constantFrom(...oddKeys) });

type Tree = { map: [string, Tree][] } | { seq: Tree[] } | { scalar: string };
const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar.map((s) => ({ scalar: s })),
    fc.array(fc.tuple(key, tie('tree')), { minLength: 0, maxLength: 4 }).map((map) => ({ map })),
    fc.array(tie('tree'), { minLength: 0, maxLength: 3 }).map((seq) => ({ seq })),
  ),
})).tree;

interface Style {
  indent: number;
  flow: boolean[];
  sameIndentSeq: boolean;
  comments: boolean;
}

function flowText(t: Tree): string {
  if ('scalar' in t) return t.scalar;
  if ('map' in t) return t.map.length === 0 ? '{}' : `{ ${t.map.map(([k, v]) => `${k}: ${flowText(v)}`).join(', ')} }`;
  return t.seq.length === 0 ? '[]' : `[${t.seq.map(flowText).join(', ')}]`;
}

/** Block layout with per-node style choices drawn from `pick`. */
function blockLines(t: Tree, indent: number, style: Style, pick: () => boolean): string[] {
  const pad = ' '.repeat(indent);
  const inlineOf = (v: Tree): string | undefined => ('scalar' in v ? v.scalar : ('map' in v ? v.map : v.seq).length === 0 || pick() ? flowText(v) : undefined);
  if ('scalar' in t) return [`${pad}${t.scalar}`];
  if ('map' in t) {
    if (t.map.length === 0) return [`${pad}{}`];
    return t.map.flatMap(([k, v]) => {
      const inline = inlineOf(v);
      const comment = style.comments && pick() ? ['', `${pad}# about ${k}`] : [];
      if (inline !== undefined) return [...comment, `${pad}${k}: ${inline}${style.comments && pick() ? '  # why' : ''}`];
      const childIndent = 'seq' in v && style.sameIndentSeq ? indent : indent + style.indent;
      return [...comment, `${pad}${k}:${style.comments && pick() ? ' # header' : ''}`, ...blockLines(v, childIndent, style, pick)];
    });
  }
  if (t.seq.length === 0) return [`${pad}[]`];
  return t.seq.flatMap((v) => {
    const inline = inlineOf(v);
    if (inline !== undefined) return [`${pad}- ${inline}`];
    if (pick()) return [`${pad}-`, ...blockLines(v, indent + style.indent, style, pick)];
    // compact: the item's first line follows the dash
    const inner = blockLines(v, indent + 2, style, pick);
    return [`${pad}- ${inner[0]!.slice(indent + 2)}`, ...inner.slice(1)];
  });
}

const styleArb = fc.record({ indent: fc.constantFrom(2, 2, 4, 1), flow: fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }), sameIndentSeq: fc.boolean(), comments: fc.boolean() });

function layout(t: Tree, style: Style): string {
  let i = 0;
  const pick = () => style.flow[i++ % style.flow.length]!;
  const top: Tree = 'map' in t ? t : { map: [['root', t]] };
  return `# yaml-language-server: $schema=../schema.json\n${blockLines(top, 0, style, pick).join('\n')}\n`;
}

const damages = ['none', 'indent', 'dedent', 'tab', 'dup', 'cr', 'marker', 'trailing', 'colon', 'quote', 'bracket', 'truncate'] as const;
function damage(text: string, how: (typeof damages)[number], at: number): string {
  const lines = text.split('\n');
  const i = 1 + (at % Math.max(1, lines.length - 2));
  switch (how) {
    case 'indent':
      lines[i] = ` ${lines[i]}`;
      break;
    case 'dedent':
      lines[i] = lines[i]!.replace(/^ /, '');
      break;
    case 'tab':
      lines[i] = `\t${lines[i]}`;
      break;
    case 'dup':
      lines.splice(i, 0, lines[i]!);
      break;
    case 'cr':
      return text.replace(/\n/g, '\r\n');
    case 'marker':
      lines.splice(i, 0, '---');
      break;
    case 'trailing':
      lines[i] = `${lines[i]}   `;
      break;
    case 'colon':
      lines[i] = lines[i]!.replace(': ', ':');
      break;
    case 'quote':
      lines[i] = lines[i]!.replace(/(\S)$/, '$1"');
      break;
    case 'bracket':
      lines[i] = lines[i]!.replace(/[\]}]/, '');
      break;
    case 'truncate':
      return text.slice(0, Math.floor(text.length * ((at % 97) / 97)));
  }
  return lines.join('\n');
}

describe('readYamlSubset', () => {
  it('reads what yaml reads — data, node offsets, line starts — or declines, on generated and damaged text', () => {
    let accepted = 0;
    fc.assert(
      fc.property(tree, styleArb, fc.constantFrom(...damages, 'none', 'none', 'none', 'none', 'none'), fc.nat(), (t, style, how, at) => {
        if (agrees(damage(layout(t, style), how, at)).accepted) accepted++;
      }),
      { numRuns: 3000 },
    );
    // the subset is not empty: a good share of the generated files take the fast path
    expect(accepted).toBeGreaterThan(300);
  });

  it('takes every file written in the subset', () => {
    // recipe-shaped trees from keys and values that never leave it
    const safeScalar = fc.constantFrom('vllm', 'Qwen/Qwen3-32B', 'https://example.com/a', '8000', '-1', '0.9', 'true', 'null', '"quoted: yes"', "'it''s'", 'a b');
    const safeTree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small' },
        safeScalar.map((s) => ({ scalar: s })),
        fc.uniqueArray(fc.tuple(fc.constantFrom(...keyTokens), tie('tree')), { minLength: 1, maxLength: 4, selector: ([k]) => k }).map((map) => ({ map })),
        fc.array(tie('tree'), { minLength: 1, maxLength: 3 }).map((seq) => ({ seq })),
      ),
    })).tree;
    const flowSafe = (t: Tree): boolean => ('scalar' in t ? !/[:#,]/.test(t.scalar) || /^["']/.test(t.scalar) : ('map' in t ? t.map.map(([, v]) => v) : t.seq).every(flowSafe));
    fc.assert(
      fc.property(safeTree, styleArb, (t, style) => {
        const text = layout(t, { ...style, indent: Math.max(2, style.indent), flow: flowSafe(t) ? style.flow : [false] });
        expect(agrees(text).accepted, text).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('reads every recipe, model, GPU and cluster file of this repository, exactly as yaml does', () => {
    const root = join(import.meta.dirname, '..', '..', '..');
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const abs = join(dir, name);
        if (statSync(abs).isDirectory()) walk(abs);
        else if (name.endsWith('.yaml') && !abs.includes(`${join('engine', '')}`)) files.push(abs);
      }
    };
    walk(join(root, 'recipes'));
    for (const c of readdirSync(join(root, 'clusters'))) files.push(join(root, 'clusters', c, 'cluster.yaml'));
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) expect(agrees(readFileSync(f, 'utf8')).accepted, relative(root, f)).toBe(true);
  });
});
