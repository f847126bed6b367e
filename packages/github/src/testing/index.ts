export { FakeGitHub, startFakeGitHub } from './github-server.ts';
export type { Fault, FakeComment, FakeGitHubOptions, FakePull, RecordedRequest } from './github-server.ts';
export { gitIn, tempRecipesRepo } from './repo.ts';
export type { TempRepo } from './repo.ts';
export { writeFakeExperiment } from './experiment.ts';
export type { FakePointResult } from './experiment.ts';
