import type { GitHubOctokit } from './client.ts';
import { apiCall, GitHubApiError } from './errors.ts';

export interface PromotionPrOptions {
  owner: string;
  repo: string;
  /** Branch already pushed to the repository. */
  branch: string;
  /** Branch the PR merges into. */
  base: string;
  title: string;
  body: string;
  /** Commit the branch must point at (what was just pushed); guards against racing pushes. */
  expectedSha?: string | undefined;
  draft?: boolean | undefined;
}

export interface PromotionPrResult {
  action: 'created' | 'updated';
  number: number;
  url: string;
}

/**
 * Opens the promotion PR for a pushed branch, or updates the open one for that branch (a second promotion of
 * the same recipe and experiment refreshes the evidence instead of opening a duplicate).
 */
export async function openPromotionPr(octokit: GitHubOctokit, o: PromotionPrOptions): Promise<PromotionPrResult> {
  const { owner, repo } = o;
  const ref = await apiCall(`GET /repos/${owner}/${repo}/git/ref/heads/${o.branch}`, () =>
    octokit.rest.git.getRef({ owner, repo, ref: `heads/${o.branch}` }),
  ).catch((err: unknown) => {
    if (err instanceof GitHubApiError && err.status === 404) {
      throw new GitHubApiError(err.request, 404, { message: `branch ${o.branch} is not on ${owner}/${repo}: push it first` }, err);
    }
    throw err;
  });
  if (o.expectedSha !== undefined && ref.data.object.sha !== o.expectedSha) {
    throw new GitHubApiError(`GET /repos/${owner}/${repo}/git/ref/heads/${o.branch}`, 409, {
      message: `branch ${o.branch} is at ${ref.data.object.sha}, not the promotion commit ${o.expectedSha}: someone else pushed to it`,
    });
  }
  const open = await apiCall(`GET /repos/${owner}/${repo}/pulls`, () =>
    octokit.rest.pulls.list({ owner, repo, state: 'open', head: `${owner}:${o.branch}`, base: o.base, per_page: 100 }),
  );
  const existing = open.data.find((p) => p.head.ref === o.branch);
  if (existing) {
    const { data } = await apiCall(`PATCH /repos/${owner}/${repo}/pulls/${existing.number}`, () =>
      octokit.rest.pulls.update({ owner, repo, pull_number: existing.number, title: o.title, body: o.body }),
    );
    return { action: 'updated', number: data.number, url: data.html_url };
  }
  const { data } = await apiCall(`POST /repos/${owner}/${repo}/pulls`, () =>
    octokit.rest.pulls.create({ owner, repo, head: o.branch, base: o.base, title: o.title, body: o.body, draft: o.draft ?? false }),
  );
  return { action: 'created', number: data.number, url: data.html_url };
}
