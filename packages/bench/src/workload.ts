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
  /** Extra body fields merged into every request (e.g. temperature, repetition_penalty). */
  extraBody?: Record<string, unknown> | undefined;
  /** Distinct prompts; request i reuses prompt i mod datasetEntries (AIPerf --num-dataset-entries). Default: all distinct. */
  datasetEntries?: number | undefined;
  /** Trace replay: tokens per hash_id block (Mooncake: 512). */
  traceBlockSize?: number | undefined;
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

/** One request of a trace replay file. */
export interface TraceEntry {
  /** Send offset from the start of the run, ms (timestamps re-based to the earliest entry). */
  atMs: number;
  isl: number;
  osl: number;
  /**
   * Mooncake prefix blocks: hash_ids[j] names the content of prompt tokens [j·B, (j+1)·B) for the trace's block
   * size B; equal ids at equal positions behind equal ids are equal prefixes. Absent: every prompt is unique.
   */
  hashIds?: number[] | undefined;
  /** 1-based line in the trace file (for errors that need the block size, known only later). */
  line?: number | undefined;
}

const TS_KEYS = ['timestamp', 'timestamp_ms', 'time_ms', 'arrival_time_ms'] as const;
const ISL_KEYS = ['input_length', 'input_tokens', 'isl', 'prompt_tokens'] as const;
const OSL_KEYS = ['output_length', 'output_tokens', 'osl', 'max_tokens'] as const;

/** Block size of Mooncake's published traces and AIPerf's mooncake_trace loader (`--prompt-input-tokens-block-size`). */
export const MOONCAKE_BLOCK_SIZE = 512;

/**
 * Parses a JSONL trace: Mooncake's `{"timestamp": ms, "input_length": n, "output_length": n, "hash_ids": [..]}`
 * (aliases accepted for the lengths and the timestamp; `hash_ids` optional). Timestamps are re-based to the earliest
 * entry and entries sorted by it (ties keep file order). Every problem is reported at once, each naming its line
 * and field.
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
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      issues.push({ code: 'TRACE_JSON', ...at, path: [], message: `line ${i + 1}: not JSON: ${(err as Error).message}`, hint: 'one JSON object per line' });
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      issues.push({ code: 'TRACE_JSON', ...at, path: [], message: `line ${i + 1}: expected a JSON object, got ${JSON.stringify(parsed)}`, hint: 'one JSON object per line' });
      return;
    }
    const o = parsed as Record<string, unknown>;
    const ts = pick(o, TS_KEYS);
    const isl = pick(o, ISL_KEYS);
    const osl = pick(o, OSL_KEYS);
    const hashIds = o['hash_ids'];
    let ok = true;
    const bad = (field: string, what: string, v: unknown, hint: string) => {
      ok = false;
      issues.push({ code: 'TRACE_FIELD', ...at, path: [field], message: `line ${i + 1}: ${field} must be ${what}, got ${JSON.stringify(v) ?? 'nothing'}`, hint });
    };
    if (typeof ts !== 'number' || !(ts >= 0) || !Number.isFinite(ts)) bad('timestamp', 'a non-negative number of ms', ts, `set one of ${TS_KEYS.join(', ')}`);
    if (typeof isl !== 'number' || !(isl >= 1) || !Number.isInteger(isl)) bad('input_length', 'a positive integer', isl, `set one of ${ISL_KEYS.join(', ')}`);
    if (typeof osl !== 'number' || !(osl >= 1) || !Number.isInteger(osl)) bad('output_length', 'a positive integer', osl, `set one of ${OSL_KEYS.join(', ')}`);
    if (hashIds !== undefined && !(Array.isArray(hashIds) && hashIds.every((h) => typeof h === 'number' && Number.isSafeInteger(h) && h >= 0))) {
      bad('hash_ids', 'a list of non-negative integers', hashIds, 'e.g. "hash_ids": [46, 47]');
    }
    if (!ok) return;
    const entry: TraceEntry = { atMs: ts as number, isl: isl as number, osl: osl as number, line: i + 1 };
    if (Array.isArray(hashIds) && hashIds.length > 0) entry.hashIds = hashIds as number[];
    out.push(entry);
  });
  if (out.length === 0 && issues.length === 0) {
    issues.push({ code: 'TRACE_EMPTY', file, path: [], message: 'trace has no entries', hint: 'add lines like {"timestamp": 0, "input_length": 512, "output_length": 128}' });
  }
  if (issues.length > 0) throw new InvalidInputError(issues);
  // stable: entries with equal timestamps keep their file order
  out.sort((a, b) => a.atMs - b.atMs);
  const t0 = out[0]!.atMs;
  for (const e of out) e.atMs -= t0;
  return out;
}

/**
 * Checks that every entry's hash_ids fit its input_length at `blockSize` tokens per block: each id needs at least one
 * token, so input_length > (ids − 1) × blockSize (AIPerf's rule too). Tokens past ids × blockSize are the request's
 * own. All problems at once.
 */
