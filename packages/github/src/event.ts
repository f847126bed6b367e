import { readFileSync } from 'node:fs';
import { CheckFailedError, UserError } from '@llm-recipes/errors';

/** The fields of a GitHub Actions `pull_request` event payload (GITHUB_EVENT_PATH) the PR loop reads. */
export interface PullRequestEvent {
  number: number;
  baseRepo: string;
  /** null when the head repository was deleted. */
  headRepo: string | null;
  baseSha: string | undefined;
  headSha: string | undefined;
  labels: string[];
  /** The label just added, for `labeled` events. */
  label: string | undefined;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Reads an event payload; undefined when it is not a pull_request event (push, workflow_dispatch, …). */
export function readPullRequestEvent(file: string): PullRequestEvent | undefined {
  let data: Json;
  try {
    data = obj(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    throw new UserError('EVENT_UNREADABLE', `cannot read the GitHub event payload ${file}: ${(err as Error).message}`, {
      hint: 'pass --event with the JSON file GitHub Actions writes to $GITHUB_EVENT_PATH',
    });
  }
  const pr = obj(data.pull_request);
  if (typeof pr.number !== 'number') return undefined;
  const base = obj(pr.base);
  const head = obj(pr.head);
  const baseRepo = str(obj(base.repo).full_name) ?? str(obj(data.repository).full_name);
  if (baseRepo === undefined) {
    throw new UserError('EVENT_INVALID', `${file}: pull_request.base.repo.full_name is missing`, { hint: 'is this a GitHub pull_request event payload?' });
  }
  const headRepoObj = head.repo;
  return {
    number: pr.number,
    baseRepo,
    headRepo: headRepoObj === null || headRepoObj === undefined ? null : (str(obj(headRepoObj).full_name) ?? null),
    baseSha: str(base.sha),
    headSha: str(head.sha),
    labels: Array.isArray(pr.labels) ? pr.labels.map((l) => str(obj(l).name)).filter((l): l is string => l !== undefined) : [],
    label: str(obj(data.label).name),
  };
}

/**
 * Refuses a PR whose head lives in another repository: its code must never reach a self-hosted GPU runner
 * (a fork's author could run anything there). Same-repository PRs come from people with write access.
 */
export function assertSameRepository(event: PullRequestEvent): void {
  if (event.headRepo === event.baseRepo) return;
  const from = event.headRepo ?? 'a deleted repository';
  throw new CheckFailedError('FORK_PR', `PR #${event.number} comes from ${from}, not ${event.baseRepo}: fork PRs are never profiled on self-hosted runners`, {
    hint: 'a maintainer can push the branch to this repository (git push origin pull/<n>/head:<branch>) and label that PR instead',
  });
}
