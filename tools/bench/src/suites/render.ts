import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import type { BenchRow, BenchSuite } from '../types.ts';

const REPO = join(import.meta.dirname, '..', '..', '..', '..');
const TARGET_MS = 2000;

// Runs in a fresh Node process: load → render every cluster → write (→ validate), timing each phase.
const SCRIPT = (root: string, validate: boolean): string => `
const t0 = performance.now();
const { loadWorkspace } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'packages/recipe/src/index.ts')).href)});
const { renderCluster, writeClusters } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'packages/render/src/index.ts')).href)});
const tImport = performance.now();
const ws = loadWorkspace(${JSON.stringify(root)});
if (ws.issues.some((i) => i.severity !== 'warning')) throw new Error(JSON.stringify(ws.issues.slice(0, 3)));
const tLoad = performance.now();
const files = new Map();
for (const { cluster } of ws.clusters.values()) for (const [p, v] of renderCluster(ws, cluster)) files.set(p, v);
const tRender = performance.now();
await writeClusters(${JSON.stringify(root)}, files);
const tWrite = performance.now();
let tValidate = tWrite;
if (${validate}) {
  const { validateTree } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'packages/validate/src/index.ts')).href)});
  await validateTree([${JSON.stringify(join(root, 'clusters'))}]);
  tValidate = performance.now();
}
console.log(JSON.stringify({ files: files.size, recipes: [...ws.clusters.values()].reduce((n, c) => n + c.cluster.recipes.length, 0),
  importMs: tImport - t0, loadMs: tLoad - tImport, renderMs: tRender - tLoad, writeMs: tWrite - tRender, validateMs: tValidate - tWrite }));
`;

interface Phases {
  files: number;
  recipes: number;
  importMs: number;
  loadMs: number;
  renderMs: number;
  writeMs: number;
  validateMs: number;
}

async function coldRun(root: string, validate: boolean): Promise<{ wallMs: number; phases: Phases }> {
  const script = join(root, 'bench-render.mts');
  await writeFile(script, SCRIPT(root, validate));
  const start = performance.now();
  const { stdout } = await execa('npx', ['node', script], { cwd: REPO });
  const wallMs = performance.now() - start;
  return { wallMs, phases: JSON.parse(stdout.trim().split('\n').at(-1)!) as Phases };
}

/** A workspace of 100 recipes (copies of one real recipe under 100 model ids) deployed on 3 clusters. */
async function generated(root: string): Promise<void> {
  await cp(join(REPO, 'recipes'), join(root, 'recipes'), { recursive: true });
  const model = await readFile(join(REPO, 'recipes', 'qwen3-32b', 'model.yaml'), 'utf8');
  const recipeDir = join(REPO, 'recipes', 'qwen3-32b', 'vllm', 'h100-sxm');
  const recipe = await readFile(join(recipeDir, 'recipe.yaml'), 'utf8');
  const refs: string[] = [];
  for (let i = 0; i < 100; i++) {
    const id = `bench-model-${String(i).padStart(3, '0')}`;
    await mkdir(join(root, 'recipes', id, 'vllm', 'h100-sxm'), { recursive: true });
    await writeFile(join(root, 'recipes', id, 'model.yaml'), model);
    await cp(join(recipeDir, 'engine'), join(root, 'recipes', id, 'vllm', 'h100-sxm', 'engine'), { recursive: true });
    await writeFile(join(root, 'recipes', id, 'vllm', 'h100-sxm', 'recipe.yaml'), recipe.replace(/^model: qwen3-32b$/m, `model: ${id}`));
    refs.push(`  - recipe: ${id}/vllm/h100-sxm`);
  }
  const profiles = [
    ['bench-a', 'v1beta1', '[flux]'],
    ['bench-b', 'v1alpha1', '[argocd]'],
    ['bench-c', 'v1beta1', '[flux, argocd]'],
  ];
  for (const [name, api, gitops] of profiles) {
    await mkdir(join(root, 'clusters', name!), { recursive: true });
    await writeFile(
      join(root, 'clusters', name!, 'cluster.yaml'),
      `dynamoApiVersion: ${api}\nnamespace: llm\ngitops: ${gitops}\nrepo: { url: https://example.com/r.git, branch: main, path: clusters/${name} }\ngpus:\n  h100_sxm: { nodes: 128 }\nobservability: true\nrecipes:\n${refs.join('\n')}\n`,
    );
  }
}

async function hasValidate(): Promise<boolean> {
  try {
    const mod = (await import(pathToFileURL(join(REPO, 'packages/validate/src/index.ts')).href)) as Record<string, unknown>;
    return typeof mod.validateTree === 'function';
  } catch {
    return false;
  }
}

export const renderSuite: BenchSuite = {
  name: 'render',
  run: async () => {
    const rows: BenchRow[] = [];
    const validate = await hasValidate();
    const work = await mkdtemp(join(tmpdir(), 'bench-render-'));
    try {
      // The repository as committed: inputs copied, rendered from scratch in a fresh process.
      const repo = join(work, 'repo');
      await cp(join(REPO, 'recipes'), join(repo, 'recipes'), { recursive: true });
      for (const c of await readdir(join(REPO, 'clusters'))) {
        await cp(join(REPO, 'clusters', c, 'cluster.yaml'), join(repo, 'clusters', c, 'cluster.yaml'));
      }
      const big = join(work, 'big');
      await generated(big);
      for (const [label, root] of [
        ['repo', repo],
        ['100 recipes × 3 clusters', big],
      ] as const) {
        const { wallMs, phases } = await coldRun(root, validate);
        const note = `${phases.recipes} recipe deployments → ${phases.files} files; import ${phases.importMs.toFixed(0)} ms, load ${phases.loadMs.toFixed(0)} ms, render ${phases.renderMs.toFixed(0)} ms, write ${phases.writeMs.toFixed(0)} ms${validate ? `, validate ${phases.validateMs.toFixed(0)} ms` : ''}`;
        rows.push({ suite: 'render', metric: `${label}: cold render${validate ? ' + validate' : ''} (process wall)`, value: wallMs, unit: 'ms', target: `< ${TARGET_MS}`, ok: wallMs < TARGET_MS, note });
        rows.push({ suite: 'render', metric: `${label}: load + render in process`, value: phases.loadMs + phases.renderMs, unit: 'ms', note: 'excludes Node start and module import' });
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return rows;
  },
};
