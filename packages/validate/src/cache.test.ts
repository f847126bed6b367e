import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedValidator, loadCrdSchemas, validatorCacheFile, validatorCacheKey } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'validator-cache-'));
const env = { LLM_RECIPES_CACHE_DIR: dir };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The scaling adapter's schema is small: compiling it is fast, and it exercises the same code path as the DGD's.
const version = loadCrdSchemas().find((v) => v.kind === 'DynamoGraphDeploymentScalingAdapter' && v.version === 'v1beta1')!;
const valid = { apiVersion: version.apiVersion, kind: version.kind, metadata: { name: 'a' }, spec: { replicas: 1, dgdRef: { name: 'g', serviceName: 'decode' } } };
const invalid = { ...valid, spec: { replicas: 'one', unknown: true } };

describe('standalone validator cache', () => {
  it('compiles on first use, saves the code keyed by the schema, and loads it afterwards', () => {
    // GIVEN an empty cache dir  WHEN a validator is asked for twice (as two processes would)
    const first = cachedValidator(version, env);
    const second = cachedValidator(version, env);
    // THEN the first compiles and saves, the second loads the saved code
    expect(first.source).toBe('compiled');
    expect(second.source).toBe('loaded');
    const file = validatorCacheFile(version, env);
    expect(file.startsWith(dir)).toBe(true);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toContain(validatorCacheKey(version.schema));
    // AND both judge documents alike, with the same errors
    expect(second.validate(valid)).toBe(first.validate(valid));
    expect(first.validate(invalid)).toBe(false);
    expect(second.validate(invalid)).toBe(false);
    expect(second.validate.errors).toEqual(first.validate.errors);
  });

  it('does not use a file saved for another schema, ajv or options (stale key) and rewrites it', () => {
    const file = validatorCacheFile(version, env);
    cachedValidator(version, env);
    // GIVEN a saved validator whose key names a different schema (a CRD update or an ajv upgrade)
    const body = readFileSync(file, 'utf8').split('\n').slice(1).join('\n');
    writeFileSync(file, `// llm-recipes standalone validator ${'0'.repeat(32)}\n${body}`);
    // WHEN asked for again  THEN it is compiled afresh and the file carries the current key
    expect(cachedValidator(version, env).source).toBe('compiled');
    expect(readFileSync(file, 'utf8').startsWith(`// llm-recipes standalone validator ${validatorCacheKey(version.schema)}\n`)).toBe(true);
    expect(cachedValidator(version, env).source).toBe('loaded');
  });

  it('regenerates a damaged file instead of failing', () => {
    const file = validatorCacheFile(version, env);
    cachedValidator(version, env);
    // GIVEN a truncated file with the right key
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
    // WHEN loaded  THEN it is compiled again, validates correctly and is saved whole
    const got = cachedValidator(version, env);
    expect(got.source).toBe('compiled');
    expect(got.validate(invalid)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(text);
    // AND a file whose code runs but exports no function is not trusted either
    writeFileSync(file, `${text.split('\n')[0]}\nmodule.exports = 42;\n`);
    expect(cachedValidator(version, env).source).toBe('compiled');
  });

  it('keys by the schema content', () => {
    expect(validatorCacheKey(version.schema)).toBe(validatorCacheKey(structuredClone(version.schema)));
    expect(validatorCacheKey({ ...version.schema, description: 'changed' })).not.toBe(validatorCacheKey(version.schema));
  });
});
