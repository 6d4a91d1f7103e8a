/** Builds the full document schema of a kind from its spec and status schemas. */
import { z } from 'zod';
import { API_VERSION, ObjectMeta } from './meta.js';

export function resourceSchema<K extends string, S extends z.ZodTypeAny, St extends z.ZodTypeAny>(
  kind: K,
  spec: S,
  status: St,
) {
  return z
    .object({
      apiVersion: z.literal(API_VERSION, {
        errorMap: () => ({ message: `invalid apiVersion, expecting "${API_VERSION}"` }),
      }),
      kind: z.literal(kind),
      metadata: ObjectMeta,
      spec,
      status: status.optional(),
    })
    .strict();
}

/** The shape every stored object has, whatever its kind. */
export interface AnyResource {
  apiVersion: typeof API_VERSION;
  kind: string;
  metadata: ObjectMeta;
  spec: unknown;
  status?: unknown;
}
