import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidInputError } from '@llm-recipes/errors';
import { ENGINE_FIELDS, RecipeSchema, type BackendName, type Recipe } from '@llm-recipes/recipe';
import { renderRecipe } from './recipe.ts';
import * as f from './testing/fixtures.ts';
import type { ResolvedRecipe } from './types.ts';

/** Every schema node registered as engine-facing, with its dotted path, found by walking the recipe schema. */
function engineFields(schema: z.ZodType, path: string[] = [], out: { path: string[]; schema: z.ZodType }[] = []): { path: string[]; schema: z.ZodType }[] {
  if (ENGINE_FIELDS.has(schema)) out.push({ path, schema });
  if (schema instanceof z.ZodOptional) return engineFields(schema.unwrap() as z.ZodType, path, out);
  if (schema instanceof z.ZodObject) {
    for (const [k, v] of Object.entries(schema.shape as Record<string, z.ZodType>)) engineFields(v, [...path, k], out);
  }
  return out;
}

/** Values to try for a field: every other enum member; for sizes, the doubled and quadrupled value. */
function candidates(schema: z.ZodType, current: unknown, recipe: Recipe): unknown[] {
  if (schema instanceof z.ZodEnum) return (schema.options as unknown[]).filter((o) => o !== current);
  if (typeof current === 'number') return [current * 2, current * 4, current + 1];
  // an optional per-pool override (a pool's maxModelLen): unset, then set below the recipe's value
  if (current === undefined && schema instanceof z.ZodNumber) return [Math.floor(recipe.maxModelLen / 2), 1024];
  throw new Error(`no candidate values for a ${schema.constructor.name}`);
}

function setIn(obj: any, path: string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) cur = cur[p];
  cur[path.at(-1)!] = value;
}

function getIn(obj: any, path: string[]): unknown {
  return path.reduce((o, p) => o?.[p], obj);
}

const IMAGES: Record<BackendName, string> = {
  vllm: 'nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.3.0',
  sglang: 'nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.3.0',
  trtllm: 'nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.3.0',
};

/** A resolved MoE recipe on 8-GPU nodes: agg, or disagg when the field lives in a prefill/decode pool. */
function base(backend: BackendName, path: string[]): ResolvedRecipe {
  const disagg = path[0] === 'topology' && path[1] !== 'agg';
  const r: Recipe = disagg ? f.disaggRecipe() : f.recipe();
  // TensorRT-LLM's attention DP runs one GPU per rank, so its dp is tried on tp 1
  const pool = f.worker({ replicas: 1, tp: backend === 'trtllm' && path.at(-1) === 'dp' ? 1 : 2 });
  const recipe: Recipe = structuredClone({
    ...r,
    backend: { ...r.backend, name: backend, image: IMAGES[backend], args: {}, extraConfig: undefined, env: {} },
    topology: disagg ? { ...r.topology, prefill: pool, decode: structuredClone(pool) } : { ...r.topology, agg: pool },
  });
  const card = f.modelCard({
    architecture: { ...f.modelCard().architecture, moe: { experts: 128, activeExperts: 8, sharedExperts: 0, expertIntermediateSize: 1536, denseLayers: 0 } },
  });
  // the field under test is written by the recipe; the others keep the layers that set them in a real resolve
  const written = (field: string) => ({ layer: path.join('.') === field ? ('recipe' as const) : ('model' as const) });
  return f.resolved(recipe, { model: card, engineFiles: [], provenance: { dtype: written('dtype'), kvCacheDtype: written('kvCacheDtype') } });
}

/** What the engines are told: each worker's command line and the engine files they read. */
function engineView(r: ResolvedRecipe): string {
  const out = renderRecipe(r, f.cluster());
  const dgd = out.manifests.find((m) => m.object.kind === 'DynamoGraphDeployment')!.object as any;
  const workers = dgd.spec.components.filter((c: any) => ['worker', 'prefill', 'decode'].includes(c.type));
  return JSON.stringify({ args: workers.map((c: any) => [...c.podTemplate.spec.containers[0].command, ...c.podTemplate.spec.containers[0].args]), files: out.engineFiles });
}

describe('engine-facing recipe fields', () => {
  const fields = engineFields(RecipeSchema);

  it('are found in the schema, not in a hand-kept list', () => {
    const paths = fields.map((x) => x.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining(['dtype', 'kvCacheDtype', 'maxModelLen', 'topology.agg.tp', 'topology.decode.dp', 'topology.prefill.ep', 'topology.prefill.maxModelLen']),
    );
  });

  // Regression: maxModelLen, dtype and kvCacheDtype reached no engine flag, so a long-context variant rendered
  // the same engines as its base. Every field registered as engine-facing must, for every backend, either change
  // what the engine is told or be refused with a reason; a value that renders nothing would be silently ignored.
  for (const { path, schema } of fields) {
    for (const backend of ['vllm', 'sglang', 'trtllm'] as const) {
      it(`${path.join('.')} changes the ${backend} engine's flags or engine file`, () => {
        const b = base(backend, path);
        const before = engineView(b);
        let changed = 0;
        for (const value of candidates(schema, getIn(b.recipe, path), b.recipe)) {
          const r = structuredClone(b);
          setIn(r.recipe, path, value);
          // vLLM spreads experts over every GPU of a replica: its one valid expert-parallel size is tp × dp
          if (backend === 'vllm' && path.at(-1) === 'ep') setIn(r.recipe, [...path.slice(0, -1), 'tp'], value);
          let after: string;
          try {
            after = engineView(r);
          } catch (err) {
            // refused with a reason is fine: it is not silently ignored
            expect(err).toBeInstanceOf(InvalidInputError);
            continue;
          }
          expect(after, `${path.join('.')} = ${JSON.stringify(value)}`).not.toBe(before);
          changed++;
        }
        expect(changed).toBeGreaterThan(0);
      });
    }
  }
});
