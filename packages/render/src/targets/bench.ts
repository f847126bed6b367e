import { requestsAt, warmupAt } from '@llm-recipes/recipe';
import { FRONTEND_PORT } from '../recipe.ts';
import { benchmarkCommonEnv, LLM_RECIPES_COMMON, WAIT_IMAGE } from '../benchmarks.ts';
import { shortHash, toDnsName } from '../names.ts';
import type { KubeObject } from '../types.ts';
import { objectName, unsupported, yamlFile, type TargetContext, type TargetFile } from './common.ts';

/** kubectl image of the Workflow's deploy/wait/teardown steps. */
export const KUBECTL_IMAGE = 'registry.k8s.io/kubectl:v1.33.0';
/** Streams one load-generator pod drives comfortably (the harness keeps TTFT error low well beyond this). */
export const STREAMS_PER_SHARD = 256;

const WAIT_SCRIPT =
  'until wget -q -O - "$ENDPOINT/v1/models" | grep -qF "\\"$MODEL\\""; do echo "waiting for $MODEL at $ENDPOINT"; sleep 10; done';

function dgdName(ctx: TargetContext): string {
  return ctx.dgd.dgdName;
}

function endpoint(ctx: TargetContext): string {
  return `http://${dgdName(ctx)}-frontend:${FRONTEND_PORT}`;
}

function resultsVolume(ctx: TargetContext): Record<string, unknown> | null {
  return ctx.recipe.modelCache.accessMode === 'ReadWriteMany' ? { name: 'results', persistentVolumeClaim: { claimName: ctx.recipe.modelCache.pvcName } } : null;
}

/** The env of one point's `recipes bench`: the recipe's shared settings, then the point's lengths and counts. */
function benchEnv(ctx: TargetContext, isl: number, osl: number, c: number): Record<string, unknown>[] {
  const b = ctx.recipe.benchmark;
  return [
    ...benchmarkCommonEnv(ctx.recipe, endpoint(ctx), ctx.servedName),
    { name: 'ISL', value: String(isl) },
    { name: 'OSL', value: String(osl) },
    // max(requestsPerPoint, requestsPerConcurrency × c), as the benchmark Jobs run it
    { name: 'REQUESTS', value: String(requestsAt(b, c)) },
    { name: 'WARMUP', value: String(warmupAt(b, c)) },
  ];
}

/** The Workflow and the distributed load run concurrency points; rate and trace replay are the Jobs' (dgd target). */
function concurrencyOnly(ctx: TargetContext, what: string): boolean {
  if (ctx.recipe.benchmark.load === 'concurrency') return true;
  unsupported(ctx, ['benchmark', 'load'], `${what} runs concurrency points`, 'set benchmark.load: concurrency, or run rate and trace benchmarks with the Jobs of --target dgd');
  return false;
}

/** Where the first recipe string holding `{{` is, for the issue's path. */
function stringsWithBraces(ctx: TargetContext): (string | number)[] {
  const r = ctx.recipe;
  const candidates: [(string | number)[], string][] = [
    [['backend', 'image'], r.backend.image],
    [['benchmark', 'image'], ctx.cluster.benchmarkImage ?? r.benchmark.image],
    [['model', 'servedName'], ctx.servedName],
    ...Object.entries(r.backend.env).map(([k, v]): [(string | number)[], string] => [['backend', 'env', k], v]),
    ...Object.entries(r.backend.args).map(([k, v]): [(string | number)[], string] => [['backend', 'args', k], String(v)]),
    ...ctx.pools.flatMap((p) => Object.entries(p.worker.args).map(([k, v]): [(string | number)[], string] => [['topology', p.role, 'args', k], String(v)])),
    ...ctx.resolved.engineFiles.map((f): [(string | number)[], string] => [['backend', 'extraConfig'], f.content]),
  ];
  return candidates.find(([, v]) => v.includes('{{'))?.[0] ?? ['model'];
}

/**
 * An Argo Workflow for one profile run of the recipe: deploy the rendered workload, wait for the DGD, run every
 * benchmark point as its own task (a failed point does not stop the others), collect, and tear down on exit
 * (success or failure). Points run one at a time by default (`parallelism: 1`): concurrent points against one
 * deployment would corrupt each other's latencies; raise it only for independent endpoints.
 */
