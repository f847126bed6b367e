import { posix } from 'node:path';
import { resolveRecipe, type Cluster, type Workspace } from '@llm-recipes/recipe';
import { InvalidInputError, type Issue } from '@llm-recipes/errors';
import { canonicalFile, GENERATED_HEADER, type CanonicalFile } from './canonical.ts';
import { toDnsName } from './names.ts';
import { renderRecipe } from './recipe.ts';
import { renderClusterTargets } from './targets/cluster.ts';
import { renderTemplate } from './templates.ts';
import type { Manifest, RenderOptions, RenderedRecipe, ResolvedRecipe } from './types.ts';

/** Repo-relative path → file content; the whole generated output of one or more clusters. */
export type RenderedFiles = Map<string, string>;

/** Repo-relative path → file content and the canonical documents in it (handed to validation in memory). */
export type RenderedDocumentFiles = Map<string, CanonicalFile>;

function textsOf(files: RenderedDocumentFiles): RenderedFiles {
  const out: RenderedFiles = new Map();
  for (const [p, f] of files) out.set(p, f.text);
  return out;
}

/** Files of a cluster directory that `recipes render` owns; everything else there (cluster.yaml, flux-system/) is kept. */
export const GENERATED_ENTRIES = ['kustomization.yaml', 'workloads', 'benchmarks', 'flux', 'argocd', 'targets'] as const;

// Flux health for DGDs: kstatus alone calls a DGD without conditions "Current" the moment it is applied.
// Optional-field syntax (`?.` / orValue) keeps a missing status from erroring.
export const DGD_CEL = {
  inProgress: "status.?state.orValue('initializing') in ['initializing', 'pending']",
  failed: "status.?state.orValue('') == 'failed'",
  current:
    "status.?state.orValue('') == 'successful' && status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')",
};

export const DGD_HEALTH_LUA = `hs = { status = "Progressing", message = "Waiting for the DynamoGraphDeployment to become ready" }
if obj.status == nil then return hs end
if obj.status.observedGeneration ~= nil and obj.metadata.generation ~= nil and obj.status.observedGeneration < obj.metadata.generation then
  hs.message = "The operator has not observed the latest spec yet"
  return hs
end
if obj.status.state == "failed" then
  hs.status = "Degraded"
  hs.message = "state is failed"
end
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then
      if c.message ~= nil and c.message ~= "" then hs.message = c.message end
      if c.status == "True" and obj.status.state == "successful" then hs.status = "Healthy" end
    end
  end
end
return hs
`;

function header(...source: string[]): string[] {
  return [GENERATED_HEADER, ...source];
}

function kustomization(resources: string[], ...source: string[]): CanonicalFile {
  return canonicalFile(renderTemplate('kustomization', { resources }), { header: header(...source) });
}

function repoPath(cluster: Cluster): string {
  const p = posix.normalize(cluster.repo.path).replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return p === '.' ? '' : p;
}

/** gitignore lines that keep only `dir` (each parent re-included, its siblings ignored again). */
function keepOnly(dir: string): string[] {
  const lines = ['/*'];
  const parts = dir.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const prefix = parts.slice(0, i + 1).join('/');
    lines.push(`!/${prefix}/`);
    if (i < parts.length - 1) lines.push(`/${prefix}/*`);
  }
  return lines;
}

function checkCollisions(cluster: Cluster, rendered: { ref: number; out: RenderedRecipe }[]): Issue[] {
  const issues: Issue[] = [];
  const file = `clusters/${cluster.name}/cluster.yaml`;
  const seen = new Map<string, number>();
  for (const { ref, out } of rendered) {
    for (const [what, key] of [
      ['workload directory', out.name],
      ['DynamoGraphDeployment name', out.dgdName],
    ] as const) {
      const first = seen.get(`${what}:${key}`);
      if (first !== undefined) {
        issues.push({
          code: 'RENDER_NAME_COLLISION',
          file,
          path: ['recipes', ref],
          message: `recipes[${first}] and recipes[${ref}] render the same ${what} ${JSON.stringify(key)}`,
          hint: 'deploy each recipe/variant once per cluster',
        });
      } else seen.set(`${what}:${key}`, ref);
    }
  }
  return issues;
}

/**
 * Recipes of one model share its cache PVC (and the download of the same weights). The first workload in name order
 * owns the shared objects; the others only mount them. Same PVC name with a different claim is an error.
 */
