import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CLOCK_BASE_NS } from '../clock.ts';

/**
 * A loopback OpenAI-compatible streaming server that emits tokens on a known schedule and records when it
 * actually wrote each chunk — the ground truth the harness is measured against. Serves `/v1/chat/completions`,
 * `/v1/completions` (stream or not) and `/v1/models`.
 */
export type FaultKind =
  /** 500 with a JSON error body. */
  | 'http_500'
  /** 429 rate limited. */
  | 'http_429'
  /** socket destroyed after `afterChunks` content chunks (connection reset mid-stream). */
  | 'reset'
  /** an undecodable `data:` line after `afterChunks` chunks. */
  | 'malformed'
  /** stops sending after `afterChunks` chunks and keeps the connection open. */
  | 'stall'
  /** an in-stream `{"error": …}` event after `afterChunks` chunks, then [DONE]. */
  | 'error_event'
  /** ends the response cleanly after `afterChunks` chunks, without [DONE]. */
  | 'truncate';

export interface FaultRule {
  kind: FaultKind;
  /** 0-based arrival indexes of the requests that fail this way. */
  at?: number[];
  /** Every n-th request (index % every === every − 1). */
  every?: number;
  /** Content chunks sent before a mid-stream fault; default 1. */
  afterChunks?: number;
}

export interface ReferenceServerOptions {
  /** Delay from request arrival to the first content chunk. Default 50. */
  ttftMs?: number;
  /** Delay between content chunks. Default 10. */
  itlMs?: number;
  /** Tokens carried by each content chunk (the last may carry fewer). Default 1. */
  tokensPerChunk?: number;
  /** Chat only: send a role-only first chunk (`delta: {role, content: ""}`) as soon as the request arrives. Default true. */
  roleChunk?: boolean;
  /** Output tokens when the request sets no max_tokens / max_completion_tokens. Default 16. */
  defaultOutputTokens?: number;
  /** Added to the word count of the prompt in `usage.prompt_tokens` (what a chat template adds). Default 0. */
  promptTokenOverhead?: number;
  /** Added to `usage.completion_tokens` (to simulate server/client tokenizer disagreement). Default 0. */
  completionTokenSkew?: number;
  /** Omit the usage chunk even when the request asks for it. Default false. */
  noUsage?: boolean;
  faults?: FaultRule[];
  /** Record every chunk's send time (tests); otherwise only the first and last. Default true. */
  recordChunks?: boolean;
  /** Clock base to log times against, so another process can compare them with its own. */
  clockBaseNs?: bigint;
  host?: string;
  port?: number;
}

/** What the server did for one request; times are ns on the monotonic clock relative to the clock base. */
export interface ServedRequest {
  index: number;
  requestId: string | undefined;
  path: string;
  receivedNs: number;
  /** Send time of the first content chunk (not the role chunk); -1 when none was sent. */
  firstContentNs: number;
  lastContentNs: number;
  /** Send time of each content chunk (when recordChunks). */
  chunkNs: number[];
  /** Tokens in each content chunk (when recordChunks). */
  chunkTokens: number[];
  outputTokens: number;
  promptTokens: number;
  fault: FaultKind | undefined;
  body: Record<string, unknown>;
}

export interface ReferenceServer {
  url: string;
  port: number;
  /** Requests served so far, in arrival order. */
  log(): ServedRequest[];
  clearLog(): void;
  close(): Promise<void>;
}

/** Output words: each is one token under o200k_base/cl100k_base when preceded by a space. */
export const OUTPUT_WORDS = ['the', 'of', 'and', 'to', 'in', 'is', 'that', 'it', 'for', 'on', 'with', 'as', 'was', 'at', 'by', 'be'];

