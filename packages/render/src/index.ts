export { renderRecipe, engineArgs, ENGINE_MOUNT_PATH, FRONTEND_PORT } from './recipe.ts';
export { renderCluster, renderClusterTree, GENERATED_ENTRIES, DGD_CEL, DGD_HEALTH_LUA } from './cluster.ts';
export { writeClusters } from './write.ts';
export { toDnsName, shortHash, GROVE_NAME_LIMIT } from './names.ts';
export { canonicalYaml, canonicalize, GENERATED_HEADER } from './canonical.ts';
export { yamlValue, renderTemplate, TemplateError } from './templates.ts';
export { AIPERF_VERSION, WAIT_IMAGE } from './benchmarks.ts';
export { BACKENDS } from './backends.ts';

export type { RenderedFiles } from './cluster.ts';
export type { WriteOptions, WriteResult } from './write.ts';
export type { CanonicalYamlOptions } from './canonical.ts';
export type { TemplateName } from './templates.ts';
export type { BackendFlags } from './backends.ts';
export type {
  DgdApiVersion,
  EngineFile,
  KubeObject,
  Manifest,
  RenderOptions,
  RenderedRecipe,
  ResolvedRecipe,
} from './types.ts';
