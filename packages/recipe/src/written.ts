import { z } from 'zod';
import {
  BackendNameSchema,
  ClusterSchema,
  DnsLabelSchema,
  GpuSchema,
  ModelCardSchema,
  RecipeSchema,
  WorkerSchema,
} from './schema.ts';

// Written files are partial forms of the resolved schemas: layering fills the rest. Objects stay strict so a
// misspelt key is an error (with a did-you-mean hint) instead of a silently ignored setting.

/** Every object field optional, recursively; lists and scalars stay whole. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** Makes every object field optional, recursively, keeping strictness and every `.describe()`. */
function deepPartial<T extends z.ZodType>(schema: T): z.ZodType<DeepPartial<z.output<T>>> {
  return deepPartialUntyped(schema) as z.ZodType<DeepPartial<z.output<T>>>;
}

// One output per input schema, so a block used in several places (pod settings) stays one definition in the JSON Schema.
const partials = new WeakMap<z.ZodType, z.ZodType>();

function deepPartialUntyped(schema: z.ZodType): z.ZodType {
  const known = partials.get(schema);
  if (known !== undefined) return known;
  const out = deepPartialFresh(schema);
  partials.set(schema, out);
  return out;
}

function deepPartialFresh(schema: z.ZodType): z.ZodType {
  // a named block (pod settings) is written and resolved in one form already: every field of it is optional
  if (z.globalRegistry.get(schema)?.id !== undefined) return schema;
  const description = schema.description;
  let out: z.ZodType;
  if (schema instanceof z.ZodOptional) {
    out = deepPartialUntyped(schema.unwrap() as z.ZodType);
  } else if (schema instanceof z.ZodObject) {
    const shape: Record<string, z.ZodType> = {};
    for (const [key, value] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      shape[key] = deepPartialUntyped(value).optional();
    }
    out = z.strictObject(shape);
  } else if (schema instanceof z.ZodRecord && !(schema.valueType instanceof z.ZodObject)) {
    out = unsettable(schema);
  } else {
    // arrays and scalars are replaced as a whole by a higher layer
    return schema;
  }
  return description === undefined ? out : out.describe(description);
}

/**
 * A record of flags or variables merges by key across layers; a written `null` removes the key a lower layer set
 * (an engine flag the built-in defaults pass, a variable the recipe sets that a variant must not).
 */
function unsettable(record: z.ZodRecord): z.ZodType {
  const out = z.record(record.keyType as z.ZodString, (record.valueType as z.ZodType).nullable());
  return record.description === undefined ? out : out.describe(`${record.description} null removes a key a lower layer set.`);
}

const GpuInputSchema = z
  .string()
  .min(1)
  .describe('GPU id (h100_sxm, h200_sxm, b200_sxm, gb200_sxm, a100_sxm, l40s, …); "-" and "_" are interchangeable, aliases such as h100 are accepted.');

const recipeShape = RecipeSchema.shape;
const backendShape = RecipeSchema.shape.backend.shape;
const VariantBackendSchema = z
  .strictObject({
    image: backendShape.image.optional(),
    runtimeVersion: backendShape.runtimeVersion,
    args: unsettable(backendShape.args).optional(),
    extraConfig: backendShape.extraConfig,
    env: unsettable(backendShape.env).optional(),
  })
  .describe('Serving engine overrides: image, engine flags, engine config file, environment.');

