import { createRequire } from 'node:module';
import type { Dispatcher, Pool } from 'undici';
import { UserError } from '@llm-recipes/errors';
import { monoNow } from './clock.ts';
import { SseParser, type SseEvent } from './sse.ts';

export type Api = 'chat' | 'completions';

/** Why a request failed; every failed request carries exactly one class. */
export const ERROR_CLASSES = ['http', 'connect', 'reset', 'malformed', 'timeout', 'stall', 'stream_error', 'incomplete', 'empty'] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** A request ready to send: the body is serialised before the clock starts. */
export interface PreparedRequest {
  /** Position in the run (0-based). */
  index: number;
  /** Sent as `x-request-id` so server logs and traces can be joined with records. */
  requestId: string;
  body: Buffer;
  /** Prompt tokens under the client's tokenizer. */
  inputTokens: number;
  /** Requested output tokens (max_tokens / max_completion_tokens). */
  outputTokens: number;
}

/** What the client observed for one request. Times are ns on the harness clock (see clock.ts). */
export interface Observation {
  sentNs: number;
  /** Response headers received (HTTP status known); -1 if never. */
  headersNs: number;
  /** Arrival (first byte) of each content-bearing chunk. */
  chunkNs: number[];
  /** Text of each content-bearing chunk (kept only until post-processing). */
  chunkText: string[];
  /** Tokens per content chunk from continuous usage deltas, when the server sends them. */
  chunkTokens: number[] | null;
  endNs: number;
  status: number;
  /** Server usage; cachedTokens from `prompt_tokens_details.cached_tokens` (prefix-cache hits) when reported. */
  usage: { promptTokens: number; completionTokens: number; cachedTokens: number | null } | null;
  finishReason: string | null;
  error: { class: ErrorClass; message: string } | null;
}

export interface ClientOptions {
  /** Base URL (`http://host:8000`, `…/v1`) or the full completions URL. */
  endpoint: string;
  api: Api;
  /** Connections in the keep-alive pool; size it to the peak concurrency. */
  connections: number;
  /** Whole-request deadline. */
  timeoutMs: number;
  /** Longest silence allowed once the request is sent (no headers or no bytes). Defaults to timeoutMs. */
  stallTimeoutMs?: number | undefined;
  headers?: Record<string, string> | undefined;
}

/** Resolves the request path for an endpoint given as a base URL or a full URL. */
export function resolveEndpoint(endpoint: string, api: Api): { origin: string; path: string } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UserError('BAD_ENDPOINT', `--endpoint is not a URL: ${endpoint}`, { hint: 'e.g. --endpoint http://127.0.0.1:8000' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError('BAD_ENDPOINT', `--endpoint must be http(s), got ${url.protocol}`, { hint: 'e.g. --endpoint http://127.0.0.1:8000' });
  }
  const suffix = api === 'chat' ? '/chat/completions' : '/completions';
  let path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith('/chat/completions') || path.endsWith('/completions')) {
    // a full URL wins over --api's default path
  } else if (path.endsWith('/v1')) path += suffix;
  else path += `/v1${suffix}`;
  return { origin: url.origin, path: path + url.search };
}

// undici (≈110 modules) is loaded by the first client, not by importing the package: the simulator and the renderer
// import it for small helpers. It is CommonJS, so this is the same instance an `import 'undici'` would get.
let undiciModule: typeof import('undici') | undefined;
const undici = (): typeof import('undici') => (undiciModule ??= createRequire(import.meta.url)('undici') as typeof import('undici'));

/**
 * Streaming OpenAI client over an undici Pool: keep-alive connections (pipelining 1, one request per
 * connection at a time), raw dispatch handlers (no stream objects per request), timestamps at each `data` callback
 * before any parsing, and one sweeper timer for timeouts instead of a timer per chunk.
 */
export class OpenAIClient {
  readonly origin: string;
  readonly path: string;
  readonly api: Api;
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;
  private readonly timeoutNs: number;
  private readonly stallNs: number;
  private readonly inflight = new Set<RequestHandler>();
  private sweeper: NodeJS.Timeout | null = null;
  private readonly sweepMs: number;

