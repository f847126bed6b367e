import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { jsonSchemas } from '../src/json-schema.ts';

// `npm run schemas`: regenerates schemas/*.schema.json from the zod schemas (temp file + rename, never half-written).
const dir = path.resolve(import.meta.dirname, '../../../schemas');
mkdirSync(dir, { recursive: true });
for (const [file, text] of Object.entries(jsonSchemas())) {
  const target = path.join(dir, file);
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, target);
  process.stdout.write(`wrote schemas/${file}\n`);
}
