import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitCode, UserError } from '@llm-recipes/errors';
import { processIo, type CliIo } from './io.ts';
import { commands } from './commands/index.ts';

/** The CLI package's version (`recipes --version`). */
export const CLI_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const ISSUES_URL = 'https://github.com/llm-recipes/llm-recipes/issues/new';

/** Builds the `recipes` program; each command module registers itself and may set `io.exitCode`. */
export function buildProgram(io: CliIo, state: { exitCode: number }): Command {
  const program = new Command('recipes')
    .description('Typed LLM inference recipes → Dynamo manifests, benchmarks, simulator and SLA search.')
    .version(CLI_VERSION, '-V, --version', 'print the llm-recipes version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)');
  for (const register of commands) register(program, io, state);
  return program;
}

/** Runs the CLI; the only catch in the product: user errors print plainly, anything else is a bug. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const state = { exitCode: ExitCode.Ok as number };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; everything else commander rejects is a usage error
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (err instanceof UserError) {
      io.stderr(`error[${err.code}]: ${err.message}\n`);
      if (err.hint) io.stderr(`hint: ${err.hint}\n`);
      return err.exitCode;
    }
    const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
    io.stderr(`internal error (this is a bug in llm-recipes, please report it at ${ISSUES_URL}):\n${stack}\n`);
    return ExitCode.Internal;
  }
}
