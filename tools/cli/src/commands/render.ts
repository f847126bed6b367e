import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InvalidInputError, UserError } from '@llm-recipes/errors';
import { findRecipeId, loadWorkspace, resolveRecipe, type Cluster, type Workspace } from '@llm-recipes/recipe';
import { canonicalYaml, isTarget, renderCluster, renderRecipe, renderTarget, TARGETS, writeClusters, type RenderedFiles, type TargetOutput } from '@llm-recipes/render';
import type { RegisterCommand } from './index.ts';
import { findWorkspaceRoot } from './workspace-root.ts';

interface RenderFlags {
  check?: boolean;
  cluster?: string;
  target: string;
  recipe?: string;
  variant?: string;
  set: string[];
  stdout?: boolean;
  out?: string;
  engine?: string;
}

const ENGINES = ['dynamo', 'sim'] as const;

/**
 * `--engine` overrides the profiles' `engine` for printed output only: what clusters/ holds follows cluster.yaml
 * (set `engine: sim` there to commit a simulated tree), so `render --check` stays meaningful.
 */
function withEngine(flags: RenderFlags, clusters: Cluster[]): Cluster[] {
  if (flags.engine === undefined) return clusters;
  if (!(ENGINES as readonly string[]).includes(flags.engine)) {
    throw new UserError('RENDER_ENGINE', `unknown --engine ${flags.engine}`, { hint: `choose one of ${ENGINES.join(', ')}` });
  }
  if (!flags.stdout && (flags.target === 'dgd' || flags.out === undefined)) {
    throw new UserError('RENDER_FLAGS', '--engine changes printed output only: add --stdout (or --out DIR with --target)', {
      hint: 'to commit a simulated tree, set engine: sim in clusters/<cluster>/cluster.yaml',
    });
  }
  const engine = flags.engine as (typeof ENGINES)[number];
  return clusters.map((c) => ({ ...c, engine }));
}

