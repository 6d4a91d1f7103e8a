/**
 * Template revisions: what a Prod runs, pinned when the Prod is created (as a ReplicaSet pins its pod
 * template). A revision is the Fleet's `spec.app` at one version; its hash names it. Prods carry their
 * revision in `spec.template`, and agents and drivers render a Prod from that copy only, so a change of
 * the Fleet reaches a Prod only through a successor the fleet (or release) controller builds for it.
 */
import { createHash } from 'node:crypto';
import type { AppSpec, Fleet } from './kinds/fleet.js';
import type { Prod, ProdTemplate } from './kinds/prod.js';

/** JSON with object keys sorted, so that a hash does not depend on the order fields were written in. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}

/** 10 hex digits of sha256 over (app, version): short enough for a table column, ample for one fleet's history. */
export function templateHash(app: AppSpec, version: string): string {
  return createHash('sha256').update(stableJson({ app, version })).digest('hex').slice(0, 10);
}

export function prodTemplate(app: AppSpec, version: string): ProdTemplate {
  return { hash: templateHash(app, version), app };
}

/** The revision a Fleet asks for now. */
export function fleetTemplate(fleet: Fleet): ProdTemplate {
  return prodTemplate(fleet.spec.app, fleet.spec.version);
}

/**
 * The app spec a Prod runs: its own snapshot. A Prod stored before snapshots existed has none until the
 * fleet controller stamps it (its first pass after an upgrade); until then it runs its Fleet's app, as it
 * always did — which is exactly what the stamp will record, so the stamp restarts nothing.
 */
export function prodApp(prod: Prod, fleet: Fleet): AppSpec {
  return prod.spec.template?.app ?? fleet.spec.app;
}
