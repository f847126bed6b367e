import type { Dtype } from './schema.ts';
import { closest } from './suggest.ts';

// Model ids as users write them: Hugging Face repository ids of the original checkpoint, of its base or instruct
// variant, of a dated re-release, or of a quantised re-publication (nvidia/…-FP8, RedHatAI/…-FP8-dynamic, …-NVFP4).
// All of them name one architecture. A name is split into publisher, base name, variant, release tag and
// quantisation marker; the base name is matched against the catalog; the marker sets the weight dtype.

/** Which post-training variant an id names; every variant of a model shares its architecture. */
export type ModelVariant = 'base' | 'instruct' | 'thinking';

/** A quantisation marker at the end of a repository name. */
export interface QuantMarker {
  /** As written, e.g. `FP8-dynamic`, `NVFP4`, `FP4-v2`, `AWQ`. */
  marker: string;
  /** The weight dtype it implies; undefined for schemes the estimator does not model (AWQ, GPTQ, int8, GGUF…). */
  dtype: Dtype | undefined;
  /** The scheme in words, for messages: `FP8`, `AWQ (int4 weight-only)`. */
  scheme: string;
}

/** A model id taken apart. */
export interface ModelIdParts {
  /** The input, trimmed. */
  input: string;
  /** Publisher as written (`meta-llama`, `nvidia`, `RedHatAI`), when the id has one. It never changes the match. */
  org: string | undefined;
  /** Repository name as written (after the publisher). */
  name: string;
  /** Lower-case base name the catalog is matched on: no publisher, variant, release tag or quantisation marker. */
  key: string;
  variant: ModelVariant | undefined;
  /** Release tag such as `0528` (DeepSeek-R1-0528) or `2507` (Qwen3-235B-A22B-Instruct-2507). */
  release: string | undefined;
  quant: QuantMarker | undefined;
}

export type ModelIdErrorCode = 'INVALID_MODEL_ID' | 'UNKNOWN_MODEL' | 'AMBIGUOUS_MODEL' | 'UNSUPPORTED_QUANTIZATION';

/** Why an id did not resolve; `candidates` are the catalog ids the hint offers. */
export interface ModelIdError {
  code: ModelIdErrorCode;
  message: string;
  hint: string;
  candidates: string[];
}

export type ParsedModelId = { ok: true; parts: ModelIdParts } | { ok: false; error: ModelIdError };

/** What the catalog needs of a model: a model card or a built-in reference model. */
export interface ModelEntry {
  id: string;
  hfId: string;
  aliases?: readonly string[] | undefined;
  /** Dtype of the published weights. */
  dtype: Dtype;
}

export type ModelNameField = 'id' | 'hfId' | 'alias';

export interface ResolvedModelId<T extends ModelEntry> {
  ok: true;
  model: T;
  /** Which of the entry's names matched the base name. */
  matchedBy: ModelNameField;
  /** Index of the catalog tier the entry comes from (0 = first, e.g. the recipes/ model cards). */
  tier: number;
  parts: ModelIdParts;
  /** Weight dtype to estimate: the query's, else the id's quantisation marker, else the entry's. */
  dtype: Dtype;
  dtypeFrom: 'query' | 'id' | 'card';
}

export type ModelResolution<T extends ModelEntry> = ResolvedModelId<T> | { ok: false; error: ModelIdError };

/**
 * Two entries of one tier that claim the same base name at the same dtype. `ambiguous`: both at the same rank, so the
 * resolver refuses the name (the loader reports an error); `shadowed`: `entry` claims it at a worse rank than `other`
 * (say by its hfId where the other claims it by id), so the name resolves to `other` (the loader warns).
 */
export interface ModelNameCollision<T extends ModelEntry> {
  key: string;
  kind: 'ambiguous' | 'shadowed';
  entry: T;
  field: ModelNameField;
  /** Position in `aliases` when field is alias. */
  index: number | undefined;
  /** The name as the entry writes it. */
  name: string;
  /** The entry that claimed the key first (ambiguous) or that the key resolves to (shadowed). */
  other: T;
}

