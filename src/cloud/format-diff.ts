/**
 * `drover cloud diff` as text, terraform-plan style: where the state comes from, the change the next sync
 * would make, what Drover will not touch, and the last change applied (or planned, in dryRun). Pure.
 */
import type { CloudChange, CloudTraffic } from '../api/kinds/cloud-traffic.js';
import { cloudProvider } from '../api/kinds/cloud-traffic.js';
import { formatChanges } from './state.js';

export interface CloudDiff {
  name: string;
  provider: string;
  mode: 'apply' | 'dryRun';
  fleet: string;
  planRevision: number | undefined;
  observedSource: 'aws' | 'unknown' | 'never synced';
  lastSyncTime: string | undefined;
  changes: CloudChange[];
  notOwned: string[];
  notes: string[];
  failStatic: boolean;
  lastChange: { time: string | undefined; changes: CloudChange[]; applied: boolean } | undefined;
  lastError: { code: string; message: string; time: string } | undefined;
}

export function cloudDiff(ct: CloudTraffic, changes: CloudChange[], planRevision: number | undefined, notes: string[], failStatic: boolean): CloudDiff {
  const st = ct.status;
  const applied = st?.lastAppliedTime !== undefined && st.lastAppliedTime === st.plannedTime;
  return {
    name: ct.metadata.name,
    provider: cloudProvider(ct.spec),
    mode: ct.spec.mode,
    fleet: ct.spec.fleet,
    planRevision,
    observedSource: st?.observedSource ?? 'never synced',
    lastSyncTime: st?.lastSyncTime,
    changes,
    notOwned: st?.notOwned ?? [],
    notes,
    failStatic,
    lastChange: st && st.planned.length > 0 ? { time: st.plannedTime, changes: st.planned, applied } : undefined,
    lastError: st?.lastError,
  };
}

export function formatCloudDiff(d: CloudDiff): string {
  const out: string[] = [];
  out.push(`CloudTraffic ${d.name}: ${d.provider}, mode ${d.mode}, fleet ${d.fleet} (plan revision ${d.planRevision ?? 'none'})`);
  const src =
    d.observedSource === 'aws'
      ? `what AWS held at the last sync (${d.lastSyncTime ?? '?'})`
      : d.observedSource === 'unknown'
        ? 'unknown: AWS could not be read (no credentials?); compared with what Drover would have written so far'
        : 'never synced: compared with an empty state';
  out.push(`Observed: ${src}`);
  if (d.lastError) out.push(`Last error: ${d.lastError.code}: ${d.lastError.message} (${d.lastError.time})`);
  if (d.failStatic) out.push(`Fail static: every cluster looks lost at once; ${d.provider === 'targetGroup' ? 'current registrations kept (nothing is deregistered)' : 'plan weights kept'}.`);
  for (const n of d.notes) out.push(`Note: ${n}`);
  out.push('');
  if (d.changes.length === 0) out.push('No changes. The cloud matches the traffic plan.');
  else {
    out.push(d.mode === 'dryRun' ? 'The next sync would plan these changes (dryRun: nothing is written):' : 'The next sync will make these changes:');
    out.push('');
    out.push(formatChanges(d.changes, '  '));
    out.push('');
    const n = (a: CloudChange['action']) => d.changes.filter((c) => c.action === a).length;
    out.push(`Plan: ${n('create')} to create, ${n('update')} to update, ${n('delete')} to delete.`);
  }
  if (d.notOwned.length > 0) {
    out.push('');
    out.push('Not touched (not owned by Drover):');
    for (const x of d.notOwned) out.push(`  ! ${x}`);
  }
  if (d.lastChange) {
    out.push('');
    out.push(`Last change ${d.lastChange.applied ? 'applied' : d.mode === 'dryRun' ? 'planned (dryRun, not written)' : 'attempted'} at ${d.lastChange.time ?? '?'}:`);
    out.push(formatChanges(d.lastChange.changes, '  '));
  }
  return `${out.join('\n')}\n`;
}
