export { openApiToJsonSchema, acceptNull } from './convert.ts';
export { CRD_DIR, crdDigest, readCrdVersions, schemaFileName } from './crds.ts';
export { generateSchemas, schemaCacheDir, ensureSchemaDir, warmValidators, validatorCacheFile, validatorCacheKey, validatorStats, cachedValidator, loadCrdSchemas } from './schemas.ts';
export { validateManifests, findNulls, isExternalKind, missingSchema } from './validate.ts';
export { nullFindings, pruneNulls } from './nulls.ts';
export { BUILTIN_KINDS } from './builtin.ts';
export { dgdComponents, dgdRuleProblems, engineFileConflicts, gpuProducts, workerArgv } from './dgd.ts';
export { KUSTOMIZATION_SCHEMA, kustomizeReferences, nonManifestFiles } from './kustomize.ts';
export { validateTree, validateRendered, findRefs, DEFAULT_EXTERNAL_SECRETS, DEFAULT_MAX_DGD_NAME_LENGTH } from './tree.ts';
export { runKubeconform, findKubeconform, kubeconformArgs, parseKubeconformOutput, CRDS_CATALOG_LOCATION } from './kubeconform.ts';
export { formatReport, mergeResults } from './report.ts';
export { kustomizeBuild, kustomizeRoots, findKubectl, kubectlError } from './build.ts';
export type { KustomizeBuildMode, KustomizeBuildOptions, KustomizeBuildReport } from './build.ts';

export type { JsonSchema, ConvertOptions } from './convert.ts';
export type { NullFinding, NullReader } from './nulls.ts';
export type { KustomizeReference } from './kustomize.ts';
export type { CrdVersion } from './crds.ts';
export type { GeneratedSchemas, GenerateOptions } from './schemas.ts';
export type { DgdComponent, Role } from './dgd.ts';
export type { TreeOptions, ExternalRefs, RenderedDocuments } from './tree.ts';
export type { KubeconformOptions, KubeconformOutput } from './kubeconform.ts';
export type {
  ValidationProblem,
  ValidationResult,
  ValidatedResource,
  ValidatorName,
  ManifestDocument,
  ValidateOptions,
} from './types.ts';
