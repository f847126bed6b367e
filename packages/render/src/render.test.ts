import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { InvalidInputError } from '@llm-recipes/errors';
import type { Recipe } from '@llm-recipes/recipe';
import { canonicalYaml } from './canonical.ts';
import { renderRecipe } from './recipe.ts';
import * as f from './testing/fixtures.ts';
import type { RenderedRecipe, ResolvedRecipe } from './types.ts';

function yamlOf(out: RenderedRecipe): string {
  return canonicalYaml(out.manifests.map((m) => m.object));
}

function objects(out: RenderedRecipe, kind: string): Record<string, any>[] {
  return out.manifests.filter((m) => m.object.kind === kind).map((m) => m.object as Record<string, any>);
}

const CASES: Record<string, () => ResolvedRecipe> = {
  'vllm-agg': () => f.resolved(f.recipe()),
  'vllm-disagg-observability': () => f.resolved(f.disaggRecipe({ observability: true })),
  'trtllm-disagg-multinode-planner': () => {
    const base = f.disaggRecipe();
    return f.resolved(
      {
        ...base,
        backend: { ...base.backend, name: 'trtllm', image: 'nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.0.0', args: {}, extraConfig: 'engine/trtllm.yaml' },
        topology: {
          ...base.topology,
          decode: f.worker({ replicas: 1, tp: 1, dp: 16, ep: 16, nodes: 2, extraConfig: 'engine/decode.yaml' }),
          planner: { enabled: true, minReplicas: 1, maxGpuBudget: 32, adjustmentIntervalS: 60 },
        },
      },
      {
        engineFiles: [
          { path: 'engine/trtllm.yaml', content: 'kv_cache_config:\n  free_gpu_memory_fraction: 0.85\n' },
          { path: 'engine/decode.yaml', content: '# wide expert parallelism\nmoe_config:\n  backend: WIDEEP\n' },
        ],
      },
    );
  },
  'sglang-agg-aiperf-rwo': () => {
    const base = f.recipe();
    return f.resolved({
      ...base,
      backend: { ...base.backend, name: 'sglang', image: 'nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.0.0', extraConfig: undefined, args: { 'mem-fraction-static': 0.85 } },
      topology: { ...base.topology, router: 'round-robin', agg: f.worker({ replicas: 1, tp: 8, dp: 1, ep: 8 }) },
      modelCache: { ...base.modelCache, accessMode: 'ReadWriteOnce', download: false },
      benchmark: { ...base.benchmark, harness: 'aiperf', image: 'python:3.12-slim', islOsl: [[128, 128]] },
    });
  },
  // GB200: both pools join one NVLink ComputeDomain spanning every node of them
  'trtllm-gb200-compute-domain': () => {
    const base = f.disaggRecipe();
    const gb200 = f.workerPod({ computeDomain: true, sharedMemory: '800Gi', resources: { requests: { cpu: '130', memory: '850Gi' } } });
    return f.resolved(
      {
        ...base,
        gpu: 'gb200_sxm',
        backend: { ...base.backend, name: 'trtllm', image: 'nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.0.0', args: {}, extraConfig: undefined, env: {} },
        topology: {
          ...base.topology,
          router: 'round-robin',
          prefill: f.worker({ replicas: 1, tp: 1, dp: 4, ep: 4, pod: gb200, extraConfig: 'engine/prefill.yaml' }),
          decode: f.worker({ replicas: 1, tp: 1, dp: 32, ep: 32, nodes: 8, pod: gb200, extraConfig: 'engine/decode.yaml' }),
        },
      },
      {
        id: 'qwen3-32b/trtllm/gb200-sxm',
        name: 'qwen3-32b-trtllm-gb200-sxm',
        dir: 'recipes/qwen3-32b/trtllm/gb200-sxm',
        gpu: { ...f.gpu(), id: 'gb200_sxm', name: 'NVIDIA GB200', productLabel: 'NVIDIA-GB200', gpusPerNode: 4 },
        engineFiles: [
          { path: 'engine/prefill.yaml', content: 'max_batch_size: 4\n' },
          { path: 'engine/decode.yaml', content: 'moe_config:\n  backend: WIDEEP\n' },
        ],
      },
    );
  },
};

describe('renderRecipe golden files', () => {
  for (const [name, build] of Object.entries(CASES)) {
    for (const apiVersion of ['v1beta1', 'v1alpha1'] as const) {
      it(`${name} (${apiVersion})`, async () => {
        // GIVEN a resolved recipe and a cluster serving ${apiVersion}
        const cluster = f.cluster({ dynamoApiVersion: apiVersion, gpus: { ...f.cluster().gpus, gb200_sxm: { nodes: 18 } } });
        // WHEN it is rendered
        const out = renderRecipe(build(), cluster);
        // THEN the output matches the reviewed golden file
        await expect(yamlOf(out)).toMatchFileSnapshot(`__golden__/fixtures/${name}.${apiVersion}.yaml`);
      });
    }
  }
});

