/** Levenshtein distance, small inputs only (keys, ids). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate within a typo's reach (a third of the word, at least 2 edits), or undefined. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    // a prefix ("h100" for "h100_sxm") is as good as a one-letter typo
    const d = lc.startsWith(w) || w.startsWith(lc) ? 1 : editDistance(w, lc);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** "did you mean `x`?" or a list of the valid choices. */
export function didYouMean(word: string, candidates: readonly string[], noun = 'known'): string {
  const best = closest(word, candidates);
  if (best !== undefined) return `did you mean "${best}"?`;
  return `${noun}: ${candidates.join(', ')}`;
}
