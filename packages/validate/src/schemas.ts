import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Ajv, ValidateFunction } from 'ajv';
import writeFileAtomic from 'write-file-atomic';
import { CRD_DIR, crdDigest, readCrdVersions, type CrdVersion } from './crds.ts';

const require = createRequire(import.meta.url);
// ajv's compiler, ajv-formats and ajv's standalone code generation are loaded when a validator has to be compiled:
// a process whose validators all come from the cache runs their saved code, which needs ajv's small runtime only.
// All three are CommonJS, so require gives the same instances an import would.
const ajvCompiler = (): { Ajv: typeof Ajv; addFormats: (ajv: Ajv) => unknown; standaloneCode: (ajv: Ajv, fn: ValidateFunction) => string } => ({
  Ajv: (require('ajv') as typeof import('ajv')).Ajv,
  addFormats: (require('ajv-formats') as typeof import('ajv-formats')).default,
  standaloneCode: (require('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js')).default,
});

/** What `generateSchemas` wrote. */
export interface GeneratedSchemas {
  dir: string;
  /** Relative paths, `<group>/<kind>_<version>.json`. */
  files: string[];
  bytes: number;
}

export interface GenerateOptions {
  /** Forbid unknown top-level fields too (openapi2jsonschema's DENY_ROOT_ADDITIONAL_PROPERTIES); default true. */
  denyRootAdditionalProperties?: boolean | undefined;
  /** CRD directory (defaults to the vendored CRDs). */
  crdDir?: string | undefined;
}

// A regenerable cache of many files: atomic (concurrent runs may share it) but without fsync.
function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic.sync(file, text, { fsync: false });
}

/**
 * Converts every served version of the vendored CRDs and writes `<outDir>/<group>/<kind>_<version>.json`
 * (kind lower-cased), the layout kubeconform reads with
 * `-schema-location '<outDir>/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'`.
 */
export function generateSchemas(outDir: string, options: GenerateOptions = {}): GeneratedSchemas {
  const versions = readCrdVersions(options.crdDir ?? CRD_DIR, options.denyRootAdditionalProperties ?? true);
  return writeVersions(outDir, versions);
}

function writeVersions(outDir: string, versions: CrdVersion[]): GeneratedSchemas {
  let bytes = 0;
  const files: string[] = [];
  for (const v of versions) {
    // indented like openapi2jsonschema.py's output, so files diff cleanly against catalog schemas
    const text = `${JSON.stringify(v.schema, null, 2)}\n`;
    writeAtomic(join(outDir, v.file), text);
    bytes += Buffer.byteLength(text);
    files.push(v.file);
  }
  return { dir: outDir, files, bytes };
}

/**
 * Where generated schemas are cached: `$LLM_RECIPES_CACHE_DIR`, else the nearest `node_modules/.cache`, else the
 * OS temp dir; always under a directory named by the CRD digest so a CRD update never meets stale schemas.
 */
export function schemaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const digest = crdDigest();
  if (env['LLM_RECIPES_CACHE_DIR']) return join(env['LLM_RECIPES_CACHE_DIR'], 'k8s-schemas', digest);
  let dir = import.meta.dirname;
  for (;;) {
    if (existsSync(join(dir, 'node_modules'))) return join(dir, 'node_modules', '.cache', 'llm-recipes', 'k8s-schemas', digest);
    const parent = dirname(dir);
    if (parent === dir) return join(tmpdir(), 'llm-recipes', 'k8s-schemas', digest);
    dir = parent;
  }
}

interface Manifest {
  /** `digest`: contentDigest of the schema, so a run that loads its saved validator need not hash the schema. */
  versions: (Omit<CrdVersion, 'schema'> & { digest?: string | undefined })[];
}

let memo: CrdVersion[] | undefined;

/** sha256 of a schema's JSON: what its saved validator is keyed by. */
function contentDigest(schema: object): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex');
}

/** contentDigest of the schemas read from the cache, as its manifest recorded it. */
const schemaDigests = new WeakMap<object, string>();

/** A cached version whose schema (up to 0.8 MB of JSON) is read when first used: most runs use two of them. */
function cachedVersion(entry: Manifest['versions'][number], file: string): CrdVersion {
  const { digest, ...meta } = entry;
  let schema: CrdVersion['schema'] | undefined;
  return Object.defineProperty({ ...meta } as CrdVersion, 'schema', {
    enumerable: true,
    configurable: true,
    get(): CrdVersion['schema'] {
      if (schema === undefined) {
        try {
          schema = JSON.parse(readFileSync(file, 'utf8')) as CrdVersion['schema'];
          if (digest !== undefined) schemaDigests.set(schema, digest);
        } catch {
          // a damaged or missing cache file: convert the CRDs again (and rewrite the cache)
          memo = undefined;
          schema = crdSchemas(true).find((v) => v.file === meta.file)?.schema ?? {};
        }
      }
      return schema;
    },
  });
}

