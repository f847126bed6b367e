import { readFileSync } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { isMap, isScalar, parseDocument, YAMLMap } from 'yaml';
import { InvalidInputError, UserError, type Issue } from '@llm-recipes/errors';
import { loadWorkspace } from './loader.ts';
import { findRecipeId, resolveRecipe, type ResolvedRecipe } from './resolve.ts';
import type { WrittenVariant } from './written.ts';

export interface WriteVariantOptions {
  /** Repository root (holds recipes/). */
  root: string;
  /** Recipe id or directory. */
  recipe: string;
  /** Variant name (a DNS label). */
  name: string;
  /** The variant body: what it overrides over the recipe (`null` pools remove the recipe's). */
  variant: WrittenVariant;
  /** Comment written above the variant (e.g. where it came from). */
  comment?: string | undefined;
  /** Replace an existing variant of that name. */
  force?: boolean | undefined;
  cwd?: string | undefined;
}

export interface WriteVariantResult {
  /** Repo-relative path of the recipe file written. */
  file: string;
  /** The variant resolved from the written file. */
  resolved: ResolvedRecipe;
  replaced: boolean;
}

/** Flow style for small maps (pools, args), as the committed recipes write them. */
function flowSmallMaps(node: unknown, depth = 0): void {
  if (!isMap(node)) return;
  for (const item of node.items) {
    const v = item.value;
    if (isMap(v)) {
      const leafy = v.items.every((i) => isScalar(i.value) || (isMap(i.value) && i.value.items.every((j) => isScalar(j.value))));
      if (depth >= 1 && leafy) v.flow = true;
      else flowSmallMaps(v, depth + 1);
    }
  }
}

/**
 * Adds a variant to a recipe.yaml, keeping its comments and layout (yaml Document API), then proves it: the file is
 * reloaded and the variant resolved; if anything is wrong the original file is put back and every issue reported.
 * The write is atomic (temp file + rename). An existing variant of that name is kept unless `force`.
 */
export function writeVariant(o: WriteVariantOptions): WriteVariantResult {
  const ws = loadWorkspace(o.root);
  const id = findRecipeId(ws, o.recipe, o.cwd ?? o.root);
  if (id === undefined) {
    throw new UserError('RECIPE_NOT_FOUND', `no recipe "${o.recipe}"`, { hint: 'pass a recipe id such as qwen3-32b/vllm/h100-sxm or its directory' });
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(o.name)) {
    throw new UserError('VARIANT_NAME_INVALID', `variant name "${o.name}" is not a DNS label`, { hint: 'use lower-case letters, digits and "-", e.g. rapid-8gpu' });
  }
  const rel = `recipes/${id}/recipe.yaml`;
  const file = path.join(o.root, rel);
  const original = readFileSync(file, 'utf8');
  const doc = parseDocument(original);
  if (doc.errors.length > 0) {
    throw new UserError('RECIPE_YAML_INVALID', `${rel} does not parse: ${doc.errors[0]!.message}`, { hint: 'fix the file (recipes validate) first' });
  }
  const existing = doc.getIn(['variants', o.name]) !== undefined;
  if (existing && !o.force) {
    throw new UserError('VARIANT_EXISTS', `${rel} already has a variant "${o.name}"`, { hint: 'choose another --write-variant name, or add --force to replace it' });
  }
  const node = doc.createNode(o.variant) as YAMLMap;
  flowSmallMaps(node);
  if (!isMap(doc.get('variants'))) doc.set('variants', doc.createNode({}));
  const variants = doc.get('variants') as YAMLMap;
  variants.set(o.name, node);
  if (o.comment !== undefined) {
    const pair = variants.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === o.name);
    if (pair) {
      const key = isScalar(pair.key) ? pair.key : doc.createNode(o.name);
      key.commentBefore = o.comment
        .split('\n')
        .map((l) => ` ${l}`)
        .join('\n');
      pair.key = key;
    }
  }
  writeFileAtomic.sync(file, doc.toString({ lineWidth: 0 }));

  // prove it: the whole file must still load and the variant resolve with zero issues; otherwise undo
  const issues: Issue[] = [];
  let resolved: ResolvedRecipe | undefined;
  try {
    const after = loadWorkspace(o.root);
    issues.push(...after.issues.filter((i) => i.file === rel && i.severity !== 'warning'));
    if (issues.length === 0) {
      const r = resolveRecipe(after, { recipe: id, variant: o.name });
      issues.push(...r.issues.filter((i) => i.severity !== 'warning'));
      resolved = r.resolved;
    }
  } catch (err) {
    writeFileAtomic.sync(file, original);
    throw err;
  }
  if (resolved === undefined || issues.length > 0) {
    writeFileAtomic.sync(file, original);
    throw new InvalidInputError(
      issues.length > 0
        ? issues.map((i) => ({ ...i, hint: `${i.hint ? `${i.hint}; ` : ''}${rel} was left unchanged` }))
        : [{ code: 'VARIANT_UNRESOLVED', file: rel, path: ['variants', o.name], message: `variant "${o.name}" did not resolve`, hint: `${rel} was left unchanged` }],
    );
  }
  return { file: rel, resolved, replaced: existing };
}
