import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { InvalidInputError } from '@llm-recipes/errors';
import { renderRecipe } from '../recipe.ts';
import * as f from '../testing/fixtures.ts';
import type { ResolvedRecipe } from '../types.ts';
import { renderTarget, TARGETS, type Target, type TargetOutput } from '../index.ts';

// Properties of every non-GitOps target: no recipe string changes the structure of what is rendered, every string
// arrives exactly as written (after the reader's own unescaping), and the output does not depend on key order.

type T = Exclude<Target, 'dgd'>;
const ALL: T[] = TARGETS.filter((t): t is T => t !== 'dgd');
const YAML_TARGETS: T[] = ALL.filter((t) => t !== 'slurm');

type Injector = (r: ResolvedRecipe, s: string) => ResolvedRecipe;
const INJECTORS = {
  image: (r, s) => ({ ...r, recipe: { ...r.recipe, backend: { ...r.recipe.backend, image: s } } }),
  argValue: (r, s) => ({ ...r, recipe: { ...r.recipe, backend: { ...r.recipe.backend, args: { ...r.recipe.backend.args, 'some-flag': `v${s}` } } } }),
  envValue: (r, s) => ({ ...r, recipe: { ...r.recipe, backend: { ...r.recipe.backend, env: { EXTRA: s } } } }),
  servedName: (r, s) => ({ ...r, model: { ...r.model, servedName: s } }),
  revision: (r, s) => ({ ...r, model: { ...r.model, revision: s } }),
  benchImage: (r, s) => ({ ...r, recipe: { ...r.recipe, benchmark: { ...r.recipe.benchmark, image: s } } }),
  // engine files are read as YAML (a broken one is refused): the string is a value in one
  engineFile: (r, s) => ({ ...r, engineFiles: r.engineFiles.map((e) => ({ ...e, content: stringify({ 'block-size': 16, note: s }) })) }),
  // the model card only admits <org>/<name> ids; the strings below stay inside that rule
  hfId: (r, s) => ({ ...r, model: { ...r.model, hfId: `org.${s}/name-${s}` } }),
} satisfies Record<string, Injector>;
type Where = keyof typeof INJECTORS;

/** Where each injected field shows up in each target's YAML (so the properties below can never pass vacuously). */
const CARRIES: Record<T, Where[]> = {
  standalone: ['image', 'argValue', 'envValue', 'servedName', 'revision', 'engineFile', 'hfId'],
  'llm-d': ['image', 'argValue', 'envValue', 'servedName', 'revision', 'engineFile', 'hfId'],
  dgdr: ['image', 'revision', 'hfId'],
  compose: ['image', 'argValue', 'envValue', 'servedName', 'revision', 'engineFile', 'hfId'],
  slurm: [],
  helm: ['image', 'argValue', 'envValue', 'servedName', 'revision', 'engineFile', 'hfId'],
  'argo-workflow': ['image', 'argValue', 'envValue', 'servedName', 'revision', 'benchImage', 'engineFile', 'hfId'],
  'distributed-bench': ['servedName', 'benchImage'],
};

// Mixed case and `_`: values derived by normalizing (names, labels) never contain it and are not compared.
const MARKER = 'Benign_Marker';
const HOSTILE = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom(
    'a: b\nkind: Secret',
    '"}]\n---\napiVersion: v1',
    "it's \"quoted\"",
    '$(touch ./pwned)',
    '`id`',
    '${HOME} $HOME $$',
    '# comment',
    '---',
    '{{ .Values.x }}',
    '{{inputs.parameters.isl}}',
    '__HELM_0__',
    '- x',
    '&a *a',
    'yes',
    '0755',
    '\u2028\u0085\ufeff',
    ' leading and trailing ',
    '-dash',
  ),
);
const HF_PART = fc.stringMatching(/^[\w.-]{1,12}$/);

function render(target: T, r: ResolvedRecipe, cluster = f.cluster()): TargetOutput | InvalidInputError {
  try {
    return renderTarget(target, r, cluster);
  } catch (err) {
    if (err instanceof InvalidInputError) return err;
    throw err;
  }
}