function dedupeSharedObjects(cluster: Cluster, rendered: { ref: number; out: RenderedRecipe }[], issues: Issue[]): void {
  const owners = new Map<string, { ref: number; spec: string }>();
  for (const entry of rendered) {
    entry.out = {
      ...entry.out,
      manifests: entry.out.manifests.filter((m) => {
        if (m.group !== 'workload' || (m.object.kind !== 'PersistentVolumeClaim' && m.object.kind !== 'Job')) return true;
        const name = (m.object.metadata as { name: string }).name;
        const key = `${m.object.kind}/${name}`;
        const spec = m.object.kind === 'PersistentVolumeClaim' ? JSON.stringify(m.object.spec) : '';
        const owner = owners.get(key);
        if (owner === undefined) {
          owners.set(key, { ref: entry.ref, spec });
          return true;
        }
        if (owner.spec !== spec) {
          issues.push({
            code: 'RENDER_SHARED_CACHE',
            file: `clusters/${cluster.name}/cluster.yaml`,
            path: ['recipes', entry.ref],
            message: `recipes[${owner.ref}] and recipes[${entry.ref}] share the model cache PVC ${name} but ask for different claims (size, access mode or storage class)`,
            hint: `make the modelCache settings match, or give one its own cache: set: { modelCache.pvcName: ${toDnsName([entry.out.name, 'cache'], 63)} }`,
          });
        }
        return false;
      }),
    };
  }
}

/**
 * Renders a cluster's GitOps tree from already-resolved recipes (in cluster.yaml order): workloads/, benchmarks/,
 * flux/ and argocd/ as the profile asks, a kustomization.yaml in every directory, and the repo's `.sourceignore`.
 */
export function renderClusterTree(cluster: Cluster, recipes: readonly ResolvedRecipe[], options: RenderOptions = {}): RenderedFiles {
  return textsOf(renderClusterTreeDocuments(cluster, recipes, options));
}

