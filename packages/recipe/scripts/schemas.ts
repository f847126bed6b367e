import { mkdirSync } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { jsonSchemas } from '../src/json-schema.ts';

// `npm run schemas`: regenerates schemas/*.schema.json from the zod schemas (temp file + rename, never half-written).
const dir = path.resolve(import.meta.dirname, '../../../schemas');
mkdirSync(dir, { recursive: true });
for (const [file, text] of Object.entries(jsonSchemas())) {
  writeFileAtomic.sync(path.join(dir, file), text);
  process.stdout.write(`wrote schemas/${file}\n`);
}