export function renderWorkflow(ctx: TargetContext): TargetFile[] {
  const b = ctx.recipe.benchmark;
  if (b.harness !== 'llm-recipes') {
    unsupported(ctx, ['benchmark', 'harness'], 'the Workflow runs `recipes bench` per point', 'set benchmark.harness: llm-recipes');
    return [];
  }
  if (!concurrencyOnly(ctx, 'the Workflow')) return [];
  const name = objectName(ctx, ['profile'], 63 - 6);
  const workload = ctx.dgd.manifests.filter((m) => m.group === 'workload').map((m) => m.object);
  const manifestYaml = yamlFile(ctx, 'workload.yaml', workload).content;
  // The shared model cache (PVC and download Job) outlives the run: teardown deletes the serving objects only.
  const serving = ctx.dgd.manifests.filter((m) => m.group === 'workload' && m.file !== 'model-cache.yaml').map((m) => m.object);
  const teardownYaml = yamlFile(ctx, 'serving.yaml', serving).content;
  const results = resultsVolume(ctx);
  const image = ctx.cluster.benchmarkImage ?? b.image;
  const points: { id: string; isl: number; osl: number; c: number; requests: number; warmup: number }[] = [];
  for (const [isl, osl] of b.islOsl) {
    for (const c of b.concurrency) points.push({ id: `${isl}x${osl}-c${c}`, isl, osl, c, requests: requestsAt(b, c), warmup: warmupAt(b, c) });
  }
  const sa = toDnsName(['llm-recipes-profile'], 63);
  // The Workflow's own template tags, kept by identity so that a recipe string equal to one is still caught below.
  const runTag = { name: 'RUN', value: '{{workflow.name}}' };
  const tagged = [
    { name: 'ISL', value: '{{inputs.parameters.isl}}' },
    { name: 'OSL', value: '{{inputs.parameters.osl}}' },
    { name: 'CONCURRENCY', value: '{{inputs.parameters.concurrency}}' },
    { name: 'REQUESTS', value: '{{inputs.parameters.requests}}' },
    { name: 'WARMUP', value: '{{inputs.parameters.warmup}}' },
    { name: 'POINT', value: '{{inputs.parameters.point}}' },
    { name: 'RUN', value: '{{workflow.name}}' },
  ];
  const ownTags = new Set<unknown>([runTag, ...tagged]);
  const workflow: KubeObject = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name: `${name}-${shortHash(manifestYaml + JSON.stringify(points), 5)}`, namespace: ctx.namespace, labels: ctx.labels, annotations: ctx.annotations },
    spec: {
      entrypoint: 'profile',
      onExit: 'teardown',
      serviceAccountName: sa,
      activeDeadlineSeconds: 12 * 3600,
      volumes: results ? [results] : null,
      volumeClaimTemplates: results ? null : [{ metadata: { name: 'results' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      templates: [
        {
          name: 'profile',
          parallelism: 1,
          dag: {
            tasks: [
              { name: 'deploy', template: 'deploy' },
              { name: 'wait', template: 'wait', dependencies: ['deploy'] },
              ...points.map((p) => ({
                name: `bench-${p.id}`,
                template: 'bench',
                dependencies: ['wait'],
                // Each point is independent: a failed one is recorded and the rest still run.
                continueOn: { failed: true },
                arguments: {
                  parameters: [
                    { name: 'isl', value: String(p.isl) },
                    { name: 'osl', value: String(p.osl) },
                    { name: 'concurrency', value: String(p.c) },
                    { name: 'requests', value: String(p.requests) },
                    { name: 'warmup', value: String(p.warmup) },
                    { name: 'point', value: p.id },
                  ],
                },
              })),
              { name: 'collect', template: 'collect', depends: points.map((p) => `(bench-${p.id}.Succeeded || bench-${p.id}.Failed)`).join(' && ') },
            ],
          },
        },
        {
          name: 'deploy',
          inputs: { artifacts: [{ name: 'manifests', path: '/manifests/workload.yaml', raw: { data: manifestYaml } }] },
          container: { name: 'main', image: KUBECTL_IMAGE, command: ['kubectl', 'apply', '-n', ctx.namespace, '-f', '/manifests/workload.yaml'] },
        },
        {
          name: 'wait',
          retryStrategy: { limit: '2' },
          container: {
            name: 'main',
            image: KUBECTL_IMAGE,
            command: ['kubectl', 'wait', '-n', ctx.namespace, '--for=condition=Ready', `dynamographdeployment/${dgdName(ctx)}`, '--timeout=3600s'],
          },
        },
        {
          name: 'bench',
          inputs: { parameters: [{ name: 'isl' }, { name: 'osl' }, { name: 'concurrency' }, { name: 'requests' }, { name: 'warmup' }, { name: 'point' }] },
          initContainers: [{ name: 'wait-for-model', image: WAIT_IMAGE, command: ['sh', '-c', WAIT_SCRIPT], env: benchEnv(ctx, 0, 0, 1).slice(0, 2) }],
          container: {
            name: 'main',
            image,
            command: [
              'sh',
              '-c',
              [
                ...LLM_RECIPES_COMMON,
                'recipes bench --endpoint "$ENDPOINT" --model "$MODEL" --api "$API" --gpus "$GPUS" --isl "$ISL" --osl "$OSL" --concurrency "$CONCURRENCY" \\',
                '  --requests "$REQUESTS" --warmup "$WARMUP" --out "/results/$RUN/$POINT" --json "$@"',
              ].join('\n'),
            ],
            env: [
              ...benchEnv(ctx, 0, 0, 1).filter((e) => !['ISL', 'OSL', 'REQUESTS', 'WARMUP', 'RESULTS'].includes(e['name'] as string)),
              ...tagged,
            ],
            volumeMounts: [{ name: 'results', mountPath: '/results', subPath: results ? 'benchmarks' : null }],
          },
        },
        {
          name: 'collect',
          container: {
            name: 'main',
            image,
            command: ['sh', '-c', 'set -eu; cd "/results/$RUN"; for s in */points/*/summary.json; do echo "== $s"; cat "$s"; done'],
            env: [runTag],
            volumeMounts: [{ name: 'results', mountPath: '/results', subPath: results ? 'benchmarks' : null }],
          },
        },
        {
          name: 'teardown',
          inputs: { artifacts: [{ name: 'manifests', path: '/manifests/serving.yaml', raw: { data: teardownYaml } }] },
          container: { name: 'main', image: KUBECTL_IMAGE, command: ['kubectl', 'delete', '-n', ctx.namespace, '--ignore-not-found', '-f', '/manifests/serving.yaml'] },
        },
      ],
    },
  };
  const meta = { namespace: ctx.namespace, labels: { 'app.kubernetes.io/managed-by': 'llm-recipes', 'app.kubernetes.io/part-of': 'llm-recipes' } };
  const rbac: KubeObject[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, ...meta } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: sa, ...meta },
      rules: [
        { apiGroups: ['nvidia.com'], resources: ['dynamographdeployments'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] },
        { apiGroups: [''], resources: ['configmaps', 'persistentvolumeclaims'], verbs: ['get', 'list', 'create', 'patch', 'update', 'delete'] },
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'create', 'patch', 'update', 'delete'] },
        { apiGroups: ['monitoring.coreos.com'], resources: ['podmonitors'], verbs: ['get', 'list', 'create', 'patch', 'update', 'delete'] },
        // Argo's executor records step results in WorkflowTaskResults.
        { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: sa, ...meta },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ctx.namespace }],
    },
  ];
  // Argo substitutes `{{…}}` anywhere in a template, the manifests of the deploy step included, and has no escape
  // for it: a recipe string holding `{{` (a chat template in an engine file, say) would be rewritten or fail the run.
  const fromRecipe = JSON.stringify((workflow['spec'] as { templates: unknown }).templates, (_, v: unknown) => (ownTags.has(v) ? undefined : v));
  if (fromRecipe.includes('{{')) {
    unsupported(
      ctx,
      stringsWithBraces(ctx),
      'a recipe value contains "{{", which Argo reads as a template tag in the Workflow',
      'remove "{{" from that value, or deploy with --target dgd and run `recipes bench` yourself',
    );
    return [];
  }
  return [yamlFile(ctx, 'rbac.yaml', rbac), yamlFile(ctx, 'workflow.yaml', [workflow], 'argo submit workflow.yaml (or kubectl create -f); each submission is a new run')];
}

