/**
 * What each verb on `/api/v1/<plural>[/<name>[/status]]` does. Every write is validated with the kind's
 * schema (the URL's kind and name must agree with the body's) and needs the admin role.
 */
import type { IncomingMessage } from 'node:http';
import { API_VERSION } from '../api/meta.js';
import { findKind, type KindInfo } from '../api/registry.js';
import type { AnyResource } from '../api/resource.js';
import { validateResource } from '../api/validate.js';
import { DroverError, errors } from '../errors.js';
import { retryOnConflict } from '../store/mutate.js';
import type { Store } from '../store/store.js';
import type { Admission } from './admission.js';
import { requireAdmin, type Role } from './auth.js';
import { applyMergePatch } from './merge-patch.js';

export interface Answer {
  status: number;
  body: unknown;
}

export interface HandlerContext {
  store: Store;
  role: Role;
  info: KindInfo;
  /** Checks of spec writes against other objects (admission.ts); absent: none. */
  admission?: Admission;
  readBody(): Promise<unknown>;
}

/** A spec write through admission (status writes are the controllers' and carry no claims). */
function admitted(ctx: HandlerContext, o: AnyResource, write: () => Promise<AnyResource>): Promise<AnyResource> {
  return ctx.admission ? ctx.admission.admit(o, write) : write();
}

export async function listObjects(ctx: HandlerContext, query: URLSearchParams): Promise<Answer> {
  const labelSelector = query.get('labelSelector') ?? undefined;
  const res = await ctx.store.list(ctx.info.kind, labelSelector ? { labelSelector } : {});
  let items = res.items;
  const involved = query.get('involvedObject');
  if (ctx.info.kind === 'Event' && involved) items = eventsAbout(items, involved);
  return { status: 200, body: { apiVersion: API_VERSION, kind: 'List', metadata: { resourceVersion: res.resourceVersion }, items } };
}

function eventsAbout(items: AnyResource[], involved: string): AnyResource[] {
  const slash = involved.indexOf('/');
  if (slash <= 0) {
    throw new DroverError('DROVER_E_BAD_REQUEST', `involvedObject "${involved}" is not Kind/name`, {
      field: 'involvedObject',
      fix: 'use ?involvedObject=Fleet/web',
    });
  }
  const kind = involved.slice(0, slash);
  const name = involved.slice(slash + 1);
  type Ev = AnyResource & { spec: { involvedObject: { kind: string; name: string }; lastTimestamp: string } };
  return (items as Ev[])
    .filter((e) => e.spec.involvedObject.kind === kind && e.spec.involvedObject.name === name)
    .sort((a, b) => a.spec.lastTimestamp.localeCompare(b.spec.lastTimestamp));
}

export async function getObject(ctx: HandlerContext, name: string): Promise<Answer> {
  const obj = await ctx.store.get(ctx.info.kind, name);
  if (!obj) throw errors.notFound(ctx.info.kind, name);
  return { status: 200, body: obj };
}

export async function createObject(ctx: HandlerContext): Promise<Answer> {
  requireAdmin(ctx.role, `create ${ctx.info.plural}`);
  const resource = validateFor(ctx.info, await ctx.readBody());
  return { status: 201, body: await admitted(ctx, resource, () => ctx.store.create(resource)) };
}

export async function replaceObject(ctx: HandlerContext, name: string, status: boolean): Promise<Answer> {
  requireAdmin(ctx.role, `update ${ctx.info.plural}`);
  const resource = validateFor(ctx.info, await ctx.readBody(), name);
  return { status: 200, body: status ? await ctx.store.updateStatus(resource) : await admitted(ctx, resource, () => ctx.store.update(resource)) };
}

/**
 * JSON merge patch against the stored object. Without a resourceVersion in the patch the server retries a
 * few times on conflict (the patch is re-applied to the fresh object); with one, a stale patch gets 409.
 */
export async function patchObject(ctx: HandlerContext, req: IncomingMessage, name: string, status: boolean): Promise<Answer> {
  requireAdmin(ctx.role, `patch ${ctx.info.plural}`);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/merge-patch+json') {
    throw new DroverError('DROVER_E_UNSUPPORTED_MEDIA_TYPE', `PATCH needs Content-Type application/merge-patch+json, got "${type}"`, {
      fix: 'send a JSON merge patch (RFC 7386) with Content-Type: application/merge-patch+json',
    });
  }
  const patch = await ctx.readBody();
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw new DroverError('DROVER_E_BAD_REQUEST', 'a merge patch must be a JSON object', { fix: 'send e.g. {"spec":{"prods":5}}' });
  }
  const pinned = (patch as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion !== undefined;
  const attempt = async (): Promise<Answer> => {
    const current = await ctx.store.get(ctx.info.kind, name);
    if (!current) throw errors.notFound(ctx.info.kind, name);
    const merged = applyMergePatch(current, patch) as AnyResource;
    const resource = validateFor(ctx.info, merged, name);
    return { status: 200, body: status ? await ctx.store.updateStatus(resource) : await admitted(ctx, resource, () => ctx.store.update(resource)) };
  };
  // A patch pinned to a resourceVersion must fail on a stale one (409), never be re-applied to a newer object.
  return pinned ? attempt() : retryOnConflict(attempt);
}

export async function deleteObject(ctx: HandlerContext, name: string, query: URLSearchParams): Promise<Answer> {
  requireAdmin(ctx.role, `delete ${ctx.info.plural}`);
  const rv = query.get('resourceVersion') ?? undefined;
  const gone = await ctx.store.delete(ctx.info.kind, name, rv ? { resourceVersion: rv } : {});
  ctx.admission?.deleted(gone);
  return { status: 200, body: gone };
}

/** Validates a body as a resource of the URL's kind (and name, when the URL names one). */
function validateFor(info: KindInfo, body: unknown, name?: string): AnyResource {
  const b = body && typeof body === 'object' ? (body as { kind?: unknown; metadata?: { name?: unknown } }) : undefined;
  if (b && typeof b.kind === 'string' && b.kind !== info.kind) {
    throw new DroverError('DROVER_E_BAD_REQUEST', `the body is a ${b.kind} but the URL is for ${info.plural}`, {
      field: 'kind',
      fix: `send it to /api/v1/${findKind(b.kind)?.plural ?? '<plural>'} or set kind: ${info.kind}`,
    });
  }
  if (name !== undefined && b && typeof b.metadata?.name === 'string' && b.metadata.name !== name) {
    throw new DroverError('DROVER_E_BAD_REQUEST', `metadata.name "${b.metadata.name}" does not match the URL's name "${name}"`, {
      field: 'metadata.name',
      fix: 'names cannot be changed: create a new object and delete the old one',
    });
  }
  return validateResource(body).resource;
}
