import type { AjvLikeError } from './builtin.ts';

/** A schema error turned into a readable message with a stable code. */
export interface SchemaMessage {
  path: string;
  code: string;
  message: string;
  hint?: string | undefined;
}

interface VerboseError extends AjvLikeError {
  data?: unknown;
  parentSchema?: Record<string, unknown>;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'number' && Number.isInteger(value) ? 'integer' : typeof value;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

function suggest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function isIntOrString(schema: Record<string, unknown> | undefined): boolean {
  const oneOf = schema?.['oneOf'];
  if (!Array.isArray(oneOf)) return false;
  const text = JSON.stringify(oneOf);
  // a field's int-or-string also accepts null (the API server drops a null field), see convert.ts
  return text === '[{"type":"string"},{"type":"integer"}]' || text === '[{"type":"string"},{"type":"integer"},{"type":"null"}]';
}

/** `object,null` → `object`: a field that accepts null says what it needs when it is set. */
function expectedTypes(type: unknown): string {
  const types = (Array.isArray(type) ? type.map(String) : String(type).split(',')).filter((t) => t !== 'null');
  return types.length > 0 ? types.join(' or ') : 'null';
}

/**
 * Turns ajv errors (allErrors) into one message per real problem: branch errors under a failed oneOf/anyOf are
 * folded into the oneOf error, and unknown fields get a "did you mean" from the schema's properties.
 */
export function schemaMessages(errors: readonly AjvLikeError[], document?: unknown): SchemaMessage[] {
  const branches = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.schemaPath);
  const out: SchemaMessage[] = [];
  const seen = new Set<string>();
  for (const raw of errors) {
    const err = raw as VerboseError;
    // non-verbose validators (kubernetes-models) do not carry the offending value: look it up
    if (!('data' in err) && document !== undefined) err.data = valueAt(document, err.instancePath);
    if (branches.some((b) => err.schemaPath.startsWith(`${b}/`))) continue;
    let msg: SchemaMessage;
    switch (err.keyword) {
      case 'additionalProperties': {
        const field = String(err.params['additionalProperty']);
        const props = err.parentSchema?.['properties'];
        const known = props && typeof props === 'object' ? Object.keys(props) : [];
        const close = suggest(field, known);
        msg = {
          path: `${err.instancePath}/${field.replace(/~/g, '~0').replace(/\//g, '~1')}`,
          code: 'UNKNOWN_FIELD',
          message: `unknown field "${field}"`,
          hint: close ? `did you mean "${close}"?` : known.length > 0 ? `known fields: ${known.slice(0, 12).join(', ')}${known.length > 12 ? ', …' : ''}` : undefined,
        };
        break;
      }
      case 'required':
        msg = {
          path: `${err.instancePath}/${String(err.params['missingProperty'])}`,
          code: 'REQUIRED_FIELD',
          message: `missing required field "${String(err.params['missingProperty'])}"`,
        };
        break;
      case 'type':
        msg = {
          path: err.instancePath,
          code: 'TYPE_MISMATCH',
          message: `must be ${expectedTypes(err.params['type'])}, got ${typeOf(err.data)}${err.data !== undefined && typeof err.data !== 'object' ? ` ${show(err.data)}` : ''}`,
          // a null field is dropped before validation; a null list item is not, and fails here
          hint: err.data === null ? 'a null list item is not dropped by the API server: remove it' : undefined,
        };
        break;
      case 'enum':
        msg = {
          path: err.instancePath,
          code: 'ENUM',
          message: `must be one of ${(err.params['allowedValues'] as unknown[]).filter((v) => v !== null).map((v) => show(v)).join(', ')}; got ${show(err.data)}`,
        };
        break;
      case 'oneOf':
      case 'anyOf':
        msg = isIntOrString(err.parentSchema) || isIntOrString(err.parentSchema && { oneOf: err.parentSchema['oneOf'] })
          ? { path: err.instancePath, code: 'TYPE_MISMATCH', message: `must be an integer or a string, got ${typeOf(err.data)}` }
          : { path: err.instancePath, code: 'SCHEMA', message: `${err.message ?? 'is invalid'}; got ${show(err.data)}` };
        break;
      case 'const':
        msg = { path: err.instancePath, code: 'ENUM', message: `must be ${show(err.params['allowedValue'])}; got ${show(err.data)}` };
        break;
      case 'pattern':
        msg = { path: err.instancePath, code: 'PATTERN', message: `must match ${String(err.params['pattern'])}; got ${show(err.data)}` };
        break;
      default:
        msg = {
          path: err.instancePath,
          code: 'SCHEMA',
          message: `${err.message ?? `fails ${err.keyword}`}${err.data !== undefined && typeof err.data !== 'object' ? `; got ${show(err.data)}` : ''}`,
        };
    }
    const key = `${msg.path}\0${msg.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(msg);
  }
  return out;
}

/** Value at a JSON pointer, or undefined. */
export function valueAt(document: unknown, pointer: string): unknown {
  let cur: unknown = document;
  for (const seg of pointerSegments(pointer)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** `/a/0/b~1c` → ['a', '0', 'b/c']. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** ['a', 0, 'b/c'] → `/a/0/b~1c`. */
export function toPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}