export interface ModelIndex<T extends ModelEntry> {
  /** Every entry, earlier tiers first; later-tier entries with an id already present are left out (shadowed). */
  entries: readonly T[];
  collisions: readonly ModelNameCollision<T>[];
  /** Resolves an id; `dtype` is the one the query gives explicitly, which wins over the id's marker. */
  resolve(input: string, options?: { dtype?: Dtype | undefined }): ModelResolution<T>;
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

/** Markers of weight formats the estimator models. */
const DTYPE_MARKERS: ReadonlyMap<string, { dtype: Dtype; scheme: string }> = new Map([
  ['fp8', { dtype: 'fp8', scheme: 'FP8' }],
  ['float8', { dtype: 'fp8', scheme: 'FP8' }],
  ['fp4', { dtype: 'fp4', scheme: 'FP4' }],
  ['nvfp4', { dtype: 'fp4', scheme: 'NVFP4' }],
  ['mxfp4', { dtype: 'fp4', scheme: 'MXFP4' }],
  ['bf16', { dtype: 'bf16', scheme: 'BF16' }],
  ['fp16', { dtype: 'fp16', scheme: 'FP16' }],
]);

/** Markers of schemes it does not model: integer or weight-only kernels, llama.cpp and MLX formats. */
const OTHER_SCHEMES: ReadonlyMap<string, string> = new Map([
  ['awq', 'AWQ (int4 weight-only)'],
  ['gptq', 'GPTQ (integer weight-only)'],
  ['int4', 'int4'],
  ['int8', 'int8'],
  ['w4a16', 'int4 weight-only (W4A16)'],
  ['w8a16', 'int8 weight-only (W8A16)'],
  ['w4a8', 'int4 weights, 8-bit activations (W4A8)'],
  ['w8a8', 'int8 weights and activations (W8A8)'],
  ['nvfp4a16', 'FP4 weight-only (NVFP4A16)'],
  ['gguf', 'GGUF (llama.cpp)'],
  ['bnb', 'bitsandbytes'],
  ['4bit', '4-bit (bitsandbytes/MLX)'],
  ['8bit', '8-bit (bitsandbytes/MLX)'],
  ['nf4', 'NF4 (bitsandbytes)'],
  ['exl2', 'ExLlamaV2'],
]);

/** Words that qualify a quantisation marker (FP8-dynamic, FP8-KV, FP4-v2) and mean nothing on their own. */
const QUANT_MODIFIERS = new Set(['dynamic', 'static', 'block', 'blockwise', 'kv', 'quantized']);
const CHECKPOINT_VERSION = /^v\d+$/;
/** Release tags: DeepSeek's MMDD (0528, 0324), Qwen's YYMM (2507). */
const RELEASE = /^\d{4}$/;
const VARIANTS: ReadonlyMap<string, ModelVariant | null> = new Map<string, ModelVariant | null>([
  ['instruct', 'instruct'],
  ['chat', 'instruct'],
  ['thinking', 'thinking'],
  ['base', 'base'],
  // Llama-2 "-hf" names the transformers format, not a variant
  ['hf', null],
]);

const HF_URL = /^(?:https?:\/\/)?(?:www\.)?(?:huggingface\.co|hf\.co)\//i;

/** `quantized.w8a8` (Neural Magic's spelling) → `w8a8`. */
function schemeWord(token: string): string {
  return token.startsWith('quantized.') ? token.slice('quantized.'.length) : token;
}

function isQuantWord(token: string): boolean {
  const t = schemeWord(token);
  return DTYPE_MARKERS.has(t) || OTHER_SCHEMES.has(t);
}

const WIDTH: Record<Dtype, number> = { fp4: 0, fp8: 1, fp16: 2, bf16: 2 };

function quantMarker(words: string[], written: string[]): QuantMarker {
  const marker = written.join('-');
  const schemes = words.map(schemeWord);
  const floats = schemes.flatMap((w) => DTYPE_MARKERS.get(w) ?? []);
  // W8A8 next to an FP8 marker only says "weights and activations" (RedHatAI …-FP8 W8A8); alone it is int8
  const others = schemes.filter((w) => OTHER_SCHEMES.has(w) && !(w === 'w8a8' && floats.length > 0));
  if (others.length > 0) return { marker, dtype: undefined, scheme: OTHER_SCHEMES.get(others[0]!)! };
  // mixed markers (…-NVFP4-FP8: FP4 experts, FP8 elsewhere): the narrowest, since it holds most of the weights
  const narrowest = floats.reduce((a, b) => (WIDTH[b.dtype] < WIDTH[a.dtype] ? b : a));
  return { marker, dtype: narrowest.dtype, scheme: floats.map((f) => f.scheme).join(' + ') };
}

const invalid = (input: string): ParsedModelId => ({
  ok: false,
  error: {
    code: 'INVALID_MODEL_ID',
    message: input === '' ? 'the model id is empty' : `"${input}" is not a model id`,
    hint: 'write a Hugging Face id <org>/<name> (meta-llama/Llama-3.1-8B-Instruct) or a recipes/ model id (llama-3.1-8b)',
    candidates: [],
  },
});

/**
 * Takes a model id apart. Rules, applied to the repository name from its end:
 * 1. a quantisation marker — FP8, FP4, NVFP4, MXFP4, BF16, FP16 (sets the dtype), or AWQ, GPTQ, INT4, W4A16, W8A8,
 *    GGUF… (not modelled) — with its qualifiers (`-dynamic`, `-static`, `-block`, `-KV`) and checkpoint version (`-v2`);
 * 2. then, repeatedly, a variant (`-Instruct`, `-Chat`, `-Base`, `-Thinking`, Llama-2's `-hf`) or a four-digit release
 *    tag (`-0528`, `-2507`);
 * 3. a leading `Meta-` before `Llama` (Meta's 3.1 naming) goes.
 * What is left, lower-cased, is the key. `_` and spaces count as `-`; a huggingface.co URL prefix is dropped.
 */
export function parseModelId(raw: string): ParsedModelId {
  const input = raw.trim();
  // a pasted page URL may end in "/"; a bare "org/" is missing its name
  const path = HF_URL.test(input) ? input.replace(HF_URL, '').replace(/\/+$/, '') : input;
  const segments = path.split('/');
  if (path === '' || segments.length > 2 || segments.some((s) => s.trim() === '')) return invalid(input);
  const org = segments.length === 2 ? segments[0]!.trim() : undefined;
  const name = segments[segments.length - 1]!.trim();
  const written = name.split(/[-_\s]+/).filter((t) => t !== '');
  const words = written.map((t) => t.toLowerCase());
  if (words.length === 0) return invalid(input);

  // 1. quantisation block: the trailing run of marker words, from its first actual marker
  let end = words.length;
  let run = end;
  while (run > 1) {
    const w = words[run - 1]!;
    if (isQuantWord(w) || QUANT_MODIFIERS.has(w) || CHECKPOINT_VERSION.test(w)) run--;
    else break;
  }
  let quant: QuantMarker | undefined;
  const first = words.findIndex((w, i) => i >= run && isQuantWord(w));
  if (first > 0) {
    quant = quantMarker(words.slice(first), written.slice(first));
    end = first;
  }

  // 2. variant and release tag, in either order (Qwen3-235B-A22B-Instruct-2507, DeepSeek-R1-0528)
  let variant: ModelVariant | undefined;
  let release: string | undefined;
  while (end > 1) {
    const w = words[end - 1]!;
    if (VARIANTS.has(w) && variant === undefined) {
      variant = VARIANTS.get(w) ?? undefined;
      end--;
    } else if (RELEASE.test(w) && release === undefined) {
      release = w;
      end--;
    } else break;
  }

  // 3. Meta-Llama-3.1-8B-Instruct → llama-3.1-8b
  const base = words.slice(words[0] === 'meta' && words[1] === 'llama' && end > 2 ? 1 : 0, end);
  return { ok: true, parts: { input, org, name, key: base.join('-'), variant, release, quant } };
}

// ---------------------------------------------------------------------------------------------
// Catalog

const FIELD_RANK: Record<ModelNameField, number> = { id: 0, hfId: 1, alias: 2 };

interface Claim<T> {
  entry: T;
  tier: number;
  field: ModelNameField;
  name: string;
  /** Position in `aliases` when field is alias. */
  index: number | undefined;
}

/** The names an entry answers to, with the field each comes from. */
function entryNames(entry: ModelEntry): { field: ModelNameField; index: number | undefined; name: string }[] {
  return [
    { field: 'id' as const, index: undefined, name: entry.id },
    { field: 'hfId' as const, index: undefined, name: entry.hfId },
    ...(entry.aliases ?? []).map((name, index) => ({ field: 'alias' as const, index, name })),
  ];
}

/** Does the entry's Hugging Face id carry a quantisation marker (a re-published checkpoint)? */
function quantised(e: ModelEntry): boolean {
  const parsed = parseModelId(e.hfId);
  return parsed.ok && parsed.parts.quant !== undefined;
}

const label = (e: ModelEntry): string => `${e.id} (${e.hfId})`;
/** How a claim is shown in a hint: an alias says which name matched. */
const claimLabel = (c: Claim<ModelEntry>): string => (c.field === 'alias' ? `${c.entry.id} (as ${c.name})` : label(c.entry));

/** Is `shorter` a whole-word prefix of `longer` (`llama-3` of `llama-3.1-8b`, not `llama-3.1-8` of `…-80b`)? */
function wordPrefix(shorter: string, longer: string): boolean {
  return longer.length > shorter.length && longer.startsWith(shorter) && (longer[shorter.length] === '-' || longer[shorter.length] === '.');
}

/**
 * A catalog of model entries in tiers searched in order (e.g. the recipes/ model cards, then the built-in reference
 * models): the first tier with a match answers. Inside a tier a match on the id beats one on the Hugging Face id,
 * which beats one on an alias; two entries matching at the same rank make the input ambiguous.
 */
export function modelIndex<T extends ModelEntry>(tiers: readonly (readonly T[])[]): ModelIndex<T> {
  const entries: T[] = [];
  const tierOf = new Map<T, number>();
  const seen = new Set<string>();
  tiers.forEach((tier, t) => {
    for (const e of tier) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      entries.push(e);
      tierOf.set(e, t);
    }
  });
  const claims = new Map<string, Claim<T>[]>();
  const collisions: ModelNameCollision<T>[] = [];
  for (const entry of entries) {
    const tier = tierOf.get(entry)!;
    for (const { field, index, name } of entryNames(entry)) {
      const parsed = parseModelId(name);
      if (!parsed.ok) continue;
      const key = parsed.parts.key;
      const list = claims.get(key) ?? [];
      if (!list.some((c) => c.entry === entry && FIELD_RANK[c.field] <= FIELD_RANK[field])) list.push({ entry, tier, field, name, index });
      claims.set(key, list);
    }
  }
  // Within a tier, the entries claiming a key at its best rank answer it; a second one at that rank makes the name
  // ambiguous, one at a worse rank is shadowed (it answers only to its other names). Checkpoints of one model at other
  // precisions (nvidia/DeepSeek-R1-FP4 beside deepseek-ai/DeepSeek-R1) share a base name on purpose: the resolver
  // tells them apart by dtype, so they collide with neither.
  for (const [key, list] of claims) {
    for (const tier of new Set(list.map((c) => c.tier))) {
      const best = new Map<T, Claim<T>>();
      for (const c of list.filter((c) => c.tier === tier)) {
        const had = best.get(c.entry);
        if (had === undefined || FIELD_RANK[c.field] < FIELD_RANK[had.field]) best.set(c.entry, c);
      }
      const ranked = [...best.values()];
      const top = Math.min(...ranked.map((c) => FIELD_RANK[c.field]));
      const atTop = ranked.filter((c) => FIELD_RANK[c.field] === top);
      ranked.forEach((c, i) => {
        const sameDtype = (o: Claim<T>): boolean => o !== c && o.entry.dtype === c.entry.dtype;
        // at the best rank: ambiguous with an earlier entry there; below it: shadowed by one there
        const ambiguous = FIELD_RANK[c.field] === top;
        const other = ambiguous ? ranked.slice(0, i).find((o) => sameDtype(o) && FIELD_RANK[o.field] === top) : atTop.find(sameDtype);
        if (other === undefined) return;
        collisions.push({ key, kind: ambiguous ? 'ambiguous' : 'shadowed', entry: c.entry, field: c.field, index: c.index, name: c.name, other: other.entry });
      });
    }
  }
  const keys = [...claims.keys()];
  const known = (): string => entries.map((e) => e.id).join(', ');

