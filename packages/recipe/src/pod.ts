import { z } from 'zod';

// Pod settings: what a real deployment says about the pods beyond the engine (shared memory, security context, probes,
// resources, environment, volumes, scheduling, NVLink compute domains). Typed field by field, so a misspelt key is an
// error with a did-you-mean hint and every field has a description for editors; rendered to v1alpha1 (service fields,
// extraPodSpec.mainContainer) and v1beta1 (podTemplate, container `main`). Kubernetes field names are kept where the
// object is a Kubernetes one (probes, affinity, securityContext), so upstream YAML pastes in unchanged.

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const dnsName = (what: string) => z.string().max(253).regex(DNS_SUBDOMAIN, `${what} must be a DNS-1123 name: lower-case letters, digits, "-" and "."`);

/** Kubernetes resource quantity: `130`, `850Gi`, `500m`, `1.5`, `2e3`; numbers are written as strings. */
export const K8sQuantitySchema = z
  .union([
    z.number().nonnegative(),
    z
      .string()
      .regex(
        /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/,
        'must be a Kubernetes quantity such as 8, 500m or 850Gi',
      ),
  ])
  .describe('A Kubernetes quantity (8, 500m, 850Gi); numbers are rendered as strings.');

const EnvNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'an environment variable name is letters, digits, _, . and -, not starting with a digit');

const KeyRef = (kind: string) =>
  z.strictObject({
    name: dnsName(`the ${kind} name`).describe(`${kind} name.`),
    key: z.string().min(1).describe(`Key in the ${kind}.`),
    optional: z.boolean().optional().describe(`Start the pod even when the ${kind} or key is missing.`),
  });

/** env: NAME → value, or NAME → a typed reference (the Kubernetes valueFrom kinds). */
export const EnvSourceSchema = z
  .strictObject({
    fieldRef: z
      .strictObject({ fieldPath: z.string().min(1).describe('e.g. metadata.name, status.podIP, metadata.labels[\'x\'].'), apiVersion: z.string().optional() })
      .optional()
      .describe('A field of the pod (downward API), e.g. { fieldPath: status.podIP }.'),
    secretKeyRef: KeyRef('Secret').optional().describe('One key of a Secret.'),
    configMapKeyRef: KeyRef('ConfigMap').optional().describe('One key of a ConfigMap.'),
    resourceFieldRef: z
      .strictObject({
        resource: z.string().min(1).describe('limits.cpu, requests.memory, …'),
        containerName: z.string().optional(),
        divisor: K8sQuantitySchema.optional(),
      })
      .optional()
      .describe("A resource request or limit of the container, e.g. { resource: limits.memory }."),
  })
  .superRefine((v, ctx) => {
    const n = ['fieldRef', 'secretKeyRef', 'configMapKeyRef', 'resourceFieldRef'].filter((k) => (v as Record<string, unknown>)[k] !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', message: `an env reference names exactly one of fieldRef, secretKeyRef, configMapKeyRef, resourceFieldRef (found ${n})` });
  })
  .describe('A value taken from the pod, a Secret, a ConfigMap or a resource (Kubernetes valueFrom).');

export const EnvValueSchema = z
  .union([z.string(), z.number(), z.boolean(), EnvSourceSchema])
  .describe('A literal value (numbers and booleans are written as strings) or a typed reference (fieldRef, secretKeyRef, configMapKeyRef, resourceFieldRef).');

export const EnvMapSchema = z
  .record(EnvNameSchema, EnvValueSchema)
  .describe('Environment variables by name; layers merge them by name, a higher layer replaces a variable whole, null removes it.');

const EnvFromSchema = z
  .strictObject({
    secretRef: z.strictObject({ name: dnsName('the Secret name'), optional: z.boolean().optional() }).optional().describe('Every key of a Secret.'),
    configMapRef: z.strictObject({ name: dnsName('the ConfigMap name'), optional: z.boolean().optional() }).optional().describe('Every key of a ConfigMap.'),
    prefix: z.string().optional().describe('Prefix added to every variable name.'),
  })
  .superRefine((v, ctx) => {
    if ((v.secretRef === undefined) === (v.configMapRef === undefined)) ctx.addIssue({ code: 'custom', message: 'an envFrom entry names exactly one of secretRef or configMapRef' });
  });

const PortSchema = z.union([z.int().min(1).max(65535), z.string().min(1)]).describe('Port number or container port name.');

export const ProbeSchema = z
  .strictObject({
    httpGet: z
      .strictObject({
        path: z.string().describe('HTTP path, e.g. /health.'),
        port: PortSchema,
        scheme: z.enum(['HTTP', 'HTTPS']).optional(),
        host: z.string().optional(),
        httpHeaders: z.array(z.strictObject({ name: z.string(), value: z.string() })).optional(),
      })
      .optional(),
    tcpSocket: z.strictObject({ port: PortSchema, host: z.string().optional() }).optional(),
    exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
    grpc: z.strictObject({ port: z.int().min(1).max(65535), service: z.string().optional() }).optional(),
    initialDelaySeconds: z.int().nonnegative().optional(),
    periodSeconds: z.int().positive().optional(),
    timeoutSeconds: z.int().positive().optional(),
    failureThreshold: z.int().positive().optional().describe('Failures in a row before the probe fails (startup: × periodSeconds is the time allowed to load the model).'),
    successThreshold: z.int().positive().optional(),
    terminationGracePeriodSeconds: z.int().positive().optional(),
  })
  .superRefine((v, ctx) => {
    const n = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter((k) => (v as Record<string, unknown>)[k] !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', message: `a probe has exactly one of httpGet, tcpSocket, exec, grpc (found ${n})` });
  })
  .meta({ id: 'Probe', description: 'A Kubernetes probe.' });

const ResourceNameSchema = z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9][-A-Za-z0-9_.]*$/, 'a resource name such as cpu, memory, ephemeral-storage, rdma/ib, vpc.amazonaws.com/efa');

