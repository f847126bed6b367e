import type { BackendName } from './schema.ts';

/**
 * What differs between NVIDIA Dynamo releases, in one place: image names, the planner's entry point, image and
 * configuration shape, and the worker flags that moved. Every fact carries the upstream change that introduced it
 * (ai-dynamo/dynamo pull requests, as listed in the release ledger
 * docs/fern/pages/reference/general/releases/deprecations.mdx @0f1b0113c2bff2d52cf878e4280ae69300d4b1fd).
 */

/** The Dynamo release the project's defaults are pinned to (runtime images, cluster profiles without a version). */
export const DYNAMO_VERSION = '1.3.0';

/** Oldest and newest release lines whose worker and planner command lines are known here. */
export const OLDEST_DYNAMO = '0.7.0';
export const NEWEST_DYNAMO = '1.5.0';

const REGISTRY = 'nvcr.io/nvidia/ai-dynamo';
const RUNTIME_IMAGE_NAME: Record<BackendName, string> = { vllm: 'vllm-runtime', sglang: 'sglang-runtime', trtllm: 'tensorrtllm-runtime' };

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
}

/** `1.3.1`, `0.8.1.post2`, `1.2.0-efa-amd64` → 1.3.1 / 0.8.1 / 1.2.0 (the release the build belongs to); else undefined. */
export function parseDynamoVersion(text: string): SemVer | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:$|[.+-])/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

export function formatVersion(v: SemVer): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** Negative, zero or positive as `a` is older than, the same release as, or newer than `b`. */
export function compareVersions(a: SemVer, b: SemVer): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

function atLeast(v: SemVer, text: string): boolean {
  return compareVersions(v, parseDynamoVersion(text)!) >= 0;
}

/** The Dynamo release an image runs, read from its tag (`…:1.3.1`, `…:0.8.1.post2`); undefined for `my-tag`, digests. */
export function imageDynamoVersion(image: string): SemVer | undefined {
  const at = image.indexOf('@');
  const ref = at === -1 ? image : image.slice(0, at);
  const colon = ref.lastIndexOf(':');
  if (colon === -1 || ref.lastIndexOf('/') > colon) return undefined;
  return parseDynamoVersion(ref.slice(colon + 1));
}

/** How the planner of a release is started and configured. */
export type PlannerRelease =
  | {
      kind: 'config';
      /** The dedicated planner image (runtime images from 1.1.0 lack the planner's dependencies, #7748); null: the backend's runtime image. */
      image: string | null;
      command: string[];
      /** Where the PlannerConfig file is mounted (the profiler's own layout, `dgd_generation.py`). */
      configDir: string;
      configFile: string;
      /** PlannerConfig field names of this release. */
      keys: PlannerConfigKeys;
      /** Whether PlannerConfig has `optimization_target` (#8137, 1.1.0); without `sla` the planner ignores TTFT/ITL. */
      optimizationTarget: boolean;
    }
  | { kind: 'unsupported'; reason: string };

export interface PlannerConfigKeys {
  ttft: string;
  itl: string;
  throughputInterval: string;
  loadInterval: string;
}

/** The facts of one Dynamo release that change what a manifest must say. */
export interface DynamoRelease {
  /** The release (x.y.z) these facts are for. */
  version: string;
  semver: SemVer;
  runtimeImage(backend: BackendName): string;
  planner: PlannerRelease;
  /** vLLM worker role flag: `--is-prefill-worker` before 1.0, `--disaggregation-mode prefill|decode` from 1.0 (#6483). */
  vllmRoleFlag: 'is-prefill-worker' | 'disaggregation-mode';
  /** vLLM prefill workers need an explicit `--kv-transfer-config` from 1.0 (`--connector` removed, #6450). */
  vllmKvTransferConfig: boolean;
  /** vLLM publishes KV events only with an explicit `--kv-events-config` from 1.0 (#6404). */
  vllmKvEventsOptIn: boolean;
  /** DGD v1beta1 is served from 1.2.0 (#9235); earlier operators serve v1alpha1 only. */
  servesV1beta1: boolean;
  /** Admission requires runtimeVersionOverride for an image tag that is not a version, from 1.5.0 (#10494). */
  requiresRuntimeVersionOverride: boolean;
}

const PLANNER_CONFIG_DIR = '/workspace/planner_config';

/**
 * The facts for `version` (x.y.z), or undefined when the release line is outside what is known here
 * (older than 0.7.0 or newer than 1.5.x): a manifest for an unknown release would be a guess.
 */
export function dynamoRelease(version: string): DynamoRelease | undefined {
  const v = parseDynamoVersion(version);
  if (v === undefined) return undefined;
  const oldest = parseDynamoVersion(OLDEST_DYNAMO)!;
  const newest = parseDynamoVersion(NEWEST_DYNAMO)!;
  if (compareVersions(v, oldest) < 0 || v.major > newest.major || (v.major === newest.major && v.minor > newest.minor)) return undefined;
  const tag = formatVersion(v);
  const v1 = atLeast(v, '1.0.0');
  let planner: PlannerRelease;
  if (!v1) {
    planner = {
      kind: 'unsupported',
      reason:
        'before Dynamo 1.0 the planner (python3 -m dynamo.planner.planner_sla) scales only from profiler output (the planner-profile-data ConfigMap a DGDR profiling run writes), which a recipe does not have',
    };
  } else {
    planner = {
      kind: 'config',
      // 1.0.x still ran the planner from the backend runtime image; 1.1.0 moved its dependencies into dynamo-planner
      image: atLeast(v, '1.1.0') ? `${REGISTRY}/dynamo-planner:${tag}` : null,
      command: ['python3', '-m', 'dynamo.planner'],
      configDir: PLANNER_CONFIG_DIR,
      configFile: 'planner_config.json',
      // #9246 (1.2.0) suffixed every duration with its unit; the unsuffixed names stopped being read
      keys: atLeast(v, '1.2.0')
        ? { ttft: 'ttft_ms', itl: 'itl_ms', throughputInterval: 'throughput_adjustment_interval_seconds', loadInterval: 'load_adjustment_interval_seconds' }
        : { ttft: 'ttft', itl: 'itl', throughputInterval: 'throughput_adjustment_interval', loadInterval: 'load_adjustment_interval' },
      optimizationTarget: atLeast(v, '1.1.0'),
    };
  }
  return {
    version: tag,
    semver: v,
    runtimeImage: (backend) => `${REGISTRY}/${RUNTIME_IMAGE_NAME[backend]}:${tag}`,
    planner,
    vllmRoleFlag: v1 ? 'disaggregation-mode' : 'is-prefill-worker',
    vllmKvTransferConfig: v1,
    vllmKvEventsOptIn: v1,
    servesV1beta1: atLeast(v, '1.2.0'),
    requiresRuntimeVersionOverride: atLeast(v, '1.5.0'),
  };
}

/** The runtime image of `backend` at the project's pinned Dynamo release. */
export function defaultRuntimeImage(backend: BackendName, version: string = DYNAMO_VERSION): string {
  return (dynamoRelease(version) ?? dynamoRelease(DYNAMO_VERSION)!).runtimeImage(backend);
}
