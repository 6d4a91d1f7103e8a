/**
 * STUB so that the migration controller compiles before the merge: the migration-alb engineer's version of
 * this file (ModifyRule / ModifyListener ForwardConfig through @aws-sdk/client-elastic-load-balancing-v2,
 * read-back, drift, other target groups refused) replaces it. The signature is the contract between them.
 */

export interface AlbForwardTarget {
  region?: string;
  listenerArn?: string;
  ruleArn?: string;
  legacyTargetGroupArn: string;
  fleetTargetGroupArn: string;
  stickinessSeconds?: number;
}

export type AlbSyncResult =
  | { ok: true; changed: boolean; observed: { legacyWeight: number; fleetWeight: number; stickinessSeconds: number }; drift?: string }
  | { ok: false; permanent: boolean; code: string; message: string };

export async function syncAlbForwardWeights(_target: AlbForwardTarget, _fleetPercent: number, _lastAppliedFleetPercent: number | undefined): Promise<AlbSyncResult> {
  return { ok: false, permanent: true, code: 'NotMerged', message: 'the ALB adapter (src/cloud/alb/forward-weights.ts) is not part of this build' };
}
