import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import Bottleneck from 'bottleneck';
import { UserError } from '@llm-recipes/errors';

// throttling innermost: it waits out rate limits as GitHub asks (retry-after, x-ratelimit-reset); anything it
// does not handle (5xx, network, a 429 without rate-limit headers) reaches the retry plugin's back-off
const GitHubOctokit = Octokit.plugin(throttling, retry);
export type GitHubOctokit = InstanceType<typeof GitHubOctokit>;

export interface GitHubClientOptions {
  token: string;
  /** REST API root; GitHub Enterprise Server uses https://<host>/api/v3. Default https://api.github.com. */
  baseUrl?: string | undefined;
  /** Retries of a request that hit a rate limit or a 5xx (default 3). */
  retries?: number | undefined;
  /**
   * Milliseconds per unit of back-off (default 1000): a 5xx waits (n+1)² units, a rate limit waits the
   * `retry-after` / `x-ratelimit-reset` seconds GitHub sent. Tests shrink it; nothing else should.
   */
  retryUnitMs?: number | undefined;
  /**
   * Space writes as GitHub asks of integrations (one write at a time, ≥ 1 s apart, ≥ 3 s for writes that notify).
   * Default true.
   */
  pacing?: boolean | undefined;
  /** Receives one line per retry or rate-limit wait (default: nothing). */
  log?: ((line: string) => void) | undefined;
  userAgent?: string | undefined;
}

let clientSeq = 0;

/**
 * An Octokit with retries (5xx, network) and throttling (primary and secondary rate limits, honouring
 * `retry-after` and `x-ratelimit-reset`). Every call made through it can still fail: wrap calls in `apiCall`.
 */
export function createGitHubClient(options: GitHubClientOptions): GitHubOctokit {
  const retries = options.retries ?? 3;
  const unit = options.retryUnitMs ?? 1000;
  const log = options.log ?? (() => {});
  const limit = (kind: string) => (retryAfter: number, req: { method: string; url: string }, _o: unknown, retryCount: number): boolean => {
    if (retryCount >= retries) {
      log(`${kind} on ${req.method} ${req.url}: giving up after ${retryCount} retries`);
      return false;
    }
    log(`${kind} on ${req.method} ${req.url}: retrying after ${retryAfter} s (retry ${retryCount + 1}/${retries})`);
    return true;
  };
  const unpaced = options.pacing === false
    ? {
        write: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }),
        notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }),
      }
    : {};
  return new GitHubOctokit({
    auth: options.token,
    baseUrl: (options.baseUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: options.userAgent ?? 'llm-recipes',
    log: { debug: () => {}, info: () => {}, warn: (m: string) => log(m), error: (m: string) => log(m) },
    retry: { retries, retryAfterBaseValue: unit },
    throttle: {
      // a distinct id per client: the plugin's limiters are process-wide and keyed by it
      id: `llm-recipes-${process.pid}-${++clientSeq}`,
      retryAfterBaseValue: unit,
      onRateLimit: limit('rate limit'),
      onSecondaryRateLimit: limit('secondary rate limit'),
      ...unpaced,
    },
  });
}

/** Client settings from the environment: GITHUB_TOKEN (or GH_TOKEN) and GITHUB_API_URL (set by GitHub Actions). */
export function clientOptionsFromEnv(env: NodeJS.ProcessEnv): GitHubClientOptions {
  const token = env.GITHUB_TOKEN ?? env.GH_TOKEN;
  if (!token) {
    throw new UserError('GITHUB_TOKEN_MISSING', 'no GitHub token: GITHUB_TOKEN (or GH_TOKEN) is not set', {
      hint: 'in a workflow: env: { GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }} }; locally: export GITHUB_TOKEN=$(gh auth token)',
    });
  }
  return { token, baseUrl: env.GITHUB_API_URL || undefined };
}
