import { readFileSync } from 'node:fs';
import { Command, CommanderError, Help } from 'commander';
import { ExitCode, UserError } from '@llm-recipes/errors';
import { processIo, type CliIo } from './io.ts';
import { commands } from './commands/index.ts';

/** The CLI package's version (`recipes --version`). */
export const CLI_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const ISSUES_URL = 'https://github.com/llm-recipes/llm-recipes/issues/new';

/**
 * The top-level command `argv` runs (or whose help `help <command>` asks for); undefined for `--help`, `--version`
 * and anything commander rejects itself. The program's own options take no values, so it is the first word.
 */
export function invokedCommand(argv: readonly string[]): string | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/**
 * Builds the `recipes` program. The command `argv` runs is loaded and registers itself (it may set
 * `state.exitCode`); every other command is listed by name, arguments and description only, so `--help`,
 * `--version` and each command import nothing they do not use. `argv: 'all'` loads every command.
 */
export async function buildProgram(io: CliIo, state: { exitCode: number }, argv: readonly string[] | 'all' = 'all'): Promise<Command> {
  const listed = new WeakMap<Command, string>();
  const program = new Command('recipes')
    .description('Typed LLM inference recipes → Dynamo manifests, benchmarks, simulator and SLA search.')
    .version(CLI_VERSION, '-V, --version', 'print the llm-recipes version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .configureHelp({
      // a listed command has no options or arguments of its own yet: its entry's term stands in
      subcommandTerm(this: Help, cmd: Command): string {
        return listed.get(cmd) ?? Help.prototype.subcommandTerm.call(this, cmd);
      },
    })
    .showHelpAfterError('(run with --help for usage)');
  const invoked = argv === 'all' ? undefined : invokedCommand(argv);
  const loaded = await Promise.all(commands.map((entry) => (argv === 'all' || entry.name === invoked ? entry.load() : undefined)));
  commands.forEach((entry, i) => {
    const register = loaded[i];
    if (register !== undefined) return register(program, io, state);
    const cmd = program
      .command(entry.name)
      .description(entry.description)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new Error(`command ${entry.name} ran without being loaded`);
      });
    listed.set(cmd, entry.term);
  });
  return program;
}

/** Runs the CLI; the only catch in the product: user errors print plainly, anything else is a bug. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const state = { exitCode: ExitCode.Ok as number };
  try {
    const program = await buildProgram(io, state, argv);
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
