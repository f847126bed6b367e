import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../testing.ts';

const repo = path.resolve(import.meta.dirname, '../../../..');
const root = mkdtempSync(path.join(os.tmpdir(), 'llm-recipes-cli-'));
cpSync(path.join(repo, 'recipes'), path.join(root, 'recipes'), { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));

const run = (argv: string[], cwd = root) => runCli(argv, cwd);

describe('recipes explain', () => {
  it('prints the layer and file:line of each value, from a directory relative to cwd', async () => {
    const r = await run(['explain', 'h100-sxm', 'sla', '--variant', 'low-latency', '--set', 'sla.e2eMs=2000'], path.join(root, 'recipes/qwen3-32b/vllm'));
    expect(r.code).toBe(0);
    expect(r.out).toMatchInlineSnapshot(`
      "qwen3-32b/vllm/h100-sxm (variant low-latency) → qwen3-32b-vllm-h100-sxm-low-latency
      FIELD       VALUE  LAYER    FROM
      sla.ttftMs  60     variant  recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:26
      sla.itlMs   10     variant  recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:26
      sla.e2eMs   2000   set      --set
      "
    `);
  });

  it('--json gives machine-readable rows', async () => {
    const r = await run(['explain', 'llama-3.1-8b/vllm/h100_sxm', 'dtype', '--variant', 'fp8', '--json']);
    expect(JSON.parse(r.out)).toEqual({
      id: 'llama-3.1-8b/vllm/h100-sxm',
      variant: 'fp8',
      name: 'llama-3-1-8b-vllm-h100-sxm-fp8',
      rows: [{ path: 'dtype', value: 'fp8', layer: 'variant', file: 'recipes/llama-3.1-8b/vllm/h100-sxm/recipe.yaml', line: 20 }],
    });
  });

  it('--cluster adds the cluster profile\'s pod settings as a layer, with their file:line', async () => {
    mkdirSync(path.join(root, 'clusters/lab'), { recursive: true });
    writeFileSync(
      path.join(root, 'clusters/lab/cluster.yaml'),
      `# yaml-language-server: $schema=../../schemas/cluster.schema.json
dynamoApiVersion: v1beta1
namespace: lab
gitops: [flux]
repo: { url: https://example.com/r.git, branch: main, path: clusters/lab }
gpus: { h100_sxm: { nodes: 4 } }
workerPod:
  env: { NCCL_IB_GID_INDEX: "3" }
recipes:
  - recipe: llama-3.1-8b/vllm/h100-sxm
`,
    );
    const r = await run(['explain', 'llama-3.1-8b/vllm/h100-sxm', 'topology.agg.pod.env', '--cluster', 'lab', '--json']);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out).rows).toContainEqual({ path: 'topology.agg.pod.env.NCCL_IB_GID_INDEX', value: '3', layer: 'cluster', file: 'clusters/lab/cluster.yaml', line: 8 });
    const unknown = await run(['explain', 'llama-3.1-8b/vllm/h100-sxm', '--cluster', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('no cluster profile "nope"');
    rmSync(path.join(root, 'clusters'), { recursive: true, force: true });
  });

  it('exits 2 with the positioned problem for a bad --set', async () => {
    const r = await run(['explain', 'qwen3-32b/vllm/h100-sxm', '--set', 'topology.decode.tp=16']);
    expect(r.code).toBe(2);
    expect(r.err).toMatchInlineSnapshot(`
      "error[INVALID_INPUT]: 1 problem found:
        --set ✖ topology.decode needs 16 GPUs per node (tp 16 × pp 1 × dp 1 over 1 node), but a h100_sxm node has 8 → at topology.decode.tp — hint: set topology.decode.nodes: 2 to span nodes, or lower tp to 8
      "
    `);
  });
});

describe('recipes new', () => {
  it('scaffolds, validates, and refuses to overwrite', async () => {
    const r = await run(['new', '--model', 'meta-llama/Llama-3.3-70B-Instruct', '--backend', 'sglang', '--gpu', 'h100', '--mode', 'disagg']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe('created recipes/llama-3.3-70b/sglang/h100-sxm/recipe.yaml (tp 4)\nnext: recipes explain llama-3.3-70b/sglang/h100-sxm\n');
    expect(readFileSync(path.join(root, 'recipes/llama-3.3-70b/sglang/h100-sxm/recipe.yaml'), 'utf8')).toMatchInlineSnapshot(`
      "# yaml-language-server: $schema=../../../../schemas/recipe.schema.json
      # Scaffolded by \`recipes new\`; tp 4 keeps the bf16 weights under 60 % of a h100_sxm's memory.
      model: llama-3.3-70b
      backend:
        name: sglang
      gpu: h100_sxm
      maxModelLen: 32768
      topology:
        mode: disagg
        router: kv
        prefill:
          replicas: 1
          tp: 4
        decode:
          replicas: 1
          tp: 4
      "
    `);
    const again = await run(['new', '--model', 'llama-3.3-70b', '--backend', 'sglang', '--gpu', 'h100_sxm', '--mode', 'disagg']);
    expect(again.code).toBe(2);
    expect(again.err.split('\n')[0]).toBe('error[RECIPE_EXISTS]: recipes/llama-3.3-70b/sglang/h100-sxm/recipe.yaml already exists');
  });
});
