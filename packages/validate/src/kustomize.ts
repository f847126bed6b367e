import { basename } from 'node:path';
import { schemaMessages, type SchemaMessage } from './ajv-errors.ts';
import { compileSchema } from './schemas.ts';

export const KUSTOMIZE_API_VERSION = 'kustomize.config.k8s.io/v1beta1';
const KUSTOMIZATION_FILE = /^(kustomization\.ya?ml|Kustomization)$/;

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };

/**
 * The part of kustomize's `Kustomization` (kustomize.config.k8s.io/v1beta1) a rendered tree uses. Closed, so a
 * typo or a field kustomize would not apply the way the renderer meant is an error rather than silently ignored.
 */
export const KUSTOMIZATION_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: KUSTOMIZE_API_VERSION },
    kind: { const: 'Kustomization' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      properties: { name: { type: 'string' }, annotations: stringMap, labels: stringMap },
    },
    namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
    resources: {
      type: 'array',
      items: {
        type: 'string',
        minLength: 1,
        // relative paths inside the repository: no absolute paths, no remote URLs, no parent escapes at the start
        pattern: '^(?![a-zA-Z][a-zA-Z0-9+.-]*://)(?!/)[^\\s]+$',
      },
      uniqueItems: true,
    },
    commonAnnotations: stringMap,
    labels: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['pairs'],
        properties: { pairs: stringMap, includeSelectors: { type: 'boolean' }, includeTemplates: { type: 'boolean' } },
      },
    },
  },
} as const;

/** A kustomize file by name (`kustomization.yaml`) or by apiVersion. */
export function isKustomizeFile(file: string, content: Record<string, unknown>): boolean {
  return KUSTOMIZATION_FILE.test(basename(file)) || (typeof content['apiVersion'] === 'string' && content['apiVersion'].startsWith('kustomize.config.k8s.io/'));
}

export function validateKustomizationShape(content: Record<string, unknown>): SchemaMessage[] {
  const validate = compileSchema('kustomization', KUSTOMIZATION_SCHEMA);
  if (validate(content)) return [];
  return schemaMessages(validate.errors ?? [], content).map((m) =>
    m.code === 'PATTERN' && m.path.startsWith('/resources/')
      ? { ...m, code: 'KUSTOMIZATION_RESOURCE_PATH', message: `resources entries must be relative paths inside the tree; got ${JSON.stringify(m.path)}`.replace(JSON.stringify(m.path), m.message.split('got ')[1] ?? '') }
      : m,
  );
}
