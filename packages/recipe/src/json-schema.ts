import { z } from 'zod';
import { WrittenClusterSchema, WrittenGpuSchema, WrittenModelCardSchema, WrittenRecipeSchema } from './written.ts';

/** JSON Schemas of the written files, keyed by file name under schemas/ (draft-07: what yaml-language-server reads best). */
export function jsonSchemas(): Record<string, string> {
  const entries: [string, z.ZodType, string][] = [
    ['recipe.schema.json', WrittenRecipeSchema, 'llm-recipes recipe'],
    ['model.schema.json', WrittenModelCardSchema, 'llm-recipes model card'],
    ['gpu.schema.json', WrittenGpuSchema, 'llm-recipes GPU'],
    ['cluster.schema.json', WrittenClusterSchema, 'llm-recipes cluster profile'],
  ];
  const out: Record<string, string> = {};
  for (const [file, schema, title] of entries) {
    const json = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'throw' });
    out[file] = `${JSON.stringify({ ...json, title }, null, 2)}\n`;
  }
  return out;
}