describe('renderRecipe', () => {
  it('renders prefill/decode as first-class types in v1beta1 and as worker + subComponentType in v1alpha1', () => {
    const beta = objects(renderRecipe(f.resolved(f.disaggRecipe()), f.cluster()), 'DynamoGraphDeployment')[0]!;
    expect(beta.spec.components.map((c: any) => [c.name, c.type])).toEqual([
      ['frontend', 'frontend'],
      ['prefill', 'prefill'],
      ['decode', 'decode'],
    ]);
    const alpha = objects(renderRecipe(f.resolved(f.disaggRecipe()), f.cluster({ dynamoApiVersion: 'v1alpha1' })), 'DynamoGraphDeployment')[0]!;
    expect(Object.entries(alpha.spec.services).map(([k, s]: [string, any]) => [k, s.componentType, s.subComponentType])).toEqual([
      ['decode', 'worker', 'decode'],
      ['frontend', 'frontend', undefined],
      ['prefill', 'worker', 'prefill'],
    ]);
    expect(alpha.spec.pvcs).toEqual([{ create: false, name: 'qwen3-32b-cache' }]);
    expect(alpha.spec.services.decode.resources).toEqual({ limits: { gpu: '4' }, requests: { gpu: '4' } });
  });

  it('keeps the DGD name within the Grove budget, with a stable hash when shortened', () => {
    // GIVEN a recipe whose base name is far longer than 45 characters, with a multinode decode pool
    const base = f.disaggRecipe();
    const long = f.resolved(
      { ...base, topology: { ...base.topology, decode: f.worker({ tp: 16, nodes: 2 }) } },
      { name: 'deepseek-r1-distill-llama-70b-sglang-gb200-sxm-long-context-agentic' },
    );
    // WHEN rendered
    const out = renderRecipe(long, f.cluster());
    // THEN name + "-" + the longest PodClique name ("decode-ldr") fits in 45 characters
    expect(out.dgdName).toBe('deepseek-r1-distill-llama-2b0bf839');
    expect(out.dgdName.length + 1 + 'decode-ldr'.length).toBeLessThanOrEqual(45);
    expect(renderRecipe(long, f.cluster()).dgdName).toBe(out.dgdName);
    const dgd = objects(out, 'DynamoGraphDeployment')[0]!;
    expect(dgd.spec.components[2].multinode).toEqual({ nodeCount: 2 });
    expect(dgd.spec.components[2].podTemplate.spec.containers[0].resources.limits).toEqual({ 'nvidia.com/gpu': '8' });
  });

  it('references the HF token only by secretKeyRef, never as a value', () => {
    const text = yamlOf(renderRecipe(f.resolved(f.recipe({ benchmark: { ...f.recipe().benchmark, harness: 'aiperf' } })), f.cluster()));
    const tokens = [...text.matchAll(/- name: HF_TOKEN\n(\s+)(\w+):/g)].map((m) => m[2]);
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    expect(new Set(tokens)).toEqual(new Set(['valueFrom']));
  });

  it('passes each backend its engine file the way it reads it, and no DYNAMO_EXTRA_CONFIG (which nothing reads)', () => {
    // Regression: SGLang got no --config (its extraConfig did nothing) and every worker carried DYNAMO_EXTRA_CONFIG.
    const mains = (r: ResolvedRecipe) => {
      const dgd = objects(renderRecipe(r, f.cluster()), 'DynamoGraphDeployment')[0]!;
      return dgd.spec.components.filter((c: any) => ['worker', 'prefill', 'decode'].includes(c.type)).map((c: any) => c.podTemplate.spec.containers[0]);
    };
    const vllm = mains(f.resolved(f.recipe()))[0];
    expect(vllm.args.join(' ')).toContain('--config /etc/dynamo/engine/engine-vllm.yaml');
    const base = f.recipe();
    const sglang = mains(f.resolved({ ...base, backend: { ...base.backend, name: 'sglang', args: {}, extraConfig: 'engine/sglang.yaml' } }, { engineFiles: [{ path: 'engine/sglang.yaml', content: 'chunked-prefill-size: 8192\n' }] }))[0];
    expect(sglang.args.join(' ')).toContain('--config /etc/dynamo/engine/engine-sglang.yaml');
    const trt = mains(CASES['trtllm-disagg-multinode-planner']!());
    expect(trt.map((c: any) => c.args.join(' ').match(/--extra-engine-args (\S+)/)?.[1])).toEqual(['/etc/dynamo/engine/prefill.yaml', '/etc/dynamo/engine/decode.yaml']);
    for (const c of [vllm, sglang, ...trt]) expect((c.env ?? []).map((e: any) => e.name)).not.toContain('DYNAMO_EXTRA_CONFIG');
  });

  it('writes the TensorRT-LLM structure into its engine file, never as flags beside it', () => {
    // Regression: the GB200 recipe rendered --tensor-parallel-size 4 while its engine file said 32.
    const out = renderRecipe(CASES['trtllm-disagg-multinode-planner']!(), f.cluster());
    const cm = objects(out, 'ConfigMap').find((c) => c.metadata.name.includes('-engine-'))!;
    const decode = parse(cm.data['decode.yaml']);
    expect(decode).toEqual({ moe_config: { backend: 'WIDEEP' }, tensor_parallel_size: 16, pipeline_parallel_size: 1, enable_attention_dp: true, max_seq_len: 32768 });
    expect(cm.data['decode.yaml']).toMatch(/^# wide expert parallelism\n/);
    expect(parse(cm.data['prefill.yaml'])).toEqual({ kv_cache_config: { free_gpu_memory_fraction: 0.85 }, tensor_parallel_size: 2, pipeline_parallel_size: 1, enable_attention_dp: false, max_seq_len: 32768 });
    const dgd = objects(out, 'DynamoGraphDeployment')[0]!;
    for (const c of dgd.spec.components.filter((x: any) => x.type === 'prefill' || x.type === 'decode')) {
      const args: string[] = c.podTemplate.spec.containers[0].args;
      expect(args.filter((a) => /parallel-size|max-seq-len|attention-dp/.test(a))).toEqual([]);
    }
    // an engine file that sets what the structure owns is refused, whatever its value
    const r = CASES['trtllm-disagg-multinode-planner']!();
    const conflicting = { ...r, engineFiles: r.engineFiles.map((e) => (e.path === 'engine/decode.yaml' ? { ...e, content: 'tensor_parallel_size: 32\nenable_attention_dp: true\n' } : e)) };
    expect(() => renderRecipe(conflicting, f.cluster())).toThrow(/engine file engine\/decode.yaml sets tensor_parallel_size, which the recipe sets from its structure/);
  });

  it('names benchmark Jobs by a hash of their spec, so a changed matrix is a new Job', () => {
    const names = (r: Recipe) => objects(renderRecipe(f.resolved(r), f.cluster()), 'Job').map((j) => j.metadata.name).filter((n: string) => n.startsWith('bench-'));
    const before = names(f.recipe());
    const after = names(f.recipe({ benchmark: { ...f.recipe().benchmark, concurrency: [1, 4, 16, 64, 256] } }));
    expect(before).toHaveLength(2);
    expect(after).toHaveLength(2);
    for (const n of [...before, ...after]) expect(n.length).toBeLessThanOrEqual(63);
    expect(after.filter((n) => before.includes(n))).toEqual([]);
    expect(names(f.recipe())).toEqual(before);
  });

  it('reports every problem at once with file, field and fix', () => {
    // GIVEN a disagg recipe without a decode pool, a flag the renderer owns, a reserved env var and a GPU the cluster lacks
    const base = f.disaggRecipe();
    const bad = f.resolved({
      ...base,
      backend: { ...base.backend, args: { 'tensor-parallel-size': 4, 'bad flag': 1 }, env: { HF_TOKEN: 'hf_secret' } },
      topology: { ...base.topology, decode: undefined, prefill: f.worker({ tp: 3, nodes: 2 }) },
    });
    // WHEN rendered  THEN one InvalidInputError lists all of them
    let error: unknown;
    try {
      renderRecipe(bad, f.cluster({ gpus: {} }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatchInlineSnapshot(`
      "6 problems found:
        recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml ✖ topology.mode is disagg but topology.decode is not set → at topology.decode — hint: add topology.prefill and topology.decode
        recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml ✖ engine flag "bad flag" is not a flag name → at backend.args.bad flag — hint: write flags as keys without the leading "--", e.g. max-num-seqs: 256
        recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml ✖ --tensor-parallel-size is set by the renderer from the recipe's structure → at backend.args.tensor-parallel-size — hint: set it through topology (tp, pp, dp, ep), maxModelLen, dtype, kvCacheDtype or the model card instead
        recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml ✖ tp×pp×dp = 3 GPUs do not split evenly over 2 nodes → at topology.prefill.nodes — hint: choose nodes so that 3 / nodes is a whole number
        clusters/prod/cluster.yaml ✖ cluster prod runs qwen3-32b/vllm/h100-sxm but lists no h100_sxm nodes → at gpus — hint: add gpus.h100_sxm: { nodes: N } or remove the recipe from this cluster
        recipes/qwen3-32b/vllm/h100-sxm/recipe.yaml ✖ HF_TOKEN is set by the renderer → at backend.env.HF_TOKEN — hint: remove it from backend.env"
    `);
  });
});

// Strings a recipe can carry into the output, and where.
type Injector = (r: ResolvedRecipe, s: string) => ResolvedRecipe;
const INJECTORS: Record<string, Injector> = {
  image: (r, s) => ({ ...r, recipe: { ...r.recipe, backend: { ...r.recipe.backend, image: s } } }),
  argValue: (r, s) => ({ ...r, recipe: { ...r.recipe, backend: { ...r.recipe.backend, args: { ...r.recipe.backend.args, 'some-flag': `v${s}` } } } }),
  envValue: (r, s) => ({ ...r, recipe: { ...r.recipe, backend: { ...r.recipe.backend, env: { EXTRA: s } } } }),
  servedName: (r, s) => ({ ...r, model: { ...r.model, servedName: s } }),
  revision: (r, s) => ({ ...r, model: { ...r.model, revision: s } }),
  tokenizer: (r, s) => ({ ...r, model: { ...r.model, tokenizer: s } }),
  benchImage: (r, s) => ({ ...r, recipe: { ...r.recipe, benchmark: { ...r.recipe.benchmark, image: s } } }),
  // engine files are read as YAML (a broken one is refused): the string is a value in one
  engineFile: (r, s) => ({ ...r, engineFiles: r.engineFiles.map((e) => ({ ...e, content: stringify({ 'block-size': 16, note: s }) })) }),
  variant: (r, s) => ({ ...r, variant: s }),
};

function leaves(value: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${path}[${i}]`, out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, `${path}.${JSON.stringify(k)}`, out);
  else out.set(path, value);
  return out;
}

function parsedLeaves(text: string): Map<string, unknown> {
  const docs = parseAllDocuments(text, { version: '1.1' });
  if (!Array.isArray(docs)) throw new Error('not a document stream');
  for (const d of docs) expect(d.errors).toEqual([]);
  return leaves(docs.map((d) => d.toJS()));
}

describe('renderRecipe properties', () => {
  // Mixed case and `_`: values derived by normalizing (label values, names) no longer contain it and are not compared.
  const MARKER = 'Benign_Marker';

  it('no recipe string can change the rendered structure, and every one round-trips exactly', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(INJECTORS)),
        fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('a: b\nkind: Secret', '"}]\n---\napiVersion: v1', '{{y x}}', '- x', '&a *a', '# c', 'yes', '0755', '\u2028\u0085\ufeff')),
        fc.constantFrom('v1beta1', 'v1alpha1'),
        (where, evil, apiVersion) => {
          const cluster = f.cluster({ dynamoApiVersion: apiVersion as 'v1beta1' });
          const base = f.resolved(f.disaggRecipe({ observability: true, benchmark: { ...f.recipe().benchmark, harness: 'aiperf' } }));
          const inject = INJECTORS[where]!;
          // GIVEN the same recipe once with a benign marker and once with an arbitrary string in one field
          const benign = parsedLeaves(yamlOf(renderRecipe(inject(base, MARKER), cluster)));
          const hostile = parsedLeaves(yamlOf(renderRecipe(inject(base, evil), cluster)));
          // THEN both render the same set of paths, and the string sits where the marker sat, unchanged
          expect([...hostile.keys()]).toEqual([...benign.keys()]);
          let seen = 0;
          for (const [path, value] of benign) {
            if (typeof value === 'string' && value.includes(MARKER)) {
              seen++;
              // an engine file is YAML text: the string is its value, escaped as YAML escapes it
              if (where === 'engineFile') expect(parse(hostile.get(path) as string).note).toBe(evil);
              else expect(hostile.get(path)).toBe(value.replaceAll(MARKER, evil));
            }
          }
          expect(seen).toBeGreaterThan(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is deterministic and independent of key insertion order', () => {
    fc.assert(
      fc.property(fc.nat(50), fc.constantFrom('v1beta1', 'v1alpha1'), (seed, apiVersion) => {
        const cluster = f.cluster({ dynamoApiVersion: apiVersion as 'v1beta1' });
        const input = f.resolved(f.disaggRecipe({ observability: true }));
        const reordered = f.reorder(input, seed) as ResolvedRecipe;
        expect(yamlOf(renderRecipe(reordered, f.reorder(cluster, seed + 1) as typeof cluster))).toBe(yamlOf(renderRecipe(input, cluster)));
      }),
      { numRuns: 30 },
    );
  });
});
