import { InvalidInputError, type Issue } from '@llm-recipes/errors';
import type { Cluster } from '@llm-recipes/recipe';
import { parseAllDocuments } from 'yaml';
import { canonicalFile, type CanonicalFile } from '../canonical.ts';
import { GENERATED_HEADER } from '../canonical.ts';
import type { ResolvedRecipe } from '../types.ts';
import { renderTarget } from './index.ts';

/**
 * The extra targets a cluster profile asks for (`targets:` besides `dgd`), as repo-relative files under
 * `clusters/<c>/targets/<target>/<recipe>/`, each directory with a kustomization.yaml. They are applied on demand:
 * neither the root kustomization nor Flux/Argo CD point at them.
 */
export function renderClusterTargets(cluster: Cluster, recipes: readonly ResolvedRecipe[]): Map<string, CanonicalFile> {
  const files = new Map<string, CanonicalFile>();
  const issues: Issue[] = [];
  for (const target of cluster.targets ?? []) {
    if (target === 'dgd') continue;
    const names: string[] = [];
    for (const resolved of recipes) {
      try {
        const out = renderTarget(target, resolved, cluster);
        const dir = `clusters/${cluster.name}/targets/${target}/${out.name}`;
        const yamls: string[] = [];
        for (const f of out.files) {
          const documents = parseAllDocuments(f.content).map((d) => d.toJS() as unknown).filter((d) => d !== null);
          files.set(`${dir}/${f.path}`, { text: f.content, documents });
          if (f.path.endsWith('.yaml') && !f.path.includes('/') && (f.content.includes('\napiVersion: ') || f.content.startsWith('apiVersion: '))) yamls.push(f.path);
        }
        files.set(`${dir}/kustomization.yaml`, canonicalFile([{ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: yamls }], { header: [GENERATED_HEADER, `${target}: applied on demand, not synced by GitOps`] }));
        names.push(out.name);
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        issues.push(...err.issues.map((i) => ({ ...i, message: `${i.message} (clusters/${cluster.name}/cluster.yaml targets: ${target})` })));
      }
    }
  }
  if (issues.length > 0) throw new InvalidInputError(issues);
  return files;
}
