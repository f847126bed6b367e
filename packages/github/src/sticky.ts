import { UserError } from '@llm-recipes/errors';
import type { GitHubOctokit } from './client.ts';
import { apiCall, GitHubApiError } from './errors.ts';

/** GitHub rejects issue comments longer than this many characters. */
export const COMMENT_LIMIT = 65536;

/** The login that comments made with GITHUB_TOKEN in Actions carry. */
export const ACTIONS_BOT_LOGIN = 'github-actions[bot]';

export interface StickyCommentOptions {
  owner: string;
  repo: string;
  /** Pull request (or issue) number. */
  pr: number;
  /** Names this sticky comment; several can coexist on one PR under different markers. */
  marker: string;
  /** Markdown body (without the marker). */
  body: string;
  /** Link appended under the body, e.g. the run holding the HTML report artifact. */
  artifactUrl?: string | undefined;
  /** Login whose comment to update; default: the token's own login (GET /user), or github-actions[bot] for an Actions token. */
  author?: string | undefined;
}

export interface StickyCommentResult {
  action: 'created' | 'updated' | 'unchanged';
  id: number;
  url: string;
  /** Comments scanned before the decision (all pages when none matched). */
  scanned: number;
}

/** `<!-- llm-recipes:<marker> -->`; the marker may not contain what would end an HTML comment early. */
export function markerComment(marker: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/:-]{0,99}$/.test(marker) || marker.includes('--')) {
    throw new UserError('STICKY_MARKER', `invalid comment marker "${marker}"`, {
      hint: 'use letters, digits and . _ / : - (no "--"), at most 100 characters, e.g. profile or profile/h100',
    });
  }
  return `<!-- llm-recipes:${marker} -->`;
}

/** The full comment body: marker first (hidden), then the report, then the artifact link; cut to GitHub's limit. */
export function composeStickyBody(marker: string, body: string, artifactUrl?: string): string {
  const head = `${markerComment(marker)}\n`;
  const foot = artifactUrl ? `\n\n---\n📦 Full report (HTML) and raw results: ${artifactUrl}\n` : '\n';
  const text = body.replace(/\s+$/, '');
  if (head.length + text.length + foot.length <= COMMENT_LIMIT) return head + text + foot;
  const note = `\n\n… _report truncated to fit a GitHub comment (${COMMENT_LIMIT} characters)${artifactUrl ? '; the full report is in the artifact below' : ''}._`;
  let cut = text.slice(0, COMMENT_LIMIT - head.length - foot.length - note.length);
  // never leave half a table row or a split surrogate pair
  const nl = cut.lastIndexOf('\n');
  if (nl > cut.length / 2) cut = cut.slice(0, nl);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return head + cut + note + foot;
}

/** `github-actions[bot]` and `github-actions` are the same author (GraphQL drops the suffix, REST keeps it). */
function sameLogin(a: string, b: string): boolean {
  const norm = (s: string): string => s.toLowerCase().replace(/\[bot\]$/, '');
  return norm(a) === norm(b);
}

/**
 * The login comments made with this token will carry: GET /user for a user token; an Actions (installation)
 * token cannot read /user (403 "Resource not accessible by integration") and writes as github-actions[bot].
 */
export async function tokenLogin(octokit: GitHubOctokit): Promise<string> {
  try {
    const { data } = await apiCall('GET /user', () => octokit.rest.users.getAuthenticated());
    return data.login;
  } catch (err) {
    if (err instanceof GitHubApiError && err.status === 403) return ACTIONS_BOT_LOGIN;
    throw err;
  }
}

/**
 * Creates or updates the one comment on a PR that carries `marker` and was written by `author`: every page of
 * comments is searched (100 per page), the first match is edited in place, an identical body is left alone
 * (no notification), and only when none matches is a new comment created.
 */
export async function upsertStickyComment(octokit: GitHubOctokit, options: StickyCommentOptions): Promise<StickyCommentResult> {
  const tag = markerComment(options.marker);
  const body = composeStickyBody(options.marker, options.body, options.artifactUrl);
  const author = options.author ?? (await tokenLogin(octokit));
  const { owner, repo, pr } = options;
  const where = `/repos/${owner}/${repo}/issues/${pr}/comments`;

  let scanned = 0;
  let found: { id: number; body: string; url: string } | undefined;
  await apiCall(`GET ${where}`, async () => {
    for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, { owner, repo, issue_number: pr, per_page: 100 })) {
      for (const c of page.data) {
        scanned++;
        if (c.user && sameLogin(c.user.login, author) && (c.body ?? '').includes(tag)) {
          found = { id: c.id, body: c.body ?? '', url: c.html_url };
          return;
        }
      }
    }
  });

  if (found) {
    if (found.body === body) return { action: 'unchanged', id: found.id, url: found.url, scanned };
    const id = found.id;
    const { data } = await apiCall(`PATCH /repos/${owner}/${repo}/issues/comments/${id}`, () =>
      octokit.rest.issues.updateComment({ owner, repo, comment_id: id, body }),
    );
    return { action: 'updated', id: data.id, url: data.html_url, scanned };
  }
  const { data } = await apiCall(`POST ${where}`, () => octokit.rest.issues.createComment({ owner, repo, issue_number: pr, body }));
  return { action: 'created', id: data.id, url: data.html_url, scanned };
}
