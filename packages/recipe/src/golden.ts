import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Issue } from '@llm-recipes/errors';
import { InvalidInputError } from '@llm-recipes/errors';
import { parse, stringify } from 'yaml';
import { z } from 'zod';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex digest');

const MetricsSchema = z.strictObject({
  ttftMs: z.number(),
  itlMs: z.number(),
  tpotMs: z.number().nullable(),
  e2eMs: z.number().nullable(),
  tokensPerSecondPerGpu: z.number(),
  tokensPerSecondPerUser: z.number().nullable(),
  outputTokensPerSecond: z.number(),
  requestsPerSecond: z.number(),
  errorRate: z.number(),
});

/** The recipe fields a golden pins: the deployment that was measured (resolved values, not a diff). */
export const GOLDEN_CONFIG_FIELDS = ['backend', 'dtype', 'kvCacheDtype', 'maxModelLen', 'topology'] as const;

/** recipes/<model>/<backend>/<gpu>/golden.yaml: the promoted configuration and the evidence behind it. */
export const GoldenSchema = z.strictObject({
  schema: z.literal('llm-recipes/golden@1'),
  recipe: z.string().describe('Recipe id <model>/<backend>/<gpu>.'),
  variant: z.string().optional().describe('Variant the experiment ran, when not the base recipe; the golden pins only that variant.'),
  config: z
    .strictObject({
      backend: z.record(z.string(), z.unknown()),
      dtype: z.string(),
      kvCacheDtype: z.string(),
      maxModelLen: z.number(),
      topology: z.record(z.string(), z.unknown()),
    })
    .describe('The deployment that was measured (resolved recipe values); clusters with `golden: true` deploy it.'),
  sla: z.strictObject({ ttftMs: z.number(), itlMs: z.number(), e2eMs: z.number().optional() }),
  point: z.strictObject({
    id: z.string(),
    isl: z.number(),
    osl: z.number(),
    concurrency: z.number().nullable(),
    rate: z.number().nullable(),
    percentile: z.enum(['p50', 'p90', 'p99']),
    metrics: MetricsSchema,
  }),
  selection: z.strictObject({
    how: z.enum(['best-meeting-sla', 'chosen']),
    rule: z.string(),
    candidates: z.number(),
    meetingSla: z.number(),
  }),
  experiment: z.strictObject({
    id: z.string(),
    createdAt: z.string(),
    manifestSha256: Sha256.describe('sha256 of the experiment manifest (manifestPath).'),
    summarySha256: Sha256.describe("sha256 of the selected point's summary (summaryPath)."),
    manifestPath: z.string().optional().describe('Experiment-relative file manifestSha256 hashes (default manifest.json).'),
    summaryPath: z.string().optional().describe('Experiment-relative file summarySha256 hashes (default points/<id>/summary.json).'),
    deployedManifests: z.record(z.string(), z.strictObject({ sha256: Sha256 })),
    url: z.string().optional(),
  }),
  previous: z
    .strictObject({ experiment: z.string(), point: z.string(), tokensPerSecondPerGpu: z.number(), promotedAt: z.string() })
    .optional()
    .describe('The golden this one replaced.'),
  promotedAt: z.string(),
  promotedBy: z.string(),
});
export type Golden = z.output<typeof GoldenSchema>;

export const GOLDEN_FILE = 'golden.yaml';
const HEADER = '# Written by `recipes promote`: the promoted configuration and its evidence. Do not edit by hand.\n';

export function serializeGolden(golden: Golden): string {
  return HEADER + stringify(GoldenSchema.parse(golden), { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Schema problems of a parsed golden.yaml as issues (empty when valid). */
export function goldenIssues(data: unknown, file: string): Issue[] {
  const parsed = GoldenSchema.safeParse(data);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => ({
    code: 'GOLDEN_INVALID',
    file,
    path: i.path.filter((p): p is string | number => typeof p !== 'symbol'),
    message: i.message,
    hint: 'golden.yaml is written by `recipes promote`; restore it from git or promote again',
  }));
}

/** Reads a golden.yaml; undefined when the file does not exist, every schema problem at once otherwise. */
export function readGolden(file: string, displayPath = file): Golden | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const data: unknown = parse(text);
  const issues = goldenIssues(data, displayPath);
  if (issues.length > 0) throw new InvalidInputError(issues);
  return GoldenSchema.parse(data);
}

/** Writes golden.yaml atomically (temp file + rename): a crash leaves the old file or the new one. */
export function writeGolden(file: string, golden: Golden): void {
  const text = serializeGolden(golden);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic.sync(file, text);
}
