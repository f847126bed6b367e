import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadWorkspace, resolveRecipe, type ResolvedRecipe } from '@llm-recipes/recipe';
import { validateManifests } from '@llm-recipes/validate';
import { renderRecipe } from '../recipe.ts';
import * as f from '../testing/fixtures.ts';
import { differences, normalise, parseFlags, shellCommands, type NormaliseContext } from './normalise.ts';
import { CONFORMANCE_DIR, REPO_ROOT, conformanceWorkspace } from './workspace.ts';

// Conformance: recipes written from upstream Dynamo deployments (ai-dynamo/dynamo) render the same
// DynamoGraphDeployment as upstream, after the normalisation of ./normalise.ts. Each remaining difference is listed
// here with its reason (a new one fails the test, and so does one that went away) and in docs/rendering.md.

interface Case {
  recipe: string;
  /** File under packages/render/conformance/upstream/. */
  upstream: string;
  source: { path: string; commit: string };
  /** Placeholders the upstream file leaves to the user (`${VERSION}`), with the value this comparison reads them as. */
  placeholders?: Record<string, string>;
  /** Normal-form path → why it differs. */
  differences: Record<string, string>;
}

const SHELL_VARS = 'upstream defines the variable only to expand it in its shell command; the renderer writes the value into the command';
const HF_HOME_DIR = 'the renderer points HF_HOME at the model cache in every layout, so any Hugging Face download lands on the cache';
const ULIMIT = 'upstream raises the memlock limit in a shell prelude; the renderer runs the worker directly (exec form) and grants IPC_LOCK through the pod settings';

