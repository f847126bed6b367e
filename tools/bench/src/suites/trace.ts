import { buildRequests, loadTokenizer, parseTrace, tracePrefixStats } from '@llm-recipes/bench';
import type { BenchRow, BenchSuite } from '../types.ts';

/**
 * Trace replay preparation: a conversation-shaped Mooncake trace (sessions whose turns repeat the earlier turns'
 * 512-token blocks) parsed, its theoretical prefix hit rate computed, and every prompt built and re-encoded before
 * the clock starts. The prompts must come out at exactly input_length tokens.
 */
function conversationTrace(sessions: number, turns: number, tokensPerTurn: number): string {
  const lines: string[] = [];
  let next = 1;
  let ts = 0;
  for (let s = 0; s < sessions; s++) {
    const blocks: number[] = [];
    let isl = 0;
    for (let t = 0; t < turns; t++) {
      isl += tokensPerTurn;
      while (blocks.length < Math.ceil(isl / 512)) blocks.push(next++);
      lines.push(JSON.stringify({ timestamp: ts, input_length: isl, output_length: 64, hash_ids: [...blocks] }));
      ts += 37;
    }
  }
  return lines.join('\n');
}

export const traceSuite: BenchSuite = {
  name: 'trace',
  async run(): Promise<BenchRow[]> {
    const text = conversationTrace(200, 10, 800);
    const tok = await loadTokenizer('o200k_base');
    let t0 = performance.now();
    const trace = parseTrace(text, 'conversation.jsonl');
    const parseMs = performance.now() - t0;
    t0 = performance.now();
    const stats = tracePrefixStats(trace, 512);
    const statsMs = performance.now() - t0;
    const rss0 = process.memoryUsage().rss;
    t0 = performance.now();
    const reqs = buildRequests(tok, { api: 'completions', model: 'm', isl: 1, osl: 1, seed: 1, requestIdPrefix: 'r', traceBlockSize: 512 }, trace.length, trace);
    const buildMs = performance.now() - t0;
    const rss = process.memoryUsage().rss - rss0;
    const tokens = stats.inputTokens;
    const exact = reqs.filter((r, i) => r.inputTokens === trace[i]!.isl).length;
    const note = `${trace.length} requests, ${(tokens / 1e6).toFixed(1)} M prompt tokens, ${(text.length / 1024).toFixed(0)} KiB`;
    return [
      { suite: 'trace', metric: 'parse trace', value: Math.round(parseMs), unit: 'ms', note },
      { suite: 'trace', metric: 'theoretical prefix hit rate', value: `${(stats.hitRate * 100).toFixed(1)} %`, unit: '', note: `computed in ${statsMs.toFixed(1)} ms` },
      { suite: 'trace', metric: 'build + re-encode every prompt', value: Math.round(buildMs), unit: 'ms', note: `${Math.round(tokens / (buildMs / 1000) / 1e6)} M tokens/s; RSS +${Math.round(rss / 2 ** 20)} MiB` },
      { suite: 'trace', metric: 'prompts with exactly input_length tokens', value: `${exact}/${reqs.length}`, unit: '', target: 'all', ok: exact === reqs.length },
    ];
  },
};
