/**
 * The LoadBalancerMirror controller's decisions as pure functions: what to write to AWS (`planMirror`),
 * and from what one sync found and did, the next status and the Events (`settleMirror`). No I/O:
 * mirror-controller.ts reads Octavia and AWS, calls these, and writes.
 *
 * Rules:
 * - Write only the difference between the compiled NLB and what AWS holds; nothing when they match, and
 *   nothing at all when a resource with the mirror's name is not Drover's (condition Owned=False).
 * - Errors name the spec field and the fix (Octavia LB not found → spec.source.octavia.loadBalancerId;
 *   subnets AWS refuses → spec.target.nlb.subnets); they become `lastError`, `Synced=False` and one Event
 *   per distinct error, never one per sync.
 * - What the NLB cannot carry (refused listeners, approximated health checks) is `status.notes`, the
 *   `Mirrored` condition and an Event when the list changes.
 */
import type { CloudChange, CloudState } from '../api/kinds/cloud-traffic.js';
import { LoadBalancerMirrorStatus, type LoadBalancerMirror, type MirrorNote } from '../api/kinds/load-balancer-mirror.js';
import type { Built } from '../cloud/nlb/observe.js';
import { diffStates, summarizeChanges } from '../cloud/state.js';
import { setCondition } from './conditions.js';
import type { MirrorDnsResult } from './mirror-dns.js';

export const MirrorReason = ['Created', 'Updated', 'SyncFailed', 'NotMirrored', 'NotOwned', 'DnsUpdated', 'Deleted', 'DeleteFailed'] as const;
export type MirrorReason = (typeof MirrorReason)[number];

export interface MirrorEvent {
  type: 'Normal' | 'Warning';
  reason: MirrorReason;
  message: string;
}

export interface Failure {
  code: string;
  message: string;
  field?: string | undefined;
  fix?: string | undefined;
  /** Throttling and transient errors come back sooner. */
  retrySoon?: boolean;
}

export interface MirrorFacts {
  mirror: LoadBalancerMirror;
  now: string;
  source?: { name: string; vipAddress: string; operatingStatus: string; provisioningStatus: string; listeners: number; pools: number; members: number };
  notes: MirrorNote[];
  desired?: CloudState;
  observed?: { state: CloudState; foreign: string[]; healthyTargets: number };
  changes: CloudChange[];
  /** The AWS write's outcome when there was one. */
  wrote?: { ok: true } | { ok: false };
  built: Built;
  dns?: MirrorDnsResult;
  error?: Failure;
  calls: { octavia: number; awsReads: number; awsWrites: number };
}