const CASES: Case[] = [
  {
    recipe: 'llama-3.3-70b-fp8/vllm/h100-sxm',
    upstream: 'vllm-agg-llama-3-70b.yaml',
    source: { path: 'recipes/llama-3-70b/vllm/agg/deploy.yaml', commit: '01c94133618e46f0be1476d8f48d5f3b8f0b738f' },
    differences: {
      'components.agg.env.MODEL_PATH': SHELL_VARS,
      'components.agg.env.SERVED_MODEL_NAME': SHELL_VARS,
    },
  },
  {
    recipe: 'qwen3-32b-fp8/vllm/h100-sxm',
    upstream: 'vllm-disagg-qwen3-32b-fp8.yaml',
    source: { path: 'recipes/qwen3-32b-fp8/vllm/disagg/deploy.yaml', commit: '04521f473b68375705a553f4082fac8254d71a2f' },
    differences: {
      'components.prefill.prelude': ULIMIT,
      'components.decode.prelude': ULIMIT,
      'components.prefill.env.MODEL_PATH': SHELL_VARS,
      'components.prefill.env.SERVED_MODEL_NAME': SHELL_VARS,
      'components.decode.env.MODEL_PATH': SHELL_VARS,
      'components.decode.env.SERVED_MODEL_NAME': SHELL_VARS,
      'components.decode.flags.disaggregation-mode':
        'upstream gives its decode worker no role flag, which on the 1.3 runtime it names (where --disaggregation-mode defaults to agg) starts an aggregated worker; the renderer states decode',
    },
  },
  {
    recipe: 'qwen3-32b-yarn/vllm/h100-sxm',
    upstream: 'vllm-disagg-qwen3-32b-efa.yaml',
    source: { path: 'recipes/qwen3-32b/vllm/cloud-providers/disagg-1p1d-aws-efa/deploy.yaml', commit: '3bff433678b8a934e50ae66ddd42fe48c9346834' },
    differences: {},
  },
  {
    recipe: 'deepseek-r1/vllm/h100-sxm',
    upstream: 'vllm-wide-ep-deepseek-r1-16gpu.yaml',
    source: { path: 'recipes/deepseek-r1/vllm/disagg/deploy_hopper_16gpu.yaml', commit: '0044eb903566e0632bdf7bb7388c967d946643af' },
    // --is-prefill-worker without --kv-transfer-config: a release before 1.0
    placeholders: { VERSION: '0.8.1' },
    differences: {
      'components.prefill.env.HF_HOME': HF_HOME_DIR,
      'components.decode.env.HF_HOME': HF_HOME_DIR,
    },
  },
  {
    recipe: 'qwen3-0.6b/sglang/h100-sxm',
    upstream: 'sglang-agg-qwen3-0.6b.yaml',
    source: { path: 'examples/backends/sglang/deploy/agg.yaml', commit: '0044eb903566e0632bdf7bb7388c967d946643af' },
    differences: {
      'components.agg.mounts./opt/models':
        'a recipe always has a model cache: upstream downloads the weights into the container at every start, the renderer mounts the cache PVC',
      'components.agg.env.HF_HOME': 'the cache the renderer mounts is where Hugging Face downloads go (HF_HOME)',
    },
  },
  {
    recipe: 'deepseek-r1/sglang/h200-sxm',
    upstream: 'sglang-disagg-deepseek-r1-8gpu.yaml',
    source: { path: 'recipes/deepseek-r1/sglang/disagg-8gpu/deploy.yaml', commit: '0044eb903566e0632bdf7bb7388c967d946643af' },
    placeholders: { VERSION: '0.8.1' },
    differences: {},
  },
  {
    recipe: 'deepseek-r1/sglang/h100-sxm',
    upstream: 'sglang-wide-ep-deepseek-r1-16gpu.yaml',
    source: { path: 'recipes/deepseek-r1/sglang/disagg-16gpu/deploy.yaml', commit: 'ef25a3deccf38bdf2675399068cca5aec3980f30' },
    differences: {
      'components.prefill.env.HF_HOME': HF_HOME_DIR,
      'components.decode.env.HF_HOME': HF_HOME_DIR,
    },
  },
  {
    recipe: 'qwen3-235b-a22b-fp8/trtllm/h100-sxm',
    upstream: 'trtllm-agg-qwen3-235b-a22b-fp8.yaml',
    source: { path: 'recipes/qwen3-235b-a22b-fp8/trtllm/agg/hopper/deploy.yaml', commit: '2ac51ddab1f8ec3715dc4e91b18b4dfbdbd9886f' },
    differences: {
      'components.agg.env.MODEL_PATH': SHELL_VARS,
      'components.agg.env.ENGINE_ARGS': SHELL_VARS,
    },
  },
  {
    recipe: 'gpt-oss-120b/trtllm/b200-sxm',
    upstream: 'trtllm-disagg-gpt-oss-120b.yaml',
    source: { path: 'recipes/gpt-oss-120b/trtllm/disagg/deploy.yaml', commit: '04521f473b68375705a553f4082fac8254d71a2f' },
    differences: {
      'components.prefill.componentType': 'upstream types its workers main, the operator\'s generic component; the renderer types them worker, which gets the worker defaults (probes, system port, role)',
      'components.decode.componentType': 'as for prefill: main upstream, worker rendered',
      'components.prefill.env.MODEL_PATH': SHELL_VARS,
      'components.prefill.env.SERVED_MODEL_NAME': SHELL_VARS,
      'components.prefill.env.ENGINE_ARGS': SHELL_VARS,
      'components.decode.env.MODEL_PATH': SHELL_VARS,
      'components.decode.env.SERVED_MODEL_NAME': SHELL_VARS,
      'components.decode.env.ENGINE_ARGS': SHELL_VARS,
    },
  },
  {
    recipe: 'deepseek-r1-fp4/trtllm/gb200-sxm',
    upstream: 'trtllm-wide-ep-deepseek-r1-gb200.yaml',
    source: { path: 'recipes/deepseek-r1/trtllm/disagg/wide_ep/gb200/deploy.yaml', commit: '09783f64b3d04eea55bfdc214babb5e6f4413219' },
    differences: {
      'components.prefill.env.HF_HOME': HF_HOME_DIR,
      'components.decode.env.HF_HOME': HF_HOME_DIR,
    },
  },
];

const ws0 = conformanceWorkspace();
afterAll(ws0.cleanup);
const ws = loadWorkspace(ws0.root);
const cluster = ws.clusters.get('upstream')!.cluster;