export function checkTraceBlocks(entries: readonly TraceEntry[], blockSize: number, file: string): void {
  const issues: Issue[] = [];
  for (const [i, e] of entries.entries()) {
    const n = e.hashIds?.length ?? 0;
    const line = e.line ?? i + 1;
    if (n > 0 && e.isl <= (n - 1) * blockSize) {
      issues.push({
        code: 'TRACE_BLOCKS',
        file,
        line,
        col: 1,
        path: ['hash_ids'],
        message: `line ${line}: ${n} hash_ids of ${blockSize} tokens need input_length > ${(n - 1) * blockSize}, got ${e.isl}`,
        hint: `set the block size the trace was made with (Mooncake traces: ${MOONCAKE_BLOCK_SIZE})`,
      });
    }
  }
  if (issues.length > 0) throw new InvalidInputError(issues);
}

export interface TracePrefixStats {
  requests: number;
  inputTokens: number;
  /** Prompt tokens an unbounded prefix cache would serve from earlier requests of the trace. */
  hitTokens: number;
  /** hitTokens / inputTokens. */
  hitRate: number;
}

/**
 * The trace's theoretical prefix-cache hit rate: requests in arrival order against an unbounded cache. A block hits
 * when every block before it hit as well (prefix caching is by chained hashes) and an earlier request held the same
 * block at that position; it contributes as many tokens as both requests have in it.
 */
export function tracePrefixStats(entries: readonly TraceEntry[], blockSize: number): TracePrefixStats {
  // trie of block chains: node key = parent node id + hash id; value = node id and the most tokens seen in it
  const nodes = new Map<string, { id: number; tokens: number }>();
  let nextId = 1;
  let inputTokens = 0;
  let hitTokens = 0;
  for (const e of entries) {
    inputTokens += e.isl;
    const ids = e.hashIds ?? [];
    let parent = 0;
    let chain = true;
    for (let j = 0; j < ids.length; j++) {
      const tokens = Math.max(0, Math.min(blockSize, e.isl - j * blockSize));
      if (tokens === 0) break;
      const key = `${parent}:${ids[j]}`;
      const node = nodes.get(key);
      if (node === undefined) {
        chain = false;
        const created = { id: nextId++, tokens };
        nodes.set(key, created);
        parent = created.id;
        continue;
      }
      if (chain) {
        hitTokens += Math.min(tokens, node.tokens);
        // a block only partly held before ends the reusable prefix inside it
        if (node.tokens < tokens) chain = false;
      }
      node.tokens = Math.max(node.tokens, tokens);
      parent = node.id;
    }
  }
  return { requests: entries.length, inputTokens, hitTokens, hitRate: inputTokens > 0 ? hitTokens / inputTokens : 0 };
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

/**
 * Builds trace prompts whose shared hash_id prefixes are shared *text*: block `h` is `blockSize` words drawn from a
 * generator seeded by (seed, h), every word a single token under the tokenizer with a leading space, so blocks
 * concatenate without merging at their seams and a partial last block is the first k words of the full one. Tokens
 * past the blocks are drawn per request and are unique to it. The same trace, seed and tokenizer give byte-identical
 * prompts on every run, so a server with prefix caching sees exactly the reuse the trace describes.
 */
export class BlockPromptBuilder {
  private readonly tok: BenchTokenizer;
  private readonly seed: number;
  readonly blockSize: number;
  private readonly words: string[];
  private readonly blocks = new Map<number, string[]>();

  constructor(tok: BenchTokenizer, seed: number, blockSize: number) {
    this.tok = tok;
    this.seed = seed >>> 0;
    this.blockSize = blockSize;
    this.words = WORDS.map((w) => ` ${w}`).filter((w) => tok.encode(w).length === 1);
    if (this.words.length < 16) {
      throw new InvalidInputError([
        {
          code: 'TOKENIZER_NO_WORDS',
          file: tok.name,
          path: [],
          message: `only ${this.words.length} common English words are single tokens under ${tok.name}; prefix-block prompts need at least 16`,
          hint: 'use the model\'s own tokenizer.json or the built-in o200k_base',
        },
      ]);
    }
  }

  private draw(rng: () => number, n: number, into: string[]): void {
    for (let i = 0; i < n; i++) into.push(this.words[Math.floor(rng() * this.words.length)]!);
  }

  private block(hashId: number): string[] {
    let b = this.blocks.get(hashId);
    if (b === undefined) {
      b = [];
      // hash ids are up to 2^53: fold both halves into the stream's seed
      const hi = Math.floor(hashId / 4294967296);
      this.draw(createRng(Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) ^ (hashId >>> 0) ^ Math.imul(hi, 0xc2b2ae35)), this.blockSize, b);
      this.blocks.set(hashId, b);
    }
    return b;
  }

  /** The prompt of trace request `index`: exactly `entry.isl` tokens under the tokenizer (checked by the caller). */
  prompt(entry: Pick<TraceEntry, 'isl' | 'hashIds'>, index: number): string {
    const parts: string[] = [];
    const ids = entry.hashIds ?? [];
    let left = entry.isl;
    for (const h of ids) {
      if (left <= 0) break;
      const b = this.block(h);
      const k = Math.min(this.blockSize, left);
      for (let i = 0; i < k; i++) parts.push(b[i]!);
      left -= k;
    }
    if (left > 0) this.draw(createRng(Math.imul(this.seed ^ 0x7a11, 0x27d4eb2d) ^ Math.imul(index + 1, 0x165667b1)), left, parts);
    return parts.join('');
  }

  /** Token count check (the words are single tokens, so this holds unless a tokenizer merges across spaces). */
  count(text: string): number {
    return this.tok.count(text);
  }
}