export const ResourcesSchema = z
  .strictObject({
    requests: z.record(ResourceNameSchema, K8sQuantitySchema).optional().describe('Requests by resource name: cpu, memory, ephemeral-storage, hugepages-2Mi, or a device such as rdma/ib.'),
    limits: z
      .record(ResourceNameSchema, K8sQuantitySchema)
      .optional()
      .describe('Limits by resource name. Devices (rdma/ib, vpc.amazonaws.com/efa, …) go here; Kubernetes sets their request to the limit. GPUs come from the topology, never from here.'),
  })
  .describe('CPU, memory and device requests and limits of the main container (GPUs come from the topology).');

const CapabilitiesSchema = z.strictObject({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() });
const SeccompSchema = z.strictObject({ type: z.enum(['RuntimeDefault', 'Unconfined', 'Localhost']), localhostProfile: z.string().optional() });

export const SecurityContextSchema = z
  .strictObject({
    runAsUser: z.int().nonnegative().optional(),
    runAsGroup: z.int().nonnegative().optional(),
    runAsNonRoot: z.boolean().optional(),
    privileged: z.boolean().optional(),
    allowPrivilegeEscalation: z.boolean().optional(),
    readOnlyRootFilesystem: z.boolean().optional(),
    capabilities: CapabilitiesSchema.optional().describe('e.g. { add: [IPC_LOCK, SYS_RESOURCE] } for RDMA memory registration.'),
    seccompProfile: SeccompSchema.optional(),
    seLinuxOptions: z.strictObject({ user: z.string().optional(), role: z.string().optional(), type: z.string().optional(), level: z.string().optional() }).optional(),
    procMount: z.enum(['Default', 'Unmasked']).optional(),
  })
  .describe('Security context of the main container.');

export const PodSecurityContextSchema = z
  .strictObject({
    runAsUser: z.int().nonnegative().optional(),
    runAsGroup: z.int().nonnegative().optional(),
    runAsNonRoot: z.boolean().optional(),
    fsGroup: z.int().nonnegative().optional(),
    fsGroupChangePolicy: z.enum(['Always', 'OnRootMismatch']).optional(),
    supplementalGroups: z.array(z.int().nonnegative()).optional(),
    seccompProfile: SeccompSchema.optional(),
    sysctls: z.array(z.strictObject({ name: z.string(), value: z.string() })).optional(),
  })
  .describe('Security context of the pod.');

const LabelSelectorRequirement = z.strictObject({
  key: z.string(),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: z.array(z.string()).optional(),
});
const LabelSelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(LabelSelectorRequirement).optional(),
});
const NodeSelectorRequirement = z.strictObject({
  key: z.string(),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']),
  values: z.array(z.string()).optional(),
});
const NodeSelectorTerm = z
  .strictObject({ matchExpressions: z.array(NodeSelectorRequirement).optional(), matchFields: z.array(NodeSelectorRequirement).optional() })
  .meta({ id: 'NodeSelectorTerm' });
