// A minimal streaming OpenAI client for the simulator's own tests (fetch + SSE parsing), so engine behaviour is
// checked from the wire exactly as a benchmark client sees it.
import { afterAll, afterEach } from 'vitest';
import { startSimulator, type RunningSimulator } from './server.ts';
import type { SimConfigInput } from './config.ts';

/**
 * Registers the file's simulators for cleanup and returns a starter: every simulator it started is closed after each
 * test, or after the file's last one with `'file'` (when tests share a warmed-up simulator).
 */
export function simulators(scope: 'test' | 'file' = 'test'): (cfg?: SimConfigInput) => Promise<RunningSimulator> {
  const running: RunningSimulator[] = [];
  (scope === 'test' ? afterEach : afterAll)(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });
  return async (cfg = {}) => {
    const s = await startSimulator(cfg);
    running.push(s);
    return s;
  };
}

export interface StreamResult {
  status: number;
  /** ms from send to the first content chunk. */
  ttftMs: number;
  /** Gaps between consecutive content chunks, ms. */
  itlMs: number[];
  e2eMs: number;
  contentChunks: number;
  text: string;
  finishReason: string | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details?: { cached_tokens: number } } | undefined;
  sawRole: boolean;
  sawDone: boolean;
  error: unknown;
}

export async function streamRequest(url: string, api: 'chat' | 'completions', body: Record<string, unknown>): Promise<StreamResult> {
  const start = performance.now();
  const out: StreamResult = {
    status: 0,
    ttftMs: NaN,
    itlMs: [],
    e2eMs: NaN,
    contentChunks: 0,
    text: '',
    finishReason: null,
    usage: undefined,
    sawRole: false,
    sawDone: false,
    error: undefined,
  };
  let res: Response;
  try {
    res = await fetch(`${url}/v1/${api === 'chat' ? 'chat/completions' : 'completions'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stream: true, stream_options: { include_usage: true }, ...body }),
    });
  } catch (err) {
    out.error = err;
    return out;
  }
  out.status = res.status;
  if (res.status !== 200) {
    out.error = await res.json();
    return out;
  }
  const decoder = new TextDecoder();
  let buf = '';
  let last = NaN;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const t = performance.now();
      buf += decoder.decode(chunk, { stream: true });
      let idx: number;
      while ((idx = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, idx);
        buf = buf.slice(idx + 2);
        if (!event.startsWith('data: ')) continue;
        const data = event.slice(6);
        if (data === '[DONE]') {
          out.sawDone = true;
          continue;
        }
        const obj = JSON.parse(data) as {
          choices: { delta?: { role?: string; content?: string }; text?: string; finish_reason: string | null }[];
          usage?: StreamResult['usage'];
        };
        if (obj.usage) out.usage = obj.usage;
        const c = obj.choices[0];
        if (!c) continue;
        if (c.delta?.role) out.sawRole = true;
        const content = c.delta?.content ?? c.text ?? '';
        if (content.length > 0) {
          if (out.contentChunks === 0) out.ttftMs = t - start;
          else out.itlMs.push(t - last);
          last = t;
          out.contentChunks++;
          out.text += content;
        }
        if (c.finish_reason) out.finishReason = c.finish_reason;
      }
    }
  } catch (err) {
    out.error = err;
  }
  out.e2eMs = last - start;
  return out;
}

/** Runs `total` requests with at most `concurrency` in flight. */
export async function runConcurrent(
  total: number,
  concurrency: number,
  one: (i: number) => Promise<StreamResult>,
): Promise<StreamResult[]> {
  const results: StreamResult[] = new Array(total);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, total) }, async () => {
    while (next < total) {
      const i = next++;
      results[i] = await one(i);
    }
  });
  await Promise.all(lanes);
  return results;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Parses Prometheus text into `name{labels}` → value. */
export function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** Sums every series of a metric name. */
export function promSum(m: Map<string, number>, name: string): number {
  let s = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) s += v;
  return s;
}
