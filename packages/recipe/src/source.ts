import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import type { Issue } from '@llm-recipes/errors';
import { didYouMean } from './suggest.ts';
import { readYamlSubset, type SubsetNode } from './yaml-subset.ts';

/** A parsed YAML file that can point at any of its nodes. */
export interface SourceFile {
  /** Repo-relative path with forward slashes. */
  file: string;
  text: string;
  /** The yaml library's document; for a file the fast reader took, parsed on first use. */
  readonly doc: Document.Parsed;
  lineCounter: LineCounter;
  /** Plain data, or undefined when the file did not parse. */
  data: unknown;
  /** Where each node starts, when the fast reader took the file (then `locate` needs no `doc`). */
  nodes?: SubsetNode | undefined;
}

export interface Position {
  line: number;
  col: number;
}

function parseWithPositions(text: string, lineCounter?: LineCounter): Document.Parsed {
  return parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
}

/**
 * Parses YAML, collecting syntax errors as positioned issues; never throws. Files in the subset recipe files are
 * written in (see yaml-subset.ts) take the fast reader, which yields the same data and node positions; anything
 * else, and every file with a syntax error, goes through the yaml library.
 */
export function parseSource(file: string, text: string, issues: Issue[]): SourceFile {
  const fast = readYamlSubset(text);
  if (fast !== undefined) {
    const lineCounter = new LineCounter();
    for (const start of fast.lineStarts) lineCounter.addNewLine(start);
    let doc: Document.Parsed | undefined;
    return {
      file,
      text,
      get doc() {
        return (doc ??= parseWithPositions(text));
      },
      lineCounter,
      data: fast.data,
      nodes: fast.root,
    };
  }
  const lineCounter = new LineCounter();
  const doc = parseWithPositions(text, lineCounter);
  let ok = true;
  for (const err of doc.errors) {
    ok = false;
    const pos = lineCounter.linePos(err.pos[0]);
    issues.push({
      code: 'YAML_SYNTAX',
      file,
      path: [],
      line: pos.line,
      col: pos.col,
      message: `YAML syntax error: ${firstLine(err.message)}`,
      hint: yamlHint(err.code),
    });
  }
  let data: unknown;
  if (ok) {
    try {
      data = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      issues.push({ code: 'YAML_SYNTAX', file, path: [], line: 1, col: 1, message: `YAML error: ${String((err as Error).message)}` });
    }
  }
  return { file, text, doc, lineCounter, data };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once in a mapping; remove or merge the duplicate';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
    case 'UNEXPECTED_TOKEN':
      return 'check indentation and that every "key: value" pair has a space after the colon';
    case 'MULTIPLE_DOCS':
      return 'a recipe file holds one YAML document; remove the extra "---"';
    default:
      return 'fix the YAML syntax at this position';
  }
}

/**
 * Position of the node at `path`; with `key: true` the position of the map key instead of its value.
 * A path that does not exist points at the deepest existing ancestor (a missing key → its parent).
 */
export function locate(src: SourceFile, path: readonly PropertyKey[], options: { key?: boolean } = {}): Position {
  if (src.nodes !== undefined) return src.lineCounter.linePos(locateFast(src.nodes, path, options.key === true));
  let node: unknown = src.doc.contents;
  let found: Node | undefined = isNode(node) ? node : undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isAlias(node)) node = node.resolve(src.doc);
    let next: unknown;
    let keyNode: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (pair === undefined) break;
      keyNode = pair.key;
      next = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg];
      if (next === undefined) break;
    } else {
      break;
    }
    const last = i === path.length - 1;
    const target = last && options.key && isNode(keyNode) ? keyNode : next;
    if (isNode(target)) found = target;
    node = next;
  }
  const offset = found?.range?.[0] ?? 0;
  return src.lineCounter.linePos(offset);
}

/** `locate` over the fast reader's position tree: the same walk, the same offsets. */
function locateFast(root: SubsetNode, path: readonly PropertyKey[], key: boolean): number {
  let node = root;
  let offset = root.offset;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    let next: SubsetNode | undefined;
    let keyOffset: number | undefined;
    if (node.kind === 'map') {
      const pair = node.pairs.get(String(seg));
      if (pair === undefined) break;
      keyOffset = pair.keyOffset;
      next = pair.value;
    } else if (node.kind === 'seq' && typeof seg === 'number') {
      next = node.items[seg];
      if (next === undefined) break;
    } else {
      break;
    }
    offset = i === path.length - 1 && key && keyOffset !== undefined ? keyOffset : next.offset;
    node = next;
  }
  return offset;
}

function isNode(x: unknown): x is Node {
  return typeof x === 'object' && x !== null && 'range' in x;
}

/** Known keys of the object schema reached by following `path` from `schema` (for did-you-mean hints). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: unknown = schema;
  for (const seg of [...path, undefined]) {
    for (;;) {
      const def = (s as { def?: { type?: string; innerType?: unknown } }).def;
      if (def?.type === 'optional' || def?.type === 'nullable' || def?.type === 'default') s = def.innerType;
      else break;
    }
    const def = (s as { def?: Record<string, unknown> }).def;
    if (seg === undefined) {
      return def?.type === 'object' ? Object.keys((s as { shape: Record<string, unknown> }).shape) : [];
    }
    if (def?.type === 'object') s = (s as { shape: Record<string, unknown> }).shape[String(seg)];
    else if (def?.type === 'record') s = def.valueType;
    else if (def?.type === 'array') s = def.element;
    else return [];
    if (s === undefined) return [];
  }
  return [];
}

/** Turns zod issues into positioned product issues; `code` prefixes keep schema problems recognisable. */
export function zodIssues(src: SourceFile, schema: z.ZodType, issues: readonly z.core.$ZodIssue[], basePath: PropertyKey[] = []): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    const path = [...basePath, ...issue.path] as (string | number)[];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const pos = locate(src, [...path, key], { key: true });
        out.push({
          code: 'SCHEMA_UNKNOWN_KEY',
          file: src.file,
          path: [...path, key],
          ...pos,
          message: `unknown field "${key}"`,
          hint: didYouMean(key, known, 'known fields'),
        });
      }
      continue;
    }
    const missing = (issue.code === 'invalid_type' || issue.code === 'invalid_value') && 'input' in issue && issue.input === undefined;
    const pos = locate(src, path);
    out.push({
      code: missing ? 'SCHEMA_MISSING_FIELD' : schemaCode(issue.code),
      file: src.file,
      path,
      ...pos,
      message: missing ? `missing required field "${String(path[path.length - 1] ?? '')}"` : describeIssue(issue),
      hint: hintFor(issue),
    });
  }
  return out;
}

function schemaCode(code: string): string {
  switch (code) {
    case 'invalid_type':
      return 'SCHEMA_INVALID_TYPE';
    case 'invalid_value':
      return 'SCHEMA_INVALID_VALUE';
    case 'too_small':
    case 'too_big':
      return 'SCHEMA_OUT_OF_RANGE';
    case 'invalid_format':
      return 'SCHEMA_INVALID_FORMAT';
    default:
      return 'SCHEMA_INVALID';
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const got = 'input' in issue ? ` (got ${JSON.stringify(issue.input)})` : '';
  return `${issue.message.replace(/^Invalid input: /, '')}${got.length > 60 ? '' : got}`;
}

function hintFor(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === 'invalid_value') {
    const values = issue.values.map((v) => String(v));
    return typeof issue.input === 'string' ? didYouMean(issue.input, values, 'allowed values') : `allowed values: ${values.join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.input !== undefined) return `use a ${issue.expected} here`;
  return undefined;
}