const PodAffinityTerm = z.strictObject({
  labelSelector: LabelSelectorSchema.optional(),
  namespaces: z.array(z.string()).optional(),
  namespaceSelector: LabelSelectorSchema.optional(),
  topologyKey: z.string().min(1),
  matchLabelKeys: z.array(z.string()).optional(),
  mismatchLabelKeys: z.array(z.string()).optional(),
}).meta({ id: 'PodAffinityTerm' });
const WeightedPodAffinityTerm = z.strictObject({ weight: z.int().min(1).max(100), podAffinityTerm: PodAffinityTerm });
const PodAffinitySchema = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(PodAffinityTerm).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(WeightedPodAffinityTerm).optional(),
});

export const AffinitySchema = z
  .strictObject({
    nodeAffinity: z
      .strictObject({
        requiredDuringSchedulingIgnoredDuringExecution: z.strictObject({ nodeSelectorTerms: z.array(NodeSelectorTerm).min(1) }).optional(),
        preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight: z.int().min(1).max(100), preference: NodeSelectorTerm })).optional(),
      })
      .optional()
      .describe('Node affinity; the GPU selection (gpuNodes) is added to every required term.'),
    podAffinity: PodAffinitySchema.optional(),
    podAntiAffinity: PodAffinitySchema.optional(),
  })
  .describe('Kubernetes affinity (node affinity, pod affinity and anti-affinity).');

export const TolerationSchema = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.int().optional(),
});

const KeyToPath = z.strictObject({ key: z.string(), path: z.string(), mode: z.int().optional() });