/** Writes a target's files under `dir` through a temporary sibling directory and a rename: never half-written. */
function writeTargetDir(dir: string, out: TargetOutput): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const f of out.files) {
    const path = join(tmp, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    if (f.mode) chmodSync(path, f.mode);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(tmp, dir);
}
const collect = (value: string, previous: string[]): string[] => [...previous, value];

function selectClusters(ws: Workspace, name: string | undefined): Cluster[] {
  const all = [...ws.clusters.values()].map((c) => c.cluster).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (name === undefined) return all;
  const found = all.find((c) => c.name === name);
  if (!found) {
    throw new UserError('CLUSTER_NOT_FOUND', `no cluster profile clusters/${name}/cluster.yaml`, {
      hint: all.length > 0 ? `known clusters: ${all.map((c) => c.name).join(', ')}` : 'create clusters/<name>/cluster.yaml',
    });
  }
  return [found];
}

/** A profile for printing a recipe no cluster runs yet: v1beta1, namespace default, its GPU available. */
function scratchCluster(gpu: string): Cluster {
  return {
    name: 'local',
    dynamoApiVersion: 'v1beta1',
    namespace: 'default',
    gitops: ['flux'],
    repo: { url: 'https://example.invalid/repo.git', branch: 'main', path: 'clusters/local' },
    gpus: { [gpu]: { nodes: 1 } },
    recipes: [],
  };
}

export const registerRender: RegisterCommand = (program, io, state) => {
  program
    .command('render')
    .description('Render recipes for each cluster profile into clusters/<cluster>/ (plain YAML for Flux or Argo CD).')
    .option('--check', 'render in memory and exit 1 with a diff when clusters/ is out of date')
    .option('--cluster <name>', 'only this cluster profile')
    .option('--target <target>', `output kind: ${TARGETS.join('|')}`, 'dgd')
    .option('--recipe <dir>', 'only this recipe: re-render the clusters that run it, or print it with --stdout')
    .option('--variant <name>', 'variant to print (with --recipe --stdout)')
    .option('--set <path=value>', 'override a resolved value (with --recipe --stdout; repeatable)', collect, [])
    .option('--stdout', 'print the manifests instead of writing clusters/')
    .option('--out <dir>', 'with --target other than dgd: write the files to <dir>/<target>/<recipe-name>/')
    .option('--engine <engine>', `with --stdout (or --target … --out): ${ENGINES.join('|')}; sim serves with the project simulator (CPU-only)`)
    .action(async (flags: RenderFlags) => {
      if (!isTarget(flags.target)) {
        throw new UserError('RENDER_TARGET', `unknown --target ${flags.target}`, { hint: `choose one of ${TARGETS.join(', ')}` });
      }
      if (flags.target !== 'dgd') {
        const target = flags.target;
        if (flags.recipe === undefined || (!flags.stdout && flags.out === undefined)) {
          throw new UserError('RENDER_FLAGS', `--target ${target} renders one recipe: give --recipe DIR and --stdout or --out DIR`, {
            hint: `e.g. recipes render --target ${target} --recipe qwen3-32b/vllm/h100-sxm --out out/`,
          });
        }
        const root = findWorkspaceRoot(io.cwd);
        const ws = loadWorkspace(root);
        if (ws.issues.some((i) => i.severity !== 'warning')) throw new InvalidInputError(ws.issues);
        const result = resolveRecipe(ws, { recipe: flags.recipe, variant: flags.variant, set: flags.set, cwd: io.cwd });
        if (!result.resolved) throw new InvalidInputError(result.issues);
        const id = result.resolved.id;
        const all = selectClusters(ws, flags.cluster);
        const runs = all.filter((c) => c.recipes.some((ref) => findRecipeId(ws, ref.recipe) === id));
        // The cluster named, else the first that runs the recipe, else a scratch profile with its GPU.
        const cluster = withEngine(flags, [flags.cluster !== undefined ? all[0]! : (runs[0] ?? scratchCluster(result.resolved.gpu.id))])[0]!;
        const out = renderTarget(target, result.resolved, cluster);
        if (flags.stdout) {
          for (const f of out.files) io.stdout(`# ==> ${f.path}\n${f.content}${f.content.endsWith('\n') ? '' : '\n'}`);
          return;
        }
        const dir = resolve(io.cwd, flags.out!, target, out.name);
        writeTargetDir(dir, out);
        io.stderr(`rendered ${id} for ${target} (cluster ${cluster.name}): ${out.files.length} files in ${dir}\n`);
        return;
      }
      if ((flags.variant !== undefined || flags.set.length > 0) && !(flags.recipe && flags.stdout)) {
        throw new UserError('RENDER_FLAGS', '--variant and --set apply only with --recipe and --stdout', {
          hint: 'what a cluster deploys (recipe, variant, set) is declared in clusters/<cluster>/cluster.yaml',
        });
      }
      const root = findWorkspaceRoot(io.cwd);
      const ws = loadWorkspace(root);
      if (ws.issues.some((i) => i.severity !== 'warning')) throw new InvalidInputError(ws.issues);
      let clusters = withEngine(flags, selectClusters(ws, flags.cluster));

      if (flags.recipe !== undefined) {
        const id = findRecipeId(ws, flags.recipe, io.cwd);
        if (id === undefined) {
          const r = resolveRecipe(ws, { recipe: flags.recipe, cwd: io.cwd });
          throw new InvalidInputError(r.issues);
        }
        const runs = (c: Cluster): boolean => c.recipes.some((ref) => findRecipeId(ws, ref.recipe) === id);
        if (flags.stdout) {
          const result = resolveRecipe(ws, { recipe: id, variant: flags.variant, set: flags.set });
          if (!result.resolved) throw new InvalidInputError(result.issues);
          const targets = flags.cluster !== undefined ? clusters : clusters.filter(runs);
          const profiles = targets.length > 0 ? targets : withEngine(flags, [scratchCluster(result.resolved.gpu.id)]);
          for (const cluster of profiles) {
            const out = renderRecipe(result.resolved, cluster);
            io.stdout(canonicalYaml(out.manifests.map((m) => m.object), { header: [`cluster: ${cluster.name}`, `recipe: ${id}`] }));
          }
          return;
        }
        clusters = clusters.filter(runs);
        if (clusters.length === 0) {
          throw new UserError('RENDER_NO_CLUSTER', `no cluster profile runs ${id}`, {
            hint: 'add it to recipes: in a clusters/<cluster>/cluster.yaml, or print it with --stdout',
          });
        }
      }

      // Render everything in memory first: if anything fails, clusters/ is left as it was.
      const files: RenderedFiles = new Map();
      for (const cluster of clusters) for (const [p, v] of renderCluster(ws, cluster)) files.set(p, v);

      if (flags.stdout) {
        for (const [p, v] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) io.stdout(`# ==> ${p}\n${v}${v.endsWith('\n') ? '' : '\n'}`);
        return;
      }
      const result = await writeClusters(root, files, { check: flags.check });
      const drift = result.added.length + result.changed.length + result.removed.length;
      const names = clusters.map((c) => c.name).join(', ');
      if (flags.check) {
        if (drift > 0) {
          io.stdout(result.diff);
          io.stderr(`clusters/ is out of date (${drift} file${drift === 1 ? '' : 's'} differ: +${result.added.length} ~${result.changed.length} -${result.removed.length}); run \`recipes render\` and commit the result\n`);
          state.exitCode = 1;
        } else {
          io.stderr(`clusters/ is up to date (${names})\n`);
        }
        return;
      }
      io.stderr(drift === 0 ? `clusters/ already up to date (${names})\n` : `rendered ${names}: +${result.added.length} ~${result.changed.length} -${result.removed.length} files\n`);
    });
};