/** renderClusterTree, with each file's canonical documents beside its text. */
export function renderClusterTreeDocuments(cluster: Cluster, recipes: readonly ResolvedRecipe[], options: RenderOptions = {}): RenderedDocumentFiles {
  const issues: Issue[] = [];
  const rendered: { ref: number; out: RenderedRecipe; resolved: ResolvedRecipe }[] = [];
  recipes.forEach((resolved, ref) => {
    try {
      rendered.push({ ref, out: renderRecipe(resolved, cluster, options), resolved });
    } catch (err) {
      if (err instanceof InvalidInputError) issues.push(...err.issues);
      else throw err;
    }
  });
  rendered.sort((a, b) => (a.out.name < b.out.name ? -1 : a.out.name > b.out.name ? 1 : a.ref - b.ref));
  issues.push(...checkCollisions(cluster, rendered));
  dedupeSharedObjects(cluster, rendered, issues);
  if (issues.length > 0) throw new InvalidInputError(issues);

  const root = `clusters/${cluster.name}`;
  const files: RenderedDocumentFiles = new Map();
  const workloads: string[] = [];
  const benchmarks: string[] = [];
  for (const { out, resolved } of rendered) {
    const source = `source: recipes/${resolved.id}${resolved.variant === undefined ? '' : ` (variant ${resolved.variant})`}`;
    const byFile = new Map<string, Manifest[]>();
    for (const m of out.manifests) {
      const key = `${m.group}/${m.file}`;
      byFile.set(key, [...(byFile.get(key) ?? []), m]);
    }
    const workloadFiles: string[] = [];
    const benchFiles: string[] = [];
    for (const [key, manifests] of byFile) {
      const [group, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
      const dir = group === 'workload' ? `${root}/workloads/${out.name}` : `${root}/benchmarks/${out.name}`;
      files.set(`${dir}/${name}`, canonicalFile(manifests.map((m) => m.object), { header: header(source) }));
      (group === 'workload' ? workloadFiles : benchFiles).push(name);
    }
    // Apply order inside a workload: config and storage before the DGD that mounts them.
    const order = ['configmaps.yaml', 'model-cache.yaml', 'compute-domain.yaml', 'dgd.yaml', 'podmonitors.yaml'];
    workloadFiles.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    files.set(`${root}/workloads/${out.name}/kustomization.yaml`, kustomization(workloadFiles, source));
    workloads.push(out.name);
    if (benchFiles.length > 0) {
      benchFiles.sort();
      files.set(`${root}/benchmarks/${out.name}/kustomization.yaml`, kustomization(benchFiles, source, 'benchmark Jobs: applied on demand, not synced by GitOps'));
      benchmarks.push(out.name);
    }
  }

  files.set(`${root}/kustomization.yaml`, kustomization(['workloads'], 'cluster root: lists workloads only (flux/, argocd/ and benchmarks/ are applied separately)'));
  files.set(`${root}/workloads/kustomization.yaml`, kustomization(workloads));
  files.set(`${root}/benchmarks/kustomization.yaml`, kustomization(benchmarks, 'benchmark Jobs: applied on demand, not synced by GitOps'));

  const labels = { 'app.kubernetes.io/managed-by': 'llm-recipes', 'app.kubernetes.io/part-of': 'llm-recipes' };
  const path = repoPath(cluster);
  const dgdApiVersion = `nvidia.com/${options.apiVersion ?? cluster.dynamoApiVersion}`;
  if (cluster.gitops.includes('flux')) {
    const sourceName = toDnsName(['llm-recipes', cluster.name], 63);
    const flux: string[] = ['gitrepository.yaml'];
    files.set(
      `${root}/flux/gitrepository.yaml`,
      canonicalFile(
        renderTemplate('flux-gitrepository', {
          name: sourceName,
          labels,
          url: cluster.repo.url,
          branch: cluster.repo.branch,
          ignore: `${keepOnly(path).join('\n')}\n`,
        }),
        { header: header() },
      ),
    );
    for (const name of workloads) {
      const docs = renderTemplate('flux-kustomization', {
        name: toDnsName([cluster.name, name], 63),
        labels,
        timeout: '60m',
        sourceName,
        path: `./${posix.join(path, 'workloads', name)}`,
        dgdApiVersion,
        cel: DGD_CEL,
      });
      files.set(`${root}/flux/${name}.yaml`, canonicalFile(docs, { header: header() }));
      flux.push(`${name}.yaml`);
    }
    files.set(`${root}/flux/kustomization.yaml`, kustomization(flux, 'Flux objects: apply once (kubectl apply -k) or include from flux-system'));
  }
  if (cluster.gitops.includes('argocd')) {
    files.set(
      `${root}/argocd/applicationset.yaml`,
      canonicalFile(
        renderTemplate('argocd-applicationset', {
          name: toDnsName(['llm-recipes', cluster.name], 63),
          labels,
          url: cluster.repo.url,
          branch: cluster.repo.branch,
          directories: posix.join(path, 'workloads', '*'),
          appName: `${cluster.name}-{{.path.basename}}`,
          appPath: '{{.path.path}}',
          namespace: cluster.namespace,
        }),
        { header: header() },
      ),
    );
    // The DGD health check, merged into the installation's argocd-cm with server-side apply (only these keys are
    // owned, nothing else in the ConfigMap changes). Separate from applicationset.yaml: it changes Argo CD itself.
    files.set(
      `${root}/argocd/argocd-cm/argocd-cm-patch.yaml`,
      canonicalFile(renderTemplate('argocd-cm-patch', { lua: DGD_HEALTH_LUA }), {
        header: header('DGD health check for Argo CD: kubectl apply --server-side -k <this directory>'),
      }),
    );
    files.set(
      `${root}/argocd/argocd-cm/kustomization.yaml`,
      kustomization(['argocd-cm-patch.yaml'], 'DGD health check for Argo CD: kubectl apply --server-side -k <this directory>'),
    );
    files.set(`${root}/argocd/kustomization.yaml`, kustomization(['applicationset.yaml'], 'Argo CD objects: apply once (kubectl apply -k)'));
  }
  files.set('.sourceignore', { text: `# ${GENERATED_HEADER}\n# Flux reads only the rendered cluster trees.\n/*\n!/clusters/\n`, documents: [] });
  return files;
}

/**
 * Resolves every recipe a cluster profile lists (variant and per-cluster `set` applied) and renders the cluster's
 * tree. Throws InvalidInputError with every loader and render problem at once; nothing is written here.
 */
export function renderCluster(ws: Workspace, cluster: Cluster, options: RenderOptions = {}): RenderedFiles {
  return textsOf(renderClusterDocuments(ws, cluster, options));
}

/** renderCluster, with each file's canonical documents beside its text (for validating without re-reading). */
export function renderClusterDocuments(ws: Workspace, cluster: Cluster, options: RenderOptions = {}): RenderedDocumentFiles {
  const issues: Issue[] = [];
  const resolved: ResolvedRecipe[] = [];
  for (const ref of cluster.recipes) {
    const result = resolveRecipe(ws, { recipe: ref.recipe, variant: ref.variant, set: ref.set, golden: cluster.golden, cluster });
    issues.push(...result.issues.filter((i) => i.severity !== 'warning'));
    if (result.resolved) resolved.push(result.resolved);
  }
  if (issues.length > 0) throw new InvalidInputError(issues);
  const files = renderClusterTreeDocuments(cluster, resolved, options);
  // Extra targets the profile asks for (targets: [dgd, dgdr, …]) go to targets/<target>/<recipe>/.
  for (const [path, file] of renderClusterTargets(cluster, resolved)) files.set(path, file);
  return files;
}
