import { InvalidInputError } from '@llm-recipes/errors';
import { explainRecipe, formatExplain, loadWorkspace, resolveRecipe } from '@llm-recipes/recipe';
import type { RegisterCommand } from './index.ts';
import { findWorkspaceRoot } from './workspace-root.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `recipes explain <recipe> [field]`: every effective value with the layer and file:line it came from. */
export const registerExplain: RegisterCommand = (program, io) => {
  program
    .command('explain')
    .description('Show where each effective value of a recipe comes from (default → model → backend → gpu → cluster → recipe → variant → golden → --set).')
    .argument('<recipe>', 'recipe directory (relative to cwd or recipes/) or id, e.g. qwen3-32b/vllm/h100-sxm')
    .argument('[field]', 'only this dotted field and what is below it, e.g. topology.decode')
    .option('--variant <name>', 'apply this variant')
    .option('--set <path=value>', 'override a field (repeatable); the value is read as YAML', collect, [])
    .option('--golden', "apply the recipe's promoted configuration (golden.yaml), as clusters with golden: true deploy it")
    .option('--cluster <name>', "resolve as this cluster deploys it: its pod settings (cluster.yaml pod, workerPod) become a layer")
    .option('--root <dir>', 'repository root (default: nearest directory holding recipes/)')
    .option('--json', 'print the rows as JSON')
    .action((recipe: string, field: string | undefined, opts: { variant?: string; set: string[]; golden?: boolean; cluster?: string; root?: string; json?: boolean }) => {
      const ws = loadWorkspace(findWorkspaceRoot(io.cwd, opts.root));
      const cluster = opts.cluster === undefined ? undefined : ws.clusters.get(opts.cluster)?.cluster;
      if (opts.cluster !== undefined && cluster === undefined) {
        const known = [...ws.clusters.keys()].sort();
        throw new InvalidInputError([
          { code: 'EXPLAIN_UNKNOWN_CLUSTER', file: `clusters/${opts.cluster}/cluster.yaml`, path: [], message: `no cluster profile "${opts.cluster}"`, hint: known.length > 0 ? `use one of: ${known.join(', ')}` : 'add clusters/<name>/cluster.yaml' },
        ]);
      }
      const { resolved, issues } = resolveRecipe(ws, { recipe, variant: opts.variant, set: opts.set, cwd: io.cwd, golden: opts.golden, cluster });
      if (resolved === undefined) throw new InvalidInputError(issues);
      const rows = explainRecipe(resolved, field);
      if (field !== undefined && rows.length === 0) {
        throw new InvalidInputError([
          { code: 'EXPLAIN_UNKNOWN_FIELD', file: resolved.dir, path: field.split('.'), message: `recipe has no field "${field}"`, hint: 'use a dotted path such as topology.decode or backend.args' },
        ]);
      }
      if (opts.json) {
        io.stdout(`${JSON.stringify({ id: resolved.id, variant: resolved.variant, name: resolved.name, ...(opts.golden ? { golden: resolved.golden ?? null } : {}), rows }, null, 2)}\n`);
      } else {
        const pinned = resolved.golden ? `golden ${resolved.golden.file}: experiment ${resolved.golden.experiment}, point ${resolved.golden.point}, promoted ${resolved.golden.promotedAt}\n` : opts.golden ? 'no golden.yaml applies (none promoted for this variant): the recipe as written\n' : '';
        io.stdout(`${resolved.id}${resolved.variant ? ` (variant ${resolved.variant})` : ''} → ${resolved.name}\n${pinned}${formatExplain(rows)}\n`);
      }
    });
};
