import { canonicalize } from './canonical.ts';
import { shortHash, toDnsName } from './names.ts';
import type { RecipeContext } from './recipe.ts';
import { renderTemplate } from './templates.ts';
import type { KubeObject, Manifest } from './types.ts';

/** AIPerf release the aiperf harness installs (pinned: results must be reproducible). */
export const AIPERF_VERSION = '0.10.0';
/** Small image with `wget` for the wait-for-model init container. */
export const WAIT_IMAGE = 'busybox:1.37.0';

// Scripts read every value from the environment, so no recipe string is ever spliced into shell code.
const WAIT_SCRIPT =
  'until wget -q -O - "$ENDPOINT/v1/models" | grep -qF "\\"$MODEL\\""; do echo "waiting for $MODEL at $ENDPOINT"; sleep 10; done';

const LLM_RECIPES_SCRIPT = [
  'set -eu',
  'for c in $CONCURRENCY; do',
  '  recipes bench --endpoint "$ENDPOINT" --model "$MODEL" --api "$API" --isl "$ISL" --osl "$OSL" --concurrency "$c" \\',
  '    --requests "$REQUESTS" --warmup "$WARMUP" --out "/results/c$c" --json',
  'done',
].join('\n');

const AIPERF_SCRIPT = [
  'set -eu',
  'pip install --quiet --no-cache-dir "aiperf==$AIPERF_VERSION"',
  'for c in $CONCURRENCY; do',
  '  aiperf profile --model "$MODEL" --tokenizer "$TOKENIZER" --url "$ENDPOINT" --endpoint-type "$API" --streaming \\',
  '    --synthetic-input-tokens-mean "$ISL" --synthetic-input-tokens-stddev 0 \\',
  '    --output-tokens-mean "$OSL" --output-tokens-stddev 0 --extra-inputs ignore_eos:true \\',
  '    --concurrency "$c" --request-count "$REQUESTS" --warmup-request-count "$WARMUP" --artifact-dir "/results/c$c"',
  'done',
].join('\n');

/**
 * One Job per [ISL, OSL] pair, running the concurrencies one after another inside it: points of a pair share the
 * server's warm state and never overlap (overlapping load would corrupt each other's latencies), a pair stays short
 * enough for one deadline, and editing one pair re-runs only that pair. Names end in a hash of the spec, so a changed
 * matrix is a new Job instead of an immutable-field error.
 */
export function renderBenchmarks(ctx: RecipeContext): Manifest[] {
  const { recipe, cluster } = ctx;
  const bench = recipe.benchmark;
  const image = cluster.benchmarkImage ?? bench.image;
  // Sim mode renders no model cache, so results stay in the pod (and the --json summary in the Job log).
  const rwx = ctx.engine !== 'sim' && recipe.modelCache.accessMode === 'ReadWriteMany';
  const out: Manifest[] = [];
  for (const [isl, osl] of bench.islOsl) {
    const pair = `${isl}x${osl}`;
    const labels = { ...ctx.labels, 'llm-recipes.io/benchmark': pair };
    const env = [
      { name: 'ENDPOINT', value: ctx.frontendUrl },
      { name: 'MODEL', value: ctx.servedName },
      { name: 'API', value: bench.api },
      { name: 'ISL', value: String(isl) },
      { name: 'OSL', value: String(osl) },
      { name: 'CONCURRENCY', value: bench.concurrency.join(' ') },
      { name: 'REQUESTS', value: String(bench.requestsPerPoint) },
      { name: 'WARMUP', value: String(bench.warmupRequests) },
      ...(bench.harness === 'aiperf'
        ? [
            { name: 'AIPERF_VERSION', value: AIPERF_VERSION },
            { name: 'TOKENIZER', value: ctx.resolved.model.tokenizer },
            { name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: recipe.modelCache.hfTokenSecret, key: 'HF_TOKEN', optional: true } } },
          ]
        : []),
    ];
    const context = {
      namespace: ctx.namespace,
      labels,
      annotations: { ...ctx.annotations, 'llm-recipes.io/harness': bench.harness },
      backoffLimit: 1,
      // Generous: every point runs warmup + requests; a stuck server must not hold the Job forever.
      activeDeadlineSeconds: 4 * 3600,
      // Benchmarks are applied on demand, not synced by GitOps, so cleaning finished ones up is safe.
      ttlSecondsAfterFinished: 7 * 24 * 3600,
      waitImage: WAIT_IMAGE,
      waitCommand: ['sh', '-c', WAIT_SCRIPT],
      waitEnv: [
        { name: 'ENDPOINT', value: ctx.frontendUrl },
        { name: 'MODEL', value: ctx.servedName },
      ],
      image,
      command: ['sh', '-c', bench.harness === 'aiperf' ? AIPERF_SCRIPT : LLM_RECIPES_SCRIPT],
      env,
      // On a shared (RWX) model cache results outlive the pod; otherwise they stay in the pod and its log (--json).
      resultsVolume: rwx
        ? { name: 'results', persistentVolumeClaim: { claimName: recipe.modelCache.pvcName } }
        : { name: 'results', emptyDir: {} },
      resultsSubPath: null as string | null,
    };
    const base = toDnsName(['bench', ctx.dgdName, pair], 63 - 9);
    // The hash covers everything in the Job except its own name.
    const hash = shortHash(JSON.stringify(canonicalize({ ...context, base })));
    const name = `${base}-${hash}`;
    if (rwx) context.resultsSubPath = `benchmarks/${name}`;
    const docs = renderTemplate('benchmark-job', { ...context, name });
    for (const object of docs) out.push({ group: 'benchmark', file: `${name}.yaml`, object: object as KubeObject });
  }
  return out;
}
