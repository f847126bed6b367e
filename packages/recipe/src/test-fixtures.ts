import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The repository root (this package lives at packages/recipe). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');
export const MODELINE = '# yaml-language-server: $schema=../../../../schemas/recipe.schema.json';

/**
 * A temporary workspace holding the committed GPU catalog and model cards plus the given files
 * (repo-relative path → content). Returns its root and a cleanup function.
 */
export function tempWorkspace(files: Record<string, string>, options: { models?: string[] } = {}): { root: string; cleanup: () => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'llm-recipes-ws-'));
  cpSync(path.join(REPO_ROOT, 'recipes/gpus'), path.join(root, 'recipes/gpus'), { recursive: true });
  for (const m of options.models ?? ['qwen3-32b', 'llama-3.1-8b', 'deepseek-r1']) {
    mkdirSync(path.join(root, 'recipes', m), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'recipes', m, 'model.yaml'), path.join(root, 'recipes', m, 'model.yaml'));
  }
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A recipe.yaml body with the modeline prepended. */
export function recipeText(body: string): string {
  return `${MODELINE}\n${body.replace(/^\n/, '')}`;
}
