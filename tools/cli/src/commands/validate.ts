import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '@llm-recipes/errors';
import { loadWorkspace } from '@llm-recipes/recipe';
// The validator (ajv, the Kubernetes models) is loaded when the command runs, so other commands don't pay for it.
import type { ExternalRefs, ValidationResult } from '@llm-recipes/validate';
import type { RegisterCommand } from './index.ts';

interface ValidateFlags {
  kubeconform?: string;
  embedded?: boolean;
  json?: boolean;
  external: string[];
  externalKind: string[];
  kubernetesVersion?: string;
  kustomizeBuild: string;
  kubectl?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `secret:NAME` / `configmap:NAME` / `pvc:NAME` → allow-list. */
export function parseExternal(values: readonly string[]): Required<{ [K in keyof ExternalRefs]: string[] }> {
  const out: { secrets: string[]; configMaps: string[]; persistentVolumeClaims: string[] } = { secrets: [], configMaps: [], persistentVolumeClaims: [] };
  for (const v of values) {
    const m = /^(secret|configmap|pvc):(.+)$/i.exec(v);
    if (!m) {
      throw new UserError('BAD_EXTERNAL', `--external ${v}: expected secret:NAME, configmap:NAME or pvc:NAME`, {
        hint: 'e.g. --external secret:hf-token-secret (a trailing * matches a prefix)',
      });
    }
    const kind = m[1]!.toLowerCase();
    (kind === 'secret' ? out.secrets : kind === 'configmap' ? out.configMaps : out.persistentVolumeClaims).push(m[2]!);
  }
  return out;
}

/**
 * GPU node table (`nvidia.com/gpu.product` → GPUs per node) and the recipes' HF token Secrets, from the
 * workspace's recipe catalog when there is one.
 */
function workspaceFacts(root: string): { gpuNodes?: Record<string, number>; secrets: string[] } {
  if (!existsSync(join(root, 'recipes'))) return { secrets: [] };
  const ws = loadWorkspace(root);
  const gpuNodes: Record<string, number> = {};
  for (const { gpu } of ws.gpus.values()) gpuNodes[gpu.productLabel] = gpu.gpusPerNode;
  const secrets = new Set<string>();
  for (const r of ws.recipes.values()) {
    const name = r.written.modelCache?.hfTokenSecret;
    if (typeof name === 'string') secrets.add(name);
  }
  return { ...(Object.keys(gpuNodes).length > 0 ? { gpuNodes } : {}), secrets: [...secrets] };
}

export const registerValidate: RegisterCommand = (program: Command, io, state) => {
  program
    .command('validate')
    .description('Validate rendered manifests: CRD/Kubernetes schemas (kubeconform or embedded), DGD CEL rules and cross-object checks.')
    .argument('[paths...]', 'files or directories to validate', ['clusters/'])
    .option('--kubeconform <path>', 'run this kubeconform binary for the schema checks')
    .option('--embedded', 'use the embedded validator even when kubeconform is on PATH')
    .option('--json', 'print the result as JSON')
    .option('--external <ref>', 'object that exists in the cluster but not in the tree: secret:NAME, configmap:NAME or pvc:NAME (repeatable)', collect, [])
    .option('--external-kind <kind>', 'kind validated elsewhere: Kind, apiVersion/Kind or group/* (repeatable)', collect, [])
    .option('--kubernetes-version <version>', 'Kubernetes version for kubeconform schemas, e.g. 1.31.0')
    .option('--kustomize-build <mode>', 'run kubectl kustomize on the kustomization roots and validate the output: auto (when patches or components are used and kubectl is found), always or never', 'auto')
    .option('--kubectl <path>', 'kubectl binary for --kustomize-build (default: kubectl on PATH)')
    .action(async (paths: string[], flags: ValidateFlags) => {
      if (flags.kubeconform && flags.embedded) {
        throw new UserError('BAD_FLAGS', '--kubeconform and --embedded exclude each other', { hint: 'pick one validator' });
      }
      if (!['auto', 'always', 'never'].includes(flags.kustomizeBuild)) {
        throw new UserError('BAD_FLAGS', `--kustomize-build ${flags.kustomizeBuild}: expected auto, always or never`, { hint: 'auto builds when patches or components are used and kubectl is on PATH' });
      }
      const { findKubeconform, formatReport, kustomizeBuild, mergeResults, runKubeconform, validateTree } = await import('@llm-recipes/validate');
      const cwd = io.cwd;
      const external = parseExternal(flags.external);
      const facts = workspaceFacts(cwd);
      const binary = flags.embedded ? undefined : flags.kubeconform ? resolve(cwd, flags.kubeconform) : findKubeconform(io.env);
      const treeOptions = {
        cwd,
        externalKinds: flags.externalKind,
        external: { ...external, secrets: [...external.secrets, ...facts.secrets] },
        gpuNodes: facts.gpuNodes,
      };

      let result: ValidationResult;
      if (binary) {
        const schemas = await runKubeconform(paths, { binary, cwd, env: io.env, externalKinds: flags.externalKind, kubernetesVersion: flags.kubernetesVersion });
        // kubeconform checks schemas only: nulls, CEL rules and kustomization shape come from the tree pass then
        result = mergeResults(schemas, await validateTree(paths, { ...treeOptions, documentRules: true }));
      } else {
        // one read and parse of every file serves the schema pass and the cross-object pass
        result = await validateTree(paths, { ...treeOptions, schemas: true });
      }

      // what only a kustomize build shows: patches and components applied, then the schema pass on the output
      const build = await kustomizeBuild(paths, {
        cwd,
        env: io.env,
        externalKinds: flags.externalKind,
        mode: flags.kustomizeBuild as 'auto' | 'always' | 'never',
        kubectl: flags.kubectl,
        sourceProblems: result.problems,
      });
      result = mergeResults(result, build.result);

      if (flags.json) {
        io.stdout(`${JSON.stringify({ ...result, gpuFitChecked: facts.gpuNodes !== undefined, kustomizeBuild: build.report }, null, 2)}\n`);
      } else {
        io.stdout(formatReport(result));
        if (!facts.gpuNodes) io.stdout('note: GPU fit per node not checked (no GPU catalog under recipes/gpus)\n');
        if (build.report.built) {
          io.stdout(`kustomize build: ${build.report.roots.length} root(s) built with ${build.report.kubectl}${build.report.kustomizeVersion ? ` (kustomize ${build.report.kustomizeVersion})` : ''} and validated\n`);
        } else if (flags.kustomizeBuild !== 'never' && build.report.reason?.startsWith('kubectl not found')) {
          io.stdout(`note: kustomize build skipped — ${build.report.reason}\n`);
        }
      }
      if (!result.ok) state.exitCode = 1;
    });
};
