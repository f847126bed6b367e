import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { parseAllDocuments } from 'yaml';
import { canonicalize } from './canonical.ts';
import { parseTemplateOutput } from './template-parse.ts';

const TEMPLATE_DIR = join(import.meta.dirname, '..', 'templates');

const NON_PRINTABLE = /[^\x20-\x7e]/;
const NON_PRINTABLE_ALL = /[^\x20-\x7e]/g;

/**
 * The one helper templates may use for values: a JSON scalar or flow collection, which YAML reads back as exactly
 * that value. Everything outside printable ASCII is escaped, so no recipe string (newlines, quotes, `: `, `#`,
 * Unicode line separators, BOMs) can start a new key, item or document.
 */
export function yamlValue(value: unknown): string {
  if (value === undefined) throw new TypeError('template value is undefined (use null for "absent")');
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`template value of type ${typeof value} cannot be rendered`);
  // most values are printable ASCII already: one test, no replace pass
  return NON_PRINTABLE.test(json) ? json.replace(NON_PRINTABLE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
}

const hbs = Handlebars.create();
hbs.registerHelper('y', function y(...args: unknown[]): string {
  // Handlebars passes its options object last; exactly one real argument is allowed.
  if (args.length !== 2) throw new TypeError(`{{y}} takes exactly one value, got ${args.length - 1}`);
  return yamlValue(args[0]);
});

const compiled = new Map<string, Handlebars.TemplateDelegate>();

function template(name: string): Handlebars.TemplateDelegate {
  let fn = compiled.get(name);
  if (!fn) {
    const source = readFileSync(join(TEMPLATE_DIR, `${name}.yaml.hbs`), 'utf8');
    fn = hbs.compile(source, { strict: true, noEscape: true, knownHelpersOnly: true, knownHelpers: { y: true } });
    compiled.set(name, fn);
  }
  return fn;
}

/** Names of the templates in templates/ (without `.yaml.hbs`). */
export type TemplateName =
  | 'dgd-v1beta1'
  | 'dgd-v1alpha1'
  | 'engine-configmap'
  | 'model-cache'
  | 'podmonitor'
  | 'benchmark-job'
  | 'kustomization'
  | 'flux-gitrepository'
  | 'flux-kustomization'
  | 'argocd-applicationset'
  | 'argocd-cm-patch';

/** Thrown when a template renders text that is not valid YAML: a bug in the template, never in the recipe. */
export class TemplateError extends Error {
  readonly template: string;
  readonly line: number | undefined;
  constructor(template: string, message: string, line?: number) {
    super(`template ${template}.yaml.hbs${line === undefined ? '' : ` (rendered line ${line})`}: ${message}`);
    this.name = 'TemplateError';
    this.template = template;
    this.line = line;
  }
}

/** How template output was read in this process: a template that leaves the fast reader's subset costs ≈5 ms a time. */
export const templateReads = { fast: 0, yaml: 0 };

/**
 * Renders a template and parses the result at once, so a broken template fails here with its name and line; returns
 * the documents in canonical form (nulls pruned, keys ordered).
 */
export function renderTemplate(name: TemplateName, context: object): Record<string, unknown>[] {
  let text: string;
  try {
    text = template(name)(context);
  } catch (err) {
    throw new TemplateError(name, err instanceof Error ? err.message : String(err));
  }
  // The fast reader returns exactly what yaml would, or undefined for anything outside its subset: then yaml reads
  // (and reports) it.
  const fast = parseTemplateOutput(text);
  if (fast !== undefined) {
    templateReads.fast++;
    return fast.map((d) => canonicalize(d) as Record<string, unknown>);
  }
  templateReads.yaml++;
  return parseTemplateText(name, text);
}

/** Renders a template to text without reading it (tests compare the fast reader against yaml on it). */
export function renderTemplateText(name: TemplateName, context: object): string {
  return template(name)(context);
}

/** Reads template output with the yaml library: the reference reader, with positioned errors. */
export function parseTemplateText(name: string, text: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  if (!Array.isArray(docs)) throw new TemplateError(name, 'unexpected content after the last document');
  const out: Record<string, unknown>[] = [];
  for (const doc of docs) {
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) {
      const line = text.slice(0, problem.pos[0]).split('\n').length;
      throw new TemplateError(name, `${problem.message.split('\n')[0]}: ${JSON.stringify(text.split('\n')[line - 1])}`, line);
    }
    const value: unknown = doc.toJS({ maxAliasCount: 0 });
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new TemplateError(name, 'a document is not a mapping');
    out.push(canonicalize(value) as Record<string, unknown>);
  }
  return out;
}
