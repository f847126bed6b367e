/**
 * A fast reader for the YAML our templates produce: block mappings and sequences laid out by the template, plain
 * scalars written in the template (`kind: Job`, `interval: 5m`), and values from the `{{y}}` helper, which are JSON
 * on one line. Reading that with the `yaml` library costs ≈5 ms per recipe; this is a line scan plus JSON.parse.
 *
 * It returns exactly what `yaml` returns (YAML 1.2 core schema, then toJS) or `undefined` for anything outside that
 * subset — comments, anchors, tags, quotes other than JSON's, block scalars, ambiguous plain scalars, duplicate keys —
 * and the caller then uses the `yaml` library, which also reports errors. A property test holds the two equal.
 */

type Obj = Record<string, unknown>;

/** Plain scalars accepted as strings: no indicator first, no `: ` or ` #`, nothing a 1.2 core tag would resolve. */
const SAFE_PLAIN = /^[A-Za-z0-9/][A-Za-z0-9._/=:+-]*$/;
const CORE_INT = /^[-+]?[0-9]+$/;
// Anything a YAML 1.2 core tag other than str might claim (numbers in every form, bool, null): left to yaml.
const CORE_NON_STRING = /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|true|True|TRUE|false|False|FALSE|null|Null|NULL|~)$/;
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$/;
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;

class Bail extends Error {}
const bail = (): never => {
  throw new Bail();
};

interface Line {
  indent: number;
  text: string;
}

// Template output repeats the same keys and plain scalars thousands of times: their verdicts are memoized (a
// Bail verdict too), bounded so odd input cannot grow the maps without limit.
const MEMO_LIMIT = 10_000;
const BAIL = Symbol('bail');
const plainMemo = new Map<string, unknown>();
const keyMemo = new Map<string, boolean | typeof BAIL>();

function remember<K, V>(memo: Map<K, V>, key: K, value: V): V {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
  return value;
}

/** A plain scalar written in the template. */
function plain(text: string): unknown {
  let v = plainMemo.get(text);
  if (v === undefined) {
    try {
      v = remember(plainMemo, text, plainUncached(text));
    } catch (err) {
      if (err instanceof Bail) remember(plainMemo, text, BAIL);
      throw err;
    }
  }
  return v === BAIL ? bail() : v;
}

function plainUncached(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  // A JSON number from the helper: YAML's core int/float patterns cover JSON's, and resolve to the same double.
  if (JSON_NUMBER.test(text)) return Number(text);
  if (CORE_INT.test(text) && text.length < 16) return Number.parseInt(text, 10); // `+2`, `0755` (1.2: decimal)
  if (CORE_NON_STRING.test(text) || !SAFE_PLAIN.test(text) || text.endsWith(':')) bail();
  return text;
}

/** A value on the rest of a line: JSON from the helper, or a plain scalar. */
function inlineValue(text: string): unknown {
  const c = text[0];
  if (c === '"' || c === '[' || c === '{') {
    try {
      return JSON.parse(text);
    } catch {
      return bail();
    }
  }
  return plain(text);
}

/** End (exclusive) of the JSON string starting at `start`, or -1. */
function jsonStringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '"') return i + 1;
  }
  return -1;
}

/** Splits `key: value` / `key:`; undefined when the text is not a mapping entry. */
function splitEntry(text: string): { key: string; rest: string } | undefined {
  let keyEnd: number;
  let key: string;
  if (text[0] === '"') {
    keyEnd = jsonStringEnd(text, 0);
    if (keyEnd === -1 || text[keyEnd] !== ':') return undefined;
    try {
      key = JSON.parse(text.slice(0, keyEnd)) as string;
    } catch {
      return bail();
    }
  } else {
    keyEnd = text.indexOf(':');
    if (keyEnd <= 0) return undefined;
    key = text.slice(0, keyEnd);
    let verdict = keyMemo.get(key);
    // yaml keys a `null` entry by '' and `1.0` by '1'
    if (verdict === undefined) verdict = remember(keyMemo, key, CORE_NON_STRING.test(key) ? BAIL : PLAIN_KEY.test(key));
    if (verdict === BAIL) bail();
    if (!verdict) {
      // `https://…`, `a=b:c`: a scalar with a colon not followed by a space is no entry
      return text[keyEnd + 1] === undefined || text[keyEnd + 1] === ' ' ? bail() : undefined;
    }
  }
  const after = text.slice(keyEnd + 1);
  if (after === '') return { key, rest: '' };
  if (after[0] !== ' ') return text[0] === '"' ? bail() : undefined;
  const rest = after.slice(1);
  if (rest === '' || rest[0] === ' ' || rest.endsWith(' ')) bail();
  return { key, rest };
}

