import { describe, expect, it } from 'vitest';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import type { SimConfigInput } from './config.ts';
import { outputWords } from './tokens.ts';
import { parseProm, promSum, runConcurrent, simulators, streamRequest } from './test-support.ts';

const sim = simulators();

/** A prompt of exactly n o200k_base tokens. */
function prompt(n: number, salt = 0): string {
  let s = '';
  for (let i = 0; i < n; i++) s += outputWords()[(i * 31 + salt * 7) % outputWords().length];
  return s;
}

const fast = { speedup: 20, agg: { step: { decodeBaseMs: 5 } } } satisfies SimConfigInput;

async function post(url: string, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

describe('OpenAI API surface', () => {
  it('streams chat with a role chunk, one token per chunk, exact usage and [DONE]', async () => {
    const s = await sim(fast);
    const text = 'Explain continuous batching in one paragraph, please.';
    const r = await streamRequest(s.url, 'chat', { messages: [{ role: 'user', content: text }], max_tokens: 24, ignore_eos: true });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(200);
    expect(r.sawRole).toBe(true);
    expect(r.sawDone).toBe(true);
    expect(r.contentChunks).toBe(24);
    expect(r.finishReason).toBe('length');
    expect(r.usage).toMatchObject({ prompt_tokens: encode(text).length, completion_tokens: 24, total_tokens: encode(text).length + 24 });
    // the generated text re-tokenizes to exactly the reported count
    expect(encode(r.text).length).toBe(24);
  });

  it('counts chat prompts as the concatenated message contents (string and text parts)', async () => {
    const s = await sim(fast);
    const msgs = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: [{ type: 'text', text: ' Say hi' }, { type: 'text', text: ' twice.' }] },
    ];
    const r = await post(s.url, '/v1/chat/completions', { messages: msgs, max_tokens: 3, ignore_eos: true });
    expect(r.status).toBe(200);
    expect(r.json.usage.prompt_tokens).toBe(encode('You are terse. Say hi twice.').length);
    expect(r.json.choices[0].message.role).toBe('assistant');
    expect(encode(r.json.choices[0].message.content).length).toBe(3);
  });

  it('serves /v1/completions streaming and not, with string and token-id prompts', async () => {
    const s = await sim(fast);
    const r = await streamRequest(s.url, 'completions', { prompt: prompt(40), max_tokens: 10, ignore_eos: true });
    expect(r.contentChunks).toBe(10);
    expect(r.usage?.prompt_tokens).toBe(40);
    const nonStream = await post(s.url, '/v1/completions', { prompt: [1, 2, 3, 4, 5], max_tokens: 7, ignore_eos: true });
    expect(nonStream.status).toBe(200);
    expect(nonStream.json.object).toBe('text_completion');
    expect(nonStream.json.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 7 });
    expect(encode(nonStream.json.choices[0].text).length).toBe(7);
  });

  it('omits usage from streams unless include_usage is set; honours max_completion_tokens', async () => {
    const s = await sim(fast);
    const r = await streamRequest(s.url, 'chat', {
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 4,
      ignore_eos: true,
      stream_options: { include_usage: false },
    });
    expect(r.contentChunks).toBe(4);
    expect(r.usage).toBeUndefined();
  });

  it('stops at a deterministic EOS point without ignore_eos, never before min_tokens', async () => {
    const s = await sim({ ...fast, meanOutputTokens: 8 });
    const body = { messages: [{ role: 'user', content: prompt(30) }], max_tokens: 200 };
    const a = await streamRequest(s.url, 'chat', body);
    const b = await streamRequest(s.url, 'chat', body);
    expect(a.finishReason).toBe('stop');
    expect(a.contentChunks).toBeLessThan(200);
    expect(b.text).toBe(a.text); // same prompt, same seed → same output
    expect(a.usage?.completion_tokens).toBe(a.contentChunks);
    const lengths = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        streamRequest(s.url, 'chat', { messages: [{ role: 'user', content: prompt(20, i + 1) }], max_tokens: 200, min_tokens: 50 }),
      ),
    );
    for (const r of lengths) {
      expect(r.contentChunks).toBeGreaterThanOrEqual(50);
      expect(r.usage?.completion_tokens).toBe(r.contentChunks);
    }
  });

  it('lists the model and answers health', async () => {
    const s = await sim({ ...fast, model: { name: 'org/model-x', maxModelLen: 4096 } });
    const models = (await (await fetch(`${s.url}/v1/models`)).json()) as any;
    expect(models.data[0]).toMatchObject({ id: 'org/model-x', object: 'model', max_model_len: 4096 });
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  it('returns OpenAI-shaped errors: 400 over-long, 404 unknown model, 400 bad JSON, 404 route', async () => {
    const s = await sim({ ...fast, model: { name: 'm', maxModelLen: 100 } });
    const long = await post(s.url, '/v1/completions', { model: 'm', prompt: prompt(90), max_tokens: 20 });
    expect(long.status).toBe(400);
    expect(long.json.error.message).toMatch(/maximum context length is 100 tokens/);
    expect(long.json.error).toHaveProperty('type');
    const wrong = await post(s.url, '/v1/completions', { model: 'other', prompt: 'x', max_tokens: 2 });
    expect(wrong.status).toBe(404);
    expect(wrong.json.error.code).toBe('model_not_found');
    const bad = await fetch(`${s.url}/v1/completions`, { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toMatch(/not valid JSON/);
    expect((await fetch(`${s.url}/v2/none`)).status).toBe(404);
  });

  it('answers 429 when the waiting queue is full', async () => {
    const s = await sim({ speedup: 1, maxWaiting: 1, agg: { maxNumSeqs: 1, step: { decodeBaseMs: 5 } } });
    const body = { messages: [{ role: 'user', content: 'hold' }], max_tokens: 30, ignore_eos: true };
    const results = await Promise.all([0, 1, 2, 3].map(() => streamRequest(s.url, 'chat', body)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((x) => x === 200).length).toBe(2); // one running, one waiting
    expect(statuses.filter((x) => x === 429).length).toBe(2);
    const err = results.find((r) => r.status === 429)!.error as any;
    expect(err.error.code).toBe('queue_full');
  });

  it('exposes vLLM metrics that reconcile with the client totals', async () => {
    const s = await sim({ speedup: 10, agg: { maxNumSeqs: 8, step: { decodeBaseMs: 5 } } });
    const results = await runConcurrent(24, 12, (i) =>
      streamRequest(s.url, i % 2 ? 'chat' : 'completions', {
        ...(i % 2 ? { messages: [{ role: 'user', content: prompt(20 + i, i) }] } : { prompt: prompt(20 + i, i) }),
        max_tokens: 5 + (i % 7),
        ignore_eos: i % 3 !== 0,
      }),
    );
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const m = parseProm(text);
    const clientPrompt = results.reduce((a, r) => a + r.usage!.prompt_tokens, 0);
    const clientCompletion = results.reduce((a, r) => a + r.contentChunks, 0);
    expect(results.reduce((a, r) => a + r.usage!.completion_tokens, 0)).toBe(clientCompletion);
    expect(clientPrompt).toBe(results.reduce((a, _r, i) => a + 20 + i, 0));
    expect(promSum(m, 'vllm:prompt_tokens_total')).toBe(clientPrompt);
    expect(promSum(m, 'vllm:generation_tokens_total')).toBe(clientCompletion);
    expect(promSum(m, 'vllm:request_success_total')).toBe(24);
    expect(m.get('vllm:time_to_first_token_seconds_count{model_name="sim-model"}')).toBe(24);
    expect(m.get('vllm:e2e_request_latency_seconds_count{model_name="sim-model"}')).toBe(24);
    expect(m.get('vllm:inter_token_latency_seconds_count{model_name="sim-model"}')).toBe(clientCompletion - 24);
    expect(m.get('vllm:request_generation_tokens_sum{model_name="sim-model"}')).toBe(clientCompletion);
    expect(promSum(m, 'vllm:num_requests_running')).toBe(0);
    expect(text).toContain('# TYPE vllm:time_to_first_token_seconds histogram');
    expect(s.metrics().generationTokens).toBe(clientCompletion);
  });

  it('aborts a request when the client disconnects, freeing its KV', async () => {
    const s = await sim({ speedup: 1, agg: { step: { decodeBaseMs: 5 } } });
    const ac = new AbortController();
    const res = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: prompt(64), max_tokens: 1000, ignore_eos: true, stream: true }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    ac.abort();
    await new Promise((r) => setTimeout(r, 100));
    const snap = s.metrics();
    expect(snap.requests.finished.abort).toBe(1);
    expect(snap.engines[0]!.running).toBe(0);
    expect(s.cluster.workers[0]!.kv.usedBlocks).toBe(0);
  });
});
