import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { SIM_RECIPE_DIR } from '@llm-recipes/render';
import type { CliIo } from '../io.ts';
import { main } from '../main.ts';

// The sim-mode DGD's container commands are run as a pod would run them: the project image's entrypoint is
// `recipes` (Dockerfile), here `node tools/cli/src/bin.ts`; the mounted ConfigMap is a file in a temp directory.

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin.ts');

function io(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), cwd: process.cwd(), isTTY: false, env: {} };
}

async function renderSim(recipe: string): Promise<Record<string, any>[]> {
  const b = io();
  expect(await main(['render', '--recipe', recipe, '--stdout', '--engine', 'sim', '--cluster', 'kind-sim'], b)).toBe(0);
  return parseAllDocuments(b.out.join('')).map((d) => d.toJS() as Record<string, any>);
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts a container's command locally on a free port; resolves with its base URL once it printed it. */
async function runContainer(container: Record<string, any>, configMap: Record<string, any>): Promise<{ url: string; child: ChildProcess }> {
  expect(container.command).toEqual(['recipes']);
  const dir = mkdtempSync(join(tmpdir(), 'sim-pod-'));
  dirs.push(dir);
  for (const [key, content] of Object.entries(configMap.data as Record<string, string>)) writeFileSync(join(dir, key), content);
  const args = (container.args as string[]).map((a, i, all) => (all[i - 1] === '--port' ? '0' : a.startsWith(`${SIM_RECIPE_DIR}/`) ? join(dir, a.slice(SIM_RECIPE_DIR.length + 1)) : a));
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (err += String(d)));
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 20 s; stdout: ${out} stderr: ${err}`)), 20_000);
    child.stdout!.on('data', () => {
      const m = out.match(/http:\/\/[^\s:]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

async function waitHealthy(url: string, path: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${url}${path}`).catch(() => undefined);
    if (r?.status === 200) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`${url}${path} never answered 200`);
}

async function chat(url: string, model: string): Promise<{ usage: { completion_tokens: number }; choices: { message: { content: string } }[] }> {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 4, ignore_eos: true }),
  });
  expect(r.status).toBe(200);
  return (await r.json()) as any;
}

async function stop(child: ChildProcess): Promise<number | null> {
  child.kill('SIGTERM');
  return await new Promise((res) => (child.exitCode !== null ? res(child.exitCode) : child.on('exit', (code) => res(code))));
}

function containersOf(docs: Record<string, any>[]): { configMap: Record<string, any>; containers: Record<string, Record<string, any>>; model: string } {
  const dgd = docs.find((d) => d?.kind === 'DynamoGraphDeployment')!;
  const configMap = docs.find((d) => d?.kind === 'ConfigMap')!;
  const containers = Object.fromEntries(dgd.spec.components.map((c: any) => [c.name, c.podTemplate.spec.containers[0]]));
  const job = docs.find((d) => d?.kind === 'Job')!;
  const model = job.spec.template.spec.containers[0].env.find((e: any) => e.name === 'MODEL').value as string;
  return { configMap, containers, model };
}

describe('recipes render --engine sim: the rendered commands start working simulators', () => {
  it('a disaggregated recipe: the decode worker serves one engine, the frontend the whole deployment', async () => {
    const { configMap, containers, model } = containersOf(await renderSim('qwen3-32b/vllm/h100-sxm'));
    expect(Object.keys(containers)).toEqual(['frontend', 'prefill', 'decode']);

    const decode = await runContainer(containers['decode']!, configMap);
    await waitHealthy(decode.url, containers['decode']!.readinessProbe.httpGet.path);
    const d = await chat(decode.url, model);
    expect(d.usage.completion_tokens).toBe(4);
    const metrics = await (await fetch(`${decode.url}/metrics`)).text();
    expect(metrics).toMatch(/vllm:num_requests_running\{[^}]*engine="agg-0"/);
    expect(metrics).not.toMatch(/engine="agg-1"/);

    const front = await runContainer(containers['frontend']!, configMap);
    await waitHealthy(front.url, containers['frontend']!.readinessProbe.httpGet.path);
    const models = (await (await fetch(`${front.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual([model]);
    const c = await chat(front.url, model);
    expect(c.usage.completion_tokens).toBe(4);
    expect(c.choices[0]!.message.content.length).toBeGreaterThan(0);
    // the whole disaggregated deployment runs in the frontend: prefill and decode engines both report
    const fm = await (await fetch(`${front.url}/metrics`)).text();
    expect(fm).toMatch(/engine="prefill-0"/);
    expect(fm).toMatch(/engine="decode-0"/);

    expect(await stop(decode.child)).toBe(0);
    expect(await stop(front.child)).toBe(0);
  }, 60_000);

  it('an aggregated recipe: the worker command answers on its probe path', async () => {
    const { configMap, containers, model } = containersOf(await renderSim('qwen3-0.6b/vllm/l40s'));
    const worker = await runContainer(containers['worker']!, configMap);
    await waitHealthy(worker.url, containers['worker']!.livenessProbe.httpGet.path);
    await waitHealthy(worker.url, containers['worker']!.readinessProbe.httpGet.path);
    expect((await chat(worker.url, model)).usage.completion_tokens).toBe(4);
    expect(await stop(worker.child)).toBe(0);
  }, 60_000);

  it('recipes sim --recipe-json and --pool reject what they cannot serve, naming the file and field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-bad-'));
    dirs.push(dir);
    const { configMap } = containersOf(await renderSim('qwen3-0.6b/vllm/l40s'));
    const good = JSON.parse(configMap.data['recipe.json']);
    const file = join(dir, 'recipe.json');
    writeFileSync(file, JSON.stringify({ ...good, recipe: { ...good.recipe, maxModelLen: -1 } }));
    const a = io();
    expect(await main(['sim', '--recipe-json', file, '--port', '0'], a)).toBe(2);
    expect(a.err.join('')).toContain(file);
    expect(a.err.join('')).toMatch(/recipe\.maxModelLen/);
    writeFileSync(file, '{not json');
    const b = io();
    expect(await main(['sim', '--recipe-json', file, '--port', '0'], b)).toBe(2);
    expect(b.err.join('')).toMatch(/is not JSON/);
    writeFileSync(file, JSON.stringify(good));
    const c = io();
    expect(await main(['sim', '--recipe-json', file, '--pool', 'decode', '--port', '0'], c)).toBe(2);
    expect(c.err.join('')).toMatch(/is agg, its pools are agg/);
    const d = io();
    expect(await main(['sim', '--pool', 'agg', '--port', '0'], d)).toBe(2);
    expect(d.err.join('')).toMatch(/no recipe was given/);
    const e = io();
    expect(await main(['sim', '--recipe-json', file, '--recipe', 'qwen3-0.6b/vllm/l40s', '--port', '0'], e)).toBe(2);
    const g = io();
    expect(await main(['sim', '--recipe-json', file, '--variant', 'long-context', '--port', '0'], g)).toBe(2);
    expect(g.err.join('')).toMatch(/already resolved/);
  });

  it('--engine only prints: writing clusters/ follows cluster.yaml', async () => {
    const b = io();
    expect(await main(['render', '--engine', 'sim'], b)).toBe(2);
    expect(b.err.join('')).toMatch(/--engine changes printed output only/);
    const c = io();
    expect(await main(['render', '--recipe', 'qwen3-0.6b/vllm/l40s', '--stdout', '--engine', 'gpu'], c)).toBe(2);
    expect(c.err.join('')).toMatch(/unknown --engine gpu/);
  });
});