  constructor(options: ClientOptions) {
    const { origin, path } = resolveEndpoint(options.endpoint, options.api);
    this.origin = origin;
    this.path = path;
    this.api = options.api;
    this.pool = new (undici().Pool)(origin, {
      connections: Math.max(1, options.connections),
      pipelining: 1,
      keepAliveTimeout: 120_000,
      keepAliveMaxTimeout: 600_000,
      // the harness enforces its own deadlines (timeout/stall) so it can classify them
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { noDelay: true, keepAlive: true },
    });
    this.headers = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...options.headers,
    };
    this.timeoutNs = options.timeoutMs * 1e6;
    this.stallNs = (options.stallTimeoutMs ?? options.timeoutMs) * 1e6;
    this.sweepMs = Math.min(250, Math.max(5, Math.min(options.timeoutMs, options.stallTimeoutMs ?? options.timeoutMs) / 20));
  }

  /**
   * Opens `n` connections before the clock starts (concurrent GETs of /v1/models), so no connect time lands
   * inside a measured TTFT. Returns how many probes got any HTTP response.
   */
  async preconnect(n: number): Promise<number> {
    const modelsPath = this.path.replace(/\/(chat\/)?completions(\?.*)?$/, '/models');
    const probes = Array.from({ length: n }, () =>
      this.pool
        .request({ method: 'GET', path: modelsPath, headers: { accept: 'application/json' }, headersTimeout: 10_000, bodyTimeout: 10_000 })
        .then(async (r) => {
          await r.body.dump();
          return 1;
        })
        .catch(() => 0),
    );
    return (await Promise.all(probes)).reduce<number>((a, b) => a + b, 0);
  }

  /** Sends one request; never rejects — failures come back classified in `error`. */
  send(req: PreparedRequest): Promise<Observation> {
    return new Promise<Observation>((resolve) => {
      const handler = new RequestHandler(this.api, (obs) => {
        this.inflight.delete(handler);
        if (this.inflight.size === 0 && this.sweeper) {
          clearInterval(this.sweeper);
          this.sweeper = null;
        }
        resolve(obs);
      });
      this.inflight.add(handler);
      if (!this.sweeper) {
        this.sweeper = setInterval(() => this.sweep(), this.sweepMs);
        this.sweeper.unref();
      }
      handler.obs.sentNs = monoNow();
      handler.lastByteNs = handler.obs.sentNs;
      this.pool.dispatch(
        {
          method: 'POST',
          path: this.path,
          headers: { ...this.headers, 'x-request-id': req.requestId },
          body: req.body,
        },
        handler,
      );
    });
  }

  private sweep(): void {
    const now = monoNow();
    for (const h of this.inflight) {
      if (now - h.obs.sentNs > this.timeoutNs) h.fail('timeout', `no complete response within ${this.timeoutNs / 1e6} ms`);
      else if (now - h.lastByteNs > this.stallNs) h.fail('stall', `no bytes for ${this.stallNs / 1e6} ms`);
    }
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.pool.destroy();
  }
}

const MAX_ERROR_BODY = 4096;
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

class RequestHandler implements Dispatcher.DispatchHandler {
  readonly obs: Observation = {
    sentNs: 0,
    headersNs: -1,
    chunkNs: [],
    chunkText: [],
    chunkTokens: null,
    endNs: -1,
    status: 0,
    usage: null,
    finishReason: null,
    error: null,
  };
  lastByteNs = 0;
  private controller: Dispatcher.DispatchController | null = null;
  private readonly parser: SseParser;
  private readonly chat: boolean;
  private done = false;
  private settled = false;
  private errorBody = '';
  private lastCompletion = 0;
  private chunkUsageBroken = false;
  private readonly onSettle: (obs: Observation) => void;
  private pendingFail: { class: ErrorClass; message: string } | null = null;

