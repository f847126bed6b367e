import { readFileSync } from 'node:fs';
import { InvalidInputError, type Issue } from '@llm-recipes/errors';
import type { Api, PreparedRequest } from './client.ts';
import type { BenchTokenizer } from './tokenizer.ts';

/** Small, fast, seedable PRNG (mulberry32): identical prompts and arrivals for identical seeds. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Common English words; each is a single token under o200k_base and cl100k_base when preceded by a space. */
const WORDS = (
  'the of and to in is that it for on with as was at by be this are from or have an they which one you were her ' +
  'all she there would their we him been has when who will more no if out so said what up its about into than them ' +
  'can only other new some could time these two may then do first any my now such like our over man me even most ' +
  'made after also did many before must through back years where much your way well down should because each just ' +
  'those people how too little state good very make world still own see men work long get here between both life ' +
  'being under never day same another know while last might us great old year off come since against go came right ' +
  'used take three'
).split(' ');

/** One request's lengths: prompt tokens and output tokens. */
export interface LengthPair {
  isl: number;
  osl: number;
}

export interface WorkloadOptions {
  api: Api;
  model: string;
  /** Target prompt tokens (under the client tokenizer, before any chat template). */
  isl: number;
  osl: number;
  /** Lengths drawn uniformly from [⌊X(1−r)⌋, ⌈X(1+r)⌉] (vLLM's random-range-ratio); 0 = fixed. */
  islSpread?: number | undefined;
  oslSpread?: number | undefined;
  /** Tokens of a prefix shared by every prompt (counted inside isl). */
  sharedPrefix?: number | undefined;
  seed: number;
  /** Force the output length: ignore_eos + min_tokens (vLLM/SGLang extensions). Default true. */
  forceOutputLength?: boolean | undefined;
  /** Ask for usage on every chunk (exact per-token ITL on servers that support it). */
  continuousUsage?: boolean | undefined;
  /** Extra body fields merged into every request (e.g. temperature). */
  extraBody?: Record<string, unknown> | undefined;
  requestIdPrefix: string;
}

/** Draws lengths around a target: uniform over [⌊X(1−r)⌋, ⌈X(1+r)⌉], at least 1. */
export function drawLength(target: number, spread: number, rng: () => number): number {
  if (!spread) return target;
  const lo = Math.max(1, Math.floor(target * (1 - spread)));
  const hi = Math.max(lo, Math.ceil(target * (1 + spread)));
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/**
 * Builds prompts of an exact token count under `tok`: a window of a seeded word corpus is decoded and re-encoded,
 * and its length corrected until the encoded prompt has exactly the target count (verified by encoding).
 */
export class PromptSynthesizer {
  private readonly tok: BenchTokenizer;
  private readonly rng: () => number;
  private corpusIds: number[] = [];
  private prefixText = '';
  private prefixTokens = 0;

  constructor(tok: BenchTokenizer, seed: number) {
    this.tok = tok;
    this.rng = createRng(seed ^ 0x5eed);
  }

  private ensureCorpus(tokens: number): void {
    if (this.corpusIds.length >= tokens + 64) return;
    const words: string[] = [];
    const want = Math.max(4096, tokens * 2 + 256);
    for (let i = 0; i < want; i++) words.push(WORDS[Math.floor(this.rng() * WORDS.length)]!);
    this.corpusIds = this.tok.encode(` ${words.join(' ')}`);
  }

  /** Sets the shared prefix every later prompt starts with. */
  setSharedPrefix(tokens: number): void {
    this.prefixText = '';
    this.prefixTokens = 0;
    if (tokens > 0) {
      this.prefixText = this.prompt(tokens);
      this.prefixTokens = tokens;
    }
  }

  /** A prompt (shared prefix + unique part) of exactly `tokens` tokens, or the closest found. */
  prompt(tokens: number): string {
    const uniqueTarget = Math.max(0, tokens - this.prefixTokens);
    this.ensureCorpus(uniqueTarget);
    const ids = this.corpusIds;
    const offset = Math.floor(this.rng() * Math.max(1, ids.length - uniqueTarget - 32));
    let m = uniqueTarget;
    let best = '';
    let bestErr = Number.POSITIVE_INFINITY;
    for (let iter = 0; iter < 24; iter++) {
      const text = this.prefixText + this.tok.decode(ids.slice(offset, offset + Math.max(0, m)));
      const got = this.tok.count(text);
      const err = Math.abs(got - tokens);
      if (err < bestErr) {
        best = text;
        bestErr = err;
      }
      if (got === tokens) return text;
      m += tokens - got;
      if (m < 0) m = 0;
      if (offset + m > ids.length) break;
    }
    return best;
  }
}

/** Reads a trace replay file: one JSON object per line with a timestamp (ms) and input/output lengths. */
export interface TraceEntry {
  /** Send offset from the start of the run, ms. */
  atMs: number;
  isl: number;
  osl: number;
}

const TS_KEYS = ['timestamp', 'timestamp_ms', 'time_ms', 'arrival_time_ms'] as const;
const ISL_KEYS = ['input_length', 'input_tokens', 'isl', 'prompt_tokens'] as const;
const OSL_KEYS = ['output_length', 'output_tokens', 'osl', 'max_tokens'] as const;

/**
 * Parses a JSONL trace (mooncake-style `{"timestamp": ms, "input_length": n, "output_length": n}`; aliases
 * accepted). Timestamps are re-based to the first entry. All problems are reported at once.
 */
export function parseTrace(text: string, file: string): TraceEntry[] {
  const issues: Issue[] = [];
  const out: TraceEntry[] = [];
  const lines = text.split('\n');
  const pick = (o: Record<string, unknown>, keys: readonly string[]): unknown => {
    for (const k of keys) if (o[k] !== undefined) return o[k];
    return undefined;
  };
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = { file, line: i + 1, col: 1 };
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      issues.push({ code: 'TRACE_JSON', ...at, path: [], message: `not JSON: ${(err as Error).message}`, hint: 'one JSON object per line' });
      return;
    }
    const ts = pick(o, TS_KEYS);
    const isl = pick(o, ISL_KEYS);
    const osl = pick(o, OSL_KEYS);
    const bad = (field: string, v: unknown, keys: readonly string[]) =>
      issues.push({
        code: 'TRACE_FIELD',
        ...at,
        path: [field],
        message: `${field} must be a non-negative number, got ${JSON.stringify(v)}`,
        hint: `set one of ${keys.join(', ')}`,
      });
    if (typeof ts !== 'number' || !(ts >= 0)) bad('timestamp', ts, TS_KEYS);
    if (typeof isl !== 'number' || !(isl >= 1) || !Number.isInteger(isl)) bad('input_length', isl, ISL_KEYS);
    if (typeof osl !== 'number' || !(osl >= 1) || !Number.isInteger(osl)) bad('output_length', osl, OSL_KEYS);
    if (typeof ts === 'number' && typeof isl === 'number' && typeof osl === 'number') out.push({ atMs: ts, isl, osl });
  });
  if (out.length === 0 && issues.length === 0) {
    issues.push({ code: 'TRACE_EMPTY', file, path: [], message: 'trace has no entries', hint: 'add lines like {"timestamp": 0, "input_length": 512, "output_length": 128}' });
  }
  if (issues.length > 0) throw new InvalidInputError(issues);
  out.sort((a, b) => a.atMs - b.atMs);
  const t0 = out[0]!.atMs;
  for (const e of out) e.atMs -= t0;
  return out;
}