function setKey(map: Obj, key: string, value: unknown): void {
  // duplicate keys are an error to yaml (uniqueKeys); __proto__ and << have their own rules there
  if (Object.hasOwn(map, key) || key === '__proto__' || key === '<<') bail();
  map[key] = value;
}

class Reader {
  private pos = 0;
  private readonly lines: Line[];
  constructor(lines: Line[]) {
    this.lines = lines;
  }

  done(): boolean {
    return this.pos >= this.lines.length;
  }

  /** The node whose first line is the current one, at exactly `indent`. */
  node(indent: number): unknown {
    const line = this.lines[this.pos]!;
    if (line.indent !== indent) bail();
    return line.text.startsWith('- ') || line.text === '-' ? this.seq(indent) : this.map(indent, line.text);
  }

  /** A block mapping at `indent`; its first entry's text may sit after a `- ` on the line (`firstText`). */
  private map(indent: number, firstText: string): Obj {
    const map: Obj = {};
    let text = firstText;
    for (;;) {
      const entry = splitEntry(text);
      if (!entry) bail();
      const { key, rest } = entry!;
      this.pos++;
      if (rest !== '') {
        setKey(map, key, inlineValue(rest));
        if (!this.done() && this.lines[this.pos]!.indent > indent) bail();
      } else {
        const next = this.lines[this.pos];
        if (next === undefined || next.indent <= indent) {
          // `key:` with nothing under it is null — or, at the same indent, a compact sequence: left to yaml
          if (next !== undefined && next.indent === indent && (next.text.startsWith('- ') || next.text === '-')) bail();
          setKey(map, key, null);
        } else setKey(map, key, this.node(next.indent));
      }
      const next = this.lines[this.pos];
      if (next === undefined || next.indent < indent) return map;
      if (next.indent > indent || next.text.startsWith('- ') || next.text === '-') bail();
      text = next.text;
    }
  }

  private seq(indent: number): unknown[] {
    const seq: unknown[] = [];
    for (;;) {
      const line = this.lines[this.pos]!;
      if (line.text === '-' || line.text.startsWith('-  ')) bail();
      const content = line.text.slice(2);
      const itemIndent = indent + 2;
      if (content.startsWith('- ')) bail(); // nested compact sequence
      if (splitEntry(content) !== undefined) {
        seq.push(this.map(itemIndent, content));
      } else {
        seq.push(inlineValue(content));
        this.pos++;
        if (!this.done() && this.lines[this.pos]!.indent > indent) bail();
      }
      const next = this.lines[this.pos];
      if (next === undefined || next.indent < indent) return seq;
      if (next.indent > indent || !next.text.startsWith('- ')) bail();
    }
  }
}

function lineOf(raw: string): Line | undefined {
  let indent = 0;
  while (raw.charCodeAt(indent) === 32) indent++;
  const text = raw.slice(indent);
  if (text === '') return undefined;
  const c = text[0];
  // comments, tabs, directives, anchors, tags, quotes yaml reads differently from JSON, block scalars…
  if (c === '#' || c === '\t' || c === '%' || c === '&' || c === '*' || c === '!' || c === "'" || c === '|' || c === '>' || c === '?' || c === '@' || c === '`') bail();
  if (text.includes('\t') || text.includes('\r') || text.endsWith(' ')) bail();
  return { indent, text };
}

/**
 * Reads template output: every document as yaml's toJS would return it (empty documents dropped), or undefined when
 * the text leaves the subset described above.
 */
export function parseTemplateOutput(text: string): Obj[] | undefined {
  try {
    const docs: Obj[] = [];
    let lines: Line[] = [];
    const flush = (): void => {
      if (lines.length === 0) return;
      const reader = new Reader(lines);
      const value = reader.node(0);
      if (!reader.done()) bail();
      if (typeof value !== 'object' || value === null || Array.isArray(value)) bail();
      docs.push(value as Obj);
      lines = [];
    };
    for (const raw of text.split('\n')) {
      if (raw === '---') {
        flush();
        continue;
      }
      if (raw.startsWith('---') || raw.startsWith('...')) bail();
      const line = lineOf(raw);
      if (line) lines.push(line);
    }
    flush();
    return docs;
  } catch (err) {
    if (err instanceof Bail) return undefined;
    throw err;
  }
}
