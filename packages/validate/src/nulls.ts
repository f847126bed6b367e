/**
 * Explicit nulls, judged the way the API server treats them (apiextensions-apiserver
 * `schema/defaulting/prunenulls.go`, `PruneNonNullableNullsWithoutDefaults`, run on decoding, before validation):
 *
 * - a null *field* (an object member) whose schema is not `nullable` is dropped, or replaced by the schema's
 *   `default`: valid, but the line says something the server will not store → a warning;
 * - a null field whose schema is `nullable: true` is kept → fine, nothing to report;
 * - a null field with no schema of its own (inside `x-kubernetes-preserve-unknown-fields`) is kept as null → fine;
 * - a null *list item* is not pruned: the schema judges it (an error unless its items are `nullable`), so it is
 *   not reported here.
 *
 * Built-in kinds decode into Go structs, where a null field ends up as the zero value: dropped, as above.
 * kustomize reads its files the same way, so a null there is ignored.
 */
import { toPointer } from './ajv-errors.ts';
import type { JsonSchema } from './convert.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface NullFinding {
  path: string;
  code: 'NULL_VALUE';
  severity: 'warning';
  message: string;
  hint: string;
}

/** Who reads the document: the API server (a CRD schema when known, else a built-in kind) or kustomize. */
export type NullReader = { schema: JsonSchema | undefined } | 'kustomize';

// A subtree the API server does not prune: fields without a schema under x-kubernetes-preserve-unknown-fields.
const KEPT = Symbol('kept');
// A field the schema does not know: the schema check reports it (an unknown field), the null check leaves it.
const UNKNOWN = Symbol('unknown');
type Schema = JsonSchema | typeof KEPT | typeof UNKNOWN | undefined;

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

/** Whether `value` holds a null anywhere (no allocation: the common case). */
export function hasNull(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const v of value) if (hasNull(v)) return true;
    return false;
  }
  for (const k in value) if (hasNull((value as Obj)[k])) return true;
  return false;
}

function fieldSchema(schema: Schema, key: string): Schema {
  if (schema === undefined || schema === KEPT || schema === UNKNOWN) return schema;
  const props = schema['properties'];
  if (isObj(props) && isObj(props[key])) return props[key] as JsonSchema;
  const extra = schema['additionalProperties'];
  if (isObj(extra)) return extra;
  return schema['x-kubernetes-preserve-unknown-fields'] === true ? KEPT : UNKNOWN;
}

function itemSchema(schema: Schema): Schema {
  if (schema === undefined || schema === KEPT || schema === UNKNOWN) return schema;
  return isObj(schema['items']) ? (schema['items'] as JsonSchema) : undefined;
}

/**
 * Warnings for the explicit nulls of one document that its reader drops or replaces (see the module comment).
 * Without a schema (built-in kinds, kustomize files) every null field counts as dropped.
 */
export function nullFindings(content: unknown, reader: NullReader): NullFinding[] {
  if (!hasNull(content)) return [];
  const out: NullFinding[] = [];
  const warn = (at: (string | number)[], message: string, hint: string) => out.push({ path: toPointer(at), code: 'NULL_VALUE', severity: 'warning', message, hint });
  const walk = (value: unknown, schema: Schema, path: (string | number)[]): void => {
    if (Array.isArray(value)) {
      const items = itemSchema(schema);
      value.forEach((v, i) => v !== null && walk(v, items, [...path, i]));
      return;
    }
    if (!isObj(value)) return;
    for (const [key, v] of Object.entries(value)) {
      // an object's metadata is ObjectMeta whatever its CRD says (`type: object`): decoded like a built-in kind
      const sub = path.length === 0 && key === 'metadata' ? undefined : fieldSchema(schema, key);
      const at = [...path, key];
      if (v !== null) walk(v, sub, at);
      else if (reader === 'kustomize') warn(at, `explicit null: kustomize ignores "${key}"`, 'kustomize ignores it; remove the line');
      else if (sub === KEPT || sub === UNKNOWN || (sub !== undefined && sub['nullable'] === true)) continue;
      else if (sub !== undefined && 'default' in sub) {
        warn(at, `explicit null: the API server replaces "${key}" with its default ${show(sub['default'])}`, 'the API server applies the default either way; remove the line');
      } else warn(at, `explicit null: the API server drops "${key}"`, 'the API server drops it; remove the line');
    }
  };
  walk(content, reader === 'kustomize' ? undefined : reader.schema, []);
  return out;
}

/** A copy without null fields, as the API server stores it (null list items stay: they are not pruned). */
export function pruneNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === null ? v : pruneNulls(v)));
  if (isObj(value)) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = pruneNulls(v);
    return out;
  }
  return value;
}
