import { posix } from 'node:path';
import { stringify } from 'yaml';
import { GENERATED_HEADER, canonicalize } from '../canonical.ts';
import { downloadMarker } from '../recipe.ts';
import { commentSafe, ENGINE_MOUNT_PATH, shq, unsupported, type TargetContext, type TargetFile } from './common.ts';

/** Dynamo's discovery and event plane, as in Dynamo's own deploy/docker-compose.yml. */
export const ETCD_IMAGE = 'bitnamilegacy/etcd:3.6.1';
export const NATS_IMAGE = 'nats:2.11.4';

interface DynamoProcess {
  component: string;
  replicas: number;
  command: string[];
  args: string[];
  nodes: number;
  gpusPerNode: number;
}

/**
 * The Dynamo processes of the recipe (frontend, workers, planner) with the exact command lines of the DGD rendering:
 * compose and Slurm run the same components outside Kubernetes, so the frontend's router handles disaggregation too.
 */
function dynamoProcesses(ctx: TargetContext): DynamoProcess[] {
  const dgd = ctx.dgd.manifests.find((m) => m.file === 'dgd.yaml')!.object as unknown as { spec: { components: any[] } };
  return dgd.spec.components
    .filter((c) => c.type !== 'planner')
    .map((c) => {
      const main = c.podTemplate.spec.containers[0];
      const pool = ctx.pools.find((p) => p.component === c.name);
      return {
        component: c.name as string,
        replicas: c.replicas as number,
        command: main.command as string[],
        args: (main.args ?? []) as string[],
        nodes: pool?.worker.nodes ?? 1,
        gpusPerNode: pool?.gpusPerNode ?? 0,
      };
    });
}

/** The engine files the workers read, as the DGD rendering's engine ConfigMap holds them (TensorRT-LLM: one per pool). */
function engineFiles(ctx: TargetContext): TargetFile[] {
  return ctx.dgd.engineFiles.map((f) => ({ path: posix.join('engine', f.key), content: f.content }));
}

function header(ctx: TargetContext, comment: string): string {
  const source = `recipes/${ctx.resolved.id}${ctx.resolved.variant === undefined ? '' : ` (variant ${ctx.resolved.variant})`}`;
  return `${comment} ${GENERATED_HEADER}\n${comment} source: ${commentSafe(source)}\n`;
}

/**
 * A docker compose project for one GPU host: etcd and NATS, a one-shot download of the weights into a named volume,
 * the Dynamo frontend on port 8000 and one service per worker replica pinned to its GPUs (`device_ids`). Works for
 * agg and disagg (the frontend routes); the recipe must fit one host.
 */
