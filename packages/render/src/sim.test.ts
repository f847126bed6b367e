import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalYaml } from './canonical.ts';
import { renderRecipe, SIM_RECIPE_FILE, SIM_WORKER_PORT } from './recipe.ts';
import * as f from './testing/fixtures.ts';
import type { RenderedRecipe, ResolvedRecipe } from './types.ts';

// Sim mode (`engine: sim`): the same DGD shape with the project simulator in place of the engines.

function yamlOf(out: RenderedRecipe): string {
  return canonicalYaml(out.manifests.map((m) => m.object));
}

function dgdOf(out: RenderedRecipe): Record<string, any> {
  return out.manifests.find((m) => m.object.kind === 'DynamoGraphDeployment')!.object as Record<string, any>;
}

/** Components as [name, type, replicas] whatever the API version. */
function shape(dgd: Record<string, any>): [string, string, number][] {
  if (dgd.spec.components) return dgd.spec.components.map((c: any) => [c.name, c.type, c.replicas]);
  return Object.entries(dgd.spec.services as Record<string, any>)
    .map(([name, s]): [string, string, number] => [name, s.subComponentType ?? s.componentType, s.replicas])
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function mainContainers(dgd: Record<string, any>): [string, Record<string, any>][] {
  if (dgd.spec.components) return dgd.spec.components.map((c: any) => [c.name, c.podTemplate.spec.containers[0]]);
  return Object.entries(dgd.spec.services as Record<string, any>).map(([name, s]) => [name, s.extraPodSpec.mainContainer]);
}

const CASES: Record<string, () => ResolvedRecipe> = {
  'sim-vllm-agg': () => f.resolved(f.recipe()),
  'sim-vllm-disagg-planner': () => {
    const base = f.disaggRecipe({ observability: true });
    return f.resolved({
      ...base,
      topology: {
        ...base.topology,
        decode: f.worker({ replicas: 1, tp: 16, nodes: 2 }),
        planner: { enabled: true, minReplicas: 1, maxGpuBudget: 32, adjustmentIntervalS: 60 },
      },
    });
  },
};

describe('renderRecipe with engine: sim (golden files)', () => {
  for (const [name, build] of Object.entries(CASES)) {
    for (const apiVersion of ['v1beta1', 'v1alpha1'] as const) {
      it(`${name} (${apiVersion})`, async () => {
        const out = renderRecipe(build(), f.cluster({ dynamoApiVersion: apiVersion, engine: 'sim' }));
        await expect(yamlOf(out)).toMatchFileSnapshot(`__golden__/fixtures/${name}.${apiVersion}.yaml`);
      });
    }
  }
});

describe('renderRecipe with engine: sim', () => {
  it('is opt-in: engine dynamo renders exactly what no engine renders', () => {
    for (const build of Object.values(CASES)) {
      expect(yamlOf(renderRecipe(build(), f.cluster({ engine: 'dynamo' })))).toBe(yamlOf(renderRecipe(build(), f.cluster())));
      expect(yamlOf(renderRecipe(build(), f.cluster(), { engine: 'dynamo' }))).toBe(yamlOf(renderRecipe(build(), f.cluster())));
    }
  });

  it('the render option overrides the cluster profile', () => {
    const r = CASES['sim-vllm-agg']!();
    expect(yamlOf(renderRecipe(r, f.cluster(), { engine: 'sim' }))).toBe(yamlOf(renderRecipe(r, f.cluster({ engine: 'sim' }))));
    expect(yamlOf(renderRecipe(r, f.cluster({ engine: 'sim' }), { engine: 'dynamo' }))).toBe(yamlOf(renderRecipe(r, f.cluster())));
  });

  it('mounts the resolved recipe the pods serve, named by its content', () => {
    const r = CASES['sim-vllm-disagg-planner']!();
    const out = renderRecipe(r, f.cluster({ engine: 'sim' }));
    // the recipe, and the planner's configuration (the planner is Dynamo's own)
    const cms = out.manifests.filter((m) => m.object.kind === 'ConfigMap' && !(m.object.metadata as { name: string }).name.includes('-planner-'));
    expect(cms).toHaveLength(1);
    const cm = cms[0]!.object as Record<string, any>;
    expect(JSON.parse(cm.data['recipe.json'])).toEqual(JSON.parse(JSON.stringify({ id: r.id, recipe: r.recipe, model: r.model, gpu: r.gpu })));
    const other = renderRecipe(f.resolved({ ...r.recipe, maxModelLen: r.recipe.maxModelLen + 1 }), f.cluster({ engine: 'sim' }));
    const otherName = (other.manifests.find((m) => m.object.kind === 'ConfigMap')!.object.metadata as { name: string }).name;
    expect(otherName).not.toBe(cm.metadata.name);
    for (const [name, c] of mainContainers(dgdOf(out))) {
      if (name === 'planner') continue;
      expect(c.args).toContain(SIM_RECIPE_FILE);
      expect(c.volumeMounts).toEqual([{ mountPath: '/etc/llm-recipes/sim', name: 'sim-recipe', readOnly: true }]);
    }
  });

  it('runs the frontend on the whole deployment and each worker as one engine of its pool', () => {
    const out = renderRecipe(CASES['sim-vllm-disagg-planner']!(), f.cluster({ engine: 'sim', simImage: 'llm-recipes:dev' }));
    const byName = Object.fromEntries(mainContainers(dgdOf(out)));
    expect(byName['frontend']).toMatchObject({ image: 'llm-recipes:dev', command: ['recipes'], args: ['sim', '--host', '0.0.0.0', '--port', '8000', '--recipe-json', SIM_RECIPE_FILE] });
    for (const role of ['prefill', 'decode']) {
      const c = byName[role]!;
      expect(c.image).toBe('llm-recipes:dev');
      expect(c.args.slice(0, 9)).toEqual(['sim', '--host', '0.0.0.0', '--port', String(SIM_WORKER_PORT), '--recipe-json', SIM_RECIPE_FILE, '--pool', role]);
      expect(c.readinessProbe.httpGet).toEqual({ path: '/health', port: SIM_WORKER_PORT });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/live', port: SIM_WORKER_PORT });
    }
    // the planner is Dynamo's and stays as it is
    expect(byName['planner']!.command).toEqual(['python3', '-m', 'dynamo.planner']);
  });

  it('renders no model cache, download Job or GPU scheduling, and benchmarks keep results in the pod', () => {
    const out = renderRecipe(CASES['sim-vllm-agg']!(), f.cluster({ engine: 'sim', gpus: {} }));
    const workload = out.manifests.filter((m) => m.group === 'workload').map((m) => m.object.kind);
    expect(workload).toEqual(['ConfigMap', 'DynamoGraphDeployment']);
    // the pods (the mounted recipe.json still says what the real deployment would ask for)
    const text = yamlOf({ ...out, manifests: out.manifests.filter((m) => m.object.kind !== 'ConfigMap') });
    expect(text).not.toMatch(/nvidia\.com\/gpu|persistentVolumeClaim|tolerations|nodeAffinity|HF_TOKEN: |wait-for-weights/);
    const jobs = out.manifests.filter((m) => m.group === 'benchmark').map((m) => m.object as Record<string, any>);
    expect(jobs.length).toBeGreaterThan(0);
    for (const job of jobs) expect(job.spec.template.spec.volumes).toEqual([{ emptyDir: {}, name: 'results' }]);
  });

  it('keeps the DGD shape for any topology: names, types, replicas, benchmark pairs, no GPUs', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('agg', 'disagg'),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(1, 2, 4, 8),
        fc.boolean(),
        fc.constantFrom('v1beta1' as const, 'v1alpha1' as const),
        (mode, replicas, frontends, tp, planner, apiVersion) => {
          const base = mode === 'agg' ? f.recipe() : f.disaggRecipe();
          const w = f.worker({ replicas, tp });
          const topology =
            mode === 'agg'
              ? { ...base.topology, agg: w }
              : { ...base.topology, prefill: w, decode: f.worker({ replicas: replicas + 1, tp }) };
          const r = f.resolved({
            ...base,
            topology: { ...topology, frontend: { replicas: frontends, args: {} }, planner: { ...base.topology.planner, enabled: planner } },
          });
          const dynamo = renderRecipe(r, f.cluster({ dynamoApiVersion: apiVersion }));
          const sim = renderRecipe(r, f.cluster({ dynamoApiVersion: apiVersion, engine: 'sim', gpus: {} }));
          expect(sim.dgdName).toBe(dynamo.dgdName);
          expect(shape(dgdOf(sim))).toEqual(shape(dgdOf(dynamo)));
          const pairs = (x: RenderedRecipe) => x.manifests.filter((m) => m.group === 'benchmark').map((m) => (m.object.metadata as any).labels['llm-recipes.io/benchmark']);
          expect(pairs(sim)).toEqual(pairs(dynamo));
          for (const [name, c] of mainContainers(dgdOf(sim))) {
            if (name === 'planner') continue;
            expect(JSON.stringify(c)).not.toContain('nvidia.com/gpu');
            expect(c.command).toEqual(['recipes']);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
