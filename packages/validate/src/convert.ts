/**
 * OpenAPI v3 (CRD `openAPIV3Schema`) → JSON Schema, following kubeconform's `scripts/openapi2jsonschema.py`
 * (https://github.com/yannh/kubeconform/blob/master/scripts/openapi2jsonschema.py) so that the embedded validator
 * and kubeconform judge a manifest by the same schema file:
 *
 * - every object schema with `properties` and no `additionalProperties` gets `additionalProperties: false`
 *   (the root is exempt unless `denyRootAdditionalProperties`, like `DENY_ROOT_ADDITIONAL_PROPERTIES`);
 * - `format: int-or-string` becomes `oneOf: [string, integer]`; so does controller-gen's
 *   `x-kubernetes-int-or-string: true` + `anyOf: [integer, string]` (other keywords such as the quantity
 *   `pattern` are kept: JSON Schema applies `pattern` to strings only);
 * - unlike the script (kubeconform#224), `x-kubernetes-preserve-unknown-fields: true` is honoured: such an object
 *   keeps accepting unknown fields;
 * - `allOf: [{enum}, {enum}]` (controller-gen output for enum type + field enum) is folded into one `enum`, the
 *   intersection, so a bad value yields one error listing the values actually allowed;
 * - unlike the script, a field (a `properties` or `additionalProperties` member) also accepts `null`: the API server
 *   drops a null field before it validates (apiextensions-apiserver `PruneNonNullableNullsWithoutDefaults`), or
 *   keeps it when the field is `nullable: true`, so neither is an error. A null list item is neither pruned nor
 *   accepted unless its schema is `nullable: true`. `nullable` and `default` are kept, so the null check can tell
 *   a dropped field from a defaulted or a nullable one.
 *
 * The walk is structural (it follows schema keywords, not every dict), so a field literally named `properties`
 * is not mistaken for a schema — the script's recursion into every dict does that.
 */

export type JsonSchema = { [key: string]: unknown };

export interface ConvertOptions {
  /** Also forbid unknown top-level fields (apiVersion/kind/metadata/spec/status only). */
  denyRootAdditionalProperties?: boolean | undefined;
}

const SCHEMA_ARRAY_KEYWORDS = ['allOf', 'anyOf', 'oneOf'] as const;
const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', 'definitions', '$defs'] as const;

export function openApiToJsonSchema(schema: JsonSchema, options: ConvertOptions = {}): JsonSchema {
  return convertNode(schema, true, options.denyRootAdditionalProperties === true);
}

function isObject(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function convertNode(node: JsonSchema, isRoot: boolean, denyRoot: boolean): JsonSchema {
  if (node['format'] === 'int-or-string') {
    // the script replaces the whole node; keep the description for editors
    const out: JsonSchema = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
    if (typeof node['description'] === 'string') out['description'] = node['description'];
    return out;
  }

  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if ((SCHEMA_MAP_KEYWORDS as readonly string[]).includes(key) && isObject(value)) {
      const map: JsonSchema = {};
      // `properties` members are fields; `definitions` entries are not (a null never reaches them directly)
      const fields = key === 'properties' || key === 'patternProperties';
      for (const [name, sub] of Object.entries(value)) map[name] = isObject(sub) ? (fields ? acceptNull(convertNode(sub, false, denyRoot)) : convertNode(sub, false, denyRoot)) : sub;
      out[key] = map;
    } else if ((SCHEMA_ARRAY_KEYWORDS as readonly string[]).includes(key) && Array.isArray(value)) {
      out[key] = value.map((sub) => (isObject(sub) ? convertNode(sub, false, denyRoot) : sub));
    } else if (key === 'additionalProperties' && isObject(value)) {
      out[key] = acceptNull(convertNode(value, false, denyRoot));
    } else if (key === 'items' && isObject(value)) {
      const item = convertNode(value, false, denyRoot);
      out[key] = item['nullable'] === true ? acceptNull(item) : item;
    } else if ((key === 'not' || key === 'additionalItems') && isObject(value)) {
      out[key] = convertNode(value, false, denyRoot);
    } else if (key === 'items' && Array.isArray(value)) {
      out[key] = value.map((sub) => (isObject(sub) ? convertNode(sub, false, denyRoot) : sub));
    } else {
      out[key] = value;
    }
  }

  if (out['x-kubernetes-int-or-string'] === true) {
    const anyOf = out['anyOf'];
    if (Array.isArray(anyOf) && anyOf.every((s) => isObject(s) && (s['type'] === 'integer' || s['type'] === 'string'))) {
      delete out['anyOf'];
    }
    out['oneOf'] = [{ type: 'string' }, { type: 'integer' }];
  }

  const allOf = out['allOf'];
  if (Array.isArray(allOf) && allOf.length > 0 && allOf.every((s) => isObject(s) && Array.isArray(s['enum']) && Object.keys(s).length === 1)) {
    const enums = allOf.map((s) => (s as { enum: unknown[] }).enum);
    const [first, ...rest] = enums;
    let merged = [...(first ?? [])];
    for (const e of rest) merged = merged.filter((v) => e.includes(v));
    if (Array.isArray(out['enum'])) {
      const own = out['enum'] as unknown[];
      merged = merged.filter((v) => own.includes(v));
    }
    delete out['allOf'];
    out['enum'] = merged;
  }

  const preserveUnknown = out['x-kubernetes-preserve-unknown-fields'] === true;
  if (isObject(out['properties']) && !('additionalProperties' in out) && !preserveUnknown && (!isRoot || denyRoot)) {
    out['additionalProperties'] = false;
  }
  return out;
}

/**
 * The same schema, also accepting `null`: `type` gains "null", an `enum` gains null, an untyped `oneOf`/`anyOf`
 * (int-or-string) gains a null branch. A schema without `type` or combinator accepts null already.
 */
export function acceptNull(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema };
  const type = out['type'];
  if (typeof type === 'string') out['type'] = type === 'null' ? type : [type, 'null'];
  else if (Array.isArray(type) && !type.includes('null')) out['type'] = [...type, 'null'];
  if (Array.isArray(out['enum']) && !out['enum'].includes(null)) out['enum'] = [...out['enum'], null];
  if (type === undefined) {
    for (const k of ['oneOf', 'anyOf'] as const) {
      const branches = out[k];
      if (Array.isArray(branches) && !branches.some((b) => isObject(b) && b['type'] === 'null')) out[k] = [...branches, { type: 'null' }];
    }
  }
  return out;
}
