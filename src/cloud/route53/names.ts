/** Route 53 names and record keys, without the SDK (the CLI and the pure compilers use them). */
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';

/** Lower case, `\052` → `*`, and the trailing dot Route 53 answers with. */
export function normalizeName(name: string): string {
  const n = name.replace(/\\052/g, '*').toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

export const recordKey = (r: ResourceRecordSet): string => `${normalizeName(r.Name ?? '')}/${r.Type ?? ''}/${r.SetIdentifier ?? ''}`;
