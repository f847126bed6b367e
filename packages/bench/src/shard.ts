import { InvalidInputError } from '@llm-recipes/errors';
import { monoNow } from './clock.ts';
import { mergeRecords, type RequestRecord } from './records.ts';

/** One load generator's place among N started together (`--shard i/N`, or JOB_COMPLETION_INDEX in an Indexed Job). */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `i/N` (0 ≤ i < N). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new InvalidInputError([
      { code: 'BAD_FLAG', file: '<command line>', path: ['shard'], message: `--shard: expected i/N with 0 ≤ i < N, got "${text}"`, hint: 'e.g. --shard 0/4 (the Indexed Job passes $JOB_COMPLETION_INDEX/N)' },
    ]);
  }
  return { index, count };
}

/** Shard i's part of an integer total (concurrency, requests): the remainder goes to the lowest indexes, so the parts sum to the total. */
export function shareOf(total: number, shard: Shard): number {
  return Math.floor(total / shard.count) + (shard.index < total % shard.count ? 1 : 0);
}

/** Shard i's part of a rate: an even split (superposed Poisson processes of rate R/N are one of rate R). */
export function rateShareOf(rate: number, shard: Shard): number {
  return rate / shard.count;
}

/** The raw records of one shard and where its clock origin lies on the wall clock (epoch ms). */
export interface ShardRecords {
  records: readonly RequestRecord[];
  originEpochMs: number;
}

const TIME_FIELDS = ['scheduled_ms', 'sent_ms', 'headers_ms', 'first_token_ms', 'last_token_ms', 'end_ms'] as const;

/**
 * Merges shards run on different hosts into one run. Each shard's timestamps are moved onto a common origin (the
 * earliest shard's) by the difference of their wall-clock origins; latencies are per request and untouched, so every
 * percentile of the merge is exactly the percentile over all requests. Ids are prefixed with the shard number so
 * they stay unique.
 */
export function mergeShardRecords(shards: readonly ShardRecords[]): RequestRecord[] {
  if (shards.length === 0) return [];
  const origin = Math.min(...shards.map((s) => s.originEpochMs));
  return mergeRecords(
    shards.map((s, i) => {
      const shift = s.originEpochMs - origin;
      return s.records.map((r) => {
        const out: RequestRecord = { ...r, id: `s${i}-${r.id}` };
        for (const f of TIME_FIELDS) {
          const v = out[f];
          if (typeof v === 'number') (out as unknown as Record<string, number>)[f] = Math.round((v + shift) * 1000) / 1000;
        }
        return out;
      });
    }),
  );
}

/** Wall-clock time (epoch ms) of a run's clock origin (`RunResult.originNs`), read right after the run. */
export function originEpochMs(originNs: number): number {
  return Date.now() - (monoNow() - originNs) / 1e6;
}
