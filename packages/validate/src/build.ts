/**
 * `kubectl kustomize` over the kustomization roots of a tree, and the schema pass over what it prints: patches and
 * components change objects in ways no per-file check can see (a JSON patch that adds a field the CRD does not
 * know, a strategic merge that sets a wrong type), and kustomize itself rejects what it cannot apply (a JSON patch
 * path that does not exist, a component given as a resource, a missing file). Problems of the built objects are
 * reported at the source document they came from (matched by kind and name), unless that document already has the
 * same problem; objects with no source in the tree (generated, or from a base outside it) are reported at the root
 * kustomization.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { UserError } from '@llm-recipes/errors';
import { isKustomizeFile, isTransforming, kustomizationFilesUnder, kustomizationIn, kustomizeKind, kustomizeReferences } from './kustomize.ts';
import { displayPath, loadManifests, parseManifestText, type LoadedDocument, type LoadedManifests } from './load.ts';
import { finishResult, type ValidateOptions, type ValidationProblem, type ValidationResult } from './types.ts';
import { validateLoaded } from './validate.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `auto`: build when kubectl is on PATH and a kustomization transforms objects; `always`; `never`. */
export type KustomizeBuildMode = 'auto' | 'always' | 'never';

export interface KustomizeBuildOptions extends ValidateOptions {
  mode?: KustomizeBuildMode | undefined;
  /** kubectl binary (default: `kubectl` on PATH). */
  kubectl?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Problems already reported for the source files (not repeated for the built objects). */
  sourceProblems?: readonly ValidationProblem[] | undefined;
}

/** What the build step did, for the report. */
export interface KustomizeBuildReport {
  /** Whether `kubectl kustomize` ran. */
  built: boolean;
  /** Root directories built (display paths), or that would have been. */
  roots: string[];
  kubectl?: string | undefined;
  /** kustomize version as kubectl reports it. */
  kustomizeVersion?: string | undefined;
  /** Why it did not run. */
  reason?: string | undefined;
}

/** The first executable `kubectl` on PATH, or undefined. */
export function findKubectl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, process.platform === 'win32' ? 'kubectl.exe' : 'kubectl');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Directories whose kustomization is a `Kustomization` that no other kustomization of the tree includes as a
 * resource: what Flux, Argo CD or `kubectl apply -k` would build. Components are never roots.
 */
export function kustomizeRoots(loaded: Pick<LoadedManifests, 'documents'>): string[] {
  const kustomizations = loaded.documents.filter((d) => d.absPath && isObj(d.content) && isKustomizeFile(d.file, d.content));
  const included = new Set<string>();
  for (const d of kustomizations) for (const ref of kustomizeReferences(d.absPath!, d.content as Obj)) if (ref.role !== 'patch' && ref.role !== 'input') included.add(ref.target);
  return kustomizations
    .filter((d) => kustomizeKind(d.content as Obj) === 'Kustomization' && !included.has(dirname(d.absPath!)))
    .map((d) => dirname(d.absPath!))
    .sort();
}

function nameOf(content: unknown): string {
  return isObj(content) && isObj(content['metadata']) && typeof content['metadata']['name'] === 'string' ? content['metadata']['name'] : '';
}

/** The source document a built object came from: same kind and apiVersion group, and its name (modulo prefix/suffix). */
function sourceOf(built: Obj, sources: readonly LoadedDocument[]): LoadedDocument | undefined {
  const kind = built['kind'];
  const group = String(built['apiVersion'] ?? '').split('/').slice(0, -1).join('/');
  const name = nameOf(built);
  const same = sources.filter((s) => isObj(s.content) && s.content['kind'] === kind && String(s.content['apiVersion'] ?? '').split('/').slice(0, -1).join('/') === group);
  return same.find((s) => nameOf(s.content) === name) ?? same.filter((s) => nameOf(s.content) !== '' && name.includes(nameOf(s.content))).sort((a, b) => nameOf(b.content).length - nameOf(a.content).length)[0];
}

const key = (p: Pick<ValidationProblem, 'path' | 'code' | 'message'>) => `${p.path}\0${p.code}\0${p.message}`;

/** kustomize's message out of kubectl's stderr: without klog's `E1204 21:43:48.99 757 run.go:72] "command failed" err=` frame. */
export function kubectlError(stderr: string): string {
  const lines = stderr.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  const text = lines.slice(0, 4).join(' ');
  const klog = /^[EWIF]\d{4} [\d:.]+\s+\d+ \S+\] "command failed" err="(.*)"$/.exec(lines[0] ?? '');
  if (klog) return klog[1]!.replace(/\\"/g, '"').replace(/\\'/g, "'");
  return text.replace(/^error: /i, '');
}

