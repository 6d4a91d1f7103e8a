/**
 * Object metadata and the pieces every kind shares. The shapes follow Kubernetes so that people who know
 * kubectl read Drover objects without a manual.
 */
import { z } from 'zod';
import { API_VERSION } from './api-version.js';

export { API_VERSION };

/** DNS-1123 label: what Kubernetes accepts as a namespace name, so a Prod name can become one. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dnsName = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters')
  .regex(DNS1123_LABEL, 'must be lower-case letters, digits and "-", starting and ending with a letter or digit (DNS-1123)');

const labelKey = z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'is not a valid label key');
const labelValue = z.string().max(63).regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, 'is not a valid label value');

export const OwnerReference = z
  .object({
    apiVersion: z.string().default(API_VERSION),
    kind: z.string(),
    name: z.string(),
    uid: z.string(),
    controller: z.boolean().optional(),
  })
  .strict();
export type OwnerReference = z.infer<typeof OwnerReference>;

/** Fields a client may set. The store owns uid, generation, resourceVersion and the timestamps. */
export const ObjectMeta = z
  .object({
    name: dnsName,
    labels: z.record(labelKey, labelValue).default({}),
    annotations: z.record(z.string()).default({}),
    uid: z.string().optional(),
    generation: z.number().int().optional(),
    resourceVersion: z.string().optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    finalizers: z.array(z.string()).default([]),
    ownerReferences: z.array(OwnerReference).default([]),
  })
  .strict();
export type ObjectMeta = z.infer<typeof ObjectMeta>;

export const ConditionStatus = z.enum(['True', 'False', 'Unknown']);
export const Condition = z
  .object({
    type: z.string(),
    status: ConditionStatus,
    reason: z.string().default(''),
    message: z.string().default(''),
    lastTransitionTime: z.string(),
    observedGeneration: z.number().int().optional(),
  })
  .strict();
export type Condition = z.infer<typeof Condition>;

/** Status fields every kind has. Kinds extend this with their own. */
export const baseStatus = {
  observedGeneration: z.number().int().optional(),
  conditions: z.array(Condition).default([]),
};

/** A duration as people write it ("500ms", "30s", "5m", "1h") or a number of milliseconds. */
export const Duration = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'must be a duration such as "500ms", "30s", "5m" or "1h"'),
]);
export type Duration = z.infer<typeof Duration>;

export function durationMs(d: Duration): number {
  if (typeof d === 'number') return d;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`bad duration ${d}`);
  const n = Number(m[1]);
  const unit = m[2] as 'ms' | 's' | 'm' | 'h';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]);
}

/** Label selector in its two common spellings: `{app: web}` or Kubernetes' `{matchLabels: {...}}`. */
export const LabelSelectorSpec = z
  .object({
    matchLabels: z.record(z.string()).default({}),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string(),
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z.array(z.string()).default([]),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type LabelSelectorSpec = z.infer<typeof LabelSelectorSpec>;

export function matchesSelectorSpec(labels: Record<string, string>, sel: LabelSelectorSpec | undefined): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const val = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !e.values.includes(val ?? '')) return false;
        break;
      case 'NotIn':
        if (has && e.values.includes(val ?? '')) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