export function renderCompose(ctx: TargetContext): TargetFile[] {
  const procs = dynamoProcesses(ctx);
  const totalGpus = procs.reduce((n, p) => n + p.replicas * p.nodes * p.gpusPerNode, 0);
  const perHost = ctx.resolved.gpu.gpusPerNode;
  for (const pool of ctx.pools) {
    if (pool.worker.nodes > 1) unsupported(ctx, ['topology', pool.role, 'nodes'], `one replica spans ${pool.worker.nodes} nodes; compose runs on one host`, 'use --target slurm or a Kubernetes target');
  }
  if (totalGpus > perHost) {
    unsupported(ctx, ['topology'], `the recipe needs ${totalGpus} GPUs but one ${ctx.resolved.gpu.id} host has ${perHost}`, 'lower the replicas (--set topology.<pool>.replicas=1) or use --target slurm');
  }
  if (ctx.issues.length > 0) return [];
  const mc = ctx.recipe.modelCache;
  const plane = { ETCD_ENDPOINTS: 'http://etcd:2379', NATS_SERVER: 'nats://nats:4222' };
  const hasEngine = ctx.dgd.engineFiles.length > 0;
  // layout hub: the hub cache under HF_HOME, read by the engines through the Hugging Face id
  const hub = mc.layout === 'hub';
  const mounts = [`model-cache:${mc.mountPath}`, ...(hasEngine ? [`./engine:${ENGINE_MOUNT_PATH}:ro`] : [])];
  const services: Record<string, unknown> = {
    etcd: {
      image: ETCD_IMAGE,
      environment: { ALLOW_NONE_AUTHENTICATION: 'yes', ETCD_ADVERTISE_CLIENT_URLS: 'http://etcd:2379', ETCD_LISTEN_CLIENT_URLS: 'http://0.0.0.0:2379' },
    },
    nats: { image: NATS_IMAGE, command: ['-js'] },
    download: {
      image: ctx.recipe.backend.image,
      command: ['sh', '-c', `set -eu; [ -f "$MODEL_DIR/$MARKER" ] || { hf download "$HF_REPO" --revision "$HF_REVISION"${hub ? '' : ' --local-dir "$MODEL_DIR"'} && touch "$MODEL_DIR/$MARKER"; }`],
      environment: {
        HF_REPO: ctx.resolved.model.hfId,
        HF_REVISION: ctx.resolved.model.revision,
        MODEL_DIR: ctx.modelPath,
        MARKER: downloadMarker(ctx.resolved),
        HF_HOME: mc.mountPath,
        // From the shell running `docker compose up` (set below, after escaping); empty for public models.
        HF_TOKEN: '',
      },
      volumes: [`model-cache:${mc.mountPath}`],
    },
  };
  let gpu = 0;
  for (const p of procs) {
    for (let i = 0; i < p.replicas; i++) {
      const name = p.replicas === 1 ? p.component : `${p.component}-${i}`;
      const ids = Array.from({ length: p.gpusPerNode }, () => String(gpu++));
      const svc: Record<string, unknown> = {
        image: ctx.recipe.backend.image,
        command: [...p.command, ...p.args],
        environment: { ...plane, HF_HOME: mc.mountPath, ...ctx.recipe.backend.env },
        depends_on: {
          etcd: { condition: 'service_started' },
          nats: { condition: 'service_started' },
          ...(p.gpusPerNode > 0 ? { download: { condition: 'service_completed_successfully' } } : {}),
        },
        restart: 'unless-stopped',
      };
      if (p.component === 'frontend') svc['ports'] = ['8000:8000'];
      if (p.gpusPerNode > 0) {
        svc['volumes'] = mounts;
        svc['ipc'] = 'host';
        svc['deploy'] = { resources: { reservations: { devices: [{ driver: 'nvidia', device_ids: ids, capabilities: ['gpu'] }] } } };
      }
      services[name] = svc;
    }
  }
  // No top-level `name`: the project takes the output directory's name (the recipe name), and older compose
  // implementations reject the key.
  // Compose interpolates `$` in every value when it reads the file: `$$` is a literal `$`, so recipe strings and the
  // container-side shell variables reach the container unchanged. The host's HF_TOKEN is the one intended reference.
  const project = escapeCompose({ services, volumes: { 'model-cache': {} } }) as { services: Record<string, { environment: Record<string, string> }> };
  project.services['download']!.environment['HF_TOKEN'] = '${HF_TOKEN:-}';
  const body = stringify(canonicalize(project), { lineWidth: 0, version: '1.1' });
  return [{ path: 'compose.yaml', content: `${header(ctx, '#')}# docker compose up -d   (frontend on http://localhost:8000)\n${body}` }, ...engineFiles(ctx)];
}

/** Every string value with `$` doubled: compose's escape for a literal dollar sign. Keys are names, left as they are. */
function escapeCompose(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', '$$$$');
  if (Array.isArray(value)) return value.map(escapeCompose);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeCompose(v)]));
  return value;
}

/** Multinode flags per engine: every node of a replica runs the worker with its rank. */
function multinodeArgs(backend: string, nodes: number): string[] {
  if (nodes <= 1) return [];
  if (backend === 'sglang') return [`--nnodes ${nodes}`, '--node-rank "$SLURM_NODEID"', '--dist-init-addr "$HEAD_NODE:29500"'];
  if (backend === 'vllm') return [`--nnodes ${nodes}`, '--node-rank "$SLURM_NODEID"', '--master-addr "$HEAD_NODE"'];
  return [];
}

/**
 * Slurm: `env.sh` (settings every script sources), `download.sbatch`, one sbatch script per Dynamo role (frontend,
 * worker or prefill + decode; an array task per replica, `--nodes` per replica), and `submit.sh` chaining them.
 * Containers run through pyxis/enroot (`srun --container-image`); etcd and NATS are given by ETCD_ENDPOINTS and
 * NATS_SERVER.
 */