/**
 * The converted CRD schemas, from the on-disk cache when present (each schema parsed on first use) or converted
 * from the CRD YAML (≈0.5 s) and written to the cache for the next run (and for kubeconform).
 */
export function loadCrdSchemas(): CrdVersion[] {
  return crdSchemas(false);
}

function crdSchemas(rebuild: boolean): CrdVersion[] {
  if (memo) return memo;
  const dir = schemaCacheDir();
  const manifestFile = join(dir, 'manifest.json');
  if (!rebuild && existsSync(manifestFile)) {
    try {
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
      // a manifest from before schema digests is rebuilt once
      if (manifest.versions.every((v) => typeof v.digest === 'string')) {
        memo = manifest.versions.map((v) => cachedVersion(v, join(dir, v.file)));
        return memo;
      }
    } catch {
      // a damaged cache is rebuilt below
    }
  }
  const versions = readCrdVersions(CRD_DIR, true);
  try {
    writeVersions(dir, versions);
    const manifest: Manifest = {
      versions: versions.map(({ schema, ...rest }) => {
        const digest = contentDigest(schema);
        schemaDigests.set(schema, digest);
        return { ...rest, digest };
      }),
    };
    writeAtomic(manifestFile, JSON.stringify(manifest, null, 2));
  } catch {
    // read-only install: validation still works from memory; kubeconform callers get an explicit dir instead
  }
  memo = versions;
  return memo;
}

/** Ensures the generated schemas exist on disk and returns their directory (kubeconform's schema location). */
export function ensureSchemaDir(): string {
  const dir = schemaCacheDir();
  if (!existsSync(join(dir, 'manifest.json'))) {
    memo = undefined;
    loadCrdSchemas();
  }
  if (!existsSync(join(dir, 'manifest.json'))) {
    const fallback = join(tmpdir(), `llm-recipes-k8s-schemas-${crdDigest()}`);
    generateSchemas(fallback);
    return fallback;
  }
  return dir;
}

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

// inlineRefs: false — each `$ref` (see splitSchema) becomes its own function in the generated code
const AJV_OPTIONS = { strict: false, allErrors: true, verbose: true, logger: false, inlineRefs: false } as const;

const splitSchemas = new WeakMap<object, Record<string, unknown>>();

/** Subschemas whose JSON is longer than this become a shared definition (and so a function of their own). */
const SPLIT_CHARS = 2000;
const SCHEMA_KEYWORDS = ['items', 'additionalProperties', 'additionalItems', 'propertyNames', 'contains'] as const;
const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties'] as const;

/**
 * A CRD schema is fully expanded (no `$ref`), so ajv would generate ONE function of several MB for it, and V8's
 * Maglev compiler, which has no size limit, then spends seconds on a background thread compiling it once it gets
 * hot — a process cannot exit before that job ends. Moving every large subschema to `definitions` behind a `$ref`
 * (identical ones shared: a PodSpec's three probes, a Container under containers and initContainers) turns that
 * into many small functions, each optimized only if it is hot. Errors keep their instancePath, keyword, params and
 * parentSchema; only schemaPath points into `definitions`, so nothing below a oneOf/anyOf/allOf/not is moved (the
 * branch folding in ajv-errors.ts matches errors to their branch by schemaPath).
 */
export function splitSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const definitions: Record<string, unknown> = {};
  const visit = (node: unknown, root: boolean): unknown => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return node;
    const out: Record<string, unknown> = { ...(node as Record<string, unknown>) };
    for (const k of SCHEMA_KEYWORDS) {
      const v = out[k];
      if (Array.isArray(v)) out[k] = v.map((x) => visit(x, false));
      else if (typeof v === 'object' && v !== null) out[k] = visit(v, false);
    }
    for (const k of SCHEMA_MAP_KEYWORDS) {
      const map = out[k];
      if (typeof map !== 'object' || map === null || Array.isArray(map)) continue;
      out[k] = Object.fromEntries(Object.entries(map).map(([name, v]) => [name, visit(v, false)]));
    }
    if (root) return out;
    const text = JSON.stringify(out);
    if (text.length <= SPLIT_CHARS) return out;
    const name = `s${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
    definitions[name] = out;
    return { $ref: `#/definitions/${name}` };
  };
  const top = visit(schema, true) as Record<string, unknown>;
  return Object.keys(definitions).length === 0 ? top : { ...top, definitions };
}
const OPENAPI_FORMATS = ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password'];

function sharedAjv(): Ajv {
  if (!ajv) {
    const { Ajv, addFormats } = ajvCompiler();
    // strict:false — CRD schemas carry x-kubernetes-* keywords and OpenAPI formats (int32, int64, byte…);
    // verbose — errors carry parentSchema, used for "did you mean" hints on unknown fields;
    // code.source — so a compiled validator can be saved as standalone code (see crdValidator).
    ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
    addFormats(ajv);
    for (const f of OPENAPI_FORMATS) ajv.addFormat(f, true);
  }
  return ajv;
}

