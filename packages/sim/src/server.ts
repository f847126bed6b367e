import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SimCluster, type StepModelFactory, parametricStepModels } from './cluster.ts';
import { resolveSimConfig, type SimConfig, type SimConfigInput } from './config.ts';
import { nowMs } from './clock.ts';
import { addDeliveryProbe, idleNow } from './idle-gc.ts';
import { DeliveryPacer, type PacedStream } from './pacer.ts';
import type { FinishReason, Sequence, StepTrace } from './engine.ts';
import { SimMetrics, type EngineSample } from './metrics.ts';
import { createRng } from '@llm-recipes/bench';
import { mixSeed } from './rng.ts';
import { OutputStream, drawEosLength, encodeText, outputWords } from './tokens.ts';

export interface SimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Step-time model per pool; the parametric default when absent. */
  stepModels?: StepModelFactory;
  /** Called after every engine step (schedule accuracy and step handling cost, for benchmarks and diagnostics). */
  onStep?: (trace: StepTrace) => void;
}

/** Counters a test or the CLI can read without scraping. */
export interface SimulatorSnapshot {
  requests: { accepted: number; rejected: Record<string, number>; finished: Record<string, number> };
  promptTokens: number;
  generationTokens: number;
  prefixHitTokens: number;
  prefixQueryTokens: number;
  preemptions: number;
  engines: EngineSample[];
  routed: Record<string, number[]>;
  /** How far step ends fired after their intended time, wall ms. */
  schedule: { steps: number; meanLateMs: number; maxLateMs: number };
}

export interface RunningSimulator {
  url: string;
  config: SimConfig;
  cluster: SimCluster;
  metrics(): SimulatorSnapshot;
  /** Stops accepting, aborts in-flight requests and closes every connection. */
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  constructor(status: number, type: string, message: string, param: string | null = null, code: string | null = null) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }
}

const MAX_BODY = 64 * 1024 * 1024;

// Every content chunk is the request's constant head (id, object, created, model) followed by one of these tails,
// so emitting a token is one concatenation: no JSON.stringify, no object per chunk. Words are ASCII, so a tail's
// byte length is its string length.
// Built on the first request: the words come from the tokenizer, which importing this package does not load.
let tailCache: { chat: string[]; completions: string[] } | undefined;
const tailsOf = (api: 'chat' | 'completions'): string[] =>
  (tailCache ??= {
    chat: outputWords().map((w) => `"delta":{"content":${JSON.stringify(w)}},"logprobs":null,"finish_reason":null}]}\n\n`),
    completions: outputWords().map((w) => `"text":${JSON.stringify(w)},"logprobs":null,"finish_reason":null}]}\n\n`),
  })[api];
const lastTail = (api: 'chat' | 'completions', w: number, reason: string): string =>
  api === 'chat'
    ? `"delta":{"content":${JSON.stringify(outputWords()[w])}},"logprobs":null,"finish_reason":"${reason}"}]}\n\n`
    : `"text":${JSON.stringify(outputWords()[w])},"logprobs":null,"finish_reason":"${reason}"}]}\n\n`;

/**
 * Writes SSE events of one streamed response. On an HTTP/1.1 response that owns its socket (not queued behind a
 * pipelined one), each event goes straight to the socket as one chunked-encoding frame: one `socket.write` (one
 * syscall, one TCP segment with Nagle off) per token, without ServerResponse's per-write cork, nextTick uncork and
 * four-part writev. Otherwise (HTTP/1.0, pipelining) it falls back to `res.write`. `res.end()` still closes the
 * response, so keep-alive bookkeeping and the terminating zero-length chunk stay Node's.
 */
class SseWriter {
  private readonly res: ServerResponse;
  private readonly socket: Socket | null;
  private readonly head: string;
  private readonly headBytes: number;

