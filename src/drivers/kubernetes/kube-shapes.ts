/**
 * The parts of Kubernetes objects the driver reads, as zod schemas: answers from the API server are parsed
 * once here and trusted after. Unknown fields pass through; missing optional ones are simply absent.
 */
import { z } from 'zod';

const Meta = z
  .object({
    name: z.string(),
    namespace: z.string().optional(),
    labels: z.record(z.string()).optional(),
    annotations: z.record(z.string()).optional(),
    generation: z.number().int().optional(),
    resourceVersion: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    managedFields: z
      .array(z.object({ manager: z.string().optional(), operation: z.string().optional(), fieldsV1: z.record(z.unknown()).optional() }).passthrough())
      .optional(),
  })
  .passthrough();

const Condition = z.object({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() }).passthrough();

export const KubeNamespace = z
  .object({ metadata: Meta, status: z.object({ phase: z.string().optional() }).passthrough().optional() })
  .passthrough();
export type KubeNamespace = z.infer<typeof KubeNamespace>;

export const KubeDeployment = z
  .object({
    metadata: Meta,
    spec: z.object({ replicas: z.number().int().optional() }).passthrough().optional(),
    status: z
      .object({
        observedGeneration: z.number().int().optional(),
        replicas: z.number().int().optional(),
        updatedReplicas: z.number().int().optional(),
        readyReplicas: z.number().int().optional(),
        availableReplicas: z.number().int().optional(),
        conditions: z.array(Condition).optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();
export type KubeDeployment = z.infer<typeof KubeDeployment>;

export const KubeService = z
  .object({
    metadata: Meta,
    spec: z
      .object({
        type: z.string().optional(),
        ports: z.array(z.object({ name: z.string().optional(), port: z.number().int(), nodePort: z.number().int().optional() }).passthrough()).optional(),
      })
      .passthrough()
      .optional(),
    status: z
      .object({
        loadBalancer: z
          .object({ ingress: z.array(z.object({ ip: z.string().optional(), hostname: z.string().optional() }).passthrough()).optional() })
          .passthrough()
          .optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();
export type KubeService = z.infer<typeof KubeService>;

const ContainerStatus = z
  .object({
    name: z.string(),
    restartCount: z.number().int().default(0),
    state: z
      .object({ waiting: z.object({ reason: z.string().optional(), message: z.string().optional() }).passthrough().optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

export const KubePod = z
  .object({
    metadata: Meta,
    status: z
      .object({
        phase: z.string().optional(),
        containerStatuses: z.array(ContainerStatus).optional(),
        initContainerStatuses: z.array(ContainerStatus).optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();
export type KubePod = z.infer<typeof KubePod>;

export const KubeNode = z
  .object({
    metadata: Meta,
    spec: z.object({ unschedulable: z.boolean().optional() }).passthrough().optional(),
    status: z
      .object({
        conditions: z.array(Condition).optional(),
        addresses: z.array(z.object({ type: z.string(), address: z.string() })).optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();
export type KubeNode = z.infer<typeof KubeNode>;

export function kubeList<T extends z.ZodTypeAny>(item: T) {
  return z
    .object({ metadata: z.object({ resourceVersion: z.string().optional() }).passthrough().optional(), items: z.array(item) })
    .passthrough();
}

export const KubeVersionInfo = z.object({ major: z.string(), minor: z.string(), gitVersion: z.string().optional() }).passthrough();
export type KubeVersionInfo = z.infer<typeof KubeVersionInfo>;

/** A watch line: `{type, object}`; ERROR events carry a Status object (code 410 = expired). */
export const KubeWatchEvent = z.object({ type: z.string(), object: z.record(z.unknown()) });