/** The CRD version for `apiVersion` + `kind`, if vendored. */
export function findCrdVersion(apiVersion: string, kind: string): CrdVersion | undefined {
  return loadCrdSchemas().find((v) => v.apiVersion === apiVersion && v.kind === kind);
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * What a saved validator was generated from: the schema itself, the ajv and ajv-formats versions and the options.
 * A cache file whose first line names another key is stale and is regenerated.
 */
export function validatorCacheKey(schema: object): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ ajv: packageVersion('ajv'), formats: packageVersion('ajv-formats'), options: AJV_OPTIONS, openapi: OPENAPI_FORMATS, split: SPLIT_CHARS }));
  // the manifest's digest for a schema read from the cache: no stringify of 0.8 MB per run
  hash.update(schemaDigests.get(schema) ?? contentDigest(schema));
  return hash.digest('hex').slice(0, 32);
}

/** Where the standalone validator of one CRD version is cached (beside the generated schemas). */
export function validatorCacheFile(version: Pick<CrdVersion, 'file'>, env: NodeJS.ProcessEnv = process.env): string {
  return join(schemaCacheDir(env), 'validators', version.file.replace(/\.json$/, '.cjs'));
}

const HEADER = '// llm-recipes standalone validator ';

/** Evaluates saved standalone code; undefined when the file is missing, stale or damaged. */
function loadSavedValidator(file: string, key: string): ValidateFunction | undefined {
  let code: string;
  try {
    code = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  if (!code.startsWith(`${HEADER}${key}\n`)) return undefined;
  try {
    const mod: { exports: unknown } = { exports: {} };
    // CommonJS module text generated by ajv; its requires (ajv runtime, ajv-formats) resolve from this package
    new Function('require', 'module', 'exports', code)(require, mod, mod.exports);
    const fn = mod.exports as ValidateFunction;
    return typeof fn === 'function' ? fn : undefined;
  } catch {
    return undefined;
  }
}

/** How the CRD validators of this process were obtained (bench figures and tests). */
export const validatorStats = { compiled: 0, loaded: 0 };

/**
 * The validator of one CRD version, once per process. Compiling the DGD schema with ajv takes ≈0.4–0.5 s, so the
 * compiled code is saved with ajv's standalone code generation next to the generated schemas and later processes
 * load it (≈25 ms); the file is keyed by the schema, ajv version and options, written atomically, and regenerated
 * when stale or damaged.
 */
export function crdValidator(version: CrdVersion): ValidateFunction {
  let fn = compiled.get(version.file);
  if (!fn) {
    const got = cachedValidator(version);
    validatorStats[got.source]++;
    fn = got.validate;
    compiled.set(version.file, fn);
  }
  return fn;
}

/** Loads the saved standalone validator of a CRD version, or compiles it and saves it (no in-process memo). */
export function cachedValidator(version: CrdVersion, env: NodeJS.ProcessEnv = process.env): { validate: ValidateFunction; source: 'loaded' | 'compiled' } {
  return savedOrCompiled(validatorCacheFile(version, env), validatorCacheKey(version.schema), () => {
    // the same split object each time, so ajv's own cache returns the function compiled before
    let split = splitSchemas.get(version.schema);
    if (!split) splitSchemas.set(version.schema, (split = splitSchema(version.schema)));
    return split;
  });
}

function savedOrCompiled(file: string, key: string, schema: () => object): { validate: ValidateFunction; source: 'loaded' | 'compiled' } {
  const saved = loadSavedValidator(file, key);
  if (saved) return { validate: saved, source: 'loaded' };
  const a = sharedAjv();
  const validate = a.compile(schema());
  try {
    writeAtomic(file, `${HEADER}${key}\n${ajvCompiler().standaloneCode(a, validate)}`);
  } catch {
    // read-only cache location: this process keeps its compiled validator
  }
  return { validate, source: 'compiled' };
}

/**
 * Compiles a small schema (kustomization files) with the shared ajv instance, saved like the CRD validators: the
 * first compile in a process costs ≈80 ms (ajv itself, its formats and the meta-schema), loading the code ≈1 ms.
 */
export function compileSchema(key: string, schema: object): ValidateFunction {
  let fn = compiled.get(key);
  if (!fn) {
    fn = savedOrCompiled(join(schemaCacheDir(), 'validators', `${key}.cjs`), validatorCacheKey(schema), () => schema).validate;
    compiled.set(key, fn);
  }
  return fn;
}

/** Loads and compiles every vendored CRD validator now (for benchmarks and long-lived processes). */
export function warmValidators(): { versions: number } {
  const versions = loadCrdSchemas();
  for (const v of versions) crdValidator(v);
  return { versions: versions.length };
}
