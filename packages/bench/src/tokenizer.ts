import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { InvalidInputError } from '@llm-recipes/errors';

/** What the harness needs from a tokenizer: exact counts for prompt synthesis and output re-counting. */
export interface BenchTokenizer {
  /** `o200k_base`, `cl100k_base` or `hf:<path>`. */
  readonly name: string;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  count(text: string): number;
}

export const BUILTIN_TOKENIZERS = ['o200k_base', 'cl100k_base'] as const;
export type BuiltinTokenizer = (typeof BUILTIN_TOKENIZERS)[number];
export const DEFAULT_TOKENIZER: BuiltinTokenizer = 'o200k_base';

/**
 * Loads a tokenizer: a built-in BPE (`o200k_base` default, `cl100k_base`) shipped by gpt-tokenizer, or a
 * Hugging Face `tokenizer.json` by path (a file, or a directory holding one — what a model cache holds).
 * Special tokens are never added: counts are of the text alone, as servers count the prompt before templating.
 */
export async function loadTokenizer(spec: string = DEFAULT_TOKENIZER, cwd = process.cwd()): Promise<BenchTokenizer> {
  if (spec === 'o200k_base' || spec === 'cl100k_base') {
    const mod =
      spec === 'o200k_base'
        ? await import('gpt-tokenizer/encoding/o200k_base')
        : await import('gpt-tokenizer/encoding/cl100k_base');
    return {
      name: spec,
      encode: (text) => mod.encode(text, { allowedSpecial: new Set(), disallowedSpecial: new Set() }),
      decode: (ids) => mod.decode(ids as number[]),
      count: (text) => mod.encode(text, { allowedSpecial: new Set(), disallowedSpecial: new Set() }).length,
    };
  }
  // the Hugging Face tokenizer library only for a tokenizer.json: importing the harness does not load it
  return loadHfTokenizer(spec, cwd, (await import('@huggingface/tokenizers')).Tokenizer);
}

function loadHfTokenizer(spec: string, cwd: string, Tokenizer: typeof HfTokenizer): BenchTokenizer {
  const path = spec.startsWith('/') ? spec : join(cwd, spec);
  const file = basename(path).endsWith('.json') ? path : join(path, 'tokenizer.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InvalidInputError([
      {
        code: 'TOKENIZER_UNREADABLE',
        file,
        path: [],
        message: `cannot read tokenizer: ${(err as Error).message}`,
        hint: `pass --tokenizer ${BUILTIN_TOKENIZERS.join('|')} or the path of a Hugging Face tokenizer.json (or the model directory holding it)`,
      },
    ]);
  }
  let config: object = {};
  try {
    config = JSON.parse(readFileSync(join(dirname(file), 'tokenizer_config.json'), 'utf8')) as object;
  } catch {
    // tokenizer_config.json is optional: only special-token metadata lives there
  }
  let tok: HfTokenizer;
  try {
    tok = new Tokenizer(json as object, config);
  } catch (err) {
    throw new InvalidInputError([
      {
        code: 'TOKENIZER_INVALID',
        file,
        path: [],
        message: `not a Hugging Face tokenizer.json: ${(err as Error).message}`,
        hint: 'use the tokenizer.json from the model repository (it has "model", "pre_tokenizer" and "decoder" keys)',
      },
    ]);
  }
  const encode = (text: string): number[] => tok.encode(text, { add_special_tokens: false }).ids;
  return {
    name: `hf:${basename(dirname(file))}/${basename(file)}`,
    encode,
    decode: (ids) => tok.decode(ids as number[], { skip_special_tokens: true }),
    count: (text) => encode(text).length,
  };
}
