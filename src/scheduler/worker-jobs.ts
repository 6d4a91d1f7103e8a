/**
 * The scheduler's jobs as they cross the thread boundary, in pure functions both sides share: what the
 * worker runs on encoded columns (`runJob`), and how the caller turns the reply back into what the
 * in-process functions return (`scheduleFromReply`, `fallbacksFromReply`). The worker thread is a thin
 * message loop around `runJob` (worker.ts); tests call these directly and compare with `scheduleFleet` and
 * `computeFallbacks`.
 */
import { computeFallbacks } from './fallbacks.js';
import { decodeFleet, tenantNamesOf, uniqueBuffers, type EncodedFleet } from './fleet-columns.js';
import type { AssignInput, AssignResult } from './model.js';
import { scheduleFleet, type FleetObjects, type FleetSnapshot, type ProdInfo, type SnapshotOptions } from './snapshot.js';

export type Job = { type: 'schedule'; fleet: EncodedFleet; opts: SnapshotOptions } | { type: 'fallbacks'; fleet: EncodedFleet; epsilon: number | undefined };

/** A snapshot without its per-tenant name lists: the caller has the names, `order` says where each went. */
export interface ScheduleReply {
  type: 'schedule';
  /** order[i] = input index of the tenant at snapshot position i (the snapshot sorts tenants by name). */
  order: Int32Array;
  input: AssignInput;
  prodInfo: readonly ProdInfo[];
  handOver: ReadonlyMap<string, string>;
  result: AssignResult;
}

/** Fallbacks by input index: tenant[k] falls back to refs[at[k] .. at[k+1]) of `names`, in Map order. */
export interface FallbacksReply {
  type: 'fallbacks';
  tenant: Int32Array;
  at: Uint32Array;
  refs: Int32Array;
  names: string[];
}

export type Reply = ScheduleReply | FallbacksReply;

export function runJob(job: Job): { reply: Reply; transfer: ArrayBuffer[] } {
  const objs = decodeFleet(job.fleet);
  const index = new Map(tenantNamesOf(job.fleet.tenants).map((n, i) => [n, i]));
  if (job.type === 'schedule') {
    const { snap, result } = scheduleFleet(objs, job.opts);
    const order = Int32Array.from(snap.tenantNames, (n) => index.get(n) ?? -1);
    const t = snap.input.tenants;
    const reply: ScheduleReply = { type: 'schedule', order, input: snap.input, prodInfo: snap.prodInfo, handOver: snap.handOver, result };
    const transfer = uniqueBuffers([order, t.users, t.redundancy, t.hash, t.cls, t.prev0, t.prev1, result.slot0, result.slot1, result.how0, result.how1, result.flags]);
    return { reply, transfer };
  }
  const fb = computeFallbacks(objs, job.epsilon);
  const tenant = new Int32Array(fb.size);
  const at = new Uint32Array(fb.size + 1);
  const refs: number[] = [];
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  let k = 0;
  for (const [name, prods] of fb) {
    tenant[k] = index.get(name) ?? -1;
    for (const p of prods) {
      let r = nameIndex.get(p);
      if (r === undefined) {
        r = names.length;
        names.push(p);
        nameIndex.set(p, r);
      }
      refs.push(r);
    }
    at[++k] = refs.length;
  }
  const reply: FallbacksReply = { type: 'fallbacks', tenant, at, refs: Int32Array.from(refs), names };
  return { reply, transfer: uniqueBuffers([reply.tenant, reply.at, reply.refs]) };
}

/** What `scheduleFleet(objs)` returns, from the worker's reply for the same objects. */
export function scheduleFromReply(objs: FleetObjects, r: ScheduleReply): { snap: FleetSnapshot; result: AssignResult } {
  const n = r.order.length;
  const tenantNames = new Array<string>(n);
  const storedPrev = new Array<readonly string[]>(n);
  for (let i = 0; i < n; i++) {
    const t = objs.tenants[r.order[i]!]!;
    tenantNames[i] = t.metadata.name;
    storedPrev[i] = t.status?.prods ?? [];
  }
  return { snap: { input: r.input, prodInfo: r.prodInfo, tenantNames, storedPrev, handOver: r.handOver }, result: r.result };
}

/** What `computeFallbacks(objs)` returns, from the worker's reply for the same objects. */
export function fallbacksFromReply(objs: FleetObjects, r: FallbacksReply): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let k = 0; k < r.tenant.length; k++) {
    const t = objs.tenants[r.tenant[k]!];
    if (!t) continue;
    const list: string[] = [];
    for (let j = r.at[k]!; j < r.at[k + 1]!; j++) list.push(r.names[r.refs[j]!]!);
    out.set(t.metadata.name, list);
  }
  return out;
}
