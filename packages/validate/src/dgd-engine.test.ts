import { describe, expect, it } from 'vitest';
import { validateRendered } from './index.ts';

// The DGD and engine ConfigMap the GB200 DeepSeek-R1 recipe rendered before the engine structure moved into the
// TensorRT-LLM engine file: the decode worker said --tensor-parallel-size 4 while its engine file said 32 (it only
// ran because TensorRT-LLM applies the file over the flags).
const configMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'dsr1-engine-3e215736', namespace: 'llm' },
  data: { 'engine-decode.yaml': 'tensor_parallel_size: 32\nmoe_expert_parallel_size: 32\nenable_attention_dp: true\nmax_seq_len: 16384\n' },
};

function dgd(args: string[]): Record<string, unknown> {
  return {
    apiVersion: 'nvidia.com/v1beta1',
    kind: 'DynamoGraphDeployment',
    metadata: { name: 'dsr1', namespace: 'llm' },
    spec: {
      backendFramework: 'trtllm',
      components: [
        { name: 'frontend', type: 'frontend', podTemplate: { spec: { containers: [{ name: 'main', image: 'img:1.3.0', command: ['python3', '-m', 'dynamo.frontend'] }] } } },
        {
          name: 'decode',
          type: 'decode',
          multinode: { nodeCount: 8 },
          podTemplate: {
            spec: {
              containers: [
                {
                  name: 'main',
                  image: 'img:1.3.0',
                  command: ['python3', '-m', 'dynamo.trtllm'],
                  args,
                  resources: { limits: { 'nvidia.com/gpu': '4' } },
                  volumeMounts: [{ name: 'engine-config', mountPath: '/etc/dynamo/engine', readOnly: true }],
                },
              ],
              volumes: [{ name: 'engine-config', configMap: { name: 'dsr1-engine-3e215736' } }],
            },
          },
        },
      ],
    },
  };
}

const problemsOf = async (args: string[]) => {
  const files = new Map<string, unknown[]>([
    ['clusters/prod/workloads/dsr1/configmaps.yaml', [configMap]],
    ['clusters/prod/workloads/dsr1/dgd.yaml', [dgd(args)]],
  ]);
  const result = await validateRendered(files, { root: '/repo', schemas: false });
  return result.problems.filter((p) => p.code === 'DGD_ENGINE_FILE_CONFLICT');
};

describe('engine settings given as a flag and in the engine file', () => {
  it('are a conflict when the values differ (regression: the GB200 recipe said tensor parallel 4 and 32)', async () => {
    const problems = await problemsOf(['--model-path', '/m', '--tensor-parallel-size', '4', '--expert-parallel-size', '32', '--extra-engine-args', '/etc/dynamo/engine/engine-decode.yaml']);
    expect(problems.map((p) => p.message)).toEqual([
      'component "decode" passes --tensor-parallel-size 4 but its engine file dsr1-engine-3e215736/engine-decode.yaml sets tensor_parallel_size: 32; TensorRT-LLM applies the file over the flags, so the flag has no effect',
    ]);
    expect(problems[0]!.path).toBe('/spec/components/1/podTemplate/spec/containers/0/args');
  });

  it('are read through a shell command line too, and agreeing values are not a conflict', async () => {
    expect(await problemsOf(['--model-path', '/m', '--tensor-parallel-size', '32', '--extra-engine-args', '/etc/dynamo/engine/engine-decode.yaml'])).toEqual([]);
    const shell = dgd([]);
    const main = (shell as any).spec.components[1].podTemplate.spec.containers[0];
    main.command = ['/bin/sh', '-c'];
    main.args = ['python3 -m dynamo.trtllm \\\n  --model-path /m \\\n  --max-seq-len 8192 \\\n  --extra-engine-args "/etc/dynamo/engine/engine-decode.yaml"'];
    const files = new Map<string, unknown[]>([
      ['clusters/prod/workloads/dsr1/configmaps.yaml', [configMap]],
      ['clusters/prod/workloads/dsr1/dgd.yaml', [shell]],
    ]);
    const result = await validateRendered(files, { root: '/repo', schemas: false });
    expect(result.problems.filter((p) => p.code === 'DGD_ENGINE_FILE_CONFLICT').map((p) => p.message)).toEqual([
      expect.stringContaining('passes --max-seq-len 8192 but its engine file dsr1-engine-3e215736/engine-decode.yaml sets max_seq_len: 16384'),
    ]);
  });

  it('for vLLM, the flag wins over the --config file', async () => {
    const doc = dgd(['--model', '/m', '--max-model-len', '8192', '--config', '/etc/dynamo/engine/vllm.yaml']);
    (doc as any).spec.backendFramework = 'vllm';
    (doc as any).spec.components[1].podTemplate.spec.containers[0].command = ['python3', '-m', 'dynamo.vllm'];
    const cm = { ...configMap, data: { 'vllm.yaml': 'max_model_len: 32768\nblock-size: 16\n' } };
    const files = new Map<string, unknown[]>([
      ['clusters/prod/workloads/x/configmaps.yaml', [cm]],
      ['clusters/prod/workloads/x/dgd.yaml', [doc]],
    ]);
    const result = await validateRendered(files, { root: '/repo', schemas: false });
    expect(result.problems.filter((p) => p.code === 'DGD_ENGINE_FILE_CONFLICT').map((p) => p.message)).toEqual([expect.stringMatching(/passes --max-model-len 8192 .* sets max-model-len: 32768; the flag wins/)]);
  });
});
