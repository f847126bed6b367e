import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createRng } from '@llm-recipes/bench';

// Token accounting matches the benchmark harness's default tokenizer (o200k_base), so `usage` is exact:
// prompts are counted with the same encoder the harness builds them with, and every generated chunk is one
// word that is exactly one o200k_base token (a leading space plus letters: the pre-tokenizer splits there, so
// the concatenated text re-encodes to the same count).

const CANDIDATES = `the of and to in is for on that with as by at from this be are it or an was have not but
all can more one will about which when there time new also some would other into than only its may like over
after first such most made where work well way many these could should use system data model each even between
both under never same another while last long great little world still every number part place case point group
high small large right next early young important public private real best better able general local human
major light water power line order state city house money market story level study form service result change
night reason course kind example value field history process information program problem question company
report health learning network design paper table window river mountain ocean garden forest music letter
family market simple clear quick bright quiet green blue red black white open close start stop read write
build find keep give take make move turn show play run walk talk think know feel seem leave call try ask need`.split(
  /\s+/,
);

type O200k = typeof import('gpt-tokenizer/encoding/o200k_base');
let o200kModule: O200k | undefined;

/**
 * The o200k_base encoder, loaded on first use: its rank table takes ≈0.2 s to load, which importing the package
 * for its recipe helpers (`recipes render`) should not pay. The ES module build is required synchronously, so the
 * harness's `import()` of the same specifier gets this very instance (one rank table per process).
 */
function o200k(): O200k {
  return (o200kModule ??= createRequire(import.meta.url)(fileURLToPath(import.meta.resolve('gpt-tokenizer/encoding/o200k_base'))) as O200k);
}

function buildVocabulary(): { words: string[]; ids: number[] } {
  const { encode } = o200k();
  const words: string[] = [];
  const ids: number[] = [];
  const seen = new Set<string>();
  for (const w of CANDIDATES) {
    if (!w || seen.has(w)) continue;
    seen.add(w);
    const ids1 = encode(` ${w}`);
    if (ids1.length === 1) {
      words.push(` ${w}`);
      ids.push(ids1[0]!);
    }
  }
  return { words, ids };
}

let vocabulary: { words: string[]; ids: number[] } | undefined;

/** Words the simulator emits; each is exactly one o200k_base token. */
export function outputWords(): readonly string[] {
  return (vocabulary ??= buildVocabulary()).words;
}
/** Token ids of `outputWords()`, index for index (used for prefix-cache hashing of generated blocks). */
export function outputTokenIds(): readonly number[] {
  return (vocabulary ??= buildVocabulary()).ids;
}

/** Prompt token ids under o200k_base (the harness's default tokenizer). */
export function encodeText(text: string): number[] {
  return o200k().encode(text);
}

/**
 * Deterministic output-token stream for one request: word indices from a seeded generator, so the same prompt
 * and seed produce the same text on every run.
 */
export class OutputStream {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = createRng(seed);
  }
  private readonly count = outputWords().length;
  /** Index into outputWords() of the next generated token. */
  nextIndex(): number {
    return Math.floor(this.next() * this.count);
  }
}

/**
 * Where a request stops when it does not ignore EOS: a log-normal length with the given mean (median ≈ 0.8 × mean),
 * drawn from the request's seeded generator, then clamped to [minTokens, maxTokens].
 */
export function drawEosLength(rand: () => number, meanTokens: number, minTokens: number, maxTokens: number): number {
  const sigma = 0.6;
  const mu = Math.log(meanTokens) - (sigma * sigma) / 2;
  // Box–Muller; guard against log(0)
  const u1 = Math.max(rand(), 1e-12);
  const u2 = rand();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  const len = Math.max(1, Math.round(Math.exp(mu + sigma * z)));
  return Math.min(maxTokens, Math.max(minTokens, len));
}
