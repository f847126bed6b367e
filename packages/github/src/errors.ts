import { ExitCode, UserError } from '@llm-recipes/errors';

/** What GitHub answered, for the hint: the `message` of its JSON error body when there is one. */
function apiMessage(body: unknown): string | undefined {
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  return typeof body === 'string' && body !== '' ? body : undefined;
}

function hintFor(status: number, message: string | undefined): string {
  if (status === 401) return 'the token is missing or invalid: set GITHUB_TOKEN (or GH_TOKEN) to a token of this repository';
  if (status === 403 && /not accessible by integration/i.test(message ?? '')) {
    return "the workflow token lacks a permission: give this job `permissions: pull-requests: write` (comments, PRs) or `contents: write` (branches)";
  }
  if (status === 403 || status === 429) return 'rate limited or forbidden: retried already; check the token scopes and try again later';
  if (status === 404) return 'repository, pull request or branch not found, or the token cannot see it (private repository?)';
  if (status === 422) return 'GitHub rejected the request as invalid; the message above says which field';
  if (status >= 500 || status === 0) return 'GitHub (or the network) failed after retries; re-run the job';
  return 'see the GitHub REST API documentation for this status';
}

/** A GitHub REST call that failed (after retries): the HTTP status, GitHub's response body and the original error. */
export class GitHubApiError extends UserError {
  readonly status: number;
  readonly body: unknown;
  /** `METHOD /path` of the failed request. */
  readonly request: string;

  constructor(request: string, status: number, body: unknown, cause?: unknown) {
    const message = apiMessage(body);
    super('GITHUB_API', `GitHub API ${request} failed: ${status}${message ? ` ${message}` : ''}`, {
      cause,
      hint: hintFor(status, message),
      // GitHub or the network failing is not the user's input; every other status is about the token or the request
      exitCode: status >= 500 || status === 0 ? ExitCode.Internal : ExitCode.Usage,
    });
    this.status = status;
    this.body = body;
    this.request = request;
  }
}

interface RequestErrorLike {
  status: number;
  response?: { data?: unknown } | undefined;
  request?: { method?: string; url?: string } | undefined;
}

function isRequestError(err: unknown): err is RequestErrorLike {
  return typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number';
}

/** Runs one API call and turns octokit's RequestError (or a network failure) into a GitHubApiError. */
export async function apiCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GitHubApiError) throw err;
    if (isRequestError(err)) throw new GitHubApiError(what, err.status, err.response?.data, err);
    throw new GitHubApiError(what, 0, err instanceof Error ? err.message : String(err), err);
  }
}
