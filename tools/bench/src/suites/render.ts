import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import type { BenchRow, BenchSuite } from '../types.ts';

const REPO = join(import.meta.dirname, '..', '..', '..', '..');
const TARGET_MS = 2000;

type Mode = 'render' | 'files';

// Runs in a fresh Node process: import → load → render every cluster → write → validate the rendered objects in
// memory (the schema pass and the cross-object checks), timing each phase. `files` mode instead validates the
// written tree from disk, as `recipes validate` does.
const SCRIPT = (root: string, mode: Mode): string => `
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

// The machine's floor for the same work, each in a fresh process: Node's start, importing the libraries the
// pipeline cannot do without, and writing the very files the run wrote (same paths, same bytes) into a fresh
// directory with plain mkdir + writeFile.
const FLOOR_IMPORT = `
const t0 = performance.now();
await Promise.all(${JSON.stringify(['yaml', 'zod', 'ajv', 'handlebars'].map((m) => import.meta.resolve(m)))}.map((u) => import(u)));
console.log(JSON.stringify({ ms: performance.now() - t0 }));
`;
const FLOOR_WRITE = (from: string, to: string): string => `
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
const files = readdirSync(${JSON.stringify(from)}, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
  .map((p) => [join(${JSON.stringify(to)}, p.slice(${JSON.stringify(from)}.length)), readFileSync(p)]);
const t0 = performance.now();
for (const d of new Set(files.map(([p]) => dirname(p)))) mkdirSync(d, { recursive: true });
for (const [p, data] of files) writeFileSync(p, data);
console.log(JSON.stringify({ files: files.length, ms: performance.now() - t0 }));
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

/**
 * How a run's process starts. `cold`: nothing compiled before, NODE_DISABLE_COMPILE_CACHE=1 whatever the caller's
 * environment says (a NODE_COMPILE_CACHE there would otherwise apply). `compileCache`: V8's code cache (what the
 * CLI enables) in this directory, filled by an earlier run.
 */
type Start = { kind: 'cold' } | { kind: 'compileCache'; dir: string };

function nodeEnv(start: Start): Record<string, string> {
  return start.kind === 'cold' ? { NODE_DISABLE_COMPILE_CACHE: '1' } : { NODE_COMPILE_CACHE: start.dir };
}

async function runScript(dir: string, name: string, text: string, env: Record<string, string>): Promise<{ wallMs: number; out: string }> {
  const script = join(dir, name);
  await writeFile(script, text);
  // the caller's compile-cache settings must not leak in: Node treats NODE_DISABLE_COMPILE_CACHE as set even when empty
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_COMPILE_CACHE' && k !== 'NODE_DISABLE_COMPILE_CACHE'));
  const start = performance.now();
  const { stdout } = await execa(process.execPath, [script], { cwd: REPO, env: { ...base, ...env }, extendEnv: false });
  return { wallMs: performance.now() - start, out: stdout.trim().split('\n').at(-1)! };
}

async function coldRun(root: string, cacheDir: string, mode: Mode, start: Start = { kind: 'cold' }): Promise<{ wallMs: number; phases: Phases }> {
  const { wallMs, out } = await runScript(root, `bench-${mode}.mjs`, SCRIPT(root, mode), { LLM_RECIPES_CACHE_DIR: cacheDir, ...nodeEnv(start) });
  return { wallMs, phases: JSON.parse(out) as Phases };
}

/**
 * A fresh copy of the input for every render run, so write always creates every file. Nothing is deleted between
 * runs: on ext4, creating files soon after thousands were deleted is several times slower (the inode allocator
 * skips and re-checks recently freed inodes for ~30 s), which would time the previous run's cleanup, not this one.
 */
async function freshInput(work: string, make: (root: string) => Promise<void>): Promise<string> {
  const root = await mkdtemp(join(work, 'run-'));
  await make(root);
  return root;
}

/** This repository's inputs: recipes/ and every clusters/<c>/cluster.yaml, nothing rendered. */
async function repoInput(root: string): Promise<void> {
  await cp(join(REPO, 'recipes'), join(root, 'recipes'), { recursive: true });
  for (const c of await readdir(join(REPO, 'clusters'))) {
    await cp(join(REPO, 'clusters', c, 'cluster.yaml'), join(root, 'clusters', c, 'cluster.yaml'));
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
    // a Hugging Face id of its own: two cards naming one model are an error (MODEL_DUPLICATE_NAME)
    await writeFile(join(root, 'recipes', id, 'model.yaml'), model.replace(/^hfId: .*$/m, `hfId: bench/${id}`));
    // the files the recipe references (engine config, benchmark trace); a golden.yaml would name the original recipe
    await cp(recipeDir, join(root, 'recipes', id, 'vllm', 'h100-sxm'), { recursive: true, filter: (src) => !/golden\.yaml$/.test(src) });
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
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const WARM_RUNS = 3;

export const renderSuite: BenchSuite = {
  name: 'render',
  run: async () => {
    const rows: BenchRow[] = [];
    // Beside the repository (node_modules/.cache, like the validator cache), not in the OS temp dir: `recipes render`
    // writes into the checkout, and on a shared machine the temp dir's ext4 block groups are churned by every other
    // process's temporary files, whose recently freed inodes each file creation then has to skip.
    const cacheRoot = join(REPO, 'node_modules', '.cache', 'llm-recipes');
    await mkdir(cacheRoot, { recursive: true });
    const work = await mkdtemp(join(cacheRoot, 'bench-render-'));
    try {
      for (const [label, make] of [
        // the repository as committed: inputs copied, rendered from scratch in a fresh process
        ['repo', repoInput],
        ['100 recipes × 3 clusters', generated],
      ] as const) {
        const cache = join(work, `cache-${label === 'repo' ? 'repo' : 'big'}`);
        const compileCache = join(work, `compile-cache-${label === 'repo' ? 'repo' : 'big'}`);
        const phases = (x: Phases) => `import ${ms(x.importMs)}, load ${ms(x.loadMs)}, render ${ms(x.renderMs)}, write ${ms(x.writeMs)}, validate ${ms(x.validateMs)}`;
        // 1. validator cache empty (first run after install or a CRD update): the CRD schemas are converted and
        //    the validators compiled and saved; 2. validator cache populated, the normal case (the target), median
        //    of WARM_RUNS; 3. the same with V8's compile cache filled by a previous run; 4. `recipes validate`.
        const first = await coldRun(await freshInput(work, make), cache, 'render');
        const warm: { wallMs: number; phases: Phases }[] = [];
        let written = '';
        for (let i = 0; i < WARM_RUNS; i++) {
          written = await freshInput(work, make);
          warm.push(await coldRun(written, cache, 'render'));
        }
        await coldRun(await freshInput(work, make), cache, 'render', { kind: 'compileCache', dir: compileCache });
        const cachedRuns: { wallMs: number; phases: Phases }[] = [];
        for (let i = 0; i < WARM_RUNS; i++) cachedRuns.push(await coldRun(await freshInput(work, make), cache, 'render', { kind: 'compileCache', dir: compileCache }));
        const cached = cachedRuns.find((w) => w.wallMs === median(cachedRuns.map((x) => x.wallMs)))!;
        const p = warm.find((w) => w.wallMs === median(warm.map((x) => x.wallMs)))!.phases;
        const files = await coldRun(written, cache, 'files');
        const wallMs = median(warm.map((w) => w.wallMs));
        rows.push({ suite: 'render', metric: `${label}: render + write + validate, cold process, caches empty (wall)`, value: Math.round(first.wallMs), unit: 'ms', note: `${phases(first.phases)}; validators compiled ${first.phases.validators.compiled}` });
        rows.push({
          suite: 'render',
          metric: `${label}: render + write + validate, cold process, caches warm (wall, median of ${WARM_RUNS})`,
          value: Math.round(wallMs),
          unit: 'ms',
          target: `< ${TARGET_MS}`,
          ok: wallMs < TARGET_MS,
          note: `${p.recipes} recipe deployments → ${p.files} files; ${phases(p)}; runs ${warm.map((w) => Math.round(w.wallMs)).join(', ')} ms; no compile cache; validators loaded ${p.validators.loaded}`,
        });
        rows.push({
          suite: 'render',
          metric: `${label}: the same with V8's compile cache warm (wall, median of ${WARM_RUNS})`,
          value: Math.round(cached.wallMs),
          unit: 'ms',
          note: `what \`recipes\` does from its second run on; ${phases(cached.phases)}; runs ${cachedRuns.map((w) => Math.round(w.wallMs)).join(', ')} ms`,
        });
        rows.push({ suite: 'render', metric: `${label}: render (in process)`, value: Math.round(p.renderMs), unit: 'ms', note: `template output read: ${p.templateReads.fast} fast, ${p.templateReads.yaml} by yaml` });
        rows.push({ suite: 'render', metric: `${label}: write (in process)`, value: Math.round(p.writeMs), unit: 'ms' });
        rows.push({ suite: 'render', metric: `${label}: validate in memory (in process)`, value: Math.round(p.validateMs), unit: 'ms', note: 'schema pass + cross-object checks on the rendered objects' });
        rows.push({ suite: 'render', metric: `${label}: recipes validate from files, cold process (wall)`, value: Math.round(files.wallMs), unit: 'ms', note: `${files.phases.files} files read and parsed once; import ${ms(files.phases.importMs)}, validate ${ms(files.phases.validateMs)}` });
        if (label !== 'repo') {
          const cold = nodeEnv({ kind: 'cold' });
          const node = await runScript(work, 'floor-node.mjs', '', cold);
          const libs = JSON.parse((await runScript(work, 'floor-import.mjs', FLOOR_IMPORT, cold)).out) as { ms: number };
          const fsFloor = JSON.parse((await runScript(work, 'floor-write.mjs', FLOOR_WRITE(join(written, 'clusters'), join(work, 'floor-tree')), cold)).out) as { files: number; ms: number };
          const floor = node.wallMs + libs.ms + fsFloor.ms;
          rows.push({
            suite: 'render',
            metric: `machine floor: node start + import yaml/zod/ajv/handlebars + write the same ${fsFloor.files} files`,
            value: Math.round(floor),
            unit: 'ms',
            note: `node start ${ms(node.wallMs)}, imports ${ms(libs.ms)}, plain mkdir + writeFile ${ms(fsFloor.ms)}; the warm run above is ${(wallMs / floor).toFixed(1)}× this`,
          });
        }
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return rows;
  },
};
