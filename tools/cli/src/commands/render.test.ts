import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.ts';
import type { CliIo } from '../io.ts';

const REPO = join(import.meta.dirname, '..', '..', '..', '..');
let root: string;

function io(cwd: string): CliIo & { out: string; err: string } {
  const b = { out: '', err: '' };
  return Object.assign(b, {
    stdout: (t: string) => void (b.out += t),
    stderr: (t: string) => void (b.err += t),
    cwd,
    isTTY: false,
    env: {},
  });
}

async function snapshotTree(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) Object.assign(out, await snapshotTree(dir, p));
    else out[p] = await readFile(join(dir, p), 'utf8');
  }
  return out;
}

beforeAll(async () => {
  // A temp copy of the repository's inputs: recipes/ and the cluster profiles (not the rendered output).
  root = await mkdtemp(join(tmpdir(), 'recipes-render-cli-'));
  await cp(join(REPO, 'recipes'), join(root, 'recipes'), { recursive: true });
  for (const c of await readdir(join(REPO, 'clusters'))) {
    await cp(join(REPO, 'clusters', c, 'cluster.yaml'), join(root, 'clusters', c, 'cluster.yaml'));
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('recipes render', () => {
  it('renders the same tree as committed, then --check passes; an edited recipe fails --check with a diff', async () => {
    // GIVEN a fresh render of the copied inputs
    const first = io(root);
    expect(await main(['render'], first), first.err).toBe(0);
    // THEN it is byte-identical to the committed clusters/ tree
    const committed = await snapshotTree(join(REPO, 'clusters'));
    expect(await snapshotTree(join(root, 'clusters'))).toEqual(committed);
    const clean = io(root);
    expect(await main(['render', '--check'], clean)).toBe(0);
    // WHEN a recipe changes without re-rendering
    const [recipeFile] = (await readdir(join(root, 'recipes', 'qwen3-32b', 'vllm', 'h100-sxm'))).filter((f) => f === 'recipe.yaml');
    const path = join(root, 'recipes', 'qwen3-32b', 'vllm', 'h100-sxm', recipeFile!);
    const original = await readFile(path, 'utf8');
    await writeFile(path, original.replace(/^backend:\n/m, 'backend:\n  env: { EDITED_IN_TEST: "1" }\n'));
    // THEN --check exits 1 and prints the drift as a unified diff
    const drift = io(root);
    expect(await main(['render', '--check'], drift)).toBe(1);
    expect(drift.out).toMatch(/^\+\s+value: "1"$/m);
    expect(drift.err).toContain('out of date');
    await writeFile(path, original);
  });

  it('exits 2 with every loader issue and leaves clusters/ unchanged', async () => {
    const before = await snapshotTree(join(root, 'clusters'));
    const path = join(root, 'recipes', 'qwen3-32b', 'vllm', 'h100-sxm', 'recipe.yaml');
    const original = await readFile(path, 'utf8');
    await writeFile(path, `${original}\nnotAField: 1\n`);
    const bad = io(root);
    expect(await main(['render'], bad)).toBe(2);
    expect(bad.err).toContain('recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml');
    expect(await snapshotTree(join(root, 'clusters'))).toEqual(before);
    await writeFile(path, original);
  });

  it('prints one recipe with --stdout and rejects a target without --recipe', async () => {
    const out = io(root);
    expect(await main(['render', '--recipe', 'qwen3-32b/vllm/h100-sxm', '--stdout', '--cluster', 'prod-flux', '--set', 'topology.frontend.replicas=3'], out), out.err).toBe(0);
    expect(out.out).toContain('kind: DynamoGraphDeployment');
    expect(out.out).toMatch(/- name: frontend\n(\s+\S.*\n)*?\s+replicas: 3/);
    const target = io(root);
    expect(await main(['render', '--target', 'llm-d'], target)).toBe(2);
    expect(target.err).toContain('--target llm-d renders one recipe');
  });
});
