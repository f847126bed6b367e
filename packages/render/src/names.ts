import { createHash } from 'node:crypto';

/** Longest name Grove accepts for the DGD name plus one PodClique name (ai-dynamo/dynamo#5449, #8563). */
export const GROVE_NAME_LIMIT = 45;

/** First `length` hex digits of the SHA-256 of `text`: a short, stable fingerprint for names. */
export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

function normalize(part: string): string {
  return part
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * Joins `parts` into a DNS-1123 label of at most `max` characters.
 * Names that fit are returned as they are (normalized); longer ones are cut and end in an 8-character hash of the
 * original parts, so two different inputs never shorten to the same name and the same input always does.
 */
export function toDnsName(parts: readonly string[], max = 63): string {
  if (max < 10) throw new RangeError(`toDnsName: max must be at least 10 (got ${max})`);
  const joined = parts.map(normalize).filter((p) => p !== '').join('-');
  if (joined === '') throw new RangeError(`toDnsName: no usable characters in ${JSON.stringify(parts)}`);
  if (joined.length <= max) return joined;
  const hash = shortHash(parts.join('\u0000'));
  const head = joined.slice(0, max - hash.length - 1).replace(/-+$/, '');
  return head === '' ? hash : `${head}-${hash}`;
}