function resolvedOf(c: Case): ResolvedRecipe {
  const { resolved, issues } = resolveRecipe(ws, { recipe: c.recipe, cluster });
  expect(issues).toEqual([]);
  return resolved!;
}

function upstreamObjects(c: Case): Record<string, any>[] {
  let text = readFileSync(join(CONFORMANCE_DIR, 'upstream', c.upstream), 'utf8');
  for (const [k, v] of Object.entries(c.placeholders ?? {})) text = text.replaceAll(`\${${k}}`, v);
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((o) => o !== null);
}

function renderedObjects(r: ResolvedRecipe): Record<string, any>[] {
  return renderRecipe(r, cluster).manifests.map((m) => JSON.parse(JSON.stringify(m.object)));
}

describe('conformance with upstream Dynamo deployments', () => {
  it('loads the conformance workspace without issues', () => {
    // qwen3-32b-yarn serves the weights of qwen3-32b with a longer context: estimate resolves the shared hfId to
    // qwen3-32b, which the loader says once
    expect(ws.issues.map((i) => [i.code, i.severity, i.file, i.path.join('.')])).toEqual([
      ['MODEL_NAME_SHADOWED', 'warning', 'recipes/qwen3-32b-yarn/model.yaml', 'hfId'],
    ]);
    expect(CASES.map((c) => c.recipe).sort()).toEqual(cluster.recipes.map((r) => r.recipe).sort());
  });

  it('covers agg and disagg on every backend, wide expert parallelism and a GB200 ComputeDomain', () => {
    const kinds = CASES.map((c) => {
      const r = resolvedOf(c);
      return `${r.recipe.backend.name}/${r.recipe.topology.mode}`;
    });
    for (const k of ['vllm/agg', 'vllm/disagg', 'sglang/agg', 'sglang/disagg', 'trtllm/agg', 'trtllm/disagg']) expect(kinds).toContain(k);
    const wide = CASES.map(resolvedOf).filter((r) => r.model.id.startsWith('deepseek-r1') && (r.recipe.topology.decode?.dp ?? 1) >= 16);
    expect(wide.map((r) => r.recipe.backend.name).sort()).toEqual(['sglang', 'trtllm', 'vllm']);
    const gb200 = renderedObjects(resolvedOf(CASES.find((c) => c.recipe.includes('gb200'))!));
    expect(gb200.filter((o) => o.kind === 'ComputeDomain')).toHaveLength(1);
  });

  for (const c of CASES) {
    describe(c.recipe, () => {
      it(`renders ai-dynamo/dynamo ${c.source.path} @${c.source.commit.slice(0, 8)} up to the listed differences`, () => {
        const r = resolvedOf(c);
        const ctx: NormaliseContext = { maxContext: r.model.architecture.maxContext };
        const found = differences(normalise(upstreamObjects(c), ctx), normalise(renderedObjects(r), ctx));
        const report = [...found].map(([p, [up, ours]]) => `${p}: upstream ${JSON.stringify(up)}, rendered ${JSON.stringify(ours)}`);
        expect(report.map((line) => line.slice(0, line.indexOf(':'))).sort(), report.join('\n')).toEqual(Object.keys(c.differences).sort());
      });

      it('renders manifests valid against the CRDs', async () => {
        const objects = renderedObjects(resolvedOf(c));
        const result = await validateManifests(objects.map((content, i) => ({ file: `${i}.yaml`, content })));
        expect(result.problems.filter((p) => p.severity === 'error')).toEqual([]);
      });
    });
  }

  it('keeps every upstream file verbatim with its license header and provenance', () => {
    const provenance = readFileSync(join(CONFORMANCE_DIR, 'PROVENANCE.md'), 'utf8');
    for (const c of CASES) {
      const text = readFileSync(join(CONFORMANCE_DIR, 'upstream', c.upstream), 'utf8');
      expect(text.split('\n').slice(0, 3).join('\n')).toContain('SPDX-License-Identifier: Apache-2.0');
      const row = provenance.split('\n').find((l) => l.includes(`upstream/${c.upstream}`));
      expect(row, `PROVENANCE.md lists ${c.upstream}`).toBeDefined();
      expect(row).toContain(c.source.path);
      expect(row).toContain(c.source.commit);
    }
  });

  it('lists every remaining difference in the table of docs/rendering.md', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'rendering.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Remaining differences'));
    const rows = new Set(
      section
        .slice(0, section.indexOf('\n## '))
        .split('\n')
        .map((l) => /^\| `([^`]+)` \| `([^`]+)` \|/.exec(l))
        .filter((m) => m !== null)
        .map((m) => `${m[1]} ${m[2]}`),
    );
    const expected = new Set(CASES.flatMap((c) => Object.keys(c.differences).map((p) => `${c.recipe} ${p}`)));
    expect([...rows].sort()).toEqual([...expected].sort());
  });
});