  function unmatched(parts: ModelIdParts): ModelIdError {
    const { input, key } = parts;
    // one claim per entry, its best-ranked name
    const byEntry = new Map<T, Claim<T>>();
    for (const k of keys.filter((k) => wordPrefix(key, k))) {
      // a name claimed in an earlier tier belongs to that tier alone, as in resolve()
      const list = claims.get(k)!;
      const top = Math.min(...list.map((c) => c.tier));
      for (const c of list.filter((c) => c.tier === top)) {
        const had = byEntry.get(c.entry);
        if (had === undefined || FIELD_RANK[c.field] < FIELD_RANK[had.field]) byEntry.set(c.entry, c);
      }
    }
    const narrower = [...byEntry.values()].sort((a, b) => a.entry.id.localeCompare(b.entry.id));
    if (narrower.length > 1) {
      return {
        code: 'AMBIGUOUS_MODEL',
        message: `"${input}" matches several models: ${narrower.map((c) => c.entry.id).join(', ')}`,
        hint: `write one of them in full: ${narrower.map(claimLabel).join(', ')}`,
        candidates: narrower.map((c) => c.entry.id),
      };
    }
    const message = `unknown model "${input}"`;
    if (narrower.length === 1) {
      const c = narrower[0]!;
      return { code: 'UNKNOWN_MODEL', message, hint: `did you mean ${claimLabel(c)}?`, candidates: [c.entry.id] };
    }
    // a longer name that starts like a known model: a fine-tune or distillation, same architecture or not
    const wider = keys.filter((k) => wordPrefix(k, key)).sort((a, b) => b.length - a.length)[0];
    if (wider !== undefined) {
      const e = claims.get(wider)![0]!.entry;
      return {
        code: 'UNKNOWN_MODEL',
        message,
        hint: `it is not ${label(e)}; if it keeps that architecture, list "${parts.name}" under aliases in recipes/${e.id}/model.yaml`,
        candidates: [e.id],
      };
    }
    const near = closest(key, keys);
    if (near !== undefined) {
      const c = claims.get(near)![0]!;
      return { code: 'UNKNOWN_MODEL', message, hint: `did you mean ${claimLabel(c)}?`, candidates: [c.entry.id] };
    }
    return {
      code: 'UNKNOWN_MODEL',
      message,
      hint: `use a recipes/ model id or a Hugging Face id of one of: ${known()} (or add recipes/<id>/model.yaml)`,
      candidates: entries.map((e) => e.id),
    };
  }

