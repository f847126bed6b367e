export { renderRecipe, engineArgs, ENGINE_MOUNT_PATH, FRONTEND_PORT, SIM_RECIPE_DIR, SIM_RECIPE_FILE, SIM_WORKER_PORT, COMPUTE_DOMAIN_API, modelLocation } from './recipe.ts';
export { ENGINES, engineStructure, activationDtype, gpusOfReplica, ownedFlag, flagKey } from './engine.ts';
export { plannerConfig, dgdrPlannerConfig } from './planner.ts';
export { renderCluster, renderClusterTree, renderClusterDocuments, renderClusterTreeDocuments, GENERATED_ENTRIES, DGD_CEL, DGD_HEALTH_LUA } from './cluster.ts';
export { writeClusters } from './write.ts';
export { toDnsName, shortHash, GROVE_NAME_LIMIT } from './names.ts';
export { canonicalYaml, canonicalFile, canonicalize, GENERATED_HEADER } from './canonical.ts';
export { yamlValue, renderTemplate, TemplateError, templateReads } from './templates.ts';
export { AIPERF_VERSION, WAIT_IMAGE } from './benchmarks.ts';

export type { RenderedFiles, RenderedDocumentFiles } from './cluster.ts';
export type { WriteOptions, WriteResult } from './write.ts';
export type { CanonicalYamlOptions, CanonicalFile } from './canonical.ts';
export type { TemplateName } from './templates.ts';
export type {
  DgdApiVersion,
  Engine,
  EngineFile,
  KubeObject,
  Manifest,
  RenderOptions,
  RenderedRecipe,
  ResolvedRecipe,
} from './types.ts';
export { renderTarget, isTarget } from './targets/index.ts';
export { TARGETS, CLUSTER_TARGETS, shq } from './targets/common.ts';
export { shardsFor, STREAMS_PER_SHARD, KUBECTL_IMAGE } from './targets/bench.ts';
export { profilerImageFor } from './targets/dgdr.ts';
export { ETCD_IMAGE, NATS_IMAGE } from './targets/hosts.ts';
export type { Target, TargetFile, TargetOptions, TargetOutput } from './targets/common.ts';