export function renderSlurm(ctx: TargetContext): TargetFile[] {
  const procs = dynamoProcesses(ctx);
  const mc = ctx.recipe.modelCache;
  const backend = ctx.recipe.backend.name;
  const hasEngine = ctx.dgd.engineFiles.length > 0;
  const h = header(ctx, '#');
  const files: TargetFile[] = [];
  files.push({
    path: 'env.sh',
    content: [
      h.trimEnd(),
      '# Sourced by every script; override any value in the environment before sbatch.',
      // Recipe values are assigned single-quoted, never spliced into a double-quoted expansion.
      `DEFAULT_IMAGE=${shq(ctx.recipe.backend.image)}`,
      ': "${IMAGE:=$DEFAULT_IMAGE}"',
      ': "${MODEL_CACHE_DIR:?set MODEL_CACHE_DIR to a directory on a shared file system}"',
      ': "${ETCD_ENDPOINTS:?set ETCD_ENDPOINTS (e.g. http://etcd-host:2379)}"',
      ': "${NATS_SERVER:?set NATS_SERVER (e.g. nats://nats-host:4222)}"',
      'RECIPE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
      `MOUNTS="$MODEL_CACHE_DIR":${shq(mc.mountPath)}${hasEngine ? `,"$RECIPE_DIR/engine":${shq(ENGINE_MOUNT_PATH)}:ro` : ''}`,
      `export HF_HOME=${shq(mc.mountPath)} ETCD_ENDPOINTS NATS_SERVER`,
      ...Object.entries(ctx.recipe.backend.env).map(([k, v]) => `export ${k}=${shq(v)}`),
      '',
    ].join('\n'),
  });
  const sbatch = (job: string, lines: string[], directives: string[]): TargetFile => ({
    path: `${job}.sbatch`,
    mode: 0o755,
    content: [
      '#!/usr/bin/env bash',
      `#SBATCH --job-name=${ctx.name}-${job}`,
      ...directives.map((d) => `#SBATCH ${d}`),
      `#SBATCH --output=${job}-%A_%a.log`,
      h.trimEnd(),
      'set -euo pipefail',
      'source "${SLURM_SUBMIT_DIR:-.}/env.sh"',
      ...lines,
      '',
    ].join('\n'),
  });
  files.push(
    sbatch(
      'download',
      [
        `export MODEL_DIR=${shq(ctx.modelPath)}`,
        `export MARKER=${shq(downloadMarker(ctx.resolved))}`,
        `srun --container-image="$IMAGE" --container-mounts="$MOUNTS" bash -c ${shq(`[ -f "$MODEL_DIR/$MARKER" ] || { ${mc.layout === 'hub' ? `HF_HOME=${shq(mc.mountPath)} ` : ''}hf download ${shq(ctx.resolved.model.hfId)} --revision ${shq(ctx.resolved.model.revision)}${mc.layout === 'hub' ? '' : ' --local-dir "$MODEL_DIR"'} && touch "$MODEL_DIR/$MARKER"; }`)}`,
      ],
      ['--nodes=1', '--ntasks=1', '--time=06:00:00'],
    ),
  );
  const roles: string[] = [];
  for (const p of procs) {
    const gpu = p.gpusPerNode > 0;
    const directives = [`--nodes=${p.nodes}`, '--ntasks-per-node=1', ...(gpu ? [`--gpus-per-node=${p.gpusPerNode}`, '--exclusive'] : []), `--array=0-${p.replicas - 1}`, '--time=7-00:00:00'];
    const cmd = [...p.command, ...p.args].map(shq);
    const multi = multinodeArgs(backend, p.nodes);
    const lines = [
      'HEAD_NODE="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"',
      'export HEAD_NODE',
      `srun --container-image="$IMAGE" --container-mounts="$MOUNTS" --export=ALL bash -c ${shq(`exec ${cmd.join(' ')}${multi.length > 0 ? ` ${multi.join(' ')}` : ''}`)}`,
    ];
    if (p.nodes > 1 && backend === 'trtllm') {
      // TensorRT-LLM spans nodes through MPI: one task per GPU, the launcher wraps the worker.
      directives.splice(1, 1, `--ntasks-per-node=${p.gpusPerNode}`);
      lines[2] = `srun --mpi=pmix --container-image="$IMAGE" --container-mounts="$MOUNTS" --export=ALL trtllm-llmapi-launch ${cmd.join(' ')}`;
    }
    files.push(sbatch(p.component, lines, directives));
    roles.push(p.component);
  }
  files.push({
    path: 'submit.sh',
    mode: 0o755,
    content: [
      '#!/usr/bin/env bash',
      h.trimEnd(),
      '# Submits the download, then every role once the weights are there.',
      'set -euo pipefail',
      'cd "$(dirname "${BASH_SOURCE[0]}")"',
      'source ./env.sh',
      'download=$(sbatch --parsable download.sbatch)',
      ...roles.map((r) => `sbatch --parsable --dependency=afterok:"$download" ${r}.sbatch`),
      '',
    ].join('\n'),
  });
  return [...files, ...engineFiles(ctx)];
}
