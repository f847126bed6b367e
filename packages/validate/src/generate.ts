/** `npm run schemas:k8s [-- OUT_DIR]`: writes the JSON Schemas of the vendored CRDs (default: the schema cache dir). */
import { resolve } from 'node:path';
import { generateSchemas, schemaCacheDir } from './schemas.ts';

const out = process.argv[2] ? resolve(process.argv[2]) : schemaCacheDir();
const started = performance.now();
const result = generateSchemas(out);
process.stdout.write(
  `${result.files.map((f) => `  ${f}`).join('\n')}\nwrote ${result.files.length} schemas (${(result.bytes / 1e6).toFixed(2)} MB) to ${result.dir} in ${Math.round(performance.now() - started)} ms\n`,
);
