import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, isNode, type Document } from 'yaml';
import { pointerSegments } from './ajv-errors.ts';
import type { ManifestDocument, ValidationProblem } from './types.ts';

/** One YAML document of one manifest file, with what is needed to point at a line. */
export interface LoadedDocument {
  /** Display path (relative to cwd when under it). */
  file: string;
  /** Absolute path, when it came from disk. */
  absPath: string | undefined;
  index: number;
  content: unknown;
  /** Line of a JSON pointer in the source, when known. */
  lineOf: (pointer: string) => number | undefined;
}

export interface LoadedManifests {
  documents: LoadedDocument[];
  problems: ValidationProblem[];
  files: string[];
}

const YAML_EXT = /\.ya?ml$/i;

/**
 * Every .yaml/.yml file under `path` (a file or a directory), sorted; hidden directories, node_modules and
 * cluster profiles (`cluster.yaml`, an input of the renderer, not a manifest) are skipped.
 */
export function listYamlFiles(path: string): string[] {
  const st = statSync(path);
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...listYamlFiles(full));
    else if (entry.isFile() && YAML_EXT.test(entry.name) && entry.name !== 'cluster.yaml') out.push(full);
  }
  return out;
}

export function displayPath(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? abs : rel;
}

function lineFinder(doc: Document, counter: LineCounter): (pointer: string) => number | undefined {
  return (pointer) => {
    const segs = pointerSegments(pointer);
    // walk down as far as the path exists, so a missing field points at its parent
    for (let n = segs.length; n >= 0; n--) {
      const keys = segs.slice(0, n).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      const node = n === 0 ? doc.contents : doc.getIn(keys, true);
      if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

/** Parses YAML text into documents; syntax errors become YAML_PARSE problems. */
export function parseManifestText(text: string, file: string, absPath: string | undefined, out: LoadedManifests): void {
  const counter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: counter, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0 || doc.warnings.some((w) => w.code === 'DUPLICATE_KEY')) {
      for (const e of doc.errors) {
        out.problems.push({
          kind: '',
          name: '',
          file,
          path: '',
          line: e.linePos?.[0]?.line,
          message: `YAML syntax: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}`,
          code: 'YAML_PARSE',
          severity: 'error',
        });
      }
      return;
    }
    const content = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    // an empty document (a trailing `---`) is not an object to validate
    if (content === null || content === undefined) return;
    out.documents.push({ file, absPath, index, content, lineOf: lineFinder(doc, counter) });
  });
}

/** Loads files/directories or in-memory documents. */
export function loadManifests(inputs: readonly (string | ManifestDocument)[], cwd: string): LoadedManifests {
  const out: LoadedManifests = { documents: [], problems: [], files: [] };
  for (const input of inputs) {
    if (typeof input !== 'string') {
      if (!out.files.includes(input.file)) out.files.push(input.file);
      out.documents.push({ file: input.file, absPath: undefined, index: input.index ?? 0, content: input.content, lineOf: () => undefined });
      continue;
    }
    const abs = resolve(cwd, input);
    for (const f of listYamlFiles(abs)) {
      const file = displayPath(f, cwd);
      out.files.push(file);
      parseManifestText(readFileSync(f, 'utf8'), file, f, out);
    }
  }
  return out;
}