/**
 * Builds every kustomization root under `paths` with `kubectl kustomize` (when the mode says so) and validates the
 * output with the embedded schema pass. Returns the problems found only after the build, and what was done.
 */
export async function kustomizeBuild(paths: readonly string[], options: KustomizeBuildOptions = {}): Promise<{ result: ValidationResult; report: KustomizeBuildReport }> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const mode = options.mode ?? 'auto';
  // only the kustomization files are read to decide; the whole tree only when it is built
  const kustomizations = loadManifests(kustomizationFilesUnder(paths, cwd), cwd);
  const roots = kustomizeRoots(kustomizations);
  const shownRoots = roots.map((r) => displayPath(r, cwd));
  const empty = (report: KustomizeBuildReport) => ({ result: finishResult('embedded', [], [], 0), report });
  if (mode === 'never') return empty({ built: false, roots: shownRoots, reason: 'not asked (--kustomize-build never)' });
  const transforming = kustomizations.documents.some((d) => isObj(d.content) && isTransforming(d.content));
  if (mode === 'auto' && !transforming) return empty({ built: false, roots: shownRoots, reason: 'no kustomization uses patches, components or generators' });
  const kubectl = options.kubectl ? resolve(cwd, options.kubectl) : findKubectl(env);
  if (!kubectl || !existsSync(kubectl) || !statSync(kubectl).isFile()) {
    if (mode === 'always') {
      throw new UserError('KUBECTL_NOT_FOUND', options.kubectl ? `no kubectl at ${options.kubectl}` : 'kubectl is not on PATH', {
        hint: 'install kubectl (it carries kustomize), pass --kubectl PATH, or use --kustomize-build auto to fall back to the structural checks',
      });
    }
    return empty({ built: false, roots: shownRoots, reason: 'kubectl not found: patches and components were checked structurally, not applied' });
  }
  const version = await execa(kubectl, ['version', '--client', '-o', 'json'], { env, reject: false });
  let kustomizeVersion: string | undefined;
  try {
    kustomizeVersion = (JSON.parse(String(version.stdout)) as { kustomizeVersion?: string }).kustomizeVersion;
  } catch {
    // an old kubectl without -o json: the version stays unknown
  }

  const problems: ValidationProblem[] = [];
  const seen = new Set((options.sourceProblems ?? []).map((p) => `${p.file}\0${key(p)}`));
  const sources = loadManifests(paths.filter((p) => existsSync(resolve(cwd, p))), cwd);
  const sourceDocs = sources.documents.filter((d) => isObj(d.content) && !isKustomizeFile(d.file, d.content));
  for (const root of roots) {
    const shown = displayPath(root, cwd);
    const kfile = displayPath(kustomizationIn(root, existsSync) ?? join(root, 'kustomization.yaml'), cwd);
    const run = await execa(kubectl, ['kustomize', root], { env, cwd, reject: false, stripFinalNewline: false });
    if (run.exitCode !== 0) {
      const stderr = kubectlError(String(run.stderr));
      problems.push({
        kind: 'Kustomization',
        name: '',
        file: kfile,
        path: '',
        message: `kubectl kustomize ${shown} failed: ${stderr || `exit ${run.exitCode}`}`,
        code: 'KUSTOMIZE_BUILD_FAILED',
        severity: 'error',
        hint: 'kustomize could not apply this tree (a missing file, a JSON patch path that does not exist, a component listed as a resource…)',
      });
      continue;
    }
    const built: LoadedManifests = { documents: [], problems: [], files: [] };
    parseManifestText(String(run.stdout), `${shown} (kustomize build)`, undefined, built);
    built.files.push(`${shown} (kustomize build)`);
    const checked = await validateLoaded(built, options);
    for (const p of checked.problems) {
      const doc = built.documents.find((d) => isObj(d.content) && d.content['kind'] === p.kind && nameOf(d.content) === p.name);
      const src = doc ? sourceOf(doc.content as Obj, sourceDocs) : undefined;
      if (src) {
        const id = `${src.file}\0${key(p)}`;
        if (seen.has(id)) continue;
        seen.add(id);
        problems.push({ ...p, file: src.file, name: nameOf(src.content), line: src.lineOf(p.path), message: `${p.message} (after kustomize build of ${shown})`, hint: p.hint ?? 'a patch or component of this kustomization introduces it' });
      } else {
        const id = `${kfile}\0${p.kind}\0${p.name}\0${key(p)}`;
        if (seen.has(id)) continue;
        seen.add(id);
        problems.push({ ...p, file: kfile, line: undefined, message: `${p.message} (in the output of kustomize build ${shown})` });
      }
    }
  }
  return { result: finishResult('embedded', problems, [], 0), report: { built: true, roots: shownRoots, kubectl, kustomizeVersion } };
}
