import { existsSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '@llm-recipes/errors';

/** The nearest directory at or above `cwd` holding recipes/ (the repository root). */
export function findWorkspaceRoot(cwd: string, explicit?: string): string {
  if (explicit !== undefined) return path.resolve(cwd, explicit);
  let dir = path.resolve(cwd);
  for (;;) {
    if (existsSync(path.join(dir, 'recipes'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new UserError('NO_WORKSPACE', `no recipes/ directory at or above ${cwd}`, {
        hint: 'run inside an llm-recipes repository or pass --root <dir>',
      });
    }
    dir = parent;
  }
}
