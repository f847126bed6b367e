import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReferenceServer, type ReferenceServer } from '@llm-recipes/bench/testing';
import { runCli, tempDirs } from '../testing.ts';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
let srv: ReferenceServer;
beforeAll(async () => {
  srv = await startReferenceServer({ ttftMs: 4, itlMs: 1 });
});
afterAll(async () => {
  await srv.close();
});
const tmp = tempDirs('cli-targets-');
const run = (argv: string[]) => runCli(argv, repoRoot);

describe('recipes render --target', () => {
  it('--set dgdr.searchStrategy / dgdr.autoApply reach the DGDR; a bad value is exit 2 naming the field', async () => {
    const r = await run(['render', '--target', 'dgdr', '--recipe', 'qwen3-32b/vllm/h100-sxm', '--set', 'dgdr.searchStrategy=thorough', '--set', 'dgdr.autoApply=false', '--stdout']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^  searchStrategy: thorough$/m);
    expect(r.out).toMatch(/^  autoApply: false$/m);
    const bad = await run(['render', '--target', 'dgdr', '--recipe', 'qwen3-32b/vllm/h100-sxm', '--set', 'dgdr.searchStrategy=fast', '--stdout']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('dgdr.searchStrategy');
    expect(bad.err).toContain('rapid, thorough');
  });

  it('--stdout prints every file of the target', async () => {
    const r = await run(['render', '--target', 'dgdr', '--recipe', 'qwen3-32b/vllm/h100-sxm', '--stdout']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('# ==> dgdr.yaml');
    expect(r.out).toContain('kind: DynamoGraphDeploymentRequest');
  });

  it('--out writes <out>/<target>/<recipe>/ with executable scripts', async () => {
    const out = tmp();
    const r = await run(['render', '--target', 'slurm', '--recipe', 'qwen3-32b/vllm/h100-sxm', '--out', out]);
    expect(r.code).toBe(0);
    const dir = join(out, 'slurm', 'qwen3-32b-vllm-h100-sxm');
    expect(readFileSync(join(dir, 'decode.sbatch'), 'utf8')).toContain('#SBATCH --gpus-per-node=4');
    expect(statSync(join(dir, 'submit.sh')).mode & 0o111).not.toBe(0);
  });

  it('refuses a recipe the target cannot serve, with the reason (exit 2)', async () => {
    const r = await run(['render', '--target', 'standalone', '--recipe', 'qwen3-32b/vllm/h100-sxm', '--stdout']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('aggregated recipes only');
  });

  it('rejects an unknown target and a target without --recipe', async () => {
    expect((await run(['render', '--target', 'nomad'])).code).toBe(2);
    expect((await run(['render', '--target', 'compose'])).err).toContain('--recipe');
  });
});

describe('recipes bench --shard and bench merge', () => {
  it('two shards split the load and the merge holds every request once', async () => {
    const [a, b, merged] = [tmp(), tmp(), tmp()];
    const common = ['bench', '--endpoint', srv.url, '--model', 'ref', '--isl', '32', '--osl', '4', '--concurrency', '5', '--requests', '11'];
    const [ra, rb] = await Promise.all([run([...common, '--shard', '0/2', '--out', a, '--json']), run([...common, '--shard', '1/2', '--seed', '1', '--out', b, '--json'])]);
    expect([ra.code, rb.code]).toEqual([0, 0]);
    expect(existsSync(join(a, 'shard.json')) && existsSync(join(b, 'shard.json'))).toBe(true);
    const r = await run(['bench', 'merge', a, b, '--out', merged, '--json']);
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out);
    const point = Object.values(res.points)[0] as { counts: { requests: number; completed: number } };
    expect(point.counts).toMatchObject({ requests: 11, completed: 11 });
    const pointDir = join(merged, 'points', Object.keys(res.points)[0]!);
    expect(readFileSync(join(pointDir, 'records.jsonl'), 'utf8').trim().split('\n')).toHaveLength(11);
  });

  it('merge refuses an incomplete shard set', async () => {
    const a = tmp();
    await run(['bench', '--endpoint', srv.url, '--model', 'ref', '--isl', '32', '--osl', '4', '--concurrency', '2', '--requests', '4', '--shard', '0/2', '--out', a]);
    const r = await run(['bench', 'merge', a]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('shards 0…1');
  });
});