function leaves(value: unknown, path: string, out: Map<string, unknown>): void {
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${path}[${i}]`, out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, `${path}.${JSON.stringify(k)}`, out);
  else out.set(path, value);
}

/** Compose reads `$$` as `$` and any other `$` as a variable: undo the one, refuse the other. */
function composeValue(s: string, path: string): string {
  if (path.endsWith('."environment"."HF_TOKEN"')) return s;
  const out = s.replace(/\$\$|\$/g, (m) => (m === '$$' ? '$' : '\0UNESCAPED$'));
  expect(out, `${path}: a lone $ would be interpolated by compose`).not.toContain('\0UNESCAPED$');
  return out;
}

/** Helm's reading of the chart: `{{ toJson <path> }}` from values.yaml, the `{{ "{{" }}` escape, nothing else. */
function evaluateChart(out: TargetOutput, namespace: string): unknown[] {
  const values = parseAllDocuments(out.files.find((x) => x.path === 'values.yaml')!.content)[0]!.toJS() as Record<string, unknown>;
  const lookup = (p: string): unknown =>
    p === '.Release.Namespace' ? namespace : p.replace(/^\.Values\./, '').split('.').reduce<any>((v, k) => v?.[k], values);
  const text = out.files
    .find((x) => x.path === 'templates/workload.yaml')!
    .content.replace(/^\{\{-.*?-\}\}\n/, '')
    .replace(/\{\{ toJson ([.\w-]+) \}\}|\{\{ "\{\{" \}\}|\{\{/g, (m, p: string | undefined) => {
      if (p !== undefined) return JSON.stringify(lookup(p));
      if (m === '{{ "{{" }}') return '{{';
      throw new Error(`unexpected template action at ${m}`);
    });
  return parseAllDocuments(text, { version: '1.1' }).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS();
  });
}

/** Every leaf of every YAML file (engine files are data, compared whole), keyed by file and path. */
function outputLeaves(target: T, out: TargetOutput, namespace: string): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (const file of out.files) {
    // per-point file names end in a hash of their content
    const key = file.path.replace(/-[0-9a-f]{5}\.yaml$/, '.yaml');
    if (file.path.startsWith('engine/')) map.set(key, file.content);
    else if (file.path === 'templates/workload.yaml') leaves(evaluateChart(out, namespace), key, map);
    else if (file.path.endsWith('.yaml')) {
      const docs = parseAllDocuments(file.content, { version: '1.1' });
      for (const d of docs) expect(d.errors, file.path).toEqual([]);
      leaves(
        docs.map((d) => d.toJS()),
        key,
        map,
      );
    }
  }
  // The Workflow's deploy and teardown steps carry the manifests as YAML text: compare what that text holds.
  for (const [k, v] of map) {
    if (typeof v === 'string' && k.endsWith('."raw"."data"')) {
      map.delete(k);
      const docs = parseAllDocuments(v, { version: '1.1' });
      for (const d of docs) expect(d.errors, k).toEqual([]);
      leaves(
        docs.map((d) => d.toJS()),
        `${k}>`,
        map,
      );
    }
  }
  if (target === 'compose') for (const [k, v] of map) if (typeof v === 'string' && !k.startsWith('engine/')) map.set(k, composeValue(v, k));
  return map;
}

function base(mode: 'agg' | 'disagg'): ResolvedRecipe {
  return f.resolved(mode === 'agg' ? f.recipe() : f.disaggRecipe());
}

describe('render targets: properties', () => {
  it('no recipe string changes a rendered document’s structure, and each one arrives exactly as written', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...YAML_TARGETS),
        fc.constantFrom(...(Object.keys(INJECTORS) as Where[])),
        HOSTILE,
        HF_PART,
        fc.constantFrom('agg' as const, 'disagg' as const),
        (target, where, hostile, hfPart, mode) => {
          if (target === 'standalone' && mode === 'disagg') mode = 'agg';
          const evil = where === 'hfId' ? hfPart : hostile;
          const inject = INJECTORS[where];
          // GIVEN the same recipe once with a benign marker and once with an arbitrary string in one field
          const benignOut = render(target, inject(base(mode), MARKER));
          expect(benignOut).not.toBeInstanceOf(InvalidInputError);
          const hostileOut = render(target, inject(base(mode), evil));
          // Argo has no escape for its own template tags: a Workflow carrying `{{` is refused, never rendered.
          if (target === 'argo-workflow' && evil.includes('{{') && CARRIES[target].includes(where)) {
            expect(hostileOut).toBeInstanceOf(InvalidInputError);
            expect((hostileOut as InvalidInputError).issues[0]!.code).toBe('RENDER_TARGET_UNSUPPORTED');
            return;
          }
          expect(hostileOut).not.toBeInstanceOf(InvalidInputError);
          const benign = outputLeaves(target, benignOut as TargetOutput, 'llm');
          const bad = outputLeaves(target, hostileOut as TargetOutput, 'llm');
          // THEN both render the same files and paths, and the string sits where the marker sat, unchanged
          expect([...bad.keys()]).toEqual([...benign.keys()]);
          let seen = 0;
          for (const [path, value] of benign) {
            if (typeof value === 'string' && value.includes(MARKER)) {
              seen++;
              // an engine file is YAML text: the string is its value, escaped as YAML escapes it
              if (where === 'engineFile') expect(parse(bad.get(path) as string).note, path).toBe(evil);
              else expect(bad.get(path), path).toBe(value.replaceAll(MARKER, () => evil));
            }
          }
          expect(seen > 0, `${target} carries ${where}`).toBe(CARRIES[target].includes(where));
        },
      ),
      { numRuns: 120 },
    );
  });

  it('the helm chart gives back exactly the DGD rendering of the hostile recipe', () => {
    fc.assert(
      fc.property(fc.constantFrom(...(Object.keys(INJECTORS) as Where[])), HOSTILE, (where, evil) => {
        const r = INJECTORS[where](base('disagg'), where === 'hfId' ? 'x' : evil);
        const docs = evaluateChart(renderTarget('helm', r, f.cluster()), 'llm');
        const expected = renderRecipe(r, f.cluster()).manifests.filter((m) => m.group === 'workload').map((m) => JSON.parse(JSON.stringify(m.object)));
        expect(docs).toEqual(expected);
      }),
      { numRuns: 40 },
    );
  });

  it('is deterministic and independent of key insertion order', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL), fc.nat(50), fc.constantFrom('agg' as const, 'disagg' as const), (target, seed, mode) => {
        if (target === 'standalone') mode = 'agg';
        const input = f.resolved(mode === 'agg' ? f.recipe({ observability: true }) : f.disaggRecipe({ observability: true }));
        const cluster = f.cluster();
        const a = renderTarget(target, input, cluster);
        const b = renderTarget(target, f.reorder(input, seed) as ResolvedRecipe, f.reorder(cluster, seed + 1) as typeof cluster);
        expect(b.files).toEqual(a.files);
      }),
      { numRuns: 40 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Slurm: the scripts are run for real with stand-ins for srun, scontrol, hf and the engines, which record the argv
// they receive. Every recipe value must reach its process as exactly the argument the DGD rendering has.

const work = mkdtempSync(join(tmpdir(), 'llm-recipes-slurm-prop-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const STUB = `#!/bin/sh
# records its name, argv and EXTRA, NUL-separated, one file per call
out="$RECORD/$(date +%s%N)-$$"
{ printf '%s\\0' "$(basename "$0")" "$@"; printf 'EXTRA=%s\\0' "\${EXTRA-}"; } > "$out"
`;
const SRUN = `${STUB}while [ $# -gt 0 ]; do case "$1" in --*) shift ;; *) break ;; esac; done
exec "$@"
`;
const bin = join(work, 'bin');
mkdirSync(bin);
for (const [name, body] of [
  ['srun', SRUN],
  ['python3', STUB],
  ['hf', STUB],
  ['trtllm-llmapi-launch', STUB],
  ['touch', STUB],
  ['scontrol', '#!/bin/sh\necho node0\n'],
] as const) {
  writeFileSync(join(bin, name), body);
  chmodSync(join(bin, name), 0o755);
}

async function runScript(dir: string, script: string): Promise<string[][]> {
  const record = mkdtempSync(join(work, 'rec-'));
  const r = await execa('bash', [join(dir, script)], {
    reject: false,
    cwd: dir,
    extendEnv: false,
    env: {
      PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
      RECORD: record,
      SLURM_SUBMIT_DIR: dir,
      SLURM_JOB_NODELIST: 'node0',
      MODEL_CACHE_DIR: join(dir, 'cache'),
      ETCD_ENDPOINTS: 'http://etcd:2379',
      NATS_SERVER: 'nats://nats:4222',
    },
  });
  expect(r.stderr, script).toBe('');
  const calls = readdirSync(record)
    .sort()
    .map((n) => readFileSync(join(record, n), 'utf8').split('\0').slice(0, -1));
  rmSync(record, { recursive: true, force: true });
  return calls;
}

describe('render targets: slurm scripts', () => {
  it('pass `bash -n`, and every recipe string reaches its process as exactly one argument', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...(['image', 'argValue', 'envValue', 'servedName', 'revision', 'hfId'] as const)),
        // an argv cannot hold NUL, and a lone surrogate has no UTF-8 form to write into a script
        HOSTILE.filter((s) => !s.includes('\0') && !/\p{Cs}/u.test(s)),
        HF_PART,
        fc.constantFrom('agg' as const, 'disagg' as const),
        async (where, hostile, hfPart, mode) => {
          const evil = where === 'hfId' ? hfPart : hostile;
          const r = INJECTORS[where](base(mode), evil);
          const out = renderTarget('slurm', r, f.cluster());
          const dir = mkdtempSync(join(work, 'out-'));
          for (const file of out.files) {
            mkdirSync(join(dir, file.path, '..'), { recursive: true });
            writeFileSync(join(dir, file.path), file.content);
          }
          for (const file of out.files.filter((x) => /\.(sh|sbatch)$/.test(x.path))) {
            const n = await execa('bash', ['-n', join(dir, file.path)], { reject: false });
            expect(n.stderr, file.path).toBe('');
          }
          // The DGD rendering's command lines are the reference: Slurm runs the same components.
          const dgd = renderRecipe(r, f.cluster(), { apiVersion: 'v1beta1' }).manifests.find((m) => m.file === 'dgd.yaml')!.object as any;
          const mounts = `${join(dir, 'cache')}:/opt/models,${dir}/engine:/etc/dynamo/engine:ro`;
          for (const c of dgd.spec.components.filter((x: any) => x.type !== 'planner')) {
            const main = c.podTemplate.spec.containers[0];
            const calls = await runScript(dir, `${c.name}.sbatch`);
            const srun = calls.find((x) => x[0] === 'srun')!;
            expect(srun).toContain(`--container-image=${r.recipe.backend.image}`);
            expect(srun).toContain(`--container-mounts=${mounts}`);
            const engine = calls.find((x) => x[0] === 'python3')!;
            expect(engine.slice(1, -1)).toEqual([...main.command.slice(1), ...(main.args ?? [])]);
            expect(engine.at(-1)).toBe(`EXTRA=${r.recipe.backend.env['EXTRA'] ?? ''}`);
          }
          const hf = (await runScript(dir, 'download.sbatch')).find((x) => x[0] === 'hf')!;
          expect(hf.slice(1, -1)).toEqual(['download', r.model.hfId, '--revision', r.model.revision, '--local-dir', `/opt/models/${r.model.hfId}`]);
        },
      ),
      { numRuns: 15 },
    );
  }, 60_000);
});
