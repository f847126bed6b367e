import { existsSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '@llm-recipes/errors';

/** The nearest directory at or above `cwd` holding recipes/ (the repository root), or undefined outside one. */
export function lookupWorkspaceRoot(cwd: string): string | undefined {
  let dir = path.resolve(cwd);
  for (;;) {
    if (existsSync(path.join(dir, 'recipes'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The repository root: `--root` when given, else the nearest directory at or above `cwd` holding recipes/. */
export function findWorkspaceRoot(cwd: string, explicit?: string): string {
  if (explicit !== undefined) return path.resolve(cwd, explicit);
  const root = lookupWorkspaceRoot(cwd);
  if (root === undefined) {
    throw new UserError('NO_WORKSPACE', `no recipes/ directory at or above ${cwd}`, {
      hint: 'run inside an llm-recipes repository or pass --root <dir>',
    });
  }
  return root;
}