  constructor(api: Api, onSettle: (obs: Observation) => void) {
    this.chat = api === 'chat';
    this.onSettle = onSettle;
    this.parser = new SseParser((ev) => this.onEvent(ev));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingFail) controller.abort(new Error(this.pendingFail.message));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    const t = monoNow();
    if (statusCode < 200) return; // 1xx informational
    this.obs.headersNs = t;
    this.lastByteNs = t;
    this.obs.status = statusCode;
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    // timestamp first: nothing below (parsing, JSON) is charged to the token
    const t = monoNow();
    this.lastByteNs = t;
    if (this.settled) return;
    if (this.obs.status >= 300) {
      if (this.errorBody.length < MAX_ERROR_BODY) this.errorBody += chunk.toString('utf8', 0, Math.min(chunk.length, MAX_ERROR_BODY));
      return;
    }
    try {
      this.parser.push(chunk, t);
    } catch (err) {
      this.fail('malformed', (err as Error).message);
    }
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.obs.endNs = monoNow();
    if (this.obs.status >= 300 || this.obs.status < 200) {
      this.settle({ class: 'http', message: `HTTP ${this.obs.status}${this.errorBody ? `: ${this.errorBody.slice(0, 500)}` : ''}` });
    } else if (!this.done && this.obs.finishReason === null) {
      this.settle({
        class: 'incomplete',
        message: this.parser.pending ? 'stream ended inside an SSE event' : 'stream ended without [DONE] or a finish_reason',
      });
    } else this.settle(null);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    this.obs.endNs = monoNow();
    if (this.pendingFail) {
      this.settle(this.pendingFail);
      return;
    }
    const code = (err as { code?: string }).code ?? '';
    // could not reach the server at all vs. a connection that dropped while the request was in flight
    const klass: ErrorClass = CONNECT_CODES.has(code) ? 'connect' : 'reset';
    this.settle({ class: klass, message: `${code ? `${code}: ` : ''}${err.message}` });
  }

  /** Aborts the request with a classification (timeouts, stalls, malformed events, in-stream errors). */
  fail(klass: ErrorClass, message: string): void {
    if (this.settled || this.pendingFail) return;
    this.pendingFail = { class: klass, message };
    if (this.controller) this.controller.abort(new Error(message));
    // undici calls onResponseError after abort; settle here too in case the request never started
    queueMicrotask(() => {
      if (!this.settled) {
        this.obs.endNs = monoNow();
        this.settle(this.pendingFail);
      }
    });
  }

  private settle(error: { class: ErrorClass; message: string } | null): void {
    if (this.settled) return;
    this.settled = true;
    this.obs.error = error;
    this.onSettle(this.obs);
  }

  private onEvent(ev: SseEvent): void {
    if (this.settled) return;
    const data = ev.data;
    if (data === '[DONE]') {
      this.done = true;
      return;
    }
    let msg: ChunkMessage;
    try {
      msg = JSON.parse(data) as ChunkMessage;
    } catch {
      this.fail('malformed', `SSE data is not JSON: ${data.slice(0, 120)}`);
      return;
    }
    if (msg === null || typeof msg !== 'object') {
      this.fail('malformed', `SSE data is not a JSON object: ${data.slice(0, 120)}`);
      return;
    }
    if (ev.event === 'error' || msg.error !== undefined) {
      const e = msg.error;
      const text = typeof e === 'string' ? e : (e?.message ?? data.slice(0, 200));
      this.fail('stream_error', `server error event: ${text}`);
      return;
    }
    const choice = msg.choices?.[0];
    let content: string | undefined;
    if (choice) {
      if (this.chat) {
        const d = choice.delta;
        // reasoning tokens are output tokens too; tool calls count as content
        content = d?.content || d?.reasoning_content || d?.reasoning || (d?.tool_calls ? JSON.stringify(d.tool_calls) : undefined);
      } else content = choice.text;
      if (choice.finish_reason) this.obs.finishReason = choice.finish_reason;
    }
    const usage = msg.usage;
    if (content) {
      this.obs.chunkNs.push(ev.t);
      this.obs.chunkText.push(content);
      if (usage && typeof usage.completion_tokens === 'number' && !this.chunkUsageBroken) {
        // continuous usage stats: the delta is this chunk's token count (exact per-token ITL)
        (this.obs.chunkTokens ??= []).push(usage.completion_tokens - this.lastCompletion);
      } else {
        // a content chunk without usage: per-chunk counts would be partial, so drop them
        this.chunkUsageBroken = true;
        this.obs.chunkTokens = null;
      }
    }
    if (usage && typeof usage.completion_tokens === 'number') {
      this.lastCompletion = usage.completion_tokens;
      const cached = usage.prompt_tokens_details?.cached_tokens;
      this.obs.usage = {
        promptTokens: usage.prompt_tokens ?? 0,
        completionTokens: usage.completion_tokens,
        cachedTokens: typeof cached === 'number' ? cached : null,
      };
    }
  }
}

interface ChunkMessage {
  error?: { message?: string } | string;
  choices?: {
    delta?: { content?: string | null; reasoning_content?: string | null; reasoning?: string | null; tool_calls?: unknown };
    text?: string;
    finish_reason?: string | null;
  }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
}
