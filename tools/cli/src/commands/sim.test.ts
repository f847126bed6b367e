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

describe('recipes sim --step-model', () => {
  it('steps with the estimator by default for a recipe, and timing flags imply parametric', async () => {
    const { chooseStepModel } = await import('./sim.ts');
    const base = { set: [], host: '127.0.0.1', port: 0, prefixCaching: true };
    expect(chooseStepModel({ ...base, recipe: 'llama-3.1-8b/vllm/h100-sxm' })).toBe('estimator');
    expect(chooseStepModel({ ...base, recipe: 'llama-3.1-8b/vllm/h100-sxm', itlMs: 3 })).toBe('parametric');
    expect(chooseStepModel({ ...base, recipe: 'llama-3.1-8b/vllm/h100-sxm', stepModel: 'parametric' })).toBe('parametric');
    expect(chooseStepModel({ ...base })).toBe('parametric');
  });

  it('serves a recipe on the estimator step model: its KV plan and step times', async () => {
    const b = io();
    const done = main(['sim', '--recipe', 'llama-3.1-8b/vllm/h100-sxm', '--port', '0', '--speedup', '20', '--replicas', '1'], b);
    const url = await waitForUrl(b);
    expect(b.out.join('')).toMatch(/1× agg \(max-num-seqs 256\), router kv, speedup 20, estimator step model/);
    const t0 = performance.now();
    const r = await fetch(`${url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'hi', max_tokens: 41, ignore_eos: true }) });
    expect(r.status).toBe(200);
    const wallMs = performance.now() - t0;
    const { loadWorkspace, resolveRecipe } = await import('@llm-recipes/recipe');
    const { estimatorSimulation } = await import('@llm-recipes/estimate');
    const resolved = resolveRecipe(loadWorkspace(process.cwd()), { recipe: 'llama-3.1-8b/vllm/h100-sxm' }).resolved!;
    const es = estimatorSimulation(resolved);
    const model = es.stepModels('agg', { replicas: 1, tp: 1, maxNumSeqs: 256, maxBatchedTokens: 8192, blockSize: 16, prefixCaching: true, step: {} });
    // 40 decode steps of the estimator's batch-1 step (Llama-3.1-8B BF16 on one H100, vLLM: ≈ 7 simulated ms) at 20×:
    // never faster
    const decodeMs = model.stepMs({ prefillTokens: 0, prefillSeqs: 0, decodeSeqs: 1, decodeContextTokens: 20, prefillContextTokens: 0 });
    expect(decodeMs).toBeGreaterThan(5);
    expect(wallMs * 20).toBeGreaterThan(40 * decodeMs * 0.9);
    // the KV cache is the estimator's memory plan (the parametric model would give ≈ 444k tokens)
    const expected = Math.floor(model.kvCapacityTokens / 16);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`vllm:cache_config_info\\{[^}]*num_gpu_blocks="${expected}"`));
    process.emit('SIGTERM');
    expect(await done).toBe(0);
  });

  it('rejects the estimator without a recipe, with timing knobs, or for another mode', async () => {
    for (const argv of [
      ['sim', '--step-model', 'estimator', '--port', '0'],
      ['sim', '--recipe', 'llama-3.1-8b/vllm/h100-sxm', '--step-model', 'estimator', '--itl-ms', '3', '--port', '0'],
      ['sim', '--recipe', 'llama-3.1-8b/vllm/h100-sxm', '--mode', 'disagg', '--port', '0'],
      ['sim', '--recipe', 'llama-3.1-8b/vllm/h100-sxm', '--step-model', 'roofline', '--port', '0'],
    ]) {
      const b = io();
      expect(await main(argv, b), argv.join(' ')).toBe(2);
      expect(b.err.join('')).toMatch(/step model|--step-model/);
    }
  });
});
