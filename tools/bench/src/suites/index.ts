import type { BenchSuite } from '../types.ts';
import { recipeLoad } from './recipe-load.ts';
import { estimateSuite } from './estimate.ts';
import { harnessSuite } from './harness.ts';
import { simSuite } from './sim.ts';
import { renderSuite } from './render.ts';
import { profileSuite } from './profile.ts';
import { targetsSuite } from './targets.ts';
import { traceSuite } from './trace.ts';

// Each suite lives in its own file beside this one and is listed here.
export const suites: BenchSuite[] = [recipeLoad, estimateSuite, harnessSuite, simSuite, renderSuite, profileSuite, targetsSuite, traceSuite];