/** One request's lengths, and for trace replay its prefix blocks. */
export interface RequestShape extends LengthPair {
  hashIds?: number[] | undefined;
}

/**
 * Serialises requests before the clock starts: the hot path only hands a Buffer to the socket. Trace shapes with
 * hash_ids (or any shapes when `traceBlockSize` is set) get prefix-block prompts; everything else gets synthetic
 * prompts. With `datasetEntries` below `count`, request i reuses prompt i mod datasetEntries.
 */
export function buildRequests(
  tok: BenchTokenizer,
  options: WorkloadOptions,
  count: number,
  lengths?: readonly RequestShape[],
  startIndex = 0,
): PreparedRequest[] {
  const blockPrompts = lengths !== undefined && (options.traceBlockSize !== undefined || lengths.some((l) => l.hashIds !== undefined));
  const blocks = blockPrompts ? new BlockPromptBuilder(tok, options.seed, options.traceBlockSize ?? MOONCAKE_BLOCK_SIZE) : undefined;
  const synth = blocks ? undefined : new PromptSynthesizer(tok, options.seed);
  if (synth && options.sharedPrefix) synth.setSharedPrefix(options.sharedPrefix);
  const rng = createRng(options.seed);
  const force = options.forceOutputLength ?? true;
  const distinct = lengths === undefined && options.datasetEntries !== undefined ? Math.max(1, Math.min(count, options.datasetEntries)) : count;
  const protos: { body: Buffer; inputTokens: number; outputTokens: number }[] = [];
  for (let i = 0; i < distinct; i++) {
    const shape = lengths?.[i];
    const isl = shape?.isl ?? drawLength(options.isl, options.islSpread ?? 0, rng);
    const osl = shape?.osl ?? drawLength(options.osl, options.oslSpread ?? 0, rng);
    const prompt = blocks ? blocks.prompt({ isl, hashIds: shape?.hashIds }, startIndex + i) : synth!.prompt(Math.max(isl, options.sharedPrefix ?? 0));
    protos.push({ body: Buffer.from(JSON.stringify(requestBody(options, prompt, osl, force))), inputTokens: tok.count(prompt), outputTokens: osl });
  }
  const out: PreparedRequest[] = [];
  for (let i = 0; i < count; i++) {
    const p = protos[i % distinct]!;
    const index = startIndex + i;
    out.push({ index, requestId: `${options.requestIdPrefix}-${index}`, body: p.body, inputTokens: p.inputTokens, outputTokens: p.outputTokens });
  }
  return out;
}

/**
 * The JSON body of one request. The output length is `max_tokens` (both APIs; chat also gets
 * `max_completion_tokens`), forced with `ignore_eos` and `min_tokens` — what Dynamo's perf Jobs pass through
 * AIPerf `--extra-inputs` (ai-dynamo/dynamo recipes/llama-3-70b/vllm/agg/perf.yaml @0d348a12). Extra body fields
 * (temperature, repetition_penalty, nvext…) are merged last and win.
 */
export function requestBody(options: Pick<WorkloadOptions, 'api' | 'model' | 'continuousUsage' | 'extraBody'>, prompt: string, osl: number, force: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { model: options.model };
  if (options.api === 'chat') {
    body['messages'] = [{ role: 'user', content: prompt }];
    body['max_completion_tokens'] = osl;
  } else {
    body['prompt'] = prompt;
  }
  body['max_tokens'] = osl;
  if (force) {
    body['ignore_eos'] = true;
    body['min_tokens'] = osl;
  }
  body['stream'] = true;
  body['stream_options'] = options.continuousUsage ? { include_usage: true, continuous_usage_stats: true } : { include_usage: true };
  if (options.extraBody) Object.assign(body, options.extraBody);
  return body;
}
