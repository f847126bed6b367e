import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReferenceServer, type ReferenceServer } from '@llm-recipes/bench/testing';
import { startSimulator, type RunningSimulator } from '@llm-recipes/sim';
import type { CliIo } from '../io.ts';
import { runCli, tempDirs } from '../testing.ts';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const bin = fileURLToPath(new URL('../bin.ts', import.meta.url));
const fixtureTokenizer = fileURLToPath(new URL('../../../../packages/bench/src/fixtures/tokenizer.json', import.meta.url));

let srv: ReferenceServer;
beforeAll(async () => {
  srv = await startReferenceServer({ ttftMs: 4, itlMs: 1 });
});
afterAll(async () => {
  await srv.close();
});
const tmp = tempDirs('cli-bench-');
const run = (argv: string[], over: Partial<CliIo> = {}) => runCli(argv, repoRoot, over);

describe('recipes bench', () => {
  it('--json prints the summary object with every §6 metric as statistics in ms', async () => {
    const { code, out: stdout } = await run(['bench', '--endpoint', srv.url, '--model', 'ref', '--isl', '32', '--osl', '6', '--concurrency', '2', '--requests', '6', '--json']);
    expect(code).toBe(0);
    const s = JSON.parse(stdout);
    for (const m of ['ttft', 'itl', 'tpot', 'e2e', 'tokens_per_second_per_user']) {
      expect(Object.keys(s[m]).sort(), m).toEqual(['max', 'mean', 'min', 'p50', 'p90', 'p95', 'p99', 'p99_9', 'std']);
    }
    expect(s.counts).toEqual({ requests: 6, completed: 6, failed: 0, warmup: 0 });
    expect(s.ttft.min).toBeGreaterThanOrEqual(3);
    expect(s.output_throughput).toBeGreaterThan(0);
    expect(s.token_counts.source).toBe('server');
    expect(s.goodput).toBeNull();
  });

  it('prints a summary table, uses a tokenizer.json given by path, and sends the completions API', async () => {
    srv.clearLog();
    const { code, out: stdout, err: stderr } = await run(['bench', '--endpoint', `${srv.url}/v1`, '--model', 'ref', '--api', 'completions', '--isl', '40', '--osl', '3', '--rate', '50', '--requests', '5', '--tokenizer', fixtureTokenizer, '--slo-ttft', '1000']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\| point +\| reqs \| err % \| TTFT p50/);
    expect(stdout).toMatch(/\| isl40-osl3-r50 +\| +5 \| +0\.0 \|/);
    expect(stderr).toContain('done isl40-osl3-r50');
    const log = srv.log();
    expect(log.every((r) => r.path === '/v1/completions')).toBe(true);
    // the fixture is a word-level tokenizer: 40 tokens = 40 words, which the server counts too
    expect(log.map((r) => r.promptTokens)).toEqual([40, 40, 40, 40, 40]);
  });

  it('shows a live progress line on a TTY', async () => {
    const slow = await startReferenceServer({ ttftMs: 150, itlMs: 100 });
    try {
      const { err: stderr } = await run(['bench', '--endpoint', slow.url, '--model', 'ref', '--isl', '8', '--osl', '4', '--concurrency', '1', '--requests', '2'], { isTTY: true });
      expect(stderr).toMatch(/\r\x1b\[2K\[1\/1\] isl8-osl4-c1 measure \d+s req \d\/2 inflight 1 err 0 out \d+ tok\/s/);
    } finally {
      await slow.close();
    }
  });

  it('reports every bad flag at once with exit code 2', async () => {
    const { code, err: stderr } = await run(['bench', '--endpoint', 'nope', '--isl', 'abc', '--osl', '-1', '--rate', '0', '--arrival', 'weibull', '--export', 'csv']);
    expect(code).toBe(2);
    for (const flag of ['--isl', '--osl', '--rate', '--arrival', '--export', '--model']) expect(stderr).toContain(flag);
  });

  it('exits 1 when the error rate passes --error-threshold, and completes the run', async () => {
    const faulty = await startReferenceServer({ ttftMs: 2, itlMs: 1, faults: [{ kind: 'http_500', every: 2 }] });
    try {
      const args = ['bench', '--endpoint', faulty.url, '--model', 'ref', '--isl', '8', '--osl', '2', '--concurrency', '1', '--requests', '6', '--json'];
      const over = await run(args);
      expect(over.code).toBe(1);
      expect(JSON.parse(over.out).errors.http).toBe(3);
      expect(over.err).toContain('error rate 50.0% at isl8-osl2-c1 exceeds --error-threshold 5%');
      const under = await run([...args, '--error-threshold', '60']);
      expect(under.code).toBe(0);
    } finally {
      await faulty.close();
    }
  });

  it("reads model, SLO and GPU count from a recipe's benchmark section", async () => {
    srv.clearLog();
    const dir = tmp();
    const { code, out: stdout } = await run(['bench', '--endpoint', srv.url, '--recipe', 'recipes/qwen3-0.6b/vllm/l40s', '--matrix-isl-osl', '16x3', '--concurrencies', '1', '--requests', '2', '--warmup', '0', '--json', '--out', dir]);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    // the manifest records the resolved recipe and the content hashes of its rendered workload manifests
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.recipe.benchmark.islOsl.length).toBeGreaterThan(0);
    expect(manifest.inputs.recipe).toBe('qwen3-0.6b/vllm/l40s');
    const rendered = Object.keys(manifest.manifests);
    expect(rendered.some((p) => p.includes('/workloads/qwen3-0-6b-vllm-l40s/'))).toBe(true);
    expect(Object.values(manifest.manifests).every((m) => /^[0-9a-f]{64}$/.test((m as { sha256: string }).sha256))).toBe(true);
    expect(out.slo.ttftMs).toBeGreaterThan(0);
    expect(out.tokens_per_second_per_gpu).toBeGreaterThan(0);
    expect(srv.log()[0]!.body['model']).toMatch(/qwen/i);
  });

  it('resumes a killed matrix run without losing or redoing finished points', async () => {
    const slow = await startReferenceServer({ ttftMs: 20, itlMs: 20 });
    const out = tmp();
    const args = ['bench', '--endpoint', slow.url, '--model', 'ref', '--matrix-isl-osl', '16x8,32x8', '--concurrencies', '1,2', '--requests', '4', '--out', out, '--export', 'vllm'];
    try {
      const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, stdio: 'ignore' });
      const firstStatus = join(out, 'points', 'isl16-osl8-c1', 'status.json');
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        if (existsSync(firstStatus) && JSON.parse(readFileSync(firstStatus, 'utf8')).state === 'done') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(JSON.parse(readFileSync(firstStatus, 'utf8')).state).toBe('done');
      const kept = readFileSync(join(out, 'points', 'isl16-osl8-c1', 'records.jsonl'), 'utf8');
      expect(kept.trim().split('\n')).toHaveLength(4);

      slow.clearLog();
      const resumed = await run([...args, '--resume', '--json']);
      expect(resumed.code).toBe(0);
      const result = JSON.parse(resumed.out);
      expect(result.points.map((p: { id: string; summary: unknown }) => [p.id, p.summary !== null])).toEqual([
        ['isl16-osl8-c1', true],
        ['isl16-osl8-c2', true],
        ['isl32-osl8-c1', true],
        ['isl32-osl8-c2', true],
      ]);
      expect(resumed.err).toContain('kept isl16-osl8-c1');
      // the finished point was neither re-run nor rewritten
      expect(readFileSync(join(out, 'points', 'isl16-osl8-c1', 'records.jsonl'), 'utf8')).toBe(kept);
      expect(slow.log().length).toBeLessThanOrEqual(12);
      const status = JSON.parse(readFileSync(join(out, 'status.json'), 'utf8'));
      expect(status.points.map((p: { state: string }) => p.state)).toEqual(['done', 'done', 'done', 'done']);
      expect(existsSync(join(out, 'points', 'isl32-osl8-c2', 'vllm-result.json'))).toBe(true);
    } finally {
      await slow.close();
    }
  });

  it('sends sampling fields and --extra-inputs in every request body, max_tokens and min_tokens tied to OSL', async () => {
    srv.clearLog();
    const args = ['bench', '--endpoint', srv.url, '--model', 'ref', '--isl', '16', '--osl', '5', '--concurrency', '1', '--requests', '2', '--random-seed', '100'];
    const extra = ['--temperature', '0', '--repetition-penalty', '1.0', '--extra-inputs', 'top_k:1', '--extra-inputs', '{"nvext": {"ignore_eos": true}}'];
    const { code } = await run([...args, ...extra, '--json']);
    expect(code).toBe(0);
    const bodies = srv.log().map((r) => r.body);
    expect(bodies).toHaveLength(2);
    for (const b of bodies) {
      expect(b).toMatchObject({ max_tokens: 5, max_completion_tokens: 5, min_tokens: 5, ignore_eos: true, temperature: 0, repetition_penalty: 1, top_k: 1, nvext: { ignore_eos: true } });
    }
    // the seed decides the prompts: the same seed sends the same bytes again
    srv.clearLog();
    await run([...args, ...extra, '--json']);
    expect(srv.log().map((r) => JSON.stringify(r.body['messages']))).toEqual(bodies.map((b) => JSON.stringify(b['messages'])));
    const bad = await run([...args, '--extra-inputs', 'novalue', '--goodput', 'ttft_p99:5']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--extra-inputs: "novalue" is not KEY:VALUE');
    expect(bad.err).toContain('--goodput: "ttft_p99:5" is not METRIC:MS');
  });

  it('measures max(--requests, k × concurrency) requests per concurrency point, warmup likewise', async () => {
    srv.clearLog();
    const { code, out } = await run([
      'bench', '--endpoint', srv.url, '--model', 'ref', '--matrix-isl-osl', '8x2', '--concurrencies', '1,3',
      '--requests', '4', '--requests-per-concurrency', '2', '--warmup', '1', '--warmup-per-concurrency', '1', '--json',
    ]);
    expect(code).toBe(0);
    const points = JSON.parse(out).points as { id: string; summary: { counts: { requests: number; warmup: number } } }[];
    expect(points.map((p) => [p.id, p.summary.counts.requests, p.summary.counts.warmup])).toEqual([
      ['isl8-osl2-c1', 4, 1],
      ['isl8-osl2-c3', 6, 3],
    ]);
    expect(srv.log()).toHaveLength(4 + 1 + 6 + 3);
  });

  it('counts goodput against the SLOs given AIPerf-style', async () => {
    const fixed = await startReferenceServer({ ttftMs: 30, itlMs: 2 });
    try {
      const args = ['bench', '--endpoint', fixed.url, '--model', 'ref', '--isl', '8', '--osl', '4', '--concurrency', '2', '--requests', '6', '--json'];
      const loose = JSON.parse((await run([...args, '--goodput', 'time_to_first_token:2000 inter_token_latency:500'])).out);
      expect(loose.slo).toEqual({ ttftMs: 2000, tpotMs: 500 });
      expect(loose.good_requests).toBe(6);
      expect(loose.goodput).toBeCloseTo(6 / loose.duration_s, 6);
      // TTFT is at least the server's 30 ms: a 10 ms bound passes no request
      const tight = JSON.parse((await run([...args, '--goodput', 'time_to_first_token:10'])).out);
      expect(tight.good_requests).toBe(0);
      expect(tight.goodput).toBe(0);
      // a TPOT bound below the server's 2 ms per token fails them all, the E2E bound alone passes them
      expect(JSON.parse((await run([...args, '--goodput', 'inter_token_latency:0.5'])).out).good_requests).toBe(0);
      expect(JSON.parse((await run([...args, '--goodput', 'request_latency:5000'])).out).good_requests).toBe(6);
    } finally {
      await fixed.close();
    }
  });
});

