/**
 * InferencePool (inference.networking.k8s.io/v1) of the Gateway API Inference Extension. No npm package ships its
 * schema, so the CRD's openAPIV3Schema for `spec` is transcribed here from the API types and their kubebuilder
 * markers (kubernetes-sigs/gateway-api-inference-extension, `api/v1/inferencepool_types.go`, Apache-2.0, the
 * release where `endpointPickerRef` replaced `extensionRef` and became optional) and converted by the same
 * openapi2jsonschema rules as the vendored CRDs. `status` is written by controllers and not checked.
 */
import { Ajv } from 'ajv';
import { openApiToJsonSchema, type JsonSchema } from './convert.ts';

const GROUP_PATTERN = '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const port = {
  type: 'object',
  required: ['number'],
  properties: { number: { type: 'integer', format: 'int32', minimum: 1, maximum: 65535 } },
};

export const INFERENCE_POOL_V1_OPENAPI: JsonSchema = {
  type: 'object',
  required: ['spec'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      required: ['selector', 'targetPorts'],
      properties: {
        selector: {
          type: 'object',
          required: ['matchLabels'],
          properties: {
            matchLabels: {
              type: 'object',
              additionalProperties: { type: 'string', maxLength: 63, pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$' },
            },
          },
        },
        targetPorts: { type: 'array', minItems: 1, maxItems: 8, items: port },
        appProtocol: { type: 'string', enum: ['http', 'kubernetes.io/h2c'] },
        endpointPickerRef: {
          type: 'object',
          required: ['name'],
          properties: {
            group: { type: 'string', maxLength: 253, pattern: GROUP_PATTERN },
            kind: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$' },
            name: { type: 'string', minLength: 1, maxLength: 253 },
            port,
            failureMode: { type: 'string', enum: ['FailOpen', 'FailClose'] },
          },
        },
      },
    },
    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

let validateFn: ((data: unknown) => boolean) & { errors?: unknown } | undefined;

/** A model class in the shape of kubernetes-models': `validate()` throws `{ errors }` (ajv errors) when invalid. */
export class InferencePool {
  readonly data: object;
  constructor(data: object) {
    this.data = data;
  }
  validate(): void {
    if (!validateFn) {
      const ajv = new Ajv({ strict: false, allErrors: true, verbose: true, logger: false });
      ajv.addFormat('int32', true);
      validateFn = ajv.compile(openApiToJsonSchema(INFERENCE_POOL_V1_OPENAPI, { denyRootAdditionalProperties: true }));
    }
    if (!validateFn(this.data)) {
      throw Object.assign(new Error('InferencePool is invalid'), { errors: validateFn.errors });
    }
    // The CRD's CEL rule: a Service endpoint picker needs a port.
    const ref = (this.data as { spec?: { endpointPickerRef?: { kind?: string; port?: unknown } } }).spec?.endpointPickerRef;
    if (ref && (ref.kind ?? 'Service') === 'Service' && ref.port === undefined) {
      throw Object.assign(new Error('InferencePool is invalid'), {
        errors: [{ instancePath: '/spec/endpointPickerRef', keyword: 'required', message: "port is required when kind is 'Service' or unspecified (defaults to 'Service')", params: { missingProperty: 'port' }, schemaPath: '#/x-kubernetes-validations' }],
      });
    }
  }
}
