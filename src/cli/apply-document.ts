/**
 * `drover apply` for one document: validate locally (so a bad document never reaches the server), then
 * create it, or update the stored object (spec, labels, annotations; finalizers and owner references only
 * when the document sets them), retrying on a concurrent change. One document is one write: nothing of a
 * rejected document is stored.
 */
import { findKind } from '../api/registry.js';
import type { AnyResource } from '../api/resource.js';
import { validateResource } from '../api/validate.js';
import { DroverError, isDroverError } from '../errors.js';
import type { Store } from '../store/store.js';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface Applied {
  outcome: ApplyOutcome;
  object: AnyResource;
}

export async function applyDocument(store: Store, doc: unknown): Promise<Applied> {
  const { info, resource } = validateResource(doc);
  if (info.systemOwned) {
    throw new DroverError('DROVER_E_FORBIDDEN', `${info.kind} objects are written by Drover's controllers, not applied`, {
      field: 'kind',
      fix: `remove this document; read them with \`drover get ${info.plural}\``,
    });
  }
  const raw = (doc as { metadata?: Record<string, unknown> }).metadata ?? {};
  const { uid: _u, resourceVersion: _rv, generation: _g, creationTimestamp: _c, deletionTimestamp: _d, ...meta } = resource.metadata;
  const desired: AnyResource = { apiVersion: resource.apiVersion, kind: resource.kind, metadata: meta, spec: resource.spec };

  for (let attempt = 0; ; attempt++) {
    const existing = await store.get(info.kind, desired.metadata.name);
    try {
      if (!existing) return { outcome: 'created', object: await store.create(desired) };
      const next: AnyResource = {
        ...existing,
        spec: desired.spec,
        metadata: {
          ...existing.metadata,
          labels: 'labels' in raw ? desired.metadata.labels : existing.metadata.labels,
          annotations: 'annotations' in raw ? desired.metadata.annotations : existing.metadata.annotations,
          finalizers: 'finalizers' in raw ? desired.metadata.finalizers : existing.metadata.finalizers,
          ownerReferences: 'ownerReferences' in raw ? desired.metadata.ownerReferences : existing.metadata.ownerReferences,
        },
      };
      const updated = await store.update(next);
      return { outcome: updated.metadata.resourceVersion === existing.metadata.resourceVersion ? 'unchanged' : 'configured', object: updated };
    } catch (e) {
      const raced = isDroverError(e, 'DROVER_E_CONFLICT') || isDroverError(e, 'DROVER_E_ALREADY_EXISTS') || (existing && isDroverError(e, 'DROVER_E_NOT_FOUND'));
      if (!raced || attempt >= 4) throw e;
    }
  }
}

/** `fleet/web`, as kubectl names objects in its output. */
export function objectRef(kind: string, name: string): string {
  return `${findKind(kind)?.singular ?? kind.toLowerCase()}/${name}`;
}
