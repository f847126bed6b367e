export {
  ArchitectureSchema,
  BackendNameSchema,
  BackendSchema,
  BenchmarkSchema,
  BenchmarkTraceSchema,
  GoodputBoundsSchema,
  DgdrSchema,
  ClusterRecipeRefSchema,
  ClusterSchema,
  DnsLabelSchema,
  DtypeSchema,
  ENGINE_FIELDS,
  EngineArgValueSchema,
  GpuSchema,
  GpuSkuSchema,
  MlaSchema,
  ModelCacheSchema,
  ModelCardSchema,
  ModelIdSchema,
  MoeSchema,
  QuantitySchema,
  RecipeSchema,
  SlaSchema,
  TopologySchema,
  WorkerSchema,
  WorkloadSchema,
} from './schema.ts';
export type { Architecture, BackendName, Benchmark, Cluster, Dtype, Gpu, ModelCard, Recipe, Topology, Worker } from './schema.ts';
export {
  WrittenClusterSchema,
  WrittenGpuSchema,
  WrittenModelCardSchema,
  WrittenRecipeSchema,
  WrittenVariantSchema,
} from './written.ts';
export type { DeepPartial, WrittenCluster, WrittenGpu, WrittenModelCard, WrittenRecipe, WrittenVariant } from './written.ts';
export { findGpu, loadWorkspace, modeline, RECIPE_SCHEMA_PATH } from './loader.ts';
export type { LoadedCluster, LoadedGolden, LoadedGpu, LoadedModel, LoadedRecipe, Workspace } from './loader.ts';
export { GOLDEN_CONFIG_FIELDS, GOLDEN_FILE, GoldenSchema, goldenIssues, readGolden, serializeGolden, writeGolden } from './golden.ts';
export type { Golden } from './golden.ts';
export { findRecipeId, isEnvEntry, resolveRecipe } from './resolve.ts';
export type { Layer, Provenance, ProvenanceEntry, ResolvedRecipe, ResolveOptions, ResolveResult } from './resolve.ts';
export { parseSet } from './set.ts';
export type { ParsedSet } from './set.ts';
export { gpuDirName, normalizeGpuId } from './gpu-id.ts';
export { modelIndex, parseModelId } from './model-id.ts';
export type {
  ModelEntry,
  ModelIdError,
  ModelIdErrorCode,
  ModelIdParts,
  ModelIndex,
  ModelNameCollision,
  ModelNameField,
  ModelResolution,
  ModelVariant,
  ParsedModelId,
  QuantMarker,
  ResolvedModelId,
} from './model-id.ts';
export { bytesPerParam, dnsLabel, gpuSupports, HARNESS_IMAGE, WORKER_POD_DEFAULTS } from './layers.ts';
export {
  compareVersions,
  defaultRuntimeImage,
  DYNAMO_VERSION,
  dynamoRelease,
  formatVersion,
  imageDynamoVersion,
  NEWEST_DYNAMO,
  OLDEST_DYNAMO,
  parseDynamoVersion,
} from './dynamo.ts';
export type { DynamoRelease, PlannerConfigKeys, PlannerRelease, SemVer } from './dynamo.ts';
export {
  AffinitySchema,
  CONTAINER_PASSTHROUGH,
  EnvMapSchema,
  EnvSourceSchema,
  EnvValueSchema,
  K8sQuantitySchema,
  POD_SPEC_PASSTHROUGH,
  PodSecurityContextSchema,
  PodSettingsSchema,
  ProbeSchema,
  ResourcesSchema,
  SecurityContextSchema,
  TolerationSchema,
  VolumeSchema,
} from './pod.ts';
export type { EnvValue, PodSettings, Probe, Volume } from './pod.ts';
export { gpusPerReplica, pools, totalGpus } from './rules.ts';
export type { Role } from './rules.ts';
export { explainRecipe, formatExplain } from './explain.ts';
export type { ExplainRow } from './explain.ts';
export { scaffoldRecipe, suggestTp, writeScaffold } from './scaffold.ts';
export type { Scaffold, ScaffoldOptions } from './scaffold.ts';
export { jsonSchemas } from './json-schema.ts';
export { writeVariant } from './write-variant.ts';
export type { WriteVariantOptions, WriteVariantResult } from './write-variant.ts';
export { goodputOf, requestsAt, samplingBody, warmupAt } from './benchmark.ts';
export type { GoodputSlo } from './benchmark.ts';