describe('recipes bench --trace against the simulator', () => {
  const running: RunningSimulator[] = [];
  afterAll(async () => {
    await Promise.all(running.map((s) => s.close()));
  });
  const sims = async (cfg: Parameters<typeof startSimulator>[0]) => {
    const s = await startSimulator(cfg);
    running.push(s);
    return s;
  };

  it('replays a Mooncake trace whose shared hash_ids become server prefix-cache hits, and reports both hit rates', async () => {
    const sim = await sims({ model: { name: 'sim' }, speedup: 20 });
    const dir = tmp();
    const trace = join(dir, 'trace.jsonl');
    // a conversation: every turn repeats the previous turns' blocks; one unrelated request in between
    const rows = [
      { timestamp: 0, input_length: 600, output_length: 4, hash_ids: [10, 11] },
      { timestamp: 50, input_length: 1100, output_length: 4, hash_ids: [10, 11, 12] },
      { timestamp: 60, input_length: 300, output_length: 4, hash_ids: [90] },
      { timestamp: 100, input_length: 1600, output_length: 4, hash_ids: [10, 11, 12, 13] },
    ];
    writeFileSync(trace, rows.map((r) => JSON.stringify(r)).join('\n'));
    const { code, out, err } = await run(['bench', '--endpoint', sim.url, '--model', 'sim', '--api', 'completions', '--trace', trace, '--concurrencies', '1,2', '--json']);
    expect(code, err).toBe(0);
    const points = JSON.parse(out).points as { id: string; summary: any }[];
    expect(points.map((p) => p.id)).toEqual(['trace-c1', 'trace-c2']);
    for (const { summary: s } of points) {
      expect(s.counts.requests).toBe(4);
      // prompts have exactly input_length tokens: the simulator counts with the same o200k_base
      expect(s.token_counts.input_server_total).toBe(600 + 1100 + 300 + 1600);
      expect(s.token_counts.input_client_total).toBe(600 + 1100 + 300 + 1600);
      // theoretical: turn 2 reuses 600 of block 10/11 (512 + 88), turn 4 reuses 1100 (512 + 512 + 76)
      expect(s.prefix_cache.theoretical_hit_rate).toBeCloseTo((600 + 1100) / 3600, 6);
      // the server caches whole 16-token blocks and recomputes the last prompt token: a little under the theory.
      // The second replay draws new blocks, so it does not hit what the first one left in the cache.
      expect(s.prefix_cache.server_cached_tokens).toBeGreaterThan(0.9 * 1700);
      expect(s.prefix_cache.server_cached_tokens).toBeLessThanOrEqual(1700);
    }
    expect(err).toContain('theoretical prefix hit rate 47.2%');
  });

  it("replays a recipe's trace with its block size and speed-up, the first --requests entries", async () => {
    const sim = await sims({ model: { name: 'Qwen/Qwen3-32B' }, speedup: 20 });
    const rows = readFileSync(join(repoRoot, 'recipes/qwen3-32b/vllm/h100-sxm/traces/chat-sessions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const { code, out, err } = await run(['bench', '--endpoint', sim.url, '--recipe', 'recipes/qwen3-32b/vllm/h100-sxm', '--variant', 'chat-trace', '--api', 'completions', '--requests', '12', '--warmup', '0', '--json']);
    expect(code, err).toBe(0);
    const s = JSON.parse(out);
    expect(s.counts.requests).toBe(12);
    expect(s.token_counts.input_server_total).toBe(rows.slice(0, 12).reduce((a: number, r: { input_length: number }) => a + r.input_length, 0));
    expect(s.prefix_cache.theoretical_hit_rate).toBeGreaterThan(0.2);
    expect(s.prefix_cache.server_cached_tokens).toBeGreaterThan(0);
    // goodput bounds are the recipe's sla
    expect(s.slo).toEqual({ ttftMs: 100, tpotMs: 15 });
  });

  it("names a trace line whose hash_ids do not fit its length at the block size", async () => {
    const dir = tmp();
    const trace = join(dir, 'bad.jsonl');
    writeFileSync(trace, '{"timestamp": 0, "input_length": 100, "output_length": 4, "hash_ids": [1, 2]}\n');
    const { code, err } = await run(['bench', '--endpoint', srv.url, '--model', 'ref', '--trace', trace]);
    expect(code).toBe(2);
    expect(err).toContain('line 1: 2 hash_ids of 512 tokens need input_length > 512, got 100');
    expect((await run(['bench', '--endpoint', srv.url, '--model', 'ref', '--trace', trace, '--trace-block-size', '64', '--requests', '1'])).code).toBe(0);
  });
});
