import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createGitHubClient } from './client.ts';
import { GitHubApiError } from './errors.ts';
import { COMMENT_LIMIT, composeStickyBody, markerComment, upsertStickyComment } from './sticky.ts';
import { startFakeGitHub, type FakeGitHub } from './testing/index.ts';

let gh: FakeGitHub | undefined;
afterEach(async () => {
  await gh?.close();
  gh = undefined;
});

const USER_TOKEN = 'ghp_user';
const ACTIONS_TOKEN = 'ghs_actions';

async function setup(): Promise<{ gh: FakeGitHub; logs: string[]; client: (token?: string) => ReturnType<typeof createGitHubClient> }> {
  gh = await startFakeGitHub({ users: { [USER_TOKEN]: 'release-bot' }, actionsTokens: [ACTIONS_TOKEN] });
  const logs: string[] = [];
  const server = gh;
  return {
    gh: server,
    logs,
    client: (token = USER_TOKEN) => createGitHubClient({ token, baseUrl: server.url, retryUnitMs: 5, pacing: false, log: (l) => logs.push(l) }),
  };
}

const base = { owner: 'acme', repo: 'recipes', pr: 7, marker: 'profile' };

describe('upsertStickyComment', () => {
  it('creates the comment once, then updates it in place', async () => {
    // GIVEN a PR with one unrelated comment
    const { gh, client } = await setup();
    gh.addComment(7, 'LGTM', 'octocat');
    const octokit = client();
    // WHEN the report is posted twice with different bodies
    const first = await upsertStickyComment(octokit, { ...base, body: '| a | b |\n|---|---|\n| 1 | 2 |' });
    const second = await upsertStickyComment(octokit, { ...base, body: 'second report', artifactUrl: 'https://github.test/acme/recipes/actions/runs/1' });
    // THEN one comment is created, then the same one is edited
    expect(first.action).toBe('created');
    expect(second).toMatchObject({ action: 'updated', id: first.id });
    const comments = gh.comments.get(7)!;
    expect(comments).toHaveLength(2);
    expect(comments[1]!.body).toBe(`${markerComment('profile')}\nsecond report\n\n---\n📦 Full report (HTML) and raw results: https://github.test/acme/recipes/actions/runs/1\n`);
    expect(gh.seen('POST')).toHaveLength(1);
    expect(gh.seen('PATCH')).toHaveLength(1);
  });

  it('leaves an identical comment alone (no edit, no notification)', async () => {
    const { gh, client } = await setup();
    const octokit = client();
    await upsertStickyComment(octokit, { ...base, body: 'same' });
    const again = await upsertStickyComment(octokit, { ...base, body: 'same' });
    expect(again.action).toBe('unchanged');
    expect(gh.seen('PATCH')).toHaveLength(0);
  });

  it('finds its comment on page 3 of the comments and updates it', async () => {
    // GIVEN 250 other comments, our marker comment at position 230 (page 3 at 100 per page), then 20 more
    const { gh, client } = await setup();
    for (let i = 0; i < 230; i++) gh.addComment(7, `comment ${i}`, i % 2 ? 'alice' : 'bob');
    const ours = gh.addComment(7, `${markerComment('profile')}\nold report`, 'release-bot');
    for (let i = 0; i < 20; i++) gh.addComment(7, `later ${i}`, 'carol');
    // WHEN the report is posted
    const result = await upsertStickyComment(client(), { ...base, body: 'new report' });
    // THEN the comment on page 3 is edited, after following the Link header through pages 1..3
    expect(result).toMatchObject({ action: 'updated', id: ours.id, scanned: 231 });
    expect(ours.body).toBe(`${markerComment('profile')}\nnew report\n`);
    expect(gh.seen('GET', /comments$/).map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);
    expect(gh.seen('POST')).toHaveLength(0);
  });

  it('ignores the marker in comments by other authors and other markers, scanning every page', async () => {
    const { gh, client } = await setup();
    for (let i = 0; i < 120; i++) gh.addComment(7, `noise ${i}`);
    gh.addComment(7, `quoting: ${markerComment('profile')}`, 'mallory');
    gh.addComment(7, `${markerComment('profile/h100')}\nother sticky`, 'release-bot');
    const result = await upsertStickyComment(client(), { ...base, body: 'report' });
    expect(result.action).toBe('created');
    expect(result.scanned).toBe(122);
    expect(gh.seen('GET', /comments$/)).toHaveLength(2);
    expect(gh.comments.get(7)!.at(-1)!.user.login).toBe('release-bot');
  });

  it('with the Actions token, matches comments by github-actions[bot] (GET /user is forbidden)', async () => {
    const { gh, client } = await setup();
    const ours = gh.addComment(7, `${markerComment('profile')}\nold`, 'github-actions[bot]');
    gh.addComment(7, `${markerComment('profile')}\nsomeone else's bot`, 'release-bot');
    const result = await upsertStickyComment(client(ACTIONS_TOKEN), { ...base, body: 'fresh' });
    expect(result).toMatchObject({ action: 'updated', id: ours.id });
    expect(gh.seen('GET', /^\/user$/)[0]!.status).toBe(403);
  });

  it('uses an explicit author without asking GitHub who it is', async () => {
    const { gh, client } = await setup();
    const ours = gh.addComment(7, `${markerComment('profile')}\nold`, 'release-bot');
    await upsertStickyComment(client(), { ...base, body: 'x', author: 'release-bot' });
    expect(ours.body).toContain('\nx\n');
    expect(gh.seen('GET', /^\/user$/)).toHaveLength(0);
  });
});

