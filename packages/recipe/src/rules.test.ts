import { formatIssue } from '@llm-recipes/errors';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkspace } from './index.ts';
import { recipeText, tempWorkspace } from './test-fixtures.ts';

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

/** Loads a workspace with one recipe file and returns its issues as the CLI prints them. */
function problems(dir: string, text: string, extra: Record<string, string> = {}): string[] {
  const ws = tempWorkspace({ [`recipes/${dir}/recipe.yaml`]: text, ...extra });
  cleanups.push(ws.cleanup);
  return loadWorkspace(ws.root).issues.map(formatIssue);
}

describe('invalid recipes report exactly what is wrong, where, and how to fix it', () => {
  it('missing model card', () => {
    expect(
      problems(
        'qwen3-8b/vllm/h100-sxm',
        recipeText(`
model: qwen3-8b
backend: { name: vllm }
gpu: h100-sxm
topology: { mode: agg, agg: { tp: 1 } }
`),
      ),
    ).toMatchInlineSnapshot(`
      [
        "recipes/qwen3-8b/vllm/h100-sxm/recipe.yaml:2:8 ✖ no model card for "qwen3-8b" (recipes/qwen3-8b/model.yaml does not exist) → at model — hint: did you mean "qwen3-32b"?",
      ]
    `);
  });

  it('unknown GPU with a did-you-mean', () => {
    expect(
      problems(
        'qwen3-32b/vllm/h100-sxm',
        recipeText(`
model: qwen3-32b
backend: { name: vllm }
gpu: h10-sxm
topology: { mode: agg, agg: { tp: 1 } }
`),
      ),
    ).toMatchInlineSnapshot(`
      [
        "recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:4:6 ✖ unknown GPU "h10-sxm" → at gpu — hint: did you mean "h100_sxm"?",
      ]
    `);
  });

  it('a typo in a field', () => {
    expect(
      problems(
        'qwen3-32b/vllm/h100-sxm',
        recipeText(`
model: qwen3-32b
backend: { name: vllm }
gpu: h100-sxm
topology:
  mode: agg
  agg:
    replcas: 2
    tensorParalel: 2
`),
      ),
    ).toMatchInlineSnapshot(`
      [
        "recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:8:5 ✖ unknown field "replcas" → at topology.agg.replcas — hint: did you mean "replicas"?",
        "recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:9:5 ✖ unknown field "tensorParalel" → at topology.agg.tensorParalel — hint: known fields: replicas, tp, pp, ep, dp, nodes, maxModelLen, args, extraConfig, pod",
      ]
    `);
  });

  it('tp × pp × dp over the GPUs of one node', () => {
    expect(
      problems(
        'qwen3-32b/vllm/h100-sxm',
        recipeText(`
model: qwen3-32b
backend: { name: vllm }
gpu: h100-sxm
maxModelLen: 32768
topology:
  mode: agg
  agg: { replicas: 2, tp: 16 }
`),
      ),
    ).toMatchInlineSnapshot(`
      [
        "recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:8:27 ✖ topology.agg needs 16 GPUs per node (tp 16 × pp 1 × dp 1 over 1 node), but a h100_sxm node has 8 → at topology.agg.tp — hint: set topology.agg.nodes: 2 to span nodes, or lower tp to 8",
      ]
    `);
  });

  it('malformed YAML', () => {
    expect(
      problems(
        'qwen3-32b/vllm/h100-sxm',
        recipeText(`
model: qwen3-32b
backend: { name: vllm
gpu: h100-sxm
`),
      ),
    ).toMatchInlineSnapshot(`
      [
        "recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:4:1 ✖ YAML syntax error: Flow map in block collection must be sufficiently indented and end with a } — hint: check indentation and that every "key: value" pair has a space after the colon",
      ]
    `);
  });

  it('disagg without decode', () => {
    expect(
      problems(
        'qwen3-32b/vllm/h100-sxm',
        recipeText(`
model: qwen3-32b
backend: { name: vllm }
gpu: h100-sxm
maxModelLen: 32768
topology:
  mode: disagg
  prefill: { replicas: 2, tp: 2 }
`),
      ),
    ).toMatchInlineSnapshot(`
      [
        "recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:7:3 ✖ mode disagg needs both prefill and decode pools; missing: topology.decode → at topology — hint: add topology.decode: { replicas: 1, tp: 1 }",
      ]
    `);
  });

  it('fp8 on A100', () => {
    expect(
      problems(
        'llama-3.1-8b/vllm/a100-sxm',
        recipeText(`
model: llama-3.1-8b
backend: { name: vllm }
gpu: a100
dtype: fp8
maxModelLen: 16384
topology: { mode: agg, agg: { tp: 1 } }
`),
      ),
    ).toMatchInlineSnapshot(`
      [
        "recipes/llama-3.1-8b/vllm/a100-sxm/recipe.yaml:5:8 ✖ a100_sxm has no fp8 tensor cores (dtype is fp8) → at dtype — hint: use one of bf16, fp16 (fp8 needs Ada, Hopper or Blackwell)",
      ]
    `);
  });

  it('planner on an aggregated recipe, ep not dividing tp, and a benchmark longer than the context', () => {
    expect(
      problems(
        'qwen3-32b/sglang/h200-sxm',
        recipeText(`
model: qwen3-32b
backend: { name: sglang }
gpu: h200
maxModelLen: 8192
topology:
  mode: agg
  agg: { tp: 4, ep: 3 }
  planner: { enabled: true }
`),
      ),
    ).toMatchInlineSnapshot(`
      [
        "recipes/qwen3-32b/sglang/h200-sxm/recipe.yaml:9:23 ✖ the planner scales separate prefill and decode pools, so it needs mode disagg → at topology.planner.enabled — hint: set topology.planner.enabled: false, or switch to topology.mode: disagg",
        "recipes/qwen3-32b/sglang/h200-sxm/recipe.yaml:8:21 ✖ topology.agg.ep 3 must divide tp × dp = 4 → at topology.agg.ep — hint: use ep 1, 2, 4",
        "recipes/qwen3-32b/sglang/h200-sxm/recipe.yaml:8:21 ✖ qwen3-32b has no experts, so expert parallelism does not apply → at topology.agg.ep — hint: set ep: 1",
        "recipes/qwen3-32b/sglang/h200-sxm/recipe.yaml:2:1 ✖ benchmark.islOsl[1] = [8192, 1024] needs 9216 tokens, more than maxModelLen 8192 → at benchmark.islOsl[1] — hint: lower ISL+OSL to 8192 or raise maxModelLen",
      ]
    `);
  });

  it('a pool context over the model, and prompts longer than the prefill pool takes', () => {
    expect(
      problems(
        'qwen3-32b/vllm/h100-sxm',
        recipeText(`
model: qwen3-32b
backend: { name: vllm }
gpu: h100-sxm
maxModelLen: 16384
workload: { isl: 2048, osl: 512 }
benchmark: { islOsl: [[1024, 1024]] }
topology:
  mode: disagg
  prefill: { tp: 1, maxModelLen: 2048 }
  decode: { tp: 2, maxModelLen: 65536 }
`),
      ),
    ).toMatchInlineSnapshot(`
      [
        "recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:11:33 ✖ topology.decode.maxModelLen 65536 exceeds qwen3-32b's context of 40960 tokens → at topology.decode.maxModelLen — hint: set it to at most 40960",
        "recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:6:11 ✖ workload isl 2048 does not fit topology.prefill.maxModelLen 2048 → at workload — hint: lower the workload or raise topology.prefill.maxModelLen",
      ]
    `);
  });

  it('the directory disagrees with the file, and the modeline is missing', () => {
    expect(
      problems(
        'qwen3-32b/sglang/h100-sxm',
        `model: qwen3-32b
backend: { name: vllm }
gpu: h200_sxm
maxModelLen: 32768
topology: { mode: agg, agg: { tp: 2 } }
`,
      ),
    ).toMatchInlineSnapshot(`
      [
        "recipes/qwen3-32b/sglang/h100-sxm/recipe.yaml:1:1 ✖ the first line must be the yaml-language-server schema modeline — hint: make the first line: # yaml-language-server: $schema=../../../../schemas/recipe.schema.json",
        "recipes/qwen3-32b/sglang/h100-sxm/recipe.yaml:2:18 ✖ the directory says backend "sglang" but the file says "vllm" → at backend.name — hint: move the recipe to recipes/qwen3-32b/vllm/h200-sxm/ or change backend.name to match the directory",
        "recipes/qwen3-32b/sglang/h100-sxm/recipe.yaml:3:6 ✖ the directory says gpu "h100-sxm" but the file says "h200_sxm" → at gpu — hint: move the recipe to recipes/qwen3-32b/vllm/h200-sxm/ or change gpu to match the directory",
      ]
    `);
  });

  it('an extraConfig file that does not exist, maxModelLen over the model context, and a broken variant', () => {
    expect(
      problems(
        'qwen3-32b/trtllm/h100-sxm',
        recipeText(`
model: qwen3-32b
backend: { name: trtllm, extraConfig: engine/agg.yaml }
gpu: h100-sxm
maxModelLen: 65536
topology: { mode: agg, agg: { tp: 2 } }
variants:
  wide:
    topology: { agg: { tp: 16 } }
`),
      ),
    ).toMatchInlineSnapshot(`
      [
        "recipes/qwen3-32b/trtllm/h100-sxm/recipe.yaml:3:39 ✖ extraConfig file "engine/agg.yaml" does not exist in recipes/qwen3-32b/trtllm/h100-sxm → at backend.extraConfig — hint: create recipes/qwen3-32b/trtllm/h100-sxm/engine/agg.yaml or fix the path",
        "recipes/qwen3-32b/trtllm/h100-sxm/recipe.yaml:5:14 ✖ maxModelLen 65536 exceeds qwen3-32b's context of 40960 tokens → at maxModelLen — hint: set maxModelLen to at most 40960",
        "recipes/qwen3-32b/trtllm/h100-sxm/recipe.yaml:9:28 ✖ topology.agg needs 16 GPUs per node (tp 16 × pp 1 × dp 1 over 1 node), but a h100_sxm node has 8 → at topology.agg.tp — hint: set topology.agg.nodes: 2 to span nodes, or lower tp to 8",
      ]
    `);
  });

  it('cluster refs to unknown recipes, variants and GPUs', () => {
    expect(
      problems(
        'qwen3-32b/vllm/h100-sxm',
        recipeText(`
model: qwen3-32b
backend: { name: vllm }
gpu: h100-sxm
maxModelLen: 32768
topology: { mode: agg, agg: { replicas: 3, tp: 4 } }
`),
        {
          'clusters/lab/cluster.yaml': `dynamoApiVersion: v1beta1
namespace: lab
gitops: [flux]
repo: { url: https://example.com/r.git, branch: main, path: clusters/lab }
gpus:
  h100: { nodes: 1 }
  a100_sxm: { nodes: 1 }
  h300: { nodes: 1 }
recipes:
  - recipe: qwen3-32b/vllm/h100-sxm
  - recipe: qwen3-32b/vllm/h100-sxm
    variant: fast
  - recipe: qwen3-32b/vllm/a100-sxm
`,
        },
      ),
    ).toMatchInlineSnapshot(`
      [
        "clusters/lab/cluster.yaml:8:3 ✖ unknown GPU "h300" in the inventory → at gpus.h300 — hint: known GPUs: a100_sxm, b200_sxm, gb200_sxm, gb300_sxm, h100_sxm, h200_sxm, l40s",
        "clusters/lab/cluster.yaml:12:14 ✖ recipe qwen3-32b/vllm/h100-sxm has no variant "fast" → at recipes[1].variant — hint: that recipe defines no variants; drop the variant field",
        "clusters/lab/cluster.yaml:13:13 ✖ no recipe "qwen3-32b/vllm/a100-sxm" under recipes/ → at recipes[2].recipe — hint: did you mean "qwen3-32b/vllm/h100-sxm"?",
        "clusters/lab/cluster.yaml:6:3 ✖ the recipes on lab need 12 h100_sxm GPUs but the inventory has 8 (1 node × 8) → at gpus.h100_sxm — hint: raise gpus.h100_sxm.nodes to 2 or run fewer recipes here",
      ]
    `);
  });
});