  function resolve(input: string, options: { dtype?: Dtype | undefined } = {}): ModelResolution<T> {
    const parsed = parseModelId(input);
    if (!parsed.ok) return parsed;
    const { parts } = parsed;
    const hits = claims.get(parts.key) ?? [];
    if (hits.length === 0) return { ok: false, error: unmatched(parts) };
    const tier = Math.min(...hits.map((h) => h.tier));
    const inTier = hits.filter((h) => h.tier === tier);
    const rank = Math.min(...inTier.map((h) => FIELD_RANK[h.field]));
    let best = [...new Set(inTier.filter((h) => FIELD_RANK[h.field] === rank).map((h) => h.entry))];
    if (best.length > 1) {
      // several checkpoints of one model: the one at the dtype asked for, else the one published without a marker
      const want = options.dtype ?? parts.quant?.dtype;
      const pick = want !== undefined ? best.filter((e) => e.dtype === want) : best.filter((e) => !quantised(e));
      if (pick.length === 1) best = pick;
    }
    if (best.length > 1) {
      return {
        ok: false,
        error: {
          code: 'AMBIGUOUS_MODEL',
          message: `"${input}" names several models: ${best.map((e) => e.id).join(', ')}`,
          hint: `write the model id (${best.map((e) => e.id).join(' or ')}); two model cards claim the name "${parts.key}"`,
          candidates: best.map((e) => e.id),
        },
      };
    }
    const model = best[0]!;
    const matchedBy = inTier.find((h) => h.entry === model && FIELD_RANK[h.field] === rank)!.field;
    if (parts.quant !== undefined && parts.quant.dtype === undefined && options.dtype === undefined) {
      return {
        ok: false,
        error: {
          code: 'UNSUPPORTED_QUANTIZATION',
          message: `"${input}" is ${model.id} quantised as ${parts.quant.scheme}, which the estimator does not model (it models bf16, fp16, fp8 and fp4 weights)`,
          hint: `estimate ${model.hfId} or an FP8/FP4 checkpoint of it, or give a dtype explicitly to model this one at that dtype`,
          candidates: [model.id],
        },
      };
    }
    const fromId = parts.quant?.dtype;
    const dtype = options.dtype ?? fromId ?? model.dtype;
    const dtypeFrom = options.dtype !== undefined ? 'query' : fromId !== undefined ? 'id' : 'card';
    return { ok: true, model, matchedBy, tier, parts, dtype, dtypeFrom };
  }

  return { entries, collisions, resolve };
}
