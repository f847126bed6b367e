import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { RunningSimulator } from './server.ts';
import { SimMetrics } from './metrics.ts';
import { parseProm, simulators } from './test-support.ts';

// Streams are written straight to the socket as chunked-encoding frames when the response owns its connection;
// these tests read the raw bytes, so a framing mistake (wrong length, missing terminator, frames of a pipelined
// response landing in another one) fails here even where a lenient client would cope.

const start = simulators();
const sim = (): Promise<RunningSimulator> => start({ speedup: 20, agg: { step: { decodeBaseMs: 5 } } });

/** Sends raw bytes, collects the reply until the server closes or `done(bytes)` says it is complete. */
function rawExchange(url: string, payload: string, done: (buf: Buffer) => boolean): Promise<Buffer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(Number(port), hostname, () => sock.write(payload));
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete reply; got: ${Buffer.concat(chunks).toString('latin1').slice(0, 400)}`));
    }, 5000);
    const finish = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(Buffer.concat(chunks));
    };
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      if (done(Buffer.concat(chunks))) finish();
    });
    sock.on('end', finish);
    sock.on('error', reject);
  });
}

interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses consecutive HTTP/1.x responses; chunked bodies are decoded strictly (exact sizes and CRLFs). */
function parseResponses(buf: Buffer): { responses: ParsedResponse[]; rest: number } {
  const out: ParsedResponse[] = [];
  let pos = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd < 0) return { responses: out, rest: buf.length - pos };
    const lines = buf.toString('latin1', pos, headEnd).split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    let p = headEnd + 4;
    if (headers['transfer-encoding'] !== 'chunked') {
      // HTTP/1.0 style: the body runs to the end of the connection
      out.push({ status, headers, body: buf.toString('utf8', p) });
      return { responses: out, rest: 0 };
    }
    const parts: Buffer[] = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', p, 'latin1');
      if (eol < 0) return { responses: out, rest: buf.length - pos };
      const sizeText = buf.toString('latin1', p, eol);
      if (!/^[0-9a-f]+$/i.test(sizeText)) throw new Error(`bad chunk size line ${JSON.stringify(sizeText)}`);
      const size = parseInt(sizeText, 16);
      if (eol + 2 + size + 2 > buf.length) return { responses: out, rest: buf.length - pos };
      const data = buf.subarray(eol + 2, eol + 2 + size);
      if (buf.toString('latin1', eol + 2 + size, eol + 4 + size) !== '\r\n') throw new Error('chunk not followed by CRLF');
      p = eol + 4 + size;
      if (size === 0) break;
      parts.push(data);
    }
    out.push({ status, headers, body: Buffer.concat(parts).toString('utf8') });
    pos = p;
  }
}

function sseData(body: string): string[] {
  return body
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6));
}

function request(body: Record<string, unknown>, version = '1.1'): string {
  const json = JSON.stringify(body);
  return `POST /v1/completions HTTP/${version}\r\nHost: sim\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
}

function checkStream(events: string[], tokens: number): void {
  expect(events.at(-1)).toBe('[DONE]');
  const objs = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: { text?: string; finish_reason: string | null }[]; usage?: { completion_tokens: number } });
  const content = objs.filter((o) => o.choices.length > 0);
  expect(content).toHaveLength(tokens);
  expect(content.at(-1)!.choices[0]!.finish_reason).toBe('length');
  expect(content.slice(0, -1).every((o) => o.choices[0]!.finish_reason === null)).toBe(true);
  expect(objs.at(-1)!.usage!.completion_tokens).toBe(tokens);
}

describe('SSE on the wire', () => {
  it('frames every token as an exact chunked-encoding chunk and ends the response for keep-alive', async () => {
    const s = await sim();
    const buf = await rawExchange(s.url, request({ prompt: 'hello', max_tokens: 7, ignore_eos: true, stream: true, stream_options: { include_usage: true } }), (b) => parseResponses(b).responses.length === 1);
    const [res] = parseResponses(buf).responses;
    expect(res!.status).toBe(200);
    expect(res!.headers['content-type']).toBe('text/event-stream');
    checkStream(sseData(res!.body), 7);
  });

  it('keeps pipelined responses apart and in order (the queued one falls back to res.write)', async () => {
    const s = await sim();
    const a = request({ prompt: 'first', max_tokens: 5, ignore_eos: true, stream: true, stream_options: { include_usage: true } });
    const b = request({ prompt: 'second', max_tokens: 9, ignore_eos: true, stream: true, stream_options: { include_usage: true } });
    const buf = await rawExchange(s.url, a + b, (x) => parseResponses(x).responses.length === 2);
    const { responses } = parseResponses(buf);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    checkStream(sseData(responses[0]!.body), 5);
    checkStream(sseData(responses[1]!.body), 9);
  });

  it('answers an HTTP/1.0 client without chunked framing', async () => {
    const s = await sim();
    const buf = await rawExchange(s.url, request({ prompt: 'old client', max_tokens: 4, ignore_eos: true, stream: true, stream_options: { include_usage: true } }, '1.0'), () => false);
    const [res] = parseResponses(buf).responses;
    expect(res!.status).toBe(200);
    expect(res!.headers['transfer-encoding']).toBeUndefined();
    checkStream(sseData(res!.body), 4);
  });
});

describe('histograms', () => {
  it('put every observation in the first bucket whose bound holds it (cumulative counts match a linear count)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), fc.constantFrom(0.01, 0.025, 0.05, 80, 80.0001)), { maxLength: 200 }), (values) => {
        const m = new SimMetrics('m', 4096);
        for (const v of values) m.observe('inter_token_latency_seconds', v);
        const prom = parseProm(m.render([]));
        for (const [key, cum] of prom) {
          const le = /^vllm:inter_token_latency_seconds_bucket\{le="([^"]+)"/.exec(key)?.[1];
          if (le === undefined) continue;
          const bound = le === '+Inf' ? Infinity : Number(le);
          expect(cum).toBe(values.filter((v) => v <= bound).length);
        }
        expect(prom.get('vllm:inter_token_latency_seconds_count{model_name="m"}')).toBe(values.length);
      }),
      { numRuns: 200 },
    );
  });
});