const WrittenTopologySchema = deepPartial(recipeShape.topology);
const topologyShape = (WrittenTopologySchema as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
type WrittenPool = DeepPartial<z.output<typeof WorkerSchema>>;
/** A variant's topology: a pool may be null (removed). */
export type VariantTopology = Omit<DeepPartial<z.output<typeof recipeShape.topology>>, 'agg' | 'prefill' | 'decode'> & {
  agg?: WrittenPool | null | undefined;
  prefill?: WrittenPool | null | undefined;
  decode?: WrittenPool | null | undefined;
};
const removablePool = (role: 'agg' | 'prefill' | 'decode'): z.ZodType =>
  (topologyShape[role] as z.ZodOptional<z.ZodType>)
    .unwrap()
    .nullable()
    .optional()
    .describe(`${recipeShape.topology.shape[role].description ?? ''} null removes the recipe's pool (e.g. a variant switching mode).`.trim());
/**
 * A variant's topology: like the recipe's, and a pool may be `null` to remove the one the recipe declares — the only
 * way a deep-merging layer can take a value away (an agg variant of a disagg recipe drops prefill and decode).
 */
const VariantTopologySchema = (WrittenTopologySchema as unknown as z.ZodObject).extend({
  agg: removablePool('agg'),
  prefill: removablePool('prefill'),
  decode: removablePool('decode'),
}) as unknown as z.ZodType<VariantTopology>;

/** The recipe body a variant may override: everything except model, gpu and backend.name (those are the recipe's identity). */
export const WrittenVariantSchema = z
  .strictObject({
    backend: VariantBackendSchema.optional(),
    dtype: deepPartial(recipeShape.dtype).optional(),
    kvCacheDtype: deepPartial(recipeShape.kvCacheDtype).optional(),
    maxModelLen: deepPartial(recipeShape.maxModelLen).optional(),
    topology: VariantTopologySchema.optional(),
    pod: deepPartial(recipeShape.pod).optional(),
    modelCache: deepPartial(recipeShape.modelCache).optional(),
    workload: deepPartial(recipeShape.workload).optional(),
    sla: deepPartial(recipeShape.sla).optional(),
    benchmark: deepPartial(recipeShape.benchmark).optional(),
    observability: deepPartial(recipeShape.observability).optional(),
    dgdr: deepPartial(recipeShape.dgdr).optional(),
  })
  .describe('Overrides applied over the recipe when this variant is selected (deep merge; lists replace).');
export type WrittenVariant = z.output<typeof WrittenVariantSchema>;

/** recipes/<model>/<backend>/<gpu>/recipe.yaml */
export const WrittenRecipeSchema = WrittenVariantSchema.extend({
  topology: WrittenTopologySchema.optional(),
  model: recipeShape.model,
  backend: VariantBackendSchema.extend({ name: BackendNameSchema }).describe('Serving engine (required: name), image and engine flags.'),
  gpu: GpuInputSchema,
  variants: z
    .record(DnsLabelSchema, WrittenVariantSchema)
    .optional()
    .describe('Named variants of this recipe (e.g. long-context, fp8); each is deployed as its own graph.'),
}).describe('An LLM serving recipe: model × backend × GPU, topology, SLA and benchmark matrix.');
export type WrittenRecipe = z.output<typeof WrittenRecipeSchema>;

/** recipes/<model>/model.yaml — id defaults to the directory, servedName and tokenizer to hfId. */
export const WrittenModelCardSchema = ModelCardSchema.extend({
  id: ModelCardSchema.shape.id.optional(),
  servedName: ModelCardSchema.shape.servedName.optional(),
  tokenizer: ModelCardSchema.shape.tokenizer.optional(),
}).describe('Model card: Hugging Face id, pinned revision and architecture facts.');
export type WrittenModelCard = z.output<typeof WrittenModelCardSchema>;

/** recipes/gpus/<id>.yaml — id defaults to the file name. */
export const WrittenGpuSchema = GpuSchema.extend({
  id: GpuSchema.shape.id.optional(),
  aliases: GpuSchema.shape.aliases.optional(),
}).describe('GPU facts: TFLOPS by dtype, memory, interconnect and the node label that selects it.');
export type WrittenGpu = z.output<typeof WrittenGpuSchema>;

/** clusters/<cluster>/cluster.yaml — name defaults to the directory. */
export const WrittenClusterSchema = ClusterSchema.extend({
  name: ClusterSchema.shape.name.optional(),
}).describe('Cluster profile: Dynamo API version, namespace, GitOps tool, GPU inventory and the recipes it runs.');
export type WrittenCluster = z.output<typeof WrittenClusterSchema>;
