/**
 * `drover apply` (and `drover up`, which applies its file the same way) for one document, in two steps:
 *
 * 1. `prepareDocument`: validate locally (so a bad document never reaches the server), refuse
 *    system-owned kinds, resolve relative paths against the declaring file (document-paths.ts), and
 *    extract the *applied configuration*: what the file says (apiVersion, kind, metadata name, labels,
 *    annotations, spec), as written, without the schema's defaults. Callers prepare every document of a
 *    file before writing any (validate all, then write).
 * 2. `applyDocument`: create the object, or update it with a three-way merge (three-way-merge.ts) of the
 *    configuration applied last time (annotation `drover.dev/last-applied-configuration`), this one, and
 *    the live object — so fields operators changed outside apply (`spec.cordoned`, `spec.draining`) and
 *    the file does not mention survive a re-apply, and fields dropped from the file are removed. Finalizers
 *    and owner references change only when the document sets them. A concurrent change is retried.
 */
import { ANNOTATION_LAST_APPLIED } from '../api/labels.js';
import type { KindInfo } from '../api/registry.js';
import type { AnyResource } from '../api/resource.js';
import { validateResource } from '../api/validate.js';
import { DroverError, isDroverError } from '../errors.js';
import { createOrUpdate } from '../store/mutate.js';
import type { Store } from '../store/store.js';
import { resolveDocumentPaths } from './document-paths.js';
import { threeWayMerge, type MergeOptions } from './three-way-merge.js';

export const lastAppliedAnnotation = ANNOTATION_LAST_APPLIED;

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface Applied {
  outcome: ApplyOutcome;
  object: AnyResource;
}

type Dict = Record<string, unknown>;

/** The configuration a document applies, as recorded in the last-applied annotation. */
export interface AppliedConfig {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Dict; annotations?: Dict };
  spec?: unknown;
}

export interface PreparedDocument {
  info: KindInfo;
  name: string;
  config: AppliedConfig;
  /** Finalizers and owner references, only when the document sets them. */
  finalizers?: unknown;
  ownerReferences?: unknown;
}

const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Validates one document and extracts what it applies. `baseDir`: where its relative paths start. */
export function prepareDocument(doc: unknown, opts: { baseDir?: string } = {}): PreparedDocument {
  const resolved = opts.baseDir === undefined ? doc : resolveDocumentPaths(doc, opts.baseDir);
  const { info, resource } = validateResource(resolved);
  if (info.systemOwned) {
    throw new DroverError('DROVER_E_FORBIDDEN', `${info.kind} objects are written by Drover's controllers, not applied`, {
      field: 'kind',
      fix: `remove this document; read them with \`drover get ${info.plural}\``,
    });
  }
  const raw = resolved as Dict;
  const meta = isDict(raw.metadata) ? raw.metadata : {};
  const config: AppliedConfig = { apiVersion: resource.apiVersion, kind: resource.kind, metadata: { name: resource.metadata.name } };
  if (isDict(meta.labels)) config.metadata.labels = meta.labels;
  if (isDict(meta.annotations)) {
    // A document printed by `drover get -o yaml` carries the record of an earlier apply: not part of this one.
    const { [lastAppliedAnnotation]: _earlier, ...annotations } = meta.annotations;
    config.metadata.annotations = annotations;
  }
  if ('spec' in raw) config.spec = raw.spec;
  return {
    info,
    name: resource.metadata.name,
    config,
    ...('finalizers' in meta ? { finalizers: resource.metadata.finalizers } : {}),
    ...('ownerReferences' in meta ? { ownerReferences: resource.metadata.ownerReferences } : {}),
  };
}

/** The configuration recorded on a live object by its last apply, if any (and if readable). */
export function lastAppliedOf(o: AnyResource): AppliedConfig | undefined {
  const text = o.metadata.annotations[lastAppliedAnnotation];
  if (!text) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return isDict(v) ? (v as unknown as AppliedConfig) : undefined;
  } catch {
    // A hand-edited annotation: treat the object as never applied (two-way: the file wins where it speaks).
    return undefined;
  }
}

/** The object `apply` writes over `live` (undefined: create), validated, with the new last-applied annotation. */
export function mergeApplied(p: PreparedDocument, live: AnyResource | undefined, opts: MergeOptions = {}): AnyResource {
  const record = JSON.stringify(p.config);
  const last = live ? lastAppliedOf(live) : undefined;
  const labels = threeWayMerge(last?.metadata.labels ?? {}, p.config.metadata.labels ?? {}, live?.metadata.labels ?? {}, opts) as Dict;
  const annotations = threeWayMerge(last?.metadata.annotations ?? {}, p.config.metadata.annotations ?? {}, live?.metadata.annotations ?? {}, opts) as Dict;
  annotations[lastAppliedAnnotation] = record;
  const spec = live ? threeWayMerge(last?.spec, p.config.spec ?? {}, live.spec, opts) : (p.config.spec ?? {});
  const metadata: Dict = live ? { ...live.metadata, labels, annotations } : { name: p.name, labels, annotations };
  if (p.finalizers !== undefined) metadata.finalizers = p.finalizers;
  if (p.ownerReferences !== undefined) metadata.ownerReferences = p.ownerReferences;
  const next = live ? { ...live, metadata, spec } : { apiVersion: p.config.apiVersion, kind: p.config.kind, metadata, spec };
  try {
    return validateResource(next).resource;
  } catch (e) {
    // The file is valid on its own (prepareDocument), so the merge with what operators set is not.
    if (isDroverError(e)) {
      throw new DroverError(e.code, `merged with the live ${p.info.kind} "${p.name}": ${e.message}`, {
        ...(e.field ? { field: e.field } : {}),
        fix: `${e.fix ?? 'correct the value'}; or set ${e.field ?? 'the field'} in the file, which then wins over the live value`,
      });
    }
    throw e;
  }
}

/**
 * `doc`: a raw document, or one `prepareDocument` already checked. A concurrent change is retried
 * (store/mutate.ts). `fileChangesOnly`: see three-way-merge.ts.
 */
export async function applyDocument(store: Store, doc: unknown, opts: { baseDir?: string } & MergeOptions = {}): Promise<Applied> {
  const p = isPrepared(doc) ? doc : prepareDocument(doc, opts);
  // The resourceVersion the merge was made over, on the attempt that wrote; none when it created.
  let mergedOver: string | undefined;
  const object = await createOrUpdate(store, mergeApplied(p, undefined), (live) => {
    mergedOver = live.metadata.resourceVersion;
    const next = mergeApplied(p, live, opts);
    live.metadata = next.metadata;
    (live as { spec?: unknown }).spec = (next as { spec?: unknown }).spec;
  });
  if (mergedOver === undefined) return { outcome: 'created', object };
  return { outcome: object.metadata.resourceVersion === mergedOver ? 'unchanged' : 'configured', object };
}

function isPrepared(v: unknown): v is PreparedDocument {
  return isDict(v) && isDict(v.config) && typeof v.name === 'string' && isDict(v.info);
}