export function loadTrace(file: string): TraceEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidInputError([{ code: 'TRACE_UNREADABLE', file, path: [], message: (err as Error).message, hint: 'check the --trace path' }]);
  }
  return parseTrace(text, file);
}

/** Serialises requests before the clock starts: the hot path only hands a Buffer to the socket. */
export function buildRequests(
  tok: BenchTokenizer,
  options: WorkloadOptions,
  count: number,
  lengths?: readonly LengthPair[],
  startIndex = 0,
): PreparedRequest[] {
  const synth = new PromptSynthesizer(tok, options.seed);
  if (options.sharedPrefix) synth.setSharedPrefix(options.sharedPrefix);
  const rng = createRng(options.seed);
  const force = options.forceOutputLength ?? true;
  const out: PreparedRequest[] = [];
  for (let i = 0; i < count; i++) {
    const isl = lengths?.[i]?.isl ?? drawLength(options.isl, options.islSpread ?? 0, rng);
    const osl = lengths?.[i]?.osl ?? drawLength(options.osl, options.oslSpread ?? 0, rng);
    const prompt = synth.prompt(Math.max(isl, options.sharedPrefix ?? 0));
    const body: Record<string, unknown> = { model: options.model };
    if (options.api === 'chat') {
      body['messages'] = [{ role: 'user', content: prompt }];
      body['max_completion_tokens'] = osl;
    } else {
      body['prompt'] = prompt;
      body['max_tokens'] = osl;
    }
    if (force) {
      body['ignore_eos'] = true;
      body['min_tokens'] = osl;
    }
    body['stream'] = true;
    body['stream_options'] = options.continuousUsage ? { include_usage: true, continuous_usage_stats: true } : { include_usage: true };
    if (options.extraBody) Object.assign(body, options.extraBody);
    const index = startIndex + i;
    out.push({
      index,
      requestId: `${options.requestIdPrefix}-${index}`,
      body: Buffer.from(JSON.stringify(body)),
      inputTokens: tok.count(prompt),
      outputTokens: osl,
    });
  }
  return out;
}