export const VolumeSchema = z
  .strictObject({
    mountPath: z.string().regex(/^\//, 'an absolute path').describe('Where the main container mounts it.'),
    readOnly: z.boolean().optional(),
    subPath: z.string().optional(),
    configMap: z.strictObject({ name: dnsName('the ConfigMap name'), items: z.array(KeyToPath).optional(), defaultMode: z.int().optional(), optional: z.boolean().optional() }).optional(),
    secret: z.strictObject({ secretName: dnsName('the Secret name'), items: z.array(KeyToPath).optional(), defaultMode: z.int().optional(), optional: z.boolean().optional() }).optional(),
    emptyDir: z.strictObject({ medium: z.enum(['', 'Memory']).optional(), sizeLimit: K8sQuantitySchema.optional() }).optional(),
    hostPath: z
      .strictObject({ path: z.string().regex(/^\//), type: z.enum(['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice']).optional() })
      .optional(),
    persistentVolumeClaim: z.strictObject({ claimName: dnsName('the claim name'), readOnly: z.boolean().optional() }).optional(),
    csi: z.strictObject({ driver: z.string(), readOnly: z.boolean().optional(), volumeAttributes: z.record(z.string(), z.string()).optional() }).optional(),
  })
  .superRefine((v, ctx) => {
    const n = ['configMap', 'secret', 'emptyDir', 'hostPath', 'persistentVolumeClaim', 'csi'].filter((k) => (v as Record<string, unknown>)[k] !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', message: `a volume has exactly one source: configMap, secret, emptyDir, hostPath, persistentVolumeClaim or csi (found ${n})` });
  })
  .describe('An extra volume and where the main container mounts it.');

/** PodSpec fields the typed settings do not cover, passed through; the rendered DGD is validated against the CRD's PodSpec. */
export const POD_SPEC_PASSTHROUGH = [
  'activeDeadlineSeconds',
  'automountServiceAccountToken',
  'dnsConfig',
  'dnsPolicy',
  'enableServiceLinks',
  'hostAliases',
  'hostIPC',
  'hostNetwork',
  'hostPID',
  'hostUsers',
  'hostname',
  'os',
  'overhead',
  'preemptionPolicy',
  'priority',
  'priorityClassName',
  'readinessGates',
  'runtimeClassName',
  'schedulerName',
  'schedulingGates',
  'serviceAccountName',
  'setHostnameAsFQDN',
  'shareProcessNamespace',
  'subdomain',
  'topologySpreadConstraints',
] as const;

/** Main-container fields the typed settings do not cover. */
export const CONTAINER_PASSTHROUGH = ['lifecycle', 'ports', 'resizePolicy', 'stdin', 'stdinOnce', 'terminationMessagePath', 'terminationMessagePolicy', 'tty'] as const;

const passthrough = (keys: readonly string[], what: string) =>
  z
    .strictObject(Object.fromEntries(keys.map((k) => [k, z.unknown().optional()])) as Record<string, z.ZodOptional<z.ZodUnknown>>)
    .describe(`${what} fields not covered by the typed settings (${keys.join(', ')}), passed through as written and validated against the Kubernetes schema with the rendered manifest.`);

export const PodSettingsSchema = z
  .strictObject({
    image: z.string().min(1).optional().describe('Image of this pool, instead of backend.image.'),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
    imagePullSecrets: z.array(dnsName('a pull Secret name')).optional().describe('Secrets with registry credentials (names).'),
    workingDir: z.string().regex(/^\//, 'an absolute path').optional().describe('Working directory of the main container.'),
    env: EnvMapSchema.optional(),
    envFrom: z.array(EnvFromSchema).optional().describe('Every key of a Secret or ConfigMap as environment variables.'),
    sharedMemory: z
      .union([z.literal('disabled'), K8sQuantitySchema])
      .optional()
      .describe('Size of /dev/shm (the operator mounts 8Gi when unset); "disabled" mounts none. NCCL and multi-process engines need tens of GiB.'),
    resources: ResourcesSchema.optional(),
    securityContext: SecurityContextSchema.optional(),
    podSecurityContext: PodSecurityContextSchema.optional(),
    probes: z
      .strictObject({ startup: ProbeSchema.optional(), readiness: ProbeSchema.optional(), liveness: ProbeSchema.optional() })
      .optional()
      .describe('Probes of the main container; unset ones keep the operator defaults (workers: /live and /health on the system port 9090).'),
    volumes: z
      .record(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a volume name is a DNS label'), VolumeSchema)
      .optional()
      .describe('Extra volumes by name, each mounted in the main container (merged by name across layers).'),
    nodeSelector: z.record(z.string(), z.string()).optional().describe('Node labels the pods must have (merged by key across layers).'),
    affinity: AffinitySchema.optional(),
    tolerations: z.array(TolerationSchema).optional().describe('Taints the pods tolerate (a list: a higher layer replaces it whole; [] removes them).'),
    gpuNodes: z
      .union([z.enum(['product', 'any']), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe(
        "GPU nodes the pool may run on: product (the recipe GPU's nvidia.com/gpu.product label, the default), any (every node with the GPUs requested), or a list of nvidia.com/gpu.product values.",
      ),
    annotations: z.record(z.string(), z.string()).optional().describe('Pod annotations.'),
    labels: z.record(z.string(), z.string()).optional().describe('Pod labels.'),
    terminationGracePeriodSeconds: z.int().nonnegative().optional(),
    computeDomain: z
      .union([z.boolean(), z.strictObject({ allocationMode: z.enum(['Single', 'All']).optional().describe('IMEX channels per pod: Single (default) or All.') })])
      .optional()
      .describe(
        'Join the recipe\'s NVLink ComputeDomain (resource.nvidia.com/v1beta1, NVIDIA DRA driver): multi-node NVLink on GB200/GB300. The renderer writes the ComputeDomain (numNodes = every node of the pools that join) and the resource claims.',
      ),
    compilationCache: z
      .strictObject({
        pvcName: dnsName('the claim name').describe('PersistentVolumeClaim holding compiled kernels and graphs (must exist).'),
        mountPath: z.string().regex(/^\//).optional().describe('Mount path; default: the operator\'s backend-specific path.'),
      })
      .optional()
      .describe('A PVC the operator mounts as the engine compilation cache (torch.compile, Triton, DeepGEMM).'),
    podSpec: passthrough(POD_SPEC_PASSTHROUGH, 'PodSpec').optional(),
    container: passthrough(CONTAINER_PASSTHROUGH, 'Main container').optional(),
  })
  // one named definition in the generated JSON Schema instead of a copy at every place pod settings may appear
  .meta({ id: 'PodSettings', description: 'Kubernetes settings of a pool\'s pods.' });
export type PodSettings = z.output<typeof PodSettingsSchema>;
export type EnvValue = z.output<typeof EnvValueSchema>;
export type Probe = z.output<typeof ProbeSchema>;
export type Volume = z.output<typeof VolumeSchema>;
