import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '@llm-recipes/errors';
import {
  canonicalJson,
  formatSummaryTable,
  mergeShardRecords,
  parseRecordsJsonl,
  recordsToJsonl,
  summarizeRecords,
  writeFileAtomic,
  type Summary,
} from '@llm-recipes/bench';
import type { RegisterCommand } from './index.ts';

interface ShardInfo {
  index: number;
  count: number;
  originEpochMs: Record<string, number>;
}

/**
 * `recipes bench merge DIR…` joins the experiment directories of shards run with `--shard i/N` into one: per point,
 * the raw records of every shard on one clock, summarized again, so percentiles are exact (never averaged).
 * Registered as a subcommand of `bench`.
 */
export const registerBenchMerge: RegisterCommand = (program, io) => {
  const bench = program.commands.find((c) => c.name() === 'bench');
  if (!bench) throw new Error('bench merge must be registered after bench');
  bench
    .command('merge')
    .description('Merge shard experiment directories (recipes bench --shard i/N --out DIR) into one exact result.')
    .argument('<dirs...>', 'shard directories (each holding shard.json and points/)')
    .option('--into <dir>', 'write the merged experiment here (points/<id>/records.jsonl, summary.json); --out works too, and bench --json prints the merged summaries as JSON')
    .action((dirs: string[], flags: { into?: string }) => {
      // `--out` and `--json` belong to `bench` itself; commander hands them to the parent command.
      const parent = bench.opts() as { out?: string; json?: boolean };
      const into = flags.into ?? parent.out;
      const shards = dirs.map((d) => {
        const dir = resolve(io.cwd, d);
        const file = join(dir, 'shard.json');
        if (!existsSync(file)) {
          throw new UserError('SHARD_INCOMPLETE', `${d}: no shard.json`, { hint: 'the shard has not finished (shard.json is written last) or was not run with --shard' });
        }
        return { dir, info: JSON.parse(readFileSync(file, 'utf8')) as ShardInfo };
      });
      const counts = new Set(shards.map((s) => s.info.count));
      const indexes = new Set(shards.map((s) => s.info.index));
      const count = shards[0]!.info.count;
      if (counts.size !== 1 || indexes.size !== shards.length || shards.length !== count) {
        throw new UserError('SHARD_SET', `expected shards 0…${count - 1} of one run, got indexes ${[...indexes].join(', ')} of ${[...counts].join('/')}`, {
          hint: 'pass every shard directory of the run, once each',
        });
      }
      const points = [...new Set(shards.flatMap((s) => readdirSync(join(s.dir, 'points'))))].sort();
      const rows: { point: string; summary: Summary | null; error: string | null }[] = [];
      const out: Record<string, Summary> = {};
      for (const point of points) {
        const parts = shards.map((s) => {
          const f = join(s.dir, 'points', point, 'records.jsonl');
          if (!existsSync(f) || s.info.originEpochMs[point] === undefined) {
            throw new UserError('SHARD_INCOMPLETE', `shard ${s.info.index}: point ${point} has no records`, { hint: 'a failed shard invalidates the point: re-run it' });
          }
          return { records: parseRecordsJsonl(readFileSync(f, 'utf8')), originEpochMs: s.info.originEpochMs[point]! };
        });
        const merged = mergeShardRecords(parts);
        const summary = summarizeRecords(merged);
        out[point] = summary;
        rows.push({ point, summary, error: null });
        if (into) {
          const dir = join(resolve(io.cwd, into), 'points', point);
          mkdirSync(dir, { recursive: true });
          writeFileAtomic(join(dir, 'records.jsonl'), recordsToJsonl(merged));
          writeFileAtomic(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
        }
      }
      if (parent.json) io.stdout(`${canonicalJson({ shards: count, points: out })}\n`);
      else io.stdout(`${formatSummaryTable(rows)}\n`);
    });
};
