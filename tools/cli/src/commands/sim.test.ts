import { describe, expect, it } from 'vitest';
import { main } from '../main.ts';
import type { CliIo } from '../io.ts';

function io(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), cwd: process.cwd(), isTTY: false, env: {} };
}

async function waitForUrl(b: { out: string[] }): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const m = b.out.join('').match(/http:\/\/127\.0\.0\.1:\d+/);
    if (m) return m[0];
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('simulator did not print its URL');
}

describe('recipes sim', () => {
  it('serves a recipe’s topology until SIGTERM, with flag overrides', async () => {
    const b = io();
    const done = main(['sim', '--recipe', 'llama-3.1-8b/vllm/h100-sxm', '--port', '0', '--speedup', '50', '--max-num-seqs', '7', '--itl-ms', '3'], b);
    const url = await waitForUrl(b);
    expect(b.out.join('')).toMatch(/meta-llama\/Llama-3.1-8B-Instruct from recipe llama-3.1-8b\/vllm\/h100-sxm: 2× agg \(max-num-seqs 7\), router kv/);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string; max_model_len: number }[] };
    expect(models.data[0]).toMatchObject({ id: 'meta-llama/Llama-3.1-8B-Instruct', max_model_len: 16384 });
    const r = (await (
      await fetch(`${url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'hi', max_tokens: 3, ignore_eos: true }) })
    ).json()) as { usage: { completion_tokens: number } };
    expect(r.usage.completion_tokens).toBe(3);
    process.emit('SIGTERM');
    expect(await done).toBe(0);
    expect(b.err.join('')).toContain('simulator stopped');
  });

  it('rejects bad flag values as usage errors', async () => {
    const b = io();
    expect(await main(['sim', '--fault-error-rate', '2'], b)).toBe(2);
    expect(b.err.join('')).toMatch(/fault-error-rate/);
  });

  it('names an unknown recipe', async () => {
    const b = io();
    expect(await main(['sim', '--recipe', 'nope/vllm/h100-sxm', '--port', '0'], b)).toBe(2);
    expect(b.err.join('')).toMatch(/no recipe "nope\/vllm\/h100-sxm"/);
  });
});
