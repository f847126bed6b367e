import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';

/**
 * A local HTTP server speaking the slice of the GitHub REST API this package uses — the real wire format
 * (JSON bodies, `Link` pagination, rate-limit headers), so octokit and its plugins run unmodified against it.
 *
 * Endpoints: GET /user; GET|POST /repos/{o}/{r}/issues/{n}/comments (per_page/page + Link);
 * PATCH /repos/{o}/{r}/issues/comments/{id}; GET|POST /repos/{o}/{r}/pulls, GET|PATCH /repos/{o}/{r}/pulls/{n};
 * GET /repos/{o}/{r}/git/ref/heads/{branch}, POST /repos/{o}/{r}/git/refs, PATCH /repos/{o}/{r}/git/refs/heads/{branch}.
 * Branch refs come from a real bare git repository when `gitDir` is given (tests push to it), else from memory.
 */

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string; type: 'User' | 'Bot' };
  created_at: string;
  updated_at: string;
  html_url: string;
}

export interface FakePull {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  draft: boolean;
  head: { ref: string; sha: string; label: string; repo: { full_name: string } };
  base: { ref: string; repo: { full_name: string } };
  html_url: string;
  user: { login: string };
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  status: number;
}

/** A scripted failure: the next `times` requests matching method and path get this response instead. */
export interface Fault {
  method?: string | undefined;
  path?: RegExp | string | undefined;
  status: number;
  headers?: Record<string, string> | undefined;
  body?: unknown;
  times?: number | undefined;
}

export interface FakeGitHubOptions {
  owner?: string | undefined;
  repo?: string | undefined;
  /** token → login for personal tokens; GET /user with these answers { login }. */
  users?: Record<string, string> | undefined;
  /**
   * Tokens that behave like the Actions GITHUB_TOKEN (an installation token): GET /user is 403 "Resource not
   * accessible by integration" and what they write is authored by `github-actions[bot]`.
   */
  actionsTokens?: string[] | undefined;
  /** Bare git repository backing branch refs. */
  gitDir?: string | undefined;
  defaultPerPage?: number | undefined;
}

const ACTIONS_BOT = 'github-actions[bot]';

export class FakeGitHub {
  readonly owner: string;
  readonly repo: string;
  url = '';
  readonly requests: RecordedRequest[] = [];
  readonly comments = new Map<number, FakeComment[]>();
  readonly pulls: FakePull[] = [];
  readonly refs = new Map<string, string>();
  private readonly faults: (Fault & { left: number })[] = [];
  private readonly server: Server;
  private readonly options: FakeGitHubOptions;
  private nextId = 1000;