describe('retries and rate limits', () => {
  it('retries 5xx responses, then succeeds', async () => {
    const { gh, client, logs } = await setup();
    gh.fail({ method: 'POST', path: /comments$/, status: 502, times: 2 });
    const result = await upsertStickyComment(client(), { ...base, body: 'after outage' });
    expect(result.action).toBe('created');
    expect(gh.seen('POST').map((r) => r.status)).toEqual([502, 502, 201]);
    expect(logs.filter((l) => / 502 /.test(l))).toHaveLength(2);
  });

  it('gives up after the configured retries with a typed error carrying status and body', async () => {
    const { gh, client } = await setup();
    gh.fail({ method: 'GET', path: /comments$/, status: 503, times: 10, body: { message: 'Service Unavailable' } });
    const err = await upsertStickyComment(client(), { ...base, body: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect(err).toMatchObject({ status: 503, body: { message: 'Service Unavailable' }, code: 'GITHUB_API', exitCode: 3 });
    expect((err as GitHubApiError).cause).toBeDefined();
    expect(gh.seen('GET', /comments$/)).toHaveLength(4); // 1 + 3 retries
  });

  it('waits out a primary rate limit (403, x-ratelimit-remaining 0) until x-ratelimit-reset', async () => {
    const { gh, client, logs } = await setup();
    gh.primaryRateLimit({ method: 'GET', path: /comments$/, resetInS: 2 });
    const result = await upsertStickyComment(client(), { ...base, body: 'x' });
    expect(result.action).toBe('created');
    expect(gh.seen('GET', /comments$/).map((r) => r.status)).toEqual([403, 200]);
    // reset 2 s ahead (+1 s margin, rounded up): the wait follows the header, not a fixed back-off
    expect(logs.join('\n')).toMatch(/^rate limit on GET .*comments.*: retrying after [23] s/m);
  });

  it.each([403, 429] as const)('honours retry-after on a secondary rate limit (%i)', async (status) => {
    const { gh, client, logs } = await setup();
    gh.secondaryRateLimit({ method: 'POST', path: /comments$/, status, retryAfterS: 7, times: 2 });
    const result = await upsertStickyComment(client(), { ...base, body: 'x' });
    expect(result.action).toBe('created');
    expect(gh.seen('POST').map((r) => r.status)).toEqual([status, status, 201]);
    expect(logs.filter((l) => l.includes('secondary rate limit')).map((l) => /after (\d+) s/.exec(l)![1])).toEqual(['7', '7']);
  });

  it('does not retry a 403 permission error and explains the missing permission', async () => {
    const { gh, client } = await setup();
    gh.fail({ method: 'POST', path: /comments$/, status: 403, body: { message: 'Resource not accessible by integration' } });
    const err = (await upsertStickyComment(client(), { ...base, body: 'x' }).catch((e: unknown) => e)) as GitHubApiError;
    expect(err).toBeInstanceOf(GitHubApiError);
    expect(err.status).toBe(403);
    expect(err.hint).toMatch(/pull-requests: write/);
    expect(gh.seen('POST')).toHaveLength(1);
  });

  it('reports bad credentials as a usage error', async () => {
    const { client } = await setup();
    const err = (await upsertStickyComment(client('wrong'), { ...base, body: 'x' }).catch((e: unknown) => e)) as GitHubApiError;
    expect(err).toMatchObject({ status: 401, exitCode: 2 });
    expect(err.hint).toMatch(/GITHUB_TOKEN/);
  });
});

describe('composeStickyBody', () => {
  it('always starts with the marker and never exceeds the comment limit', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 0, max: 80_000 }), fc.option(fc.webUrl(), { nil: undefined }), (chunk, n, url) => {
        const body = (chunk + '\n').repeat(Math.ceil(n / (chunk.length + 1))).slice(0, n);
        const out = composeStickyBody('profile/h100', body, url);
        expect(out.startsWith('<!-- llm-recipes:profile/h100 -->\n')).toBe(true);
        expect(out.length).toBeLessThanOrEqual(COMMENT_LIMIT);
        if (url) expect(out).toContain(url);
      }),
      { numRuns: 60 },
    );
  });

  it('rejects markers that could end the HTML comment early', () => {
    expect(() => markerComment('a -->b')).toThrow(/invalid comment marker/);
    expect(() => markerComment('a--b')).toThrow(/invalid comment marker/);
    expect(markerComment('profile/h100_sxm')).toBe('<!-- llm-recipes:profile/h100_sxm -->');
  });
});
