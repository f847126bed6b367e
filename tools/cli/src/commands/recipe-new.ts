import { formatIssue, InvalidInputError, UserError } from '@llm-recipes/errors';
import { loadWorkspace, scaffoldRecipe, writeScaffold } from '@llm-recipes/recipe';
import type { RegisterCommand } from './index.ts';
import { findWorkspaceRoot } from './workspace-root.ts';

/** `recipes new`: scaffolds recipes/<model>/<backend>/<gpu>/recipe.yaml and checks it by loading it. */
export const registerNew: RegisterCommand = (program, io, state) => {
  program
    .command('new')
    .description('Scaffold a recipe with the schema modeline and a tensor-parallel size that fits the GPU.')
    .requiredOption('--model <id>', 'recipes/ model id or Hugging Face id (e.g. qwen3-32b or Qwen/Qwen3-32B)')
    .requiredOption('--backend <name>', 'vllm | sglang | trtllm')
    .requiredOption('--gpu <id>', 'GPU id or alias (h100_sxm, h100-sxm, h100, …)')
    .option('--mode <mode>', 'agg | disagg', 'agg')
    .option('--root <dir>', 'repository root (default: nearest directory holding recipes/)')
    .action((opts: { model: string; backend: string; gpu: string; mode: string; root?: string }) => {
      if (opts.mode !== 'agg' && opts.mode !== 'disagg') {
        throw new UserError('USAGE', `--mode must be agg or disagg (got "${opts.mode}")`);
      }
      const root = findWorkspaceRoot(io.cwd, opts.root);
      const ws = loadWorkspace(root);
      const scaffold = scaffoldRecipe(ws, { model: opts.model, backend: opts.backend, gpu: opts.gpu, mode: opts.mode });
      writeScaffold(ws, scaffold);
      const issues = loadWorkspace(root).issues.filter((i) => i.file === scaffold.file);
      if (issues.some((i) => i.severity !== 'warning')) {
        io.stderr(`wrote ${scaffold.file}, but it does not validate:\n`);
        throw new InvalidInputError(issues);
      }
      for (const i of issues) io.stderr(`${formatIssue(i)}\n`);
      io.stdout(`created ${scaffold.file} (tp ${scaffold.tp}${scaffold.nodes > 1 ? `, ${scaffold.nodes} nodes per replica` : ''})\nnext: recipes explain ${scaffold.id}\n`);
      state.exitCode = 0;
    });
};
