/**
 * Names and labels the Kubernetes driver puts on what it creates. Everything Drover owns in a cluster is
 * found again through these labels, never through a local cache, so a restarted agent sees the same state.
 */
import { createHash } from 'node:crypto';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'drover';
// The drover.dev/ labels (fleet, prod, cluster, version) are in src/api/labels.ts. Label values cannot hold
// every version string ("1.2.3+build"), so render.ts writes the exact version as an annotation too.

/** Every namespaced object of a Prod has this fixed name: the namespace already says which Prod it is. */
export const APP_NAME = 'app';
export const CONTAINER_NAME = 'app';
export const PORT_NAME = 'http';

export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

const MAX_LABEL = 63;

/**
 * `drover-<fleet>-<prod>` as a DNS-1123 label (what a namespace name must be). Fleet and Prod names are
 * DNS-1123 labels already, so only the length can be wrong: a long name keeps a readable prefix and ends in
 * 8 hex digits of the SHA-256 of the full name, so two long names that share a prefix still differ.
 */
export function namespaceName(fleet: string, prod: string): string {
  const full = `drover-${fleet}-${prod}`;
  if (full.length <= MAX_LABEL) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  const prefix = full.slice(0, MAX_LABEL - hash.length - 1).replace(/-+$/, '');
  return `${prefix}-${hash}`;
}

/** A label value (at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends) that stands for `value`. */
export function labelValue(value: string): string {
  let v = value.replace(/[^A-Za-z0-9_.-]/g, '_');
  if (v.length > MAX_LABEL) v = v.slice(0, MAX_LABEL - 9) + '_' + createHash('sha256').update(value).digest('hex').slice(0, 8);
  return v.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}
