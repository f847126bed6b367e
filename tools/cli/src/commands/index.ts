import type { Command } from 'commander';
import type { CliIo } from '../io.ts';
import { registerValidate } from './validate.ts';
import { registerRender } from './render.ts';
import { registerExplain } from './recipe-explain.ts';
import { registerNew } from './recipe-new.ts';
import { registerEstimate } from './estimate.ts';
import { registerSearch } from './search.ts';
import { registerBench } from './bench.ts';
import { registerBenchMerge } from './bench-merge.ts';
import { registerSim } from './sim.ts';
import { registerUp, registerReport, registerStatus } from './up.ts';
import { registerProfile } from './profile.ts';
import { registerCi } from './ci.ts';
import { registerPromote } from './promote.ts';
import { registerCalibrate } from './calibrate.ts';

/** A command module adds its subcommand to the program; set `state.exitCode` for check failures. */
export type RegisterCommand = (program: Command, io: CliIo, state: { exitCode: number }) => void;

// Each command lives in its own file beside this one and is listed here.
export const commands: RegisterCommand[] = [registerValidate, registerRender, registerExplain, registerNew, registerEstimate, registerSearch, registerBench, registerBenchMerge, registerSim, registerCi, registerPromote, registerUp, registerReport, registerStatus, registerProfile, registerCalibrate];