  constructor(req: IncomingMessage, res: ServerResponse, head: string) {
    this.res = res;
    this.head = head;
    this.headBytes = Buffer.byteLength(head);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    // res.socket is only set while this response is the connection's current one; chunked framing needs HTTP/1.1
    const sock = res.socket;
    this.socket = req.httpVersion === '1.1' && sock !== null && res.chunkedEncoding ? sock : null;
  }

  /** Writes `head + tail` (tail ASCII) as one event. */
  event(tail: string): void {
    const sock = this.socket;
    if (sock === null) {
      if (!this.res.writableEnded && !this.res.destroyed) this.res.write(this.head + tail);
      return;
    }
    if (sock.destroyed || !sock.writable) return;
    sock.write(`${(this.headBytes + tail.length).toString(16)}\r\n${this.head}${tail}\r\n`);
  }

  /** Writes an arbitrary event (rare: role and usage chunks), byte length computed. */
  raw(text: string): void {
    const sock = this.socket;
    if (sock === null) {
      if (!this.res.writableEnded && !this.res.destroyed) this.res.write(text);
      return;
    }
    if (sock.destroyed || !sock.writable) return;
    sock.write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
  }
}

/** Starts the OpenAI-compatible simulator; resolves once it listens. */
export async function startSimulator(input: SimConfigInput | SimConfig = {}, options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const config = resolveSimConfig(input as SimConfigInput);
  const cluster = new SimCluster(config, options.stepModels ?? parametricStepModels, options.onStep);
  // streamed tokens leave through the pacer (see pacer.ts); its offsets are simulated time like every other knob
  const pacer = new DeliveryPacer(config.paceUs / config.speedup, idleNow);
  const dropProbe = addDeliveryProbe(() => pacer.pending > 0);
  const metrics = new SimMetrics(config.model.name, config.model.maxModelLen);
  const faultRng = createRng(config.seed ^ 0x2545f491);
  const startedAt = nowMs();
  const created = Math.floor(Date.now() / 1000);
  const stats = { accepted: 0, rejected: {} as Record<string, number>, finished: {} as Record<string, number> };
  let nextId = 0;
  let closing = false;

  const isReady = (): boolean => nowMs() - startedAt >= config.faults.readyDelayMs;

  // noDelay: each token is its own TCP segment at once; Nagle would hold it behind an unacknowledged one
  const server = createServer({ keepAlive: true, noDelay: true, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendError(res, err);
      sendError(res, new HttpError(500, 'InternalServerError', err instanceof Error ? err.message : String(err)));
    });
  });
  server.keepAliveTimeout = 65_000;

  function reject(err: HttpError): never {
    stats.rejected[String(err.status)] = (stats.rejected[String(err.status)] ?? 0) + 1;
    throw err;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/health' || path === '/health/ready')) {
      res.writeHead(isReady() && !closing ? 200 : 503, { 'content-length': 0 }).end();
      return;
    }
    if (req.method === 'GET' && path === '/live') {
      res.writeHead(200, { 'content-length': 0 }).end();
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      const body = metrics.render(cluster.samples());
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: [
          {
            id: config.model.name,
            object: 'model',
            created,
            owned_by: 'vllm',
            root: config.model.name,
            parent: null,
            max_model_len: config.model.maxModelLen,
          },
        ],
      });
      return;
    }
    if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/completions')) {
      const body = await readJson(req);
      if (!isReady() || closing) reject(new HttpError(503, 'ServiceUnavailableError', 'The model is not ready yet.'));
      await completion(path === '/v1/chat/completions' ? 'chat' : 'completions', body, req, res);
      return;
    }
    throw new HttpError(404, 'NotFoundError', `No route for ${req.method} ${path}.`);
  }

  async function completion(api: 'chat' | 'completions', body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivalMs = nowMs();
    if (body.model !== undefined && body.model !== config.model.name)
      reject(new HttpError(404, 'NotFoundError', `The model \`${String(body.model)}\` does not exist.`, 'model', 'model_not_found'));
    const promptIds = api === 'chat' ? encodeText(chatText(body.messages)) : completionPrompt(body.prompt);
    const n = body.n ?? 1;
    if (n !== 1) reject(new HttpError(400, 'BadRequestError', 'Only n=1 is supported by the simulator.', 'n'));
    const maxLen = config.model.maxModelLen;
    const maxTokens = optInt(body.max_completion_tokens, 'max_completion_tokens') ?? optInt(body.max_tokens, 'max_tokens') ?? Math.max(1, maxLen - promptIds.length);
    if (maxTokens < 1) reject(new HttpError(400, 'BadRequestError', 'max_tokens must be at least 1.', 'max_tokens'));
    const minTokens = optInt(body.min_tokens, 'min_tokens') ?? 0;
    if (minTokens > maxTokens)
      reject(new HttpError(400, 'BadRequestError', `min_tokens (${minTokens}) must be less than or equal to max_tokens (${maxTokens}).`, 'min_tokens'));
    if (promptIds.length + maxTokens > maxLen)
      reject(
        new HttpError(
          400,
          'BadRequestError',
          `This model's maximum context length is ${maxLen} tokens. However, you requested ${promptIds.length + maxTokens} tokens (${promptIds.length} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
          'messages',
        ),
      );
    if (promptIds.length + maxTokens > cluster.maxSequenceTokens)
      reject(
        new HttpError(
          400,
          'BadRequestError',
          `The request needs ${promptIds.length + maxTokens} tokens of KV cache but one worker holds ${cluster.maxSequenceTokens}.`,
          'max_tokens',
        ),
      );
    if (config.faults.errorRate > 0 && faultRng() < config.faults.errorRate)
      reject(new HttpError(500, 'InternalServerError', 'Injected fault: the simulated engine failed this request.'));

    const ignoreEos = body.ignore_eos === true;
    const reqSeed = typeof body.seed === 'number' ? body.seed : 0;
    const seed = mixSeed(config.seed ^ reqSeed, promptIds);
    const outRand = createRng(seed);
    const outputTokens = ignoreEos ? maxTokens : drawEosLength(outRand, config.meanOutputTokens, Math.max(1, minTokens), maxTokens);
    const finishReason = outputTokens >= maxTokens ? 'length' : 'stop';
    const words = new OutputStream(seed ^ 0x9e3779b9);
    const stall =
      config.faults.stallMs > 0 && faultRng() < config.faults.stallRate
        ? { afterTokens: Math.max(1, Math.floor(outputTokens / 2)), ms: config.faults.stallMs }
        : undefined;
    const cutAfter = config.faults.disconnectRate > 0 && faultRng() < config.faults.disconnectRate ? Math.max(1, Math.floor(outputTokens / 2)) : -1;

    const stream = body.stream === true;
    const so = body.stream_options as { include_usage?: unknown } | undefined;
    const includeUsage = stream ? so?.include_usage === true : true;
    const id = `${api === 'chat' ? 'chatcmpl' : 'cmpl'}-sim${(nextId++).toString(36)}`;
    const object = api === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const head = `data: {"id":"${id}","object":"${object}","created":${created},"model":${JSON.stringify(config.model.name)},"choices":[{"index":0,`;
    const text: string[] = [];
    const tails = tailsOf(api);
    // the writer and the paced stream are created once the request is accepted (tokens start a step later at the earliest)
    let paced: PacedStream | undefined;
    /** The injected disconnect fired: the stream's last delivery drops the connection. */
    let cut = false;
    /** The last token's event, held for one write with the usage chunk and [DONE] (same step, same instant). */
    let lastEvent = '';
    let emitted = 0;
    let scheduledAt: number | undefined;
    let ended = false;

    const usage = (seq: Sequence | undefined) => ({
      prompt_tokens: promptIds.length,
      total_tokens: promptIds.length + emitted,
      completion_tokens: emitted,
      prompt_tokens_details: { cached_tokens: seq?.cachedTokens ?? 0 },
    });

    const handle = cluster.submit(
      { id, promptIds, outputTokens, finishReason, nextWord: () => words.nextIndex(), stall, arrivalMs },
      {
        onScheduled: (t) => {
          scheduledAt = t;
          metrics.observe('request_queue_time_seconds', Math.max(0, t - arrivalMs) / 1000);
        },
        onToken: (w, t, seq) => {
          emitted++;
          if (emitted === 1) metrics.observe('time_to_first_token_seconds', Math.max(0, t - arrivalMs) / 1000);
          else {
            const itl = (t - seq.lastTokenPrevMs) / 1000;
            metrics.observe('inter_token_latency_seconds', itl);
            metrics.observe('time_per_output_token_seconds', itl);
          }
          seq.lastTokenPrevMs = t;
          if (!stream) text.push(outputWords()[w]!);
          else if (emitted === cutAfter) {
            // injected mid-stream disconnect: this token is the last thing the client gets, then the connection dies
            cut = true;
            if (paced) pacer.push(paced, t, emitted === outputTokens ? lastTail(api, w, finishReason) : tails[w]!, true);
            ended = true;
            handle?.abort();
          } else if (emitted !== outputTokens) {
            if (paced) pacer.push(paced, t, tails[w]!);
          } else lastEvent = head + lastTail(api, w, finishReason); // onFinish follows at once
        },
        onFinish: (reason, t, seq) => {
          stats.finished[reason] = (stats.finished[reason] ?? 0) + 1;
          metrics.countFinish(reason);
          observeFinish(reason, t, seq);
          if (ended || reason === 'abort') {
            if (!ended) {
              if (paced) pacer.close(paced);
              if (!res.writableEnded) res.destroy();
            }
            ended = true;
            return;
          }
          ended = true;
          if (stream) {
            const usageEvent = includeUsage ? `${head.slice(0, head.lastIndexOf('"choices"'))}"choices":[],"usage":${JSON.stringify(usage(seq))}}\n\n` : '';
            // the last token, the usage chunk and [DONE] leave together at the last token's delivery time
            if (paced) pacer.push(paced, t, `${lastEvent}${usageEvent}data: [DONE]\n\n`, true);
          } else {
            const content = text.join('');
            const choice =
              api === 'chat'
                ? { index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: reason }
                : { index: 0, text: content, logprobs: null, finish_reason: reason };
            sendJson(res, 200, {
              id,
              object: api === 'chat' ? 'chat.completion' : 'text_completion',
              created,
              model: config.model.name,
              choices: [choice],
              usage: usage(seq),
            });
          }
        },
      },
    );

    function observeFinish(reason: FinishReason, t: number, seq: Sequence | undefined): void {
      if (reason === 'abort') return;
      metrics.observe('e2e_request_latency_seconds', (t - arrivalMs) / 1000);
      metrics.observe('request_prompt_tokens', promptIds.length);
      metrics.observe('request_generation_tokens', emitted);
      metrics.observe('request_params_max_tokens', maxTokens);
      const first = seq?.firstTokenMs ?? t;
      const sched = scheduledAt ?? arrivalMs;
      metrics.observe('request_prefill_time_seconds', Math.max(0, first - sched) / 1000);
      metrics.observe('request_decode_time_seconds', Math.max(0, t - first) / 1000);
      metrics.observe('request_inference_time_seconds', Math.max(0, t - sched) / 1000);
      if (emitted > 1) metrics.observe('request_time_per_output_token_seconds', (t - first) / 1000 / (emitted - 1));
    }

    if (!handle) {
      reject(new HttpError(429, 'TooManyRequestsError', 'The server is overloaded: the waiting queue is full. Retry later.', null, 'queue_full'));
    }
    stats.accepted++;
    if (stream) {
      const writer = new SseWriter(req, res, head);
      if (api === 'chat') writer.event(`"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`);
      paced = pacer.open((payload, last) => {
        if (!last) writer.event(payload);
        else if (cut) {
          writer.event(payload);
          // let the frame reach the socket first, then drop the connection without a final chunk
          setImmediate(() => res.destroy());
        } else {
          writer.raw(payload);
          res.end();
        }
      });
    }
    res.on('close', () => {
      if (paced) pacer.close(paced);
      if (!ended) {
        ended = true;
        handle.abort();
      }
    });
  }

  function sendError(res: ServerResponse, err: HttpError): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, err.status, { error: { message: err.message, type: err.type, param: err.param, code: err.code ?? err.status } });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  return {
    url: `http://${host}:${addr.port}`,
    config,
    cluster,
    metrics: () => {
      const engines = cluster.samples();
      const sum = (f: (e: EngineSample) => number): number => engines.reduce((a, e) => a + f(e), 0);
      let steps = 0;
      let lateSum = 0;
      let lateMax = 0;
      for (const w of cluster.workers) {
        steps += w.counters.steps;
        lateSum += w.counters.lateSumMs;
        lateMax = Math.max(lateMax, w.counters.lateMaxMs);
      }
      return {
        requests: { accepted: stats.accepted, rejected: { ...stats.rejected }, finished: { ...stats.finished } },
        promptTokens: sum((e) => e.promptTokens),
        generationTokens: sum((e) => e.generationTokens),
        prefixHitTokens: sum((e) => e.prefixHits),
        prefixQueryTokens: sum((e) => e.prefixQueries),
        preemptions: sum((e) => e.preemptions),
        engines,
        routed: { ...cluster.routed },
        schedule: { steps, meanLateMs: steps ? lateSum / steps : 0, maxLateMs: lateMax },
      };
    },
    close: async () => {
      closing = true;
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      cluster.stop();
      pacer.stop();
      dropProbe();
      server.closeIdleConnections();
      // give aborted streams a tick to flush their teardown, then cut whatever is left
      await new Promise((r) => setImmediate(r));
      server.closeAllConnections();
      await done;
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, 'BadRequestError', `Request body exceeds ${MAX_BODY} bytes.`);
    chunks.push(c);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'BadRequestError', `Request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new HttpError(400, 'BadRequestError', 'Request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

function optInt(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new HttpError(400, 'BadRequestError', `${name} must be an integer.`, name);
  return v;
}

/**
 * Chat prompts are counted as the plain concatenation of every message's text content (no role or template
 * tokens), the convention the benchmark harness uses when it builds prompts of an exact length.
 */
export function chatText(messages: unknown): string {
  if (!Array.isArray(messages) || messages.length === 0)
    throw new HttpError(400, 'BadRequestError', 'messages must be a non-empty array.', 'messages');
  let out = '';
  for (const m of messages) {
    const content = (m as { content?: unknown } | null)?.content;
    if (typeof content === 'string') out += content;
    else if (Array.isArray(content)) {
      for (const part of content) {
        const p = part as { type?: unknown; text?: unknown };
        if (p?.type === 'text' && typeof p.text === 'string') out += p.text;
      }
    } else if (content !== null && content !== undefined)
      throw new HttpError(400, 'BadRequestError', 'message content must be a string or an array of content parts.', 'messages');
  }
  return out;
}

function completionPrompt(prompt: unknown): number[] {
  if (typeof prompt === 'string') return encodeText(prompt);
  if (Array.isArray(prompt)) {
    if (prompt.length === 1 && typeof prompt[0] === 'string') return encodeText(prompt[0]);
    if (prompt.every((t) => Number.isInteger(t))) return prompt as number[];
    if (prompt.length === 1 && Array.isArray(prompt[0]) && prompt[0].every((t: unknown) => Number.isInteger(t))) return prompt[0] as number[];
  }
  throw new HttpError(400, 'BadRequestError', 'prompt must be a string, a list of token ids, or a one-element list of either (batches are not supported).', 'prompt');
}
