import { loadTokenizer, monoNow, percentile, runBenchmark, SseParser, type BenchTokenizer, type RunResult } from '@llm-recipes/bench';
import { spawnReferenceServer, type SpawnedReferenceServer } from '@llm-recipes/bench/testing';
import type { BenchRow, BenchSuite } from '../types.ts';

/**
 * Client overhead of the benchmark harness, measured against the reference server running in its own process
 * (TTFT 50 ms, ITL 10 ms) on loopback. The server logs when it received each request and when it wrote the first
 * content chunk, on the same monotonic clock as the client, so
 *   TTFT error = client TTFT − server TTFT = (client first chunk − server write) + (server receive − client send),
 * i.e. all the latency the client adds to what the server did.
 */
const SUITE = 'harness';

async function ttftError(srv: SpawnedReferenceServer, tok: BenchTokenizer, concurrency: number): Promise<BenchRow[]> {
  // one warmup round flowing straight into three measured rounds; the ramp (≈ one request's duration) spreads
  // the closed loop's starts so requests do not arrive at the server as one synchronized burst
  await srv.clearLog();
  const res = await runBenchmark({
    endpoint: srv.url,
    api: 'chat',
    model: 'reference',
    load: { mode: 'concurrency', concurrency },
    requests: concurrency * 3,
    warmup: concurrency,
    rampUpS: 0.4,
    workload: { isl: 64, osl: 32, seed: concurrency },
    tokenizer: tok,
    timeoutMs: 60_000,
  });
  const log = new Map((await srv.log(true)).map((r) => [r.requestId, r]));
  const errors: number[] = [];
  const sendSide: number[] = [];
  const recvSide: number[] = [];
  for (const r of res.records) {
    if (r.warmup || !r.ok || r.ttft_ms === null || r.first_token_ms === null) continue;
    const s = log.get(r.id);
    if (!s || s.firstContentNs < 0) continue;
    errors.push(r.ttft_ms - (s.firstContentNs - s.receivedNs) / 1e6);
    // the two halves: request delivery (client send → server handler) and first-chunk delivery (server write → client)
    sendSide.push((s.receivedNs - (res.originNs + r.sent_ms * 1e6)) / 1e6);
    recvSide.push((res.originNs + r.first_token_ms * 1e6 - s.firstContentNs) / 1e6);
  }
  const p50 = percentile(errors, 50);
  const p99 = percentile(errors, 99);
  const strict = concurrency === 256;
  const note =
    `${errors.length} requests, ${res.summary.counts.failed} failed, ${chunksPerSecond(res).toFixed(0)} chunks/s; ` +
    `p50 split: request ${percentile(sendSide, 50).toFixed(2)} ms + first chunk ${percentile(recvSide, 50).toFixed(2)} ms`;
  return [
    { suite: SUITE, metric: `TTFT error p50 @ c=${concurrency}`, value: p50, unit: 'ms', target: strict ? '≤ 5' : undefined, ok: strict ? p50 <= 5 : undefined, note },
    { suite: SUITE, metric: `TTFT error p99 @ c=${concurrency}`, value: p99, unit: 'ms', target: strict ? '≤ 20' : undefined, ok: strict ? p99 <= 20 : undefined },
  ];
}

function chunksPerSecond(res: RunResult): number {
  let chunks = 0;
  for (const r of res.records) if (!r.warmup) chunks += r.chunk_ms.length;
  return res.summary.duration_s > 0 ? chunks / res.summary.duration_s : 0;
}

async function rateAccuracy(srv: SpawnedReferenceServer, tok: BenchTokenizer, rate: number): Promise<BenchRow[]> {
  await srv.clearLog();
  const seconds = rate >= 1000 ? 3 : 4;
  const res = await runBenchmark({
    endpoint: srv.url,
    api: 'chat',
    model: 'reference',
    load: { mode: 'rate', rate, arrival: 'poisson' },
    requests: Math.round(rate * seconds),
    workload: { isl: 64, osl: 8, seed: rate },
    tokenizer: tok,
    timeoutMs: 60_000,
  });
  // the server's own view: arrivals per second between its first and last received request
  const log = await srv.log(true);
  const recv = log.map((r) => r.receivedNs).sort((a, b) => a - b);
  const serverRate = recv.length > 1 ? ((recv.length - 1) * 1e9) / (recv[recv.length - 1]! - recv[0]!) : 0;
  const achieved = res.summary.schedule.achieved_rate ?? 0;
  const dev = Math.abs(achieved - rate) / rate;
  return [
    {
      suite: SUITE,
      metric: `achieved rate @ ${rate} req/s (Poisson)`,
      value: achieved,
      unit: 'req/s',
      target: `within 1 % of ${rate}`,
      ok: dev <= 0.01 && Math.abs(serverRate - rate) / rate <= 0.01,
      note: `server saw ${serverRate.toFixed(1)} req/s; send lag p99 ${res.summary.schedule.delay?.p99.toFixed(2)} ms; ${res.summary.counts.failed} failed`,
    },
  ];
}

/** Ingest capacity of the hot path on one core: SSE framing + JSON.parse + content extraction per chunk. */
function sseIngest(): BenchRow {
  const chunk = (i: number) =>
    `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" tok${i % 97}"},"finish_reason":null}]}\n\n`;
  // 64 KiB reads of many events, plus reads that split events, as a socket delivers them under load
  const text = Array.from({ length: 2000 }, (_, i) => chunk(i)).join('');
  const buf = Buffer.from(text);
  const reads: Buffer[] = [];
  for (let o = 0; o < buf.length; o += 1500) reads.push(buf.subarray(o, Math.min(buf.length, o + 1500)));
  let events = 0;
  let chars = 0;
  const parser = new SseParser((ev) => {
    const msg = JSON.parse(ev.data) as { choices: { delta: { content?: string } }[] };
    chars += msg.choices[0]?.delta.content?.length ?? 0;
    events++;
  });
  const rounds = 150;
  for (let r = 0; r < 10; r++) for (const b of reads) parser.push(b, 0); // warm the JIT
  events = 0;
  const t0 = monoNow();
  for (let r = 0; r < rounds; r++) for (const b of reads) parser.push(b, monoNow());
  const perS = (events * 1e9) / (monoNow() - t0);
  return {
    suite: SUITE,
    metric: 'SSE chunks/s ingested (one core)',
    value: Math.round(perS),
    unit: 'chunks/s',
    target: '≥ 200000',
    ok: perS >= 200_000 && chars > 0,
    note: 'framing + timestamp + JSON.parse + delta extraction, 1500-byte reads',
  };
}

export const harnessSuite: BenchSuite = {
  name: SUITE,
  run: async () => {
    const rows: BenchRow[] = [sseIngest()];
    const tok = await loadTokenizer();
    const srv = await spawnReferenceServer({ ttftMs: 50, itlMs: 10, recordChunks: false });
    try {
      for (const c of [64, 256, 512]) rows.push(...(await ttftError(srv, tok, c)));
      for (const r of [100, 400, 1000]) rows.push(...(await rateAccuracy(srv, tok, r)));
    } finally {
      await srv.close();
    }
    return rows;
  },
};
