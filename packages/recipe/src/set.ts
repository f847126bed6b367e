import { parse } from 'yaml';
import type { Issue } from '@llm-recipes/errors';

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** Result of parsing `--set a.b=c` overrides: a nested object plus any malformed entries. */
export interface ParsedSet {
  data: Record<string, unknown>;
  issues: Issue[];
}

/**
 * Parses `--set` overrides. Strings are `dotted.path=value` with the value read as YAML (`8` is a number,
 * `true` a boolean, `[1,2]` a list, `"8"` a string); a record maps dotted paths to already typed values.
 */
export function parseSet(input: readonly string[] | Record<string, unknown> | undefined, file = '--set'): ParsedSet {
  const data: Record<string, unknown> = {};
  const issues: Issue[] = [];
  const entries: [string, unknown, string][] = [];
  if (Array.isArray(input)) {
    for (const raw of input as readonly string[]) {
      const eq = raw.indexOf('=');
      if (eq <= 0) {
        issues.push({
          code: 'SET_INVALID',
          file,
          path: [],
          message: `--set "${raw}" is not of the form path=value`,
          hint: 'write e.g. --set topology.decode.replicas=2',
        });
        continue;
      }
      const text = raw.slice(eq + 1);
      let value: unknown;
      try {
        value = text.trim() === '' ? '' : parse(text);
      } catch {
        value = text;
      }
      entries.push([raw.slice(0, eq).trim(), value ?? text, raw]);
    }
  } else if (input !== undefined) {
    for (const [k, v] of Object.entries(input)) entries.push([k, v, `${k}=${String(v)}`]);
  }
  for (const [key, value, raw] of entries) {
    const path = key.split('.');
    if (path.some((p) => p === '' || FORBIDDEN.has(p))) {
      issues.push({
        code: 'SET_INVALID',
        file,
        path,
        message: `--set "${raw}" has an invalid path "${key}"`,
        hint: 'paths are dot-separated field names, e.g. backend.args.max-num-seqs',
      });
      continue;
    }
    let node = data;
    for (const seg of path.slice(0, -1)) {
      const next = node[seg];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[seg] = {};
      node = node[seg] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = value;
  }
  return { data, issues };
}
