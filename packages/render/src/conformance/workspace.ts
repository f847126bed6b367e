import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';

/** The repository root and the conformance area (packages/render/conformance). */
export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..', '..');
export const CONFORMANCE_DIR = join(REPO_ROOT, 'packages', 'render', 'conformance');

const MODELINE = /^(# yaml-language-server: \$schema=)(?:\.\.\/)+schemas\//;

/** Copies a tree, pointing each file's schema modeline at the workspace's schemas/ from its new place. */
function copyTree(from: string, to: string, root: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) {
      copyTree(src, dst, root);
      continue;
    }
    mkdirSync(dirname(dst), { recursive: true });
    const up = relative(dirname(dst), root).split(sep).join('/');
    writeFileSync(dst, readFileSync(src, 'utf8').replace(MODELINE, `$1${up}/schemas/`));
  }
}

/**
 * A workspace to load the conformance recipes from: the repository's GPU catalog, model cards and schemas, with the
 * conformance area's recipes, model cards and cluster profile laid over them (each file's schema modeline pointed at
 * the copy's schemas/, as the loader requires). Returns its root and a cleanup.
 */
export function conformanceWorkspace(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'llm-recipes-conformance-'));
  cpSync(join(REPO_ROOT, 'schemas'), join(root, 'schemas'), { recursive: true });
  cpSync(join(REPO_ROOT, 'recipes', 'gpus'), join(root, 'recipes', 'gpus'), { recursive: true });
  for (const entry of readdirSync(join(REPO_ROOT, 'recipes'), { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'gpus') continue;
    cpSync(join(REPO_ROOT, 'recipes', entry.name, 'model.yaml'), join(root, 'recipes', entry.name, 'model.yaml'));
  }
  copyTree(join(CONFORMANCE_DIR, 'recipes'), join(root, 'recipes'), root);
  copyTree(join(CONFORMANCE_DIR, 'clusters'), join(root, 'clusters'), root);
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
