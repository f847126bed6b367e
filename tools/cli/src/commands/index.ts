import type { Command } from 'commander';
import type { CliIo } from '../io.ts';

/** A command module adds its subcommand to the program; set `state.exitCode` for check failures. */
export type RegisterCommand = (program: Command, io: CliIo, state: { exitCode: number }) => void;

// Each command lives in its own file beside this one and is listed here.
export const commands: RegisterCommand[] = [];