  constructor(options: FakeGitHubOptions = {}) {
    this.options = options;
    this.owner = options.owner ?? 'acme';
    this.repo = options.repo ?? 'recipes';
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        send(res, 500, { message: `fake server error: ${err instanceof Error ? err.message : String(err)}` });
      });
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Seeds a comment (someone else's, or an old one of ours) on an issue or PR. */
  addComment(issue: number, body: string, login = 'octocat'): FakeComment {
    const now = new Date().toISOString();
    const id = this.nextId++;
    const c: FakeComment = {
      id,
      body,
      user: { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' },
      created_at: now,
      updated_at: now,
      html_url: `https://github.test/${this.owner}/${this.repo}/pull/${issue}#issuecomment-${id}`,
    };
    const list = this.comments.get(issue) ?? [];
    list.push(c);
    this.comments.set(issue, list);
    return c;
  }

  /** Scripts failures for the next matching requests (see `Fault`). */
  fail(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  /** 403 with `x-ratelimit-remaining: 0` and a reset `resetInS` seconds ahead: GitHub's primary rate limit. */
  primaryRateLimit(match: Omit<Fault, 'status'> & { resetInS?: number }): void {
    const reset = Math.floor(Date.now() / 1000) + (match.resetInS ?? 1);
    this.fail({
      ...match,
      status: 403,
      headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset), ...match.headers },
      body: { message: 'API rate limit exceeded for user ID 1.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' },
    });
  }

  /** 403 or 429 with `retry-after`: GitHub's secondary rate limit. */
  secondaryRateLimit(match: Omit<Fault, 'status'> & { status?: 403 | 429; retryAfterS?: number }): void {
    this.fail({
      ...match,
      status: match.status ?? 403,
      headers: { 'retry-after': String(match.retryAfterS ?? 1), ...match.headers },
      body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits' },
    });
  }

  /** Requests seen, optionally filtered by method and path pattern. */
  seen(method?: string, path?: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => (method === undefined || r.method === method) && (path === undefined || path.test(r.path)));
  }

  private loginFor(req: IncomingMessage): { login: string; actions: boolean } | undefined {
    const auth = req.headers.authorization ?? '';
    const token = auth.replace(/^(token|bearer)\s+/i, '');
    if (token === '') return undefined;
    if (this.options.actionsTokens?.includes(token)) return { login: ACTIONS_BOT, actions: true };
    const login = this.options.users?.[token];
    return login === undefined ? undefined : { login, actions: false };
  }

  private async branchSha(branch: string): Promise<string | undefined> {
    if (this.options.gitDir) {
      const r = await execa('git', ['--git-dir', this.options.gitDir, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { reject: false });
      return r.exitCode === 0 ? r.stdout.trim() : undefined;
    }
    return this.refs.get(branch);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    let body: unknown = undefined;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        return this.reply(req, res, url, body, 400, { message: 'Problems parsing JSON' });
      }
    }
    const fault = this.faults.find((f) => f.left > 0 && (f.method === undefined || f.method === method) && matches(f.path, url.pathname));
    if (fault) {
      fault.left--;
      return this.reply(req, res, url, body, fault.status, fault.body ?? { message: `scripted ${fault.status}` }, fault.headers);
    }
    const who = this.loginFor(req);
    if (!who) return this.reply(req, res, url, body, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });

    const p = url.pathname;
    if (method === 'GET' && p === '/user') {
      if (who.actions) return this.reply(req, res, url, body, 403, { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user', status: '403' });
      return this.reply(req, res, url, body, 200, { login: who.login, id: 1, type: 'User' });
    }
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)$/.exec(p);
    if (!m || m[1] !== this.owner || m[2] !== this.repo) return this.reply(req, res, url, body, 404, { message: 'Not Found' });
    const rest = m[3]!;
    const data = (body ?? {}) as Record<string, unknown>;

    let mm: RegExpExecArray | null;
    if ((mm = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      const issue = Number(mm[1]);
      if (method === 'GET') {
        const all = this.comments.get(issue) ?? [];
        const perPage = Math.min(Number(url.searchParams.get('per_page') ?? this.options.defaultPerPage ?? 30), 100);
        const page = Math.max(Number(url.searchParams.get('page') ?? 1), 1);
        const last = Math.max(Math.ceil(all.length / perPage), 1);
        const links: string[] = [];
        const link = (n: number, rel: string): string => {
          const u = new URL(url.toString());
          u.protocol = 'http:';
          u.host = new URL(this.url).host;
          u.searchParams.set('per_page', String(perPage));
          u.searchParams.set('page', String(n));
          return `<${u.toString()}>; rel="${rel}"`;
        };
        if (page > 1) links.push(link(page - 1, 'prev'), link(1, 'first'));
        if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
        return this.reply(req, res, url, body, 200, all.slice((page - 1) * perPage, page * perPage), links.length > 0 ? { link: links.join(', ') } : {});
      }
      if (method === 'POST') {
        if (typeof data.body !== 'string' || data.body === '') return this.reply(req, res, url, body, 422, { message: 'Validation Failed', errors: [{ resource: 'IssueComment', field: 'body', code: 'missing_field' }] });
        if (data.body.length > 65536) return this.reply(req, res, url, body, 422, { message: 'Validation Failed', errors: [{ resource: 'IssueComment', code: 'custom', field: 'body', message: 'body is too long (maximum is 65536 characters)' }] });
        return this.reply(req, res, url, body, 201, this.addComment(issue, data.body, who.login));
      }
    }
    if ((mm = /^\/issues\/comments\/(\d+)$/.exec(rest)) && method === 'PATCH') {
      const id = Number(mm[1]);
      const c = [...this.comments.values()].flat().find((x) => x.id === id);
      if (!c) return this.reply(req, res, url, body, 404, { message: 'Not Found' });
      if (c.user.login !== who.login) return this.reply(req, res, url, body, 403, { message: 'Resource not accessible by integration' });
      if (typeof data.body !== 'string' || data.body.length > 65536) return this.reply(req, res, url, body, 422, { message: 'Validation Failed' });
      c.body = data.body;
      c.updated_at = new Date().toISOString();
      return this.reply(req, res, url, body, 200, c);
    }
    if (rest === '/pulls' && method === 'GET') {
      const state = url.searchParams.get('state') ?? 'open';
      const head = url.searchParams.get('head');
      const list = this.pulls.filter((pr) => (state === 'all' || pr.state === state) && (head === null || pr.head.label === head));
      return this.reply(req, res, url, body, 200, list);
    }
    if (rest === '/pulls' && method === 'POST') {
      const head = String(data.head ?? '');
      const branch = head.includes(':') ? head.split(':')[1]! : head;
      const sha = await this.branchSha(branch);
      const base = String(data.base ?? '');
      if (!data.title) return this.reply(req, res, url, body, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'title', code: 'missing_field' }] });
      if (sha === undefined) return this.reply(req, res, url, body, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] });
      if ((await this.branchSha(base)) === undefined && this.options.gitDir) return this.reply(req, res, url, body, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'base', code: 'invalid' }] });
      const label = `${this.owner}:${branch}`;
      if (this.pulls.some((pr) => pr.state === 'open' && pr.head.label === label && pr.base.ref === base)) {
        return this.reply(req, res, url, body, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${label}.` }] });
      }
      const number = this.pulls.length + 1;
      const pr: FakePull = {
        number,
        title: String(data.title),
        body: String(data.body ?? ''),
        state: 'open',
        draft: data.draft === true,
        head: { ref: branch, sha, label, repo: { full_name: `${this.owner}/${this.repo}` } },
        base: { ref: base, repo: { full_name: `${this.owner}/${this.repo}` } },
        html_url: `https://github.test/${this.owner}/${this.repo}/pull/${number}`,
        user: { login: who.login },
      };
      this.pulls.push(pr);
      return this.reply(req, res, url, body, 201, pr);
    }
    if ((mm = /^\/pulls\/(\d+)$/.exec(rest))) {
      const pr = this.pulls.find((x) => x.number === Number(mm![1]));
      if (!pr) return this.reply(req, res, url, body, 404, { message: 'Not Found' });
      if (method === 'GET') return this.reply(req, res, url, body, 200, pr);
      if (method === 'PATCH') {
        if (typeof data.title === 'string') pr.title = data.title;
        if (typeof data.body === 'string') pr.body = data.body;
        if (data.state === 'open' || data.state === 'closed') pr.state = data.state;
        const sha = await this.branchSha(pr.head.ref);
        if (sha !== undefined) pr.head.sha = sha;
        return this.reply(req, res, url, body, 200, pr);
      }
    }
    // octokit sends {ref} URL-encoded (heads%2Fa%2Fb), as GitHub accepts; decode before matching
    if ((mm = /^\/git\/ref\/(.+)$/.exec(rest)) && method === 'GET' && decodeURIComponent(mm[1]!).startsWith('heads/')) {
      const branch = decodeURIComponent(mm[1]!).slice('heads/'.length);
      const sha = await this.branchSha(branch);
      if (sha === undefined) return this.reply(req, res, url, body, 404, { message: 'Not Found' });
      return this.reply(req, res, url, body, 200, refObject(this, branch, sha));
    }
    if (rest === '/git/refs' && method === 'POST') {
      const ref = String(data.ref ?? '');
      const sha = String(data.sha ?? '');
      if (!ref.startsWith('refs/heads/') || !/^[0-9a-f]{40}$/.test(sha)) return this.reply(req, res, url, body, 422, { message: 'Reference update failed' });
      const branch = ref.slice('refs/heads/'.length);
      if ((await this.branchSha(branch)) !== undefined) return this.reply(req, res, url, body, 422, { message: 'Reference already exists' });
      await this.setRef(branch, sha);
      return this.reply(req, res, url, body, 201, refObject(this, branch, sha));
    }
    if ((mm = /^\/git\/refs\/(.+)$/.exec(rest)) && method === 'PATCH' && decodeURIComponent(mm[1]!).startsWith('heads/')) {
      const branch = decodeURIComponent(mm[1]!).slice('heads/'.length);
      const sha = String(data.sha ?? '');
      if ((await this.branchSha(branch)) === undefined) return this.reply(req, res, url, body, 422, { message: 'Reference does not exist' });
      await this.setRef(branch, sha);
      return this.reply(req, res, url, body, 200, refObject(this, branch, sha));
    }
    return this.reply(req, res, url, body, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  }

  private async setRef(branch: string, sha: string): Promise<void> {
    if (this.options.gitDir) await execa('git', ['--git-dir', this.options.gitDir, 'update-ref', `refs/heads/${branch}`, sha]);
    else this.refs.set(branch, sha);
  }

  private reply(req: IncomingMessage, res: ServerResponse, url: URL, body: unknown, status: number, payload: unknown, headers: Record<string, string> = {}): void {
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      status,
    });
    send(res, status, payload, headers);
  }
}

function refObject(gh: FakeGitHub, branch: string, sha: string): unknown {
  return {
    ref: `refs/heads/${branch}`,
    node_id: `REF_${branch}`,
    url: `${gh.url}/repos/${gh.owner}/${gh.repo}/git/refs/heads/${branch}`,
    object: { sha, type: 'commit', url: `${gh.url}/repos/${gh.owner}/${gh.repo}/git/commits/${sha}` },
  };
}

function matches(path: RegExp | string | undefined, pathname: string): boolean {
  if (path === undefined) return true;
  return typeof path === 'string' ? path === pathname : path.test(pathname);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-github-api-version-selected': '2022-11-28',
    ...headers,
  });
  res.end(text);
}

/** Starts a FakeGitHub on 127.0.0.1 and an ephemeral port. */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  return new FakeGitHub(options).listen();
}
