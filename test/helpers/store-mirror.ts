/**
 * A mirror of every object in a store, fed by one watch over all kinds, for tests that must see each
 * change as it happens (invariants that may never break, not only at the end) and wait until the
 * control plane has settled.
 *
 * "Settled" is read off the store, not the manager: the controllers, agents and scheduler only act
 * through writes, so when nothing but heartbeats was written for `quietMs`, no component is still
 * working on the last change (a requeue timer that writes nothing changes nothing). Heartbeats are
 * ignored because agents write them for ever.
 */
import type { AnyResource } from '../../src/api/resource.js';
import { canonicalJson } from '../../src/store/object-semantics.js';
import type { Store, WatchEvent } from '../../src/store/store.js';

export type MirrorListener = (ev: WatchEvent, prev: AnyResource | undefined) => void;

/** A Cluster write that changed only what an agent's heartbeat writes. */
export function isHeartbeat(ev: WatchEvent, prev: AnyResource | undefined): boolean {
  if (ev.type !== 'MODIFIED' || ev.object.kind !== 'Cluster' || !prev) return false;
  const strip = (o: AnyResource) => {
    const status = { ...(o.status as Record<string, unknown> | undefined) };
    delete status.lastHeartbeat;
    delete status.agent;
    return { spec: o.spec, status, labels: o.metadata.labels, annotations: o.metadata.annotations };
  };
  return canonicalJson(strip(ev.object)) === canonicalJson(strip(prev));
}

export class StoreMirror {
  private readonly objects = new Map<string, Map<string, AnyResource>>();
  private readonly listeners: MirrorListener[] = [];
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;
  /** Why the watch ended early, if it did: `quiet` then fails rather than report a silence it cannot see. */
  private failure: unknown;
  /** When the last write other than a heartbeat was seen. */
  lastChangeAt = Date.now();
  /** Writes seen, heartbeats excluded. */
  changes = 0;

  constructor(private readonly store: Store) {}

  /** Watches from now: start the mirror before the test writes anything. */
  start(): void {
    const watch = this.store.watch({ signal: this.stopper.signal });
    this.loop = (async () => {
      try {
        for await (const ev of watch) this.apply(ev);
      } catch (e) {
        if (!this.stopper.signal.aborted) this.failure = e;
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
  }

  onEvent(l: MirrorListener): void {
    this.listeners.push(l);
  }

  list<T extends AnyResource>(kind: string): T[] {
    return [...(this.objects.get(kind)?.values() ?? [])] as T[];
  }

  get<T extends AnyResource>(kind: string, name: string): T | undefined {
    return this.objects.get(kind)?.get(name) as T | undefined;
  }

  private apply(ev: WatchEvent): void {
    let bucket = this.objects.get(ev.object.kind);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(ev.object.kind, bucket);
    }
    const prev = bucket.get(ev.object.metadata.name);
    if (ev.type === 'DELETED') bucket.delete(ev.object.metadata.name);
    else bucket.set(ev.object.metadata.name, ev.object);
    if (!isHeartbeat(ev, prev)) {
      this.lastChangeAt = Date.now();
      this.changes++;
    }
    for (const l of this.listeners) l(ev, prev);
  }

  /**
   * Resolves once nothing but heartbeats was written for `quietMs`; false if that did not happen
   * within `timeoutMs` (the control plane keeps changing things: a flip-flop, or a slow rollout).
   */
  async quiet(quietMs: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.failure !== undefined) throw new Error(`the store mirror's watch ended: ${this.failure instanceof Error ? this.failure.message : JSON.stringify(this.failure)}`);
      const idle = Date.now() - this.lastChangeAt;
      if (idle >= quietMs) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, Math.max(10, quietMs - idle)));
    }
  }
}