export async function startReferenceServer(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const ttftNs = (options.ttftMs ?? 50) * 1e6;
  const itlNs = (options.itlMs ?? 10) * 1e6;
  const perChunk = Math.max(1, options.tokensPerChunk ?? 1);
  const roleChunk = options.roleChunk ?? true;
  const recordChunks = options.recordChunks ?? true;
  const base = options.clockBaseNs ?? CLOCK_BASE_NS;
  const now = (): number => Number(process.hrtime.bigint() - base);
  const served: ServedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let counter = 0;

  const faultFor = (index: number): FaultRule | undefined =>
    options.faults?.find((f) => f.at?.includes(index) || (f.every !== undefined && index % f.every === f.every - 1));

  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    const receivedNs = now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, receivedNs, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.on('connection', (s: Socket) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function handle(req: IncomingMessage, res: ServerResponse, receivedNs: number, raw: string): void {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'reference', object: 'model', owned_by: 'llm-recipes' }] }));
      return;
    }
    const chat = path === '/v1/chat/completions';
    if (req.method !== 'POST' || (!chat && path !== '/v1/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${path}`, type: 'not_found' } }));
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'invalid JSON body', type: 'invalid_request_error' } }));
      return;
    }
    // benchmark requests are numbered in arrival order; probes and bad routes are not counted
    const index = counter++;
    const rule = faultFor(index);
    const requestId = req.headers['x-request-id'] as string | undefined;
    const n = Number(body['max_completion_tokens'] ?? body['max_tokens'] ?? options.defaultOutputTokens ?? 16);
    const promptText = chat
      ? ((body['messages'] as { content?: string }[] | undefined) ?? []).map((m) => m.content ?? '').join(' ')
      : String(body['prompt'] ?? '');
    const promptTokens = countWords(promptText) + (options.promptTokenOverhead ?? 0);
    const rec: ServedRequest = {
      index,
      requestId,
      path,
      receivedNs,
      firstContentNs: -1,
      lastContentNs: -1,
      chunkNs: [],
      chunkTokens: [],
      outputTokens: n,
      promptTokens,
      fault: rule?.kind,
      body,
    };
    served.push(rec);
    if (rule?.kind === 'http_500' || rule?.kind === 'http_429') {
      const status = rule.kind === 'http_500' ? 500 : 429;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `reference server fault ${rule.kind}`, type: 'server_error', code: status } }));
      return;
    }
    const id = `ref-${index}`;
    const created = Math.floor(Date.now() / 1000);
    const model = String(body['model'] ?? 'reference');
    const streamOpts = (body['stream_options'] ?? {}) as { include_usage?: boolean; continuous_usage_stats?: boolean };
    const usage = (completion: number) => ({
      prompt_tokens: promptTokens,
      completion_tokens: completion + (options.completionTokenSkew ?? 0),
      total_tokens: promptTokens + completion + (options.completionTokenSkew ?? 0),
    });
    const text = (from: number, k: number): string => {
      let s = '';
      for (let i = from; i < from + k; i++) s += ` ${OUTPUT_WORDS[i % OUTPUT_WORDS.length]}`;
      return s;
    };

    if (body['stream'] !== true) {
      // non-streaming: answer once the whole output would have been generated
      const t = setTimeout(() => {
        timers.delete(t);
        const content = text(0, n);
        const choice = chat
          ? { index: 0, message: { role: 'assistant', content }, finish_reason: 'length' }
          : { index: 0, text: content, finish_reason: 'length' };
        rec.firstContentNs = rec.lastContentNs = now();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id, object: chat ? 'chat.completion' : 'text_completion', created, model, choices: [choice], usage: usage(n) }));
      }, Math.round((ttftNs + itlNs * Math.max(0, Math.ceil(n / perChunk) - 1)) / 1e6));
      timers.add(t);
      return;
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const object = chat ? 'chat.completion.chunk' : 'text_completion';
    const frame = (choice: object, extra?: object): string =>
      `data: ${JSON.stringify({ id, object, created, model, choices: [choice], ...extra })}\n\n`;
    const framePrefix = `data: {"id":"${id}","object":"${object}","created":${created},"model":${JSON.stringify(model)},"choices":[{"index":0,${chat ? '"delta":{"content":"' : '"text":"'}`;
    const frameMid = `"${chat ? '}' : ''},"finish_reason":null}]}\n\n`;
    const frameLast = `"${chat ? '}' : ''},"finish_reason":"length"}]}\n\n`;
    if (chat && roleChunk) res.write(frame({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }));

    const totalChunks = Math.max(1, Math.ceil(n / perChunk));
    const faultAfter = rule ? (rule.afterChunks ?? 1) : Number.POSITIVE_INFINITY;
    let sent = 0;
    let tokens = 0;
    const step = (): void => {
      if (res.destroyed) return;
      if (sent >= faultAfter && rule) {
        switch (rule.kind) {
          case 'reset':
            res.socket?.destroy();
            return;
          case 'malformed':
            res.write('data: {"choices": [{"delta": {"content": "x"\n\n');
            res.end('data: [DONE]\n\n');
            return;
          case 'stall':
            return; // keep the socket open, send nothing more
          case 'error_event':
            res.write(`data: ${JSON.stringify({ error: { message: 'reference server fault', type: 'internal_error', code: 500 } })}\n\n`);
            res.end('data: [DONE]\n\n');
            return;
          case 'truncate':
            res.end();
            return;
          default:
            break;
        }
      }
      const k = Math.min(perChunk, n - tokens);
      const piece = text(tokens, k);
      tokens += k;
      sent++;
      const last = sent >= totalChunks;
      let payload: string;
      if (streamOpts.continuous_usage_stats && !options.noUsage) {
        const choice = chat
          ? { index: 0, delta: { content: piece }, finish_reason: last ? 'length' : null }
          : { index: 0, text: piece, finish_reason: last ? 'length' : null };
        payload = frame(choice, { usage: usage(tokens) });
      } else {
        // hot path of the reference server: plain concatenation (words need no JSON escaping) keeps its own
        // overhead out of the client measurement
        payload = `${framePrefix}${piece}${last ? frameLast : frameMid}`;
      }
      const t = now();
      res.write(payload);
      if (rec.firstContentNs < 0) rec.firstContentNs = t;
      rec.lastContentNs = t;
      if (recordChunks) {
        rec.chunkNs.push(t);
        rec.chunkTokens.push(k);
      }
      if (last) {
        if (streamOpts.include_usage && !options.noUsage) res.write(`data: ${JSON.stringify({ id, object, created, model, choices: [], usage: usage(tokens) })}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
      schedule(receivedNs + ttftNs + sent * itlNs);
    };
    // absolute deadlines: lateness of one chunk does not shift the rest of the schedule
    // timers can fire up to ~1 ms early against the monotonic clock; re-arm until the deadline has passed so a
    // chunk is never sent before its scheduled time (the schedule is the truth tests compare against)
    const schedule = (deadline: number): void => {
      const t = setTimeout(() => {
        timers.delete(t);
        if (now() < deadline) schedule(deadline);
        else step();
      }, Math.max(0, Math.ceil((deadline - now()) / 1e6)));
      timers.add(t);
    };
    schedule(receivedNs + ttftNs);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    log: () => served,
    clearLog: () => {
      served.length = 0;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c === 32 || c === 10 || c === 9 || c === 13;
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}
