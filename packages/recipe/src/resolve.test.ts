import { afterAll, describe, expect, it } from 'vitest';
import { explainRecipe, formatExplain, loadWorkspace, parseSet, resolveRecipe, WORKER_POD_DEFAULTS, type Cluster } from './index.ts';
import { recipeText, tempWorkspace } from './test-fixtures.ts';

const ws0 = tempWorkspace({
  'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml': recipeText(`
model: qwen3-32b
backend:
  name: vllm
  args: { max-num-seqs: 128 }
gpu: h100-sxm
maxModelLen: 16384
topology:
  mode: agg
  agg: { replicas: 2, tp: 2 }
sla: { ttftMs: 300 }
variants:
  long:
    maxModelLen: 32768
    workload: { isl: 8192 }
    backend: { args: { max-num-seqs: 64 } }
`),
  'recipes/deepseek-r1/vllm/a100-sxm/recipe.yaml': recipeText(`
model: deepseek-r1
backend: { name: vllm }
gpu: a100
maxModelLen: 16384
topology: { mode: agg, agg: { tp: 8, nodes: 2, dp: 2, ep: 16 } }
`),
});
afterAll(ws0.cleanup);
const ws = loadWorkspace(ws0.root);

describe('layering', () => {
  it('applies default → model → backend → gpu → recipe → variant → --set, lowest first', () => {
    const { resolved, issues } = resolveRecipe(ws, {
      recipe: 'qwen3-32b/vllm/h100_sxm',
      variant: 'long',
      set: ['topology.agg.replicas=3', 'backend.env.VLLM_LOGGING_LEVEL=DEBUG'],
    });
    expect(issues).toEqual([]);
    const r = resolved!;
    expect(r.id).toBe('qwen3-32b/vllm/h100-sxm');
    expect(r.name).toBe('qwen3-32b-vllm-h100-sxm-long');
    expect(r.dir).toBe('recipes/qwen3-32b/vllm/h100-sxm');
    expect(r.recipe.gpu).toBe('h100_sxm');
    expect(r.recipe.backend.image).toBe('nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.3.0');
    expect(r.recipe.backend.args).toEqual({ 'gpu-memory-utilization': 0.9, 'max-num-seqs': 64 });
    expect(r.recipe.backend.env).toEqual({ VLLM_LOGGING_LEVEL: 'DEBUG' });
    expect(r.recipe.topology.agg).toEqual({ replicas: 3, tp: 2, pp: 1, ep: 1, dp: 1, nodes: 1, args: {}, pod: WORKER_POD_DEFAULTS });
    expect(r.recipe.workload).toEqual({ isl: 8192, osl: 128 });
    expect(r.recipe.sla).toEqual({ ttftMs: 300, itlMs: 15 });
    expect(r.recipe.maxModelLen).toBe(32768);
    expect(r.recipe.modelCache.pvcName).toBe('qwen3-32b-cache');
    const layerOf = (p: string) => r.provenance[p]?.layer;
    expect(
      ['workload.osl', 'dtype', 'backend.image', 'backend.args.gpu-memory-utilization', 'sla.ttftMs', 'maxModelLen', 'topology.agg.replicas', 'topology.agg.pp'].map(layerOf),
    ).toEqual(['default', 'model', 'backend', 'backend', 'recipe', 'variant', 'set', 'default']);
    expect(r.provenance['sla.ttftMs']).toEqual({ layer: 'recipe', file: 'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml', line: 11, col: 16 });
    expect(r.provenance['maxModelLen']).toMatchObject({ layer: 'variant', line: 14 });
    expect(r.provenance['dtype']).toMatchObject({ layer: 'model', file: 'recipes/qwen3-32b/model.yaml' });
  });

  it('the GPU layer narrows a card dtype the GPU cannot run', () => {
    const { resolved, issues } = resolveRecipe(ws, { recipe: 'recipes/deepseek-r1/vllm/a100-sxm' });
    expect(issues).toEqual([]);
    expect(resolved?.recipe.dtype).toBe('bf16');
    expect(resolved?.provenance['dtype']).toMatchObject({ layer: 'gpu', file: 'recipes/gpus/a100_sxm.yaml' });
  });

  it('reports --set problems against --set', () => {
    const { resolved, issues } = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', set: ['topology.agg.tp=16', 'topology.agg.tpp=1', 'oops'] });
    expect(resolved).toBeUndefined();
    // schema problems stop resolution before the cross-file rules (which would only echo them)
    expect(issues.map((i) => `${i.file} ${i.code} ${i.path.join('.')}`)).toEqual(['--set SET_INVALID ', '--set SCHEMA_UNKNOWN_KEY topology.agg.tpp']);
    const rules = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', set: ['topology.agg.tp=16'] });
    expect(rules.issues.map((i) => `${i.file} ${i.code} ${i.path.join('.')}`)).toEqual(['--set RECIPE_GPUS_PER_NODE topology.agg.tp']);
  });

  it('names an unknown recipe or variant with a suggestion', () => {
    expect(resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h200-sxm' }).issues[0]).toMatchObject({ code: 'RECIPE_NOT_FOUND', hint: 'did you mean "qwen3-32b/vllm/h100-sxm"?' });
    expect(resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', variant: 'lng' }).issues[0]).toMatchObject({ code: 'RECIPE_UNKNOWN_VARIANT', hint: 'did you mean "long"?' });
  });
});

describe('one resolution per workspace', () => {
  it('returns the same frozen result for the same recipe, variant and overrides', () => {
    const a = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', variant: 'long' });
    const b = resolveRecipe(ws, { recipe: 'recipes/qwen3-32b/vllm/h100-sxm/', variant: 'long' });
    expect(b).toBe(a);
    expect(Object.isFrozen(a.resolved!.recipe.topology)).toBe(true);
    expect(() => {
      (a.resolved!.recipe.backend.args as Record<string, unknown>)['max-num-seqs'] = 1;
    }).toThrow(TypeError);
    // the workspace's model card stays the loader's object
    expect(a.resolved!.model).toBe(ws.models.get('qwen3-32b')!.card);
    expect(Object.isFrozen(a.resolved!.model)).toBe(false);
  });

  it('keys on the variant, the overrides and where they are reported', () => {
    const base = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm' }).resolved!;
    const long = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', variant: 'long' }).resolved!;
    expect(long).not.toBe(base);
    expect(long.recipe.maxModelLen).toBe(32768);
    expect(base.recipe.maxModelLen).toBe(16384);
    const set = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', set: ['topology.agg.replicas=5'] }).resolved!;
    expect(set.recipe.topology.agg!.replicas).toBe(5);
    expect(base.recipe.topology.agg!.replicas).toBe(2);
    expect(set.provenance['topology.agg.replicas']).toEqual({ layer: 'set', file: '--set' });
    // a fresh load resolves afresh
    expect(resolveRecipe(loadWorkspace(ws0.root), { recipe: 'qwen3-32b/vllm/h100-sxm' }).resolved).not.toBe(base);
  });

  it('shares one resolution between clusters that add nothing but their Dynamo version, keys the rest on the object', () => {
    const cluster = { name: 'lab', dynamoApiVersion: 'v1beta1', namespace: 'llm', gitops: ['flux'], repo: { url: 'https://example.com/r.git', branch: 'main', path: 'clusters/lab' }, gpus: { h100_sxm: { nodes: 1 } }, recipes: [] } as unknown as Cluster;
    const plain = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm' });
    // no pod layers, no Dynamo version: the cluster changes nothing, so the recipe's own resolution answers
    expect(resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', cluster })).toBe(plain);
    // a Dynamo version is a resolution of its own, shared by every cluster naming it
    const v = { ...cluster, dynamoVersion: '1.2.0' } as Cluster;
    const forV = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', cluster: v });
    expect(forV).not.toBe(plain);
    expect(resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', cluster: { ...v, name: 'other' } as Cluster })).toBe(forV);
    // pod layers carry the profile's own positions: keyed by the object, so a copy (another engine) resolves afresh
    const withPod = { ...cluster, pod: { imagePullSecrets: ['regcred'] } } as unknown as Cluster;
    const forPod = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', cluster: withPod });
    expect(forPod).not.toBe(plain);
    expect(resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', cluster: withPod })).toBe(forPod);
    expect(resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', cluster: { ...withPod } })).not.toBe(forPod);
  });
});

describe('parseSet', () => {
  it('reads values as YAML scalars and nests dotted paths', () => {
    expect(parseSet(['a.b=2', 'a.c=true', 'd="8"', 'e=[1, 2]', 'f=fp8', 'g=', 'a.b=3']).data).toEqual({ a: { b: 3, c: true }, d: '8', e: [1, 2], f: 'fp8', g: '' });
  });
  it('rejects malformed entries and prototype keys', () => {
    expect(parseSet(['novalue', '=1', 'a..b=1', '__proto__.x=1']).issues.map((i) => i.message)).toEqual([
      '--set "novalue" is not of the form path=value',
      '--set "=1" is not of the form path=value',
      '--set "a..b=1" has an invalid path "a..b"',
      '--set "__proto__.x=1" has an invalid path "__proto__.x"',
    ]);
  });
  it('takes typed records as they are', () => {
    expect(parseSet({ 'topology.agg.replicas': 1, 'backend.env.X': '1' }).data).toEqual({ topology: { agg: { replicas: 1 } }, backend: { env: { X: '1' } } });
  });
});

describe('explain', () => {
  it('lists every value under a field with its layer and file:line', () => {
    const { resolved } = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', set: { 'topology.agg.replicas': 4 } });
    expect(formatExplain(explainRecipe(resolved!, 'topology.agg'))).toMatchInlineSnapshot(`
      "FIELD                         VALUE                                                                 LAYER    FROM
      topology.agg.replicas         4                                                                     set      --set
      topology.agg.tp               2                                                                     recipe   recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml:10
      topology.agg.pp               1                                                                     default
      topology.agg.ep               1                                                                     default
      topology.agg.dp               1                                                                     default
      topology.agg.nodes            1                                                                     default
      topology.agg.args             {}                                                                    default
      topology.agg.pod.tolerations  [{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}]  default
      topology.agg.pod.gpuNodes     product                                                               default"
    `);
    expect(explainRecipe(resolved!, 'workload')).toEqual([
      { path: 'workload.isl', value: 512, layer: 'default', file: undefined, line: undefined },
      { path: 'workload.osl', value: 128, layer: 'default', file: undefined, line: undefined },
    ]);
  });
});

describe('pod settings', () => {
  const ws1 = tempWorkspace({
    'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml': recipeText(`
model: qwen3-32b
backend: { name: vllm }
gpu: h100-sxm
maxModelLen: 16384
pod:
  sharedMemory: 40Gi
  env:
    NCCL_DEBUG: WARN
    POD_IP: { fieldRef: { fieldPath: status.podIP } }
topology:
  mode: disagg
  prefill:
    tp: 2
    pod:
      env: { NCCL_DEBUG: INFO, UCX_TLS: "rc,cuda_copy" }
  decode:
    tp: 4
    pod:
      resources: { limits: { rdma/ib: 4 } }
variants:
  debug:
    pod:
      env:
        POD_IP: literal
        NCCL_DEBUG: TRACE
`),
    'clusters/lab/cluster.yaml': `# yaml-language-server: $schema=../../schemas/cluster.schema.json
dynamoApiVersion: v1beta1
dynamoVersion: 1.2.0
namespace: lab
gitops: [flux]
repo: { url: https://example.com/r.git, branch: main, path: clusters/lab }
gpus: { h100_sxm: { nodes: 4 } }
pod:
  imagePullSecrets: [ngc]
  env: { NCCL_DEBUG: VERSION, CLUSTER: lab }
workerPod:
  sharedMemory: 8Gi
  nodeSelector: { pool: gpu }
recipes:
  - recipe: qwen3-32b/vllm/h100-sxm
`,
  });
  afterAll(ws1.cleanup);
  const w = loadWorkspace(ws1.root);
  const cluster: Cluster = w.clusters.get('lab')!.cluster;

  it('merge each pool over the recipe level, environment variables by name, a pool winning over the recipe', () => {
    expect(w.issues).toEqual([]);
    const r = resolveRecipe(w, { recipe: 'qwen3-32b/vllm/h100-sxm' }).resolved!;
    expect(r.recipe.topology.prefill!.pod).toEqual({
      ...WORKER_POD_DEFAULTS,
      sharedMemory: '40Gi',
      env: { NCCL_DEBUG: 'INFO', POD_IP: { fieldRef: { fieldPath: 'status.podIP' } }, UCX_TLS: 'rc,cuda_copy' },
    });
    expect(r.recipe.topology.decode!.pod).toMatchObject({ sharedMemory: '40Gi', env: { NCCL_DEBUG: 'WARN' }, resources: { limits: { 'rdma/ib': 4 } } });
    // provenance follows each value: inherited from the recipe level, or the pool's own line
    expect(r.provenance['topology.decode.pod.sharedMemory']).toMatchObject({ layer: 'recipe', line: 7 });
    expect(r.provenance['topology.prefill.pod.env.NCCL_DEBUG']).toMatchObject({ layer: 'recipe', line: 16 });
  });

  it('a variant replaces a variable whole, a value by a reference or a reference by a value', () => {
    const r = resolveRecipe(w, { recipe: 'qwen3-32b/vllm/h100-sxm', variant: 'debug' }).resolved!;
    expect(r.recipe.topology.decode!.pod!.env).toEqual({ NCCL_DEBUG: 'TRACE', POD_IP: 'literal' });
    const rows = explainRecipe(r, 'topology.decode.pod.env');
    expect(rows.map((x) => [x.path, x.layer])).toEqual([
      ['topology.decode.pod.env.NCCL_DEBUG', 'variant'],
      ['topology.decode.pod.env.POD_IP', 'variant'],
    ]);
  });

  it('the cluster profile is a layer under the recipe: pull secrets and env for every pod, worker settings for the pools', () => {
    const r = resolveRecipe(w, { recipe: 'qwen3-32b/vllm/h100-sxm', cluster }).resolved!;
    // the cluster's Dynamo release picks the default runtime image
    expect(r.recipe.backend.image).toBe('nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.2.0');
    expect(r.recipe.topology.frontend.pod).toEqual({ imagePullSecrets: ['ngc'], env: { NCCL_DEBUG: 'VERSION', CLUSTER: 'lab' } });
    const decode = r.recipe.topology.decode!.pod!;
    // the recipe's own values win; the cluster fills in the rest
    expect(decode).toMatchObject({ imagePullSecrets: ['ngc'], sharedMemory: '40Gi', nodeSelector: { pool: 'gpu' }, env: { NCCL_DEBUG: 'WARN', CLUSTER: 'lab' } });
    expect(r.provenance['topology.decode.pod.nodeSelector.pool']).toMatchObject({ layer: 'cluster', file: 'clusters/lab/cluster.yaml', line: 13 });
    expect(r.provenance['topology.frontend.pod.imagePullSecrets']).toMatchObject({ layer: 'cluster', line: 9 });
  });

  it('cluster pod settings are checked where they are written', () => {
    const bad = tempWorkspace({
      'recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml': recipeText(`
model: qwen3-32b
backend: { name: vllm }
gpu: h100-sxm
topology: { mode: agg, agg: { tp: 1 } }
`),
      'clusters/lab/cluster.yaml': `# yaml-language-server: $schema=../../schemas/cluster.schema.json
dynamoApiVersion: v1beta1
namespace: lab
gitops: [flux]
repo: { url: https://example.com/r.git, branch: main, path: clusters/lab }
gpus: { h100_sxm: { nodes: 4 } }
workerPod:
  sharedMemmory: 8Gi
recipes:
  - recipe: qwen3-32b/vllm/h100-sxm
`,
    });
    try {
      const issues = loadWorkspace(bad.root).issues;
      expect(issues.map((i) => `${i.file}:${i.line} ${i.code} ${i.hint}`)).toEqual(['clusters/lab/cluster.yaml:8 SCHEMA_UNKNOWN_KEY did you mean "sharedMemory"?']);
    } finally {
      bad.cleanup();
    }
  });
});

describe('null in a flag or variable map', () => {
  it('removes the key a lower layer set, and is explained as gone', () => {
    const w = tempWorkspace({
      'recipes/qwen3-32b/sglang/h100-sxm/recipe.yaml': recipeText(`
model: qwen3-32b
backend:
  name: sglang
  args: { mem-fraction-static: null, page-size: 16 }
  env: { SGLANG_LOG: debug }
gpu: h100-sxm
topology: { mode: agg, agg: { tp: 1 } }
variants:
  quiet:
    backend: { args: { page-size: null }, env: { SGLANG_LOG: null } }
`),
    });
    try {
      const ws2 = loadWorkspace(w.root);
      expect(ws2.issues).toEqual([]);
      const base = resolveRecipe(ws2, { recipe: 'qwen3-32b/sglang/h100-sxm' }).resolved!;
      // the built-in backend layer's mem-fraction-static is gone; the recipe's own flag stays
      expect(base.recipe.backend.args).toEqual({ 'page-size': 16 });
      expect(base.provenance['backend.args.mem-fraction-static']).toBeUndefined();
      const quiet = resolveRecipe(ws2, { recipe: 'qwen3-32b/sglang/h100-sxm', variant: 'quiet' }).resolved!;
      expect(quiet.recipe.backend.args).toEqual({});
      expect(quiet.recipe.backend.env).toEqual({});
    } finally {
      w.cleanup();
    }
  });
});
