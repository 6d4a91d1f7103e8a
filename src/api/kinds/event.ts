import { z } from 'zod';
import { resourceSchema } from '../resource.js';

/** An event about one object, written by controllers and shown by `drover describe`. */
export const EventSpec = z
  .object({
    involvedObject: z.object({ kind: z.string(), name: z.string(), uid: z.string().optional() }).strict(),
    type: z.enum(['Normal', 'Warning']),
    reason: z.string().min(1),
    message: z.string(),
    count: z.number().int().min(1).default(1),
    firstTimestamp: z.string(),
    lastTimestamp: z.string(),
    source: z.string().default('drover'),
  })
  .strict();

export const Event = resourceSchema('Event', EventSpec, z.object({}).strict());
export type Event = z.infer<typeof Event>;
export type EventSpec = z.infer<typeof EventSpec>;