/** Shards for a load: enough pods that none drives more than STREAMS_PER_SHARD streams, at least 2 (1 for one stream). */
export function shardsFor(concurrency: number, requested?: number): number {
  // Never more shards than streams: every shard must drive at least one.
  return Math.min(concurrency, requested ?? Math.max(2, Math.ceil(concurrency / STREAMS_PER_SHARD)));
}

/**
 * Distributed load: per benchmark point, an Indexed Job of N harness pods started together (completions =
 * parallelism = N), each running `recipes bench --shard $JOB_COMPLETION_INDEX/N` (its share of the concurrency and
 * requests) into its own directory on the shared results volume, then a merge Job that waits for every shard and
 * runs `recipes bench merge` over the raw records: percentiles of the merge are exactly those of one run over all
 * requests. Needs a ReadWriteMany results volume (the recipe's model cache).
 */
export function renderDistributedBench(ctx: TargetContext): TargetFile[] {
  const b = ctx.recipe.benchmark;
  const results = resultsVolume(ctx);
  if (!results) {
    unsupported(ctx, ['modelCache', 'accessMode'], 'shards write raw records to a shared volume and the merge reads them all', 'set modelCache.accessMode: ReadWriteMany');
  }
  if (b.harness !== 'llm-recipes') unsupported(ctx, ['benchmark', 'harness'], 'sharding and the exact merge are features of `recipes bench`', 'set benchmark.harness: llm-recipes');
  concurrencyOnly(ctx, 'the distributed load');
  if (ctx.issues.length > 0 || !results) return [];
  const image = ctx.cluster.benchmarkImage ?? b.image;
  const files: TargetFile[] = [];
  for (const [isl, osl] of b.islOsl) {
    for (const c of b.concurrency) {
      const shards = shardsFor(c, ctx.options.shards);
      const base = toDnsName(['dbench', dgdName(ctx), `${isl}x${osl}`, `c${c}`], 63 - 6 - 6);
      const spec = JSON.stringify({ base, image, isl, osl, c, shards, env: benchEnv(ctx, isl, osl, c) });
      const name = `${base}-${shortHash(spec, 5)}`;
      const dir = `benchmarks/${name}`;
      const labels = { ...ctx.labels, 'llm-recipes.io/benchmark': `${isl}x${osl}-c${c}` };
      const common = { namespace: ctx.namespace, labels, annotations: { ...ctx.annotations, 'llm-recipes.io/harness': 'llm-recipes' } };
      const waitModel = { name: 'wait-for-model', image: WAIT_IMAGE, command: ['sh', '-c', WAIT_SCRIPT], env: benchEnv(ctx, isl, osl, c).slice(0, 2) };
      const mount = { name: 'results', mountPath: '/results', subPath: dir };
      const indexed: KubeObject = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name, ...common },
        spec: {
          completionMode: 'Indexed',
          completions: shards,
          parallelism: shards,
          // A lost shard invalidates the point: fail it whole rather than measure a partial load.
          backoffLimitPerIndex: 0,
          maxFailedIndexes: 0,
          activeDeadlineSeconds: 4 * 3600,
          ttlSecondsAfterFinished: 7 * 24 * 3600,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: 'Never',
              initContainers: [waitModel],
              containers: [
                {
                  name: 'bench',
                  image,
                  command: [
                    'sh',
                    '-c',
                    [
                      // every shard its own seed (the recipe's plus its index), so shards never send the same prompts
                      ...LLM_RECIPES_COMMON.map((l) => l.replace('--random-seed "$SEED"', '--random-seed "$((SEED + JOB_COMPLETION_INDEX))"')),
                      'recipes bench --endpoint "$ENDPOINT" --model "$MODEL" --api "$API" --gpus "$GPUS" --isl "$ISL" --osl "$OSL" --concurrency "$CONCURRENCY" \\',
                      '  --requests "$REQUESTS" --warmup "$WARMUP" --shard "$JOB_COMPLETION_INDEX/$SHARDS" --out "/results/shard-$JOB_COMPLETION_INDEX" --json "$@"',
                    ].join('\n'),
                  ],
                  env: [...benchEnv(ctx, isl, osl, c).filter((e) => e['name'] !== 'RESULTS'), { name: 'CONCURRENCY', value: String(c) }, { name: 'SHARDS', value: String(shards) }],
                  volumeMounts: [mount],
                },
              ],
              volumes: [results],
            },
          },
        },
      };
      const merge: KubeObject = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: `${name}-merge`, ...common },
        spec: {
          backoffLimit: 1,
          activeDeadlineSeconds: 5 * 3600,
          ttlSecondsAfterFinished: 7 * 24 * 3600,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: 'Never',
              initContainers: [
                {
                  name: 'wait-for-shards',
                  image: WAIT_IMAGE,
                  // `recipes bench --shard` writes shard.json last, once its records are complete.
                  command: ['sh', '-c', 'until [ "$(ls /results/shard-*/shard.json 2>/dev/null | wc -l)" -ge "$SHARDS" ]; do echo "waiting for $SHARDS shards"; sleep 15; done'],
                  env: [{ name: 'SHARDS', value: String(shards) }],
                  volumeMounts: [mount],
                },
              ],
              containers: [
                {
                  name: 'merge',
                  image,
                  command: ['sh', '-c', 'set -eu; recipes bench merge /results/shard-* --out /results/merged --json'],
                  volumeMounts: [mount],
                },
              ],
              volumes: [results],
            },
          },
        },
      };
      files.push(yamlFile(ctx, `${name}.yaml`, [indexed, merge], `${shards} load-generator pods; apply, then wait for job/${name}-merge`));
    }
  }
  return files;
}
