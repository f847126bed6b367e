export { FakeGitHub, startFakeGitHub } from './github-server.ts';
export type { Fault, FakeComment, FakeGitHubOptions, FakePull, RecordedRequest } from './github-server.ts';