/** The change from what AWS holds to the compiled NLB; write it unless something is not Drover's. */
export function planMirror(desired: CloudState, observed: { state: CloudState; foreign: readonly string[] }): { changes: CloudChange[]; write: boolean } {
  const changes = diffStates(observed.state, desired);
  return { changes, write: changes.length > 0 && observed.foreign.length === 0 };
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function countTargets(state: CloudState | undefined): number {
  return Object.keys(state ?? {}).filter((k) => k.startsWith('target/')).length;
}

export function settleMirror(f: MirrorFacts): { status: LoadBalancerMirrorStatus; events: MirrorEvent[] } {
  const prev = LoadBalancerMirrorStatus.parse(f.mirror.status ?? {});
  const gen = f.mirror.metadata.generation;
  const events: MirrorEvent[] = [];
  const status: LoadBalancerMirrorStatus = {
    ...prev,
    built: f.built,
    lastSyncTime: f.now,
    lastSyncCalls: f.calls,
    ...(gen !== undefined ? { observedGeneration: gen } : {}),
  };
  const cond = (type: string, s: 'True' | 'False' | 'Unknown', reason: string, message: string): void => {
    status.conditions = setCondition(status.conditions, { type, status: s, reason, message }, f.now, gen);
  };
  if (f.source) status.source = f.source;
  status.notes = f.notes;
  if (!sameJson(f.notes.filter((n) => n.severity === 'refused'), prev.notes.filter((n) => n.severity === 'refused')) && f.notes.some((n) => n.severity === 'refused')) {
    events.push({ type: 'Warning', reason: 'NotMirrored', message: f.notes.filter((n) => n.severity === 'refused').map((n) => `${n.resource}: ${n.message}`).join('; ') });
  }
  if (f.source) {
    const refused = f.notes.filter((n) => n.severity === 'refused');
    cond('Mirrored', refused.length > 0 ? 'False' : 'True', refused.length > 0 ? 'PartiallyMirrored' : 'Mirrored', refused.map((n) => `${n.resource}: ${n.message}`).join('; '));
  }

  if (f.observed) {
    status.observed = f.wrote?.ok ? (f.desired ?? f.observed.state) : f.observed.state;
    const foreign = f.observed.foreign;
    if (foreign.length > 0 && !sameJson(foreign, prev.conditions.find((c) => c.type === 'Owned')?.message.split('; '))) events.push({ type: 'Warning', reason: 'NotOwned', message: foreign.join('; ') });
    cond('Owned', foreign.length > 0 ? 'False' : 'True', foreign.length > 0 ? 'NotOwned' : 'Owned', foreign.join('; '));
  }
  if (f.changes.length > 0 && f.wrote) {
    status.lastDiff = f.changes;
    status.lastDiffTime = f.now;
    if (f.wrote.ok) events.push({ type: 'Normal', reason: prev.built.loadBalancerArn ? 'Updated' : 'Created', message: summarizeChanges(f.changes) });
  }
  // Unknown when AWS could not be read: the last known pending change stays.
  if (f.observed) status.pending = f.wrote?.ok || f.changes.length === 0 ? [] : f.changes;
  if (f.desired) {
    const desired = countTargets(f.desired);
    const registered = f.wrote?.ok ? desired : countTargets(f.observed?.state);
    status.targets = { desired, registered, healthy: f.observed?.healthyTargets ?? 0 };
  }
  status.inSync = f.error === undefined && f.observed !== undefined && f.observed.foreign.length === 0 && (f.changes.length === 0 || f.wrote?.ok === true);
  status.health = {
    source: f.source ? f.source.operatingStatus : 'Unknown',
    target: status.targets ? (status.targets.healthy > 0 ? `${status.targets.healthy}/${status.targets.registered} healthy` : status.targets.registered > 0 ? `0/${status.targets.registered} healthy` : 'no targets') : 'Unknown',
  };
  if (f.dns) {
    status.dns = { weights: f.dns.weights, healthCheckIds: f.dns.healthCheckIds, ...(f.dns.notOwned ? { notOwned: f.dns.notOwned } : {}) };
    if (f.dns.changed) events.push({ type: 'Normal', reason: 'DnsUpdated', message: `weights source ${f.dns.weights.source} / target ${f.dns.weights.target}` });
    if (f.dns.notOwned && f.dns.notOwned !== prev.dns?.notOwned) events.push({ type: 'Warning', reason: 'NotOwned', message: f.dns.notOwned });
    cond('DnsReady', f.dns.notOwned ? 'False' : 'True', f.dns.notOwned ? 'NotOwned' : 'Weighted', f.dns.notOwned ?? `source ${f.dns.weights.source} / target ${f.dns.weights.target}`);
  }

  if (f.error) {
    const e = f.error;
    status.lastError = { code: e.code, message: e.fix ? `${e.message} (fix: ${e.fix})` : e.message, ...(e.field ? { field: e.field } : {}), time: f.now };
    cond('Synced', 'False', e.code, `${e.field ? `${e.field}: ` : ''}${status.lastError.message}`);
    if (prev.lastError?.code !== e.code || !prev.lastError.message.startsWith(e.message)) events.push({ type: 'Warning', reason: 'SyncFailed', message: `${e.field ? `${e.field}: ` : ''}${status.lastError.message}` });
  } else {
    delete status.lastError;
    if (f.observed?.foreign.length) cond('Synced', 'False', 'NotOwned', f.observed.foreign.join('; '));
    else cond('Synced', 'True', f.changes.length > 0 ? 'Applied' : 'InSync', f.changes.length > 0 ? summarizeChanges(f.changes) : 'AWS matches the source load balancer');
  }
  return { status, events };
}
