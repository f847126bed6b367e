import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import type { BenchRow, BenchSuite } from '../types.ts';

const REPO = join(import.meta.dirname, '..', '..', '..', '..');
const TARGET_MS = 2000;

// Runs in a fresh Node process: import → load → render every cluster → write → validate the rendered objects in
// memory (the schema pass and the cross-object checks), timing each phase. `files` mode instead validates the
// written tree from disk, as `recipes validate` does.
const SCRIPT = (root: string, mode: 'render' | 'files'): string => `
const t0 = performance.now();
const url = (p) => new URL(p, ${JSON.stringify(pathToFileURL(`${REPO}/`).href)}).href;
if (${JSON.stringify(mode)} === 'files') {
  const { validateTree, validatorStats } = await import(url('packages/validate/src/index.ts'));
  const tImport = performance.now();
  const result = await validateTree([${JSON.stringify(join(root, 'clusters'))}], { schemas: true });
  if (!result.ok) throw new Error(JSON.stringify(result.problems.filter((p) => p.severity === 'error').slice(0, 3)));
  console.log(JSON.stringify({ files: result.summary.files, importMs: tImport - t0, validateMs: performance.now() - tImport, validators: validatorStats }));
} else {
  const { loadWorkspace } = await import(url('packages/recipe/src/index.ts'));
  const { renderClusterDocuments, writeClusters, templateReads } = await import(url('packages/render/src/index.ts'));
  const tImport = performance.now();
  const ws = loadWorkspace(${JSON.stringify(root)});
  if (ws.issues.some((i) => i.severity !== 'warning')) throw new Error(JSON.stringify(ws.issues.slice(0, 3)));
  const tLoad = performance.now();
  const files = new Map();
  const docs = new Map();
  for (const { cluster } of ws.clusters.values()) {
    for (const [p, v] of renderClusterDocuments(ws, cluster)) {
      files.set(p, v.text);
      docs.set(p, v.documents);
    }
  }
  const tRender = performance.now();
  await writeClusters(${JSON.stringify(root)}, files);
  const tWrite = performance.now();
  const { validateRendered, validatorStats } = await import(url('packages/validate/src/index.ts'));
  const result = await validateRendered(docs, { root: ${JSON.stringify(root)} });
  if (!result.ok) throw new Error(JSON.stringify(result.problems.filter((p) => p.severity === 'error').slice(0, 3)));
  const tValidate = performance.now();
  console.log(JSON.stringify({ files: files.size, recipes: [...ws.clusters.values()].reduce((n, c) => n + c.cluster.recipes.length, 0),
    importMs: tImport - t0, loadMs: tLoad - tImport, renderMs: tRender - tLoad, writeMs: tWrite - tRender, validateMs: tValidate - tWrite,
    validators: validatorStats, templateReads }));
}
`;

interface Phases {
  files: number;
  recipes: number;
  importMs: number;
  loadMs: number;
  renderMs: number;
  writeMs: number;
  validateMs: number;
  validators: { compiled: number; loaded: number };
  templateReads: { fast: number; yaml: number };
}

async function coldRun(root: string, cacheDir: string, mode: 'render' | 'files'): Promise<{ wallMs: number; phases: Phases }> {
  if (mode === 'render') await rm(join(root, 'clusters'), { recursive: true, force: true }).then(() => restoreProfiles(root));
  const script = join(root, `bench-${mode}.mts`);
  await writeFile(script, SCRIPT(root, mode));
  const start = performance.now();
  const { stdout } = await execa(process.execPath, [script], { cwd: REPO, env: { LLM_RECIPES_CACHE_DIR: cacheDir } });
  const wallMs = performance.now() - start;
  return { wallMs, phases: JSON.parse(stdout.trim().split('\n').at(-1)!) as Phases };
}

// Each render run starts from the cluster profiles only, so write always creates every file.
const profiles = new Map<string, Map<string, string>>();
async function saveProfiles(root: string): Promise<void> {
  const saved = new Map<string, string>();
  for (const c of await readdir(join(root, 'clusters'))) saved.set(c, await readFile(join(root, 'clusters', c, 'cluster.yaml'), 'utf8'));
  profiles.set(root, saved);
}
async function restoreProfiles(root: string): Promise<void> {
  for (const [c, text] of profiles.get(root) ?? []) {
    await mkdir(join(root, 'clusters', c), { recursive: true });
    await writeFile(join(root, 'clusters', c, 'cluster.yaml'), text);
  }
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

const ms = (v: number): string => `${v.toFixed(0)} ms`;

export const renderSuite: BenchSuite = {
  name: 'render',
  run: async () => {
    const rows: BenchRow[] = [];
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
        await saveProfiles(root);
        const cache = join(work, `cache-${label === 'repo' ? 'repo' : 'big'}`);
        // 1. caches empty (first run after install or a CRD update): the CRD schemas are converted and the
        //    validators compiled and saved; 2. caches populated, the normal case; 3. `recipes validate` from files.
        const first = await coldRun(root, cache, 'render');
        const warm = await coldRun(root, cache, 'render');
        const files = await coldRun(root, cache, 'files');
        const p = warm.phases;
        const phases = (x: Phases) => `import ${ms(x.importMs)}, load ${ms(x.loadMs)}, render ${ms(x.renderMs)}, write ${ms(x.writeMs)}, validate ${ms(x.validateMs)}`;
        rows.push({ suite: 'render', metric: `${label}: render + write + validate, cold process, caches empty (wall)`, value: Math.round(first.wallMs), unit: 'ms', note: `${phases(first.phases)}; validators compiled ${first.phases.validators.compiled}` });
        rows.push({ suite: 'render', metric: `${label}: render + write + validate, cold process, caches warm (wall)`, value: Math.round(warm.wallMs), unit: 'ms', target: `< ${TARGET_MS}`, ok: warm.wallMs < TARGET_MS, note: `${p.recipes} recipe deployments → ${p.files} files; ${phases(p)}; validators loaded ${p.validators.loaded}` });
        rows.push({ suite: 'render', metric: `${label}: render (in process)`, value: Math.round(p.renderMs), unit: 'ms', note: `template output read: ${p.templateReads.fast} fast, ${p.templateReads.yaml} by yaml` });
        rows.push({ suite: 'render', metric: `${label}: write (in process)`, value: Math.round(p.writeMs), unit: 'ms' });
        rows.push({ suite: 'render', metric: `${label}: validate in memory (in process)`, value: Math.round(p.validateMs), unit: 'ms', note: 'schema pass + cross-object checks on the rendered objects' });
        rows.push({ suite: 'render', metric: `${label}: recipes validate from files, cold process (wall)`, value: Math.round(files.wallMs), unit: 'ms', note: `${files.phases.files} files read and parsed once; import ${ms(files.phases.importMs)}, validate ${ms(files.phases.validateMs)}` });
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return rows;
  },
};
