import type { Cluster } from '@llm-recipes/recipe';
import { InvalidInputError } from '@llm-recipes/errors';
import type { KubeObject, ResolvedRecipe } from '../types.ts';
import { renderDistributedBench, renderWorkflow } from './bench.ts';
import { targetContext, TARGETS, type Target, type TargetFile, type TargetOptions, type TargetOutput } from './common.ts';
import { renderDgdr } from './dgdr.ts';
import { renderHelm } from './helm.ts';
import { renderCompose, renderSlurm } from './hosts.ts';
import { renderLlmd } from './llmd.ts';
import { renderStandalone } from './standalone.ts';
import { parseAllDocuments } from 'yaml';

const RENDERERS: Record<Exclude<Target, 'dgd'>, (ctx: ReturnType<typeof targetContext>) => TargetFile[]> = {
  standalone: renderStandalone,
  'llm-d': renderLlmd,
  dgdr: renderDgdr,
  compose: renderCompose,
  slurm: renderSlurm,
  helm: renderHelm,
  'argo-workflow': renderWorkflow,
  'distributed-bench': renderDistributedBench,
};

export function isTarget(value: string): value is Target {
  return (TARGETS as readonly string[]).includes(value);
}

/** Kubernetes objects in a target's YAML files (values files, helmfiles and compose files carry no `kind`). */
function objectsOf(files: readonly TargetFile[]): KubeObject[] {
  const out: KubeObject[] = [];
  for (const f of files) {
    if (!f.path.endsWith('.yaml') || f.path.startsWith('templates/') || f.path.startsWith('engine/')) continue;
    for (const doc of parseAllDocuments(f.content)) {
      const v = doc.toJS() as Record<string, unknown> | null;
      if (v && typeof v['apiVersion'] === 'string' && typeof v['kind'] === 'string') out.push(v as KubeObject);
    }
  }
  return out;
}

/**
 * Renders one resolved recipe for a non-GitOps or alternative target (standalone, llm-d, dgdr, compose, slurm,
 * helm, argo-workflow, distributed-bench). Throws InvalidInputError with every problem, including recipes the target
 * cannot serve (e.g. disaggregated recipes for standalone).
 */
export function renderTarget(target: Exclude<Target, 'dgd'>, resolved: ResolvedRecipe, cluster: Cluster, options: TargetOptions = {}): TargetOutput {
  const ctx = targetContext(target, resolved, cluster, options);
  const files = RENDERERS[target](ctx);
  if (ctx.issues.length > 0) {
    const unique = [...new Map(ctx.issues.map((i) => [JSON.stringify([i.path, i.message]), i])).values()];
    throw new InvalidInputError(unique);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { target, name: ctx.name, files, objects: objectsOf(files) };
}
