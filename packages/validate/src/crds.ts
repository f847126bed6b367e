import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { openApiToJsonSchema, type JsonSchema } from './convert.ts';

/** The vendored CRDs shipped with this package (see crds/PROVENANCE.md). */
export const CRD_DIR = join(import.meta.dirname, '..', 'crds');

/** One served version of a vendored CRD, with its schema converted to JSON Schema. */
export interface CrdVersion {
  group: string;
  kind: string;
  version: string;
  apiVersion: string;
  deprecated: boolean;
  /** Relative path of the generated schema in the kubeconform layout `<group>/<kind>_<version>.json`. */
  file: string;
  schema: JsonSchema;
}

interface CrdDocument {
  kind?: string;
  spec?: {
    group?: string;
    names?: { kind?: string };
    versions?: { name?: string; served?: boolean; deprecated?: boolean; schema?: { openAPIV3Schema?: JsonSchema } }[];
  };
}

function crdFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
}

/** sha256 over the vendored CRD files and the converter; keys the on-disk schema cache so an updated CRD never meets stale schemas. */
export function crdDigest(dir: string = CRD_DIR): string {
  // hashing ≈2 MB of CRDs costs a few ms; every cache lookup needs the digest
  const known = digests.get(dir);
  if (known !== undefined) return known;
  const hash = createHash('sha256');
  // the conversion is part of what the cached schemas are made of: a changed converter must not meet old files
  hash.update(readFileSync(join(import.meta.dirname, 'convert.ts')));
  for (const f of crdFiles(dir)) {
    hash.update(f);
    hash.update(readFileSync(join(dir, f)));
  }
  const digest = hash.digest('hex').slice(0, 16);
  digests.set(dir, digest);
  return digest;
}

const digests = new Map<string, string>();

/** Schema file path in kubeconform's `{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json` layout. */
export function schemaFileName(group: string, kind: string, version: string): string {
  return `${group}/${kind.toLowerCase()}_${version}.json`;
}

/** Reads every CRD in `dir` and converts each served version's openAPIV3Schema. */
export function readCrdVersions(dir: string = CRD_DIR, denyRootAdditionalProperties = true): CrdVersion[] {
  const out: CrdVersion[] = [];
  for (const f of crdFiles(dir)) {
    // the CRDs are long; the default alias-count guard is irrelevant here, but keep uniqueKeys on to catch corruption
    const docs = parseAllDocuments(readFileSync(join(dir, f), 'utf8'), { uniqueKeys: true });
    for (const doc of Array.isArray(docs) ? docs : [docs]) {
      if (doc.errors.length > 0) throw new Error(`${f}: ${doc.errors[0]?.message}`);
      const crd = doc.toJS({ maxAliasCount: -1 }) as CrdDocument | null;
      if (!crd || crd.kind !== 'CustomResourceDefinition') continue;
      const group = crd.spec?.group;
      const kind = crd.spec?.names?.kind;
      if (!group || !kind) throw new Error(`${f}: CRD without spec.group or spec.names.kind`);
      for (const v of crd.spec?.versions ?? []) {
        const schema = v.schema?.openAPIV3Schema;
        if (!v.name || !schema || v.served === false) continue;
        out.push({
          group,
          kind,
          version: v.name,
          apiVersion: `${group}/${v.name}`,
          deprecated: v.deprecated === true,
          file: schemaFileName(group, kind, v.name),
          schema: openApiToJsonSchema(schema, { denyRootAdditionalProperties }),
        });
      }
    }
  }
  return out;
}