describe('the normalisation', () => {
  const c = CASES.find((x) => x.recipe === 'gpt-oss-120b/trtllm/b200-sxm')!;
  const r = resolvedOf(c);
  const ctx: NormaliseContext = { maxContext: r.model.architecture.maxContext };

  it('still sees a difference in any field it compares (a rendered change shows up)', () => {
    const base = renderedObjects(r);
    const dgdOf = (objs: Record<string, any>[]) => objs.find((o) => o.kind === 'DynamoGraphDeployment')!;
    const mutations: [string, (dgd: Record<string, any>, objs: Record<string, any>[]) => void][] = [
      ['components.decode.replicas', (d) => (d.spec.services.decode.replicas = 3)],
      ['components.decode.image', (d) => (d.spec.services.decode.extraPodSpec.mainContainer.image = 'other:1')],
      ['components.decode.env.NCCL_GRAPH_REGISTER', (d) => d.spec.services.decode.extraPodSpec.mainContainer.env.find((e: any) => e.name === 'NCCL_GRAPH_REGISTER').value = '1'],
      ['components.prefill.flags.served-model-name', (d) => d.spec.services.prefill.extraPodSpec.mainContainer.args.push('--served-model-name', 'x')],
      ['components.decode.sharedMemory', (d) => (d.spec.services.decode.sharedMemory.size = '1Gi')],
      [
        'components.decode.engineOptions.max_batch_size',
        (_d, objs) => {
          const cm = objs.find((o) => o.kind === 'ConfigMap' && o.data?.['decode.yaml'] !== undefined)!;
          cm.data['decode.yaml'] = cm.data['decode.yaml'].replace(/^max_batch_size: 1280$/m, 'max_batch_size: 12');
        },
      ],
    ];
    const clean = normalise(base, ctx);
    for (const [path, mutate] of mutations) {
      const objs = structuredClone(base);
      mutate(dgdOf(objs), objs);
      expect([...differences(clean, normalise(objs, ctx)).keys()], path).toContain(path);
    }
  });

  it('does not depend on key order', () => {
    const up = upstreamObjects(c);
    const expected = normalise(up, ctx);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 30 }), (seed) => {
        expect(differences(expected, normalise(f.reorder(up, seed) as Record<string, any>[], ctx)).size).toBe(0);
      }),
      { numRuns: 25 },
    );
  });

  it('splits shell commands as sh does: quotes, continuations, $VAR and ${VAR}, && preludes', () => {
    expect(shellCommands(`ulimit -l unlimited && exec python3 -m dynamo.vllm \\\n  --model "$M" --x '{"a": "$M"}' --y \${M}b`, { M: 'Qwen/Qwen3' })).toEqual([
      ['ulimit', '-l', 'unlimited'],
      ['exec', 'python3', '-m', 'dynamo.vllm', '--model', 'Qwen/Qwen3', '--x', '{"a": "$M"}', '--y', 'Qwen/Qwen3b'],
    ]);
  });

  it('reads flags as argparse does: aliases, = form, switches, the last one winning', () => {
    expect(parseFlags('sglang', ['--tp', '8', '--dp-size=8', '--enable-dp-attention', '--mem_fraction_static', '0.75', '--tp-size', '16'])).toEqual({
      'tp-size': 16,
      'dp-size': 8,
      'enable-dp-attention': true,
      'mem-fraction-static': 0.75,
    });
  });
});
