/**
 * A fast reader for the YAML that recipe, model, GPU and cluster files are written in: block mappings and
 * sequences, one-line flow collections (`{ tp: 2, args: { max-num-seqs: 256 } }`, `[16, 64]`), plain and quoted
 * scalars, comments. In a fresh process the `yaml` library takes ≈1.5 ms per such file (its lexer, parser and
 * composer run cold); this is one line scan that also records where each node starts, so error positions need no
 * second parse.
 *
 * It returns exactly what `yaml` returns (YAML 1.2 core schema, unique keys, then toJS), with each node's offset
 * equal to yaml's `node.range[0]`, or `undefined` for anything outside the subset: anchors, aliases, tags,
 * directives, document markers, block scalars, multi-line scalars, complex or non-string keys, tabs, CR, duplicate
 * keys, any syntax error. The caller then parses with `yaml`, which also reports errors. A property test holds the
 * two equal on generated and damaged text.
 */

/** A node of the position tree: where yaml's node.range[0] would be. */
export type SubsetNode =
  | { kind: 'map'; offset: number; pairs: Map<string, { keyOffset: number; value: SubsetNode }> }
  | { kind: 'seq'; offset: number; items: SubsetNode[] }
  | { kind: 'scalar'; offset: number };

export interface SubsetDocument {
  /** What yaml's `parseDocument(text).toJS()` returns. */
  data: unknown;
  root: SubsetNode;
  /** Offset of the first character of every line (as yaml's LineCounter records them). */
  lineStarts: number[];
}

type Obj = Record<string, unknown>;

const DECLINE = new Error('outside the YAML subset');
const decline = (): never => {
  throw DECLINE;
};

// YAML 1.2 core schema tags, in the order the yaml library tries them (src/schema/core): null, bool, int (octal,
// decimal, hex), float (NaN/Inf, exponent, fixed). Anything else is a string.
const CORE_NULL = /^(?:~|[Nn]ull|NULL)$/;
const CORE_BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const CORE_OCT = /^0o[0-7]+$/;
const CORE_INT = /^[-+]?[0-9]+$/;
const CORE_HEX = /^0x[0-9a-fA-F]+$/;
const CORE_NAN_INF = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const CORE_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const CORE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** A plain scalar's value under the core schema. */
export function corePlain(s: string): unknown {
  if (CORE_NULL.test(s)) return null;
  if (CORE_BOOL.test(s)) return s[0] === 't' || s[0] === 'T';
  if (CORE_OCT.test(s)) return Number.parseInt(s.slice(2), 8);
  if (CORE_INT.test(s)) return Number.parseInt(s, 10);
  if (CORE_HEX.test(s)) return Number.parseInt(s.slice(2), 16);
  if (CORE_NAN_INF.test(s)) return s.slice(-3).toLowerCase() === 'nan' ? Number.NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (CORE_EXP.test(s) || CORE_FLOAT.test(s)) return Number.parseFloat(s);
  return s;
}

// A block key: plain, starting with a letter or `_`, then the characters recipe keys use (`max-num-seqs`,
// `nvidia.com/gpu`, `VLLM_LOGGING_LEVEL`), ending in `:` followed by a space or the end of the line.
const BLOCK_KEY = /[A-Za-z_][A-Za-z0-9_./-]*:(?=[ \n]|$)/y;
// A flow key: the same characters, then `: `.
const FLOW_KEY = /[A-Za-z_][A-Za-z0-9_./-]*(?=: )/y;
// A double-quoted string whose escapes all mean the same to JSON and to YAML.
const JSON_SAFE_QUOTED = /^"(?:[^"\\\u0000-\u001f\u007f-\u009f\u2028\u2029]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"$/;

/** Whether a plain scalar may start at `i`: no indicator first, and `-` only before a letter, digit or `.`. */
function plainStartOk(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c === 0x2d) {
    const d = text.charCodeAt(i + 1);
    return (d >= 0x30 && d <= 0x39) || d === 0x2e || (d >= 0x41 && d <= 0x5a) || (d >= 0x61 && d <= 0x7a);
  }
  // ? : , [ ] { } # & * ! | > ' " % @ ` and space
  return c > 0x20 && !'?:,[]{}#&*!|>\'"%@`'.includes(text[i]!);
}

