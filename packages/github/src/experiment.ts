import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson, type ExperimentManifest, type MatrixPoint, type PointStatus, type Summary } from '@llm-recipes/bench';
import { UserError } from '@llm-recipes/errors';

export interface ExperimentPoint {
  point: MatrixPoint;
  status: PointStatus['state'];
  summary: Summary | undefined;
  /** sha256 of points/<id>/summary.json as stored. */
  summarySha256: string | undefined;
}

export interface Experiment {
  dir: string;
  manifest: ExperimentManifest;
  /** sha256 of manifest.json as stored. */
  manifestSha256: string;
  points: ExperimentPoint[];
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Reads a benchmark experiment directory (manifest.json + points/<id>/{status,summary}.json) and checks its
 * id: the id is the hash of the manifest's inputs, so an edited manifest no longer matches and is refused.
 */
export function readExperiment(dir: string): Experiment {
  const file = path.join(dir, 'manifest.json');
  const text = readText(file);
  if (text === undefined) {
    throw new UserError('EXPERIMENT_NOT_FOUND', `${file} does not exist`, {
      hint: existsSync(dir) ? 'pass the directory `recipes bench --out` (or the profile job) wrote' : `no such directory: ${dir}`,
    });
  }
  let manifest: ExperimentManifest;
  try {
    manifest = JSON.parse(text) as ExperimentManifest;
  } catch (err) {
    throw new UserError('EXPERIMENT_INVALID', `${file}: not JSON (${(err as Error).message})`, { hint: 're-run the benchmark into a fresh directory' });
  }
  if (manifest.schema !== 'llm-recipes/bench-experiment@1' || !Array.isArray(manifest.points)) {
    throw new UserError('EXPERIMENT_INVALID', `${file}: schema is ${JSON.stringify(manifest.schema)}, expected "llm-recipes/bench-experiment@1"`, {
      hint: 'promotion reads experiment directories written by `recipes bench` / `recipes profile`',
    });
  }
  const core = { inputs: manifest.inputs, recipe: manifest.recipe ?? null, manifests: manifest.manifests, seeds: manifest.seeds, points: manifest.points };
  const id = sha256(canonicalJson(core)).slice(0, 16);
  if (id !== manifest.id) {
    throw new UserError('EXPERIMENT_TAMPERED', `${file}: id ${manifest.id} does not match its content (hash ${id})`, {
      hint: 'the manifest was edited after the run; promote only unmodified experiment directories',
    });
  }
  const points = manifest.points.map((point): ExperimentPoint => {
    const pdir = path.join(dir, 'points', point.id);
    const status = readText(path.join(pdir, 'status.json'));
    const state = status === undefined ? 'pending' : ((JSON.parse(status) as PointStatus).state ?? 'pending');
    const summaryText = state === 'done' ? readText(path.join(pdir, 'summary.json')) : undefined;
    return {
      point,
      status: state,
      summary: summaryText === undefined ? undefined : (JSON.parse(summaryText) as Summary),
      summarySha256: summaryText === undefined ? undefined : sha256(summaryText),
    };
  });
  return { dir, manifest, manifestSha256: sha256(text), points };
}
