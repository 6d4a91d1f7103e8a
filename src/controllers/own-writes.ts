/**
 * A controller's own writes, until its cache shows them. The cache lags the store by the watch's
 * delivery, so a pass that runs right after a write (a requeue, a resync, another object's change) would
 * otherwise see the world before it: count a Prod it just created as missing and create another, or take
 * a tenant it just placed for unplaced. A write is forgotten once the cache's copy is at least as new, and
 * in any case after `ttlMs` (the watch delivers in milliseconds; an object created and deleted by someone
 * else before the cache saw it must not linger as a ghost).
 */
import type { AnyResource } from '../api/resource.js';

/** Revisions are store-wide counters (SQLite, memory and etcd alike); anything else counts as not older. */
export function olderThan(a: AnyResource, b: AnyResource): boolean {
  try {
    return BigInt(a.metadata.resourceVersion ?? '') < BigInt(b.metadata.resourceVersion ?? '');
  } catch {
    return false;
  }
}

interface Write<T> {
  obj: T;
  /** Created by this controller and maybe not in the cache yet; else an update of an object the cache had. */
  created: boolean;
  deleted: boolean;
  atMs: number;
}

export class OwnWrites<T extends AnyResource> {
  private readonly writes = new Map<string, Write<T>>();

  constructor(
    private readonly ttlMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A create this controller made (the store's answer, with its resourceVersion). */
  created(obj: T): void {
    this.writes.set(obj.metadata.name, { obj, created: true, deleted: false, atMs: this.now() });
  }

  /** An update this controller made (the store's answer). */
  updated(obj: T): void {
    const prev = this.writes.get(obj.metadata.name);
    this.writes.set(obj.metadata.name, { obj, created: prev?.created === true && !prev.deleted, deleted: false, atMs: this.now() });
  }

  /** A delete this controller made of `obj` (as it last saw it). */
  deleted(obj: T): void {
    this.writes.set(obj.metadata.name, { obj, created: false, deleted: true, atMs: this.now() });
  }

  forget(name: string): void {
    this.writes.delete(name);
  }

  /** The object as stored: the cache's copy, or this controller's later write the cache does not show yet. */
  current(name: string, cached: T | undefined): T | undefined {
    const w = this.writes.get(name);
    if (!w) return cached;
    if (this.now() - w.atMs > this.ttlMs) {
      this.writes.delete(name);
      return cached;
    }
    if (w.deleted) {
      // Gone from the cache, or back under the same name with a newer revision: the cache is current.
      if (!cached || olderThan(w.obj, cached)) {
        this.writes.delete(name);
        return cached;
      }
      return undefined;
    }
    if (!cached) {
      // Not in the cache: created by us and not delivered yet, or (an update) deleted since by someone else.
      if (w.created) return w.obj;
      this.writes.delete(name);
      return undefined;
    }
    if (!olderThan(cached, w.obj)) {
      this.writes.delete(name);
      return cached;
    }
    return w.obj;
  }

  /** `cached` (filtered by `keep`) with this controller's writes laid over it. */
  overlay(cached: readonly T[], keep: (obj: T) => boolean = () => true): T[] {
    const out: T[] = [];
    const seen = new Set<string>();
    for (const c of cached) {
      seen.add(c.metadata.name);
      if (!this.writes.has(c.metadata.name)) {
        if (keep(c)) out.push(c);
        continue;
      }
      const cur = this.current(c.metadata.name, c);
      if (cur && keep(cur)) out.push(cur);
    }
    for (const name of [...this.writes.keys()]) {
      if (seen.has(name)) continue;
      const cur = this.current(name, undefined);
      if (cur && keep(cur)) out.push(cur);
    }
    return out;
  }
}