function setKey(obj: Obj, pairs: Map<string, { keyOffset: number; value: SubsetNode }>, key: string, keyOffset: number, value: unknown, node: SubsetNode): void {
  // yaml reports duplicate keys (uniqueKeys); `__proto__` and `<<` have rules of their own there
  if (pairs.has(key) || key === '__proto__' || key === '<<' || typeof corePlain(key) !== 'string') decline();
  obj[key] = value;
  pairs.set(key, { keyOffset, value: node });
}

class Reader {
  private readonly text: string;
  /** Start offsets of the lines that hold content (not blank, not only a comment). */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly indents: number[] = [];
  readonly lineStarts: number[] = [0];
  private li = 0;
  /** Where the current line's content starts when it is not its indentation (after a `- `), else -1. */
  private col = -1;

  constructor(text: string) {
    this.text = text;
    const n = text.length;
    let start = 0;
    while (start <= n) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = n;
      else this.lineStarts.push(end + 1);
      let i = start;
      while (i < end && text.charCodeAt(i) === 0x20) i++;
      if (i < end && text.charCodeAt(i) !== 0x23) {
        this.starts.push(start);
        this.ends.push(end);
        this.indents.push(i - start);
      }
      start = end + 1;
    }
  }

  private get done(): boolean {
    return this.li >= this.starts.length;
  }

  /** Offset where the current line's content starts. */
  private get cs(): number {
    return this.col >= 0 ? this.col : this.starts[this.li]! + this.indents[this.li]!;
  }

  private get indent(): number {
    return this.cs - this.starts[this.li]!;
  }

  private isSeqItem(at: number): boolean {
    const t = this.text;
    return t.charCodeAt(at) === 0x2d && (at + 1 === this.ends[this.li] || t.charCodeAt(at + 1) === 0x20);
  }

  private next(): void {
    this.li++;
    this.col = -1;
  }

  document(): { data: unknown; root: SubsetNode } {
    if (this.done || this.indent !== 0) decline();
    const first = this.text.slice(this.cs, this.cs + 3);
    if (first === '---' || first === '...' || first[0] === '%') decline();
    const out = this.block();
    if (!this.done) decline();
    return out;
  }

  /** The block node whose first line is the current one. */
  private block(): { data: unknown; root: SubsetNode } {
    return this.isSeqItem(this.cs) ? this.seq(this.indent) : this.map(this.indent);
  }

  private map(indent: number): { data: unknown; root: SubsetNode } {
    const t = this.text;
    const obj: Obj = {};
    const pairs = new Map<string, { keyOffset: number; value: SubsetNode }>();
    const root: SubsetNode = { kind: 'map', offset: this.cs, pairs };
    while (!this.done) {
      const cs = this.cs;
      const ind = this.indent;
      if (ind < indent) break;
      if (ind > indent || this.isSeqItem(cs)) decline();
      BLOCK_KEY.lastIndex = cs;
      if (!BLOCK_KEY.test(t)) decline();
      const colon = BLOCK_KEY.lastIndex - 1;
      const key = t.slice(cs, colon);
      const end = this.ends[this.li]!;
      let v = colon + 1;
      while (v < end && t.charCodeAt(v) === 0x20) v++;
      if (v === end || t.charCodeAt(v) === 0x23) {
        // `key:` (maybe a comment): the value is the block below, a sequence at this indent, or null
        this.next();
        if (!this.done && (this.indent > indent || (this.indent === indent && this.isSeqItem(this.cs)))) {
          const value = this.indent > indent ? this.block() : this.seq(indent);
          setKey(obj, pairs, key, cs, value.data, value.root);
        } else {
          // yaml places the empty value after the spaces that follow the colon
          setKey(obj, pairs, key, cs, null, { kind: 'scalar', offset: v });
        }
      } else {
        const value = this.inline(v, end);
        setKey(obj, pairs, key, cs, value.data, value.root);
        this.next();
      }
    }
    return { data: obj, root };
  }

  private seq(indent: number): { data: unknown; root: SubsetNode } {
    const t = this.text;
    const arr: unknown[] = [];
    const items: SubsetNode[] = [];
    const root: SubsetNode = { kind: 'seq', offset: this.cs, items };
    while (!this.done) {
      const cs = this.cs;
      const ind = this.indent;
      if (ind < indent) break;
      if (ind > indent) decline();
      if (!this.isSeqItem(cs)) break; // the mapping this sequence is a value of goes on
      const end = this.ends[this.li]!;
      let v = cs + 1;
      while (v < end && t.charCodeAt(v) === 0x20) v++;
      if (v === end || t.charCodeAt(v) === 0x23) {
        // `-` alone: the item is the block below (an empty item is left to yaml)
        this.next();
        if (this.done || this.indent <= indent || v < end) decline();
        const value = this.block();
        arr.push(value.data);
        items.push(value.root);
        continue;
      }
      BLOCK_KEY.lastIndex = v;
      if (BLOCK_KEY.test(t) || this.isSeqItem(v)) {
        // `- key: …` / `- - …`: a compact collection whose lines continue at the item's column
        this.col = v;
        const value = this.block();
        arr.push(value.data);
        items.push(value.root);
        continue;
      }
      const value = this.inline(v, end);
      arr.push(value.data);
      items.push(value.root);
      this.next();
    }
    return { data: arr, root };
  }

  /** A value on the rest of the line: a flow collection, a quoted or a plain scalar, then at most a comment. */
  private inline(at: number, end: number): { data: unknown; root: SubsetNode } {
    const t = this.text;
    const c = t.charCodeAt(at);
    let out: { data: unknown; root: SubsetNode; end: number };
    if (c === 0x7b || c === 0x5b) out = this.flow(at, end);
    else if (c === 0x22 || c === 0x27) out = this.quoted(at, end);
    else {
      if (!plainStartOk(t, at)) decline();
      // a plain scalar ends at a comment (` #`) or the line's end
      let stop = t.indexOf(' #', at);
      if (stop === -1 || stop > end) stop = end;
      const s = t.slice(at, stop).trimEnd();
      if (s.includes(': ') || s.endsWith(':')) decline();
      // a deeper next line (a multi-line scalar) fails the enclosing collection's indentation check
      return { data: corePlain(s), root: { kind: 'scalar', offset: at } };
    }
    let i = out.end;
    while (i < end && t.charCodeAt(i) === 0x20) i++;
    if (i < end && !(t.charCodeAt(i) === 0x23 && i > out.end)) decline();
    return { data: out.data, root: out.root };
  }

  private quoted(at: number, end: number): { data: unknown; root: SubsetNode; end: number } {
    const t = this.text;
    if (t.charCodeAt(at) === 0x27) {
      // single-quoted: '' is a quote, nothing else is special
      let i = at + 1;
      for (;;) {
        const q = t.indexOf("'", i);
        if (q === -1 || q >= end) decline();
        if (t.charCodeAt(q + 1) === 0x27) {
          i = q + 2;
          continue;
        }
        return { data: t.slice(at + 1, q).replaceAll("''", "'"), root: { kind: 'scalar', offset: at }, end: q + 1 };
      }
    }
    let i = at + 1;
    while (i < end) {
      const ch = t.charCodeAt(i);
      if (ch === 0x5c) i += 2;
      else if (ch === 0x22) break;
      else i++;
    }
    if (i >= end) decline();
    const raw = t.slice(at, i + 1);
    if (!JSON_SAFE_QUOTED.test(raw)) decline();
    return { data: JSON.parse(raw) as string, root: { kind: 'scalar', offset: at }, end: i + 1 };
  }

  /** A flow collection that opens and closes on this line. */
  private flow(at: number, end: number): { data: unknown; root: SubsetNode; end: number } {
    const t = this.text;
    const skip = (i: number): number => {
      while (i < end && t.charCodeAt(i) === 0x20) i++;
      return i;
    };
    const value = (i: number): { data: unknown; root: SubsetNode; end: number } => {
      const c = t.charCodeAt(i);
      if (c === 0x7b || c === 0x5b) return this.flow(i, end);
      if (c === 0x22 || c === 0x27) return this.quoted(i, end);
      if (!plainStartOk(t, i)) decline();
      let j = i;
      while (j < end) {
        const ch = t.charCodeAt(j);
        if (ch === 0x2c || ch === 0x5b || ch === 0x5d || ch === 0x7b || ch === 0x7d) break;
        if (ch === 0x3a) {
          // `https://…` goes on; `a: b` in a sequence (a one-pair map) and `a:` are left to yaml
          const d = t.charCodeAt(j + 1);
          if (j + 1 >= end || d === 0x20 || d === 0x2c || d === 0x5b || d === 0x5d || d === 0x7b || d === 0x7d) decline();
        } else if (ch === 0x23 && t.charCodeAt(j - 1) === 0x20) decline(); // a comment inside the collection
        j++;
      }
      const s = t.slice(i, j).trimEnd();
      return { data: corePlain(s), root: { kind: 'scalar', offset: i }, end: i + s.length };
    };
    if (t.charCodeAt(at) === 0x5b) {
      const arr: unknown[] = [];
      const items: SubsetNode[] = [];
      let i = skip(at + 1);
      if (t.charCodeAt(i) === 0x5d) return { data: arr, root: { kind: 'seq', offset: at, items }, end: i + 1 };
      for (;;) {
        const v = value(i);
        arr.push(v.data);
        items.push(v.root);
        i = skip(v.end);
        const ch = t.charCodeAt(i);
        if (ch === 0x5d) return { data: arr, root: { kind: 'seq', offset: at, items }, end: i + 1 };
        if (ch !== 0x2c) decline();
        i = skip(i + 1);
        if (i >= end || t.charCodeAt(i) === 0x5d) decline(); // a trailing comma: left to yaml
      }
    }
    const obj: Obj = {};
    const pairs = new Map<string, { keyOffset: number; value: SubsetNode }>();
    let i = skip(at + 1);
    if (t.charCodeAt(i) === 0x7d) return { data: obj, root: { kind: 'map', offset: at, pairs }, end: i + 1 };
    for (;;) {
      FLOW_KEY.lastIndex = i;
      if (!FLOW_KEY.test(t) || FLOW_KEY.lastIndex > end) decline();
      const key = t.slice(i, FLOW_KEY.lastIndex);
      const vi = skip(FLOW_KEY.lastIndex + 2);
      const c = t.charCodeAt(vi);
      if (vi >= end || c === 0x2c || c === 0x7d) decline(); // `{ a: }`: left to yaml
      const v = value(vi);
      setKey(obj, pairs, key, i, v.data, v.root);
      i = skip(v.end);
      const ch = t.charCodeAt(i);
      if (ch === 0x7d) return { data: obj, root: { kind: 'map', offset: at, pairs }, end: i + 1 };
      if (ch !== 0x2c) decline();
      i = skip(i + 1);
      if (i >= end || t.charCodeAt(i) === 0x7d) decline();
    }
  }
}

/** Reads `text` when it is inside the subset (see above), else undefined. */
export function readYamlSubset(text: string): SubsetDocument | undefined {
  // byte-order mark, tabs, CR, NUL and the C1/line-separator characters yaml treats specially: left to yaml
  if (/[\t\r\u0000\u0085\u2028\u2029\ufeff]/.test(text)) return undefined;
  const reader = new Reader(text);
  try {
    const { data, root } = reader.document();
    return { data, root, lineStarts: reader.lineStarts };
  } catch (err) {
    if (err === DECLINE) return undefined;
    throw err;
  }
}

