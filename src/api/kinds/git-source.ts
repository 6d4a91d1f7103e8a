import { z } from 'zod';
import { baseStatus, dnsName, Duration } from '../meta.js';
import { resourceSchema } from '../resource.js';
import { Gate } from './release.js';

export const GitSourceSpec = z
  .object({
    fleet: dnsName,
    url: z.string().min(1),
    /** Glob over tag names (e.g. "v*"); the newest matching tag (by semver, else by name) is released. */
    tags: z.string().min(1).optional(),
    /** Branch whose head commit is released (version = short sha). */
    branch: z.string().min(1).optional(),
    interval: Duration.default('30s'),
    release: z
      .object({
        maxParallel: z.number().int().min(1).default(1),
        bake: Duration.default('30s'),
        gates: z.array(Gate).optional(),
      })
      .strict()
      .default({}),
  })
  .strict()
  .refine((g) => (g.tags === undefined) !== (g.branch === undefined), {
    message: 'set exactly one of `tags` (a glob such as "v*") or `branch`',
  });

export const GitSourceStatus = z
  .object({
    ...baseStatus,
    lastRef: z.string().optional(),
    lastVersion: z.string().optional(),
    lastPoll: z.string().optional(),
    lastRelease: z.string().optional(),
    message: z.string().optional(),
  })
  .strict();

export const GitSource = resourceSchema('GitSource', GitSourceSpec, GitSourceStatus);
export type GitSource = z.infer<typeof GitSource>;
