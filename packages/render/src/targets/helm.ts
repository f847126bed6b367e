import { canonicalYaml, GENERATED_HEADER } from '../canonical.ts';
import { commentSafe, type TargetContext, type TargetFile } from './common.ts';

/**
 * A Helm chart per recipe for teams on helm/helmfile: the same objects as the DGD rendering (engine ConfigMap, model
 * cache, DGD, PodMonitors), with the image, each component's replicas and each worker's engine args taken from
 * values.yaml, and the namespace from the release. Values are inserted with `toJson`, which YAML reads back as exactly
 * that value, so a values override cannot change the document's structure either.
 */
export function renderHelm(ctx: TargetContext): TargetFile[] {
  const objects = ctx.dgd.manifests.filter((m) => m.group === 'workload').map((m) => structuredClone(m.object) as Record<string, any>);
  const exprs: string[] = [];
  // A placeholder no recipe string contains, so only the holes below are replaced by template actions.
  const json = JSON.stringify(objects);
  let tag = 'HELM';
  while (json.includes(`__${tag}_`)) tag += 'X';
  const hole = (expr: string): string => `__${tag}_${exprs.push(expr) - 1}__`;
  const components: Record<string, { replicas: number; args?: string[] }> = {};
  const image = ctx.recipe.backend.image;
  for (const o of objects) {
    if (o['metadata']?.namespace !== undefined) o['metadata'].namespace = hole('.Release.Namespace');
    if (o['kind'] !== 'DynamoGraphDeployment') continue;
    const spec = o['spec'];
    // v1beta1: components[] with podTemplate; v1alpha1: services{} with extraPodSpec.mainContainer
    const entries: [string, any, any][] = Array.isArray(spec.components)
      ? spec.components.map((c: any) => [c.name, c, c.podTemplate.spec.containers.find((x: any) => x.name === 'main')])
      : Object.entries(spec.services as Record<string, any>).map(([n, s]) => [n, s, s.extraPodSpec.mainContainer]);
    for (const [name, comp, main] of entries) {
      const key = `.Values.components.${name}`;
      components[name] = { replicas: comp.replicas };
      comp.replicas = hole(`${key}.replicas`);
      if (main.image === image) main.image = hole('.Values.image');
      if (name !== 'frontend' && name !== 'planner') {
        components[name]!.args = main.args;
        main.args = hole(`${key}.args`);
      }
    }
  }
  const header = [GENERATED_HEADER, `source: recipes/${commentSafe(ctx.resolved.id)}`];
  // Go templates would read any `{{` already in the objects (engine files, scripts): escape it first.
  const body = canonicalYaml(objects, { header: [] })
    .replace(/\{\{/g, '{{ "{{" }}')
    .replace(new RegExp(`__${tag}_(\\d+)__`, 'g'), (_, i: string) => `{{ toJson ${exprs[Number(i)]} }}`);
  const chart = {
    apiVersion: 'v2',
    name: ctx.name,
    description: `${ctx.resolved.model.hfId} on ${ctx.resolved.gpu.id} with ${ctx.recipe.backend.name} (recipe ${ctx.resolved.id})`,
    type: 'application',
    version: '0.1.0',
    appVersion: image.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : 'latest',
  };
  return [
    { path: 'Chart.yaml', content: canonicalYaml([chart], { header }) },
    { path: 'values.yaml', content: canonicalYaml([{ image, components }], { header: [...header, 'image, replicas and engine args per component'] }) },
    { path: 'templates/workload.yaml', content: `{{- /* ${GENERATED_HEADER}; ${header[1]} */ -}}\n${body}` },
  ];
}
