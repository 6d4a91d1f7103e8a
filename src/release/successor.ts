/**
 * Blue/green successors (the Prod replacement contract in src/api/kinds/prod.ts), shared by releases
 * and `drover cluster replace`: build a successor of a Prod, tell whether it is observably serving the
 * version asked for, flip takeover, retire.
 */
import { createHash } from 'node:crypto';
import type { Cluster } from '../api/kinds/cluster.js';
import type { AppSpec, Fleet } from '../api/kinds/fleet.js';
import type { Prod, ProdTemplate } from '../api/kinds/prod.js';
import { prodTemplate } from '../api/template.js';
import { isDroverError } from '../errors.js';
import { placeNextProd } from '../scheduler/place-prods.js';
import { LABEL_BASE } from '../api/labels.js';
import { mutate } from '../store/mutate.js';
import type { Store } from '../store/store.js';

/** Aliases of src/api/labels.ts, for the callers that import them from here (lifecycle/replace.ts, tests). */
export { LABEL_BASE, LABEL_RELEASE, LABEL_REPLACE } from '../api/labels.js';

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

/** `<base>-<version>-<4 hex of the change>`, at most 63 characters (DNS-1123 label). */
export function successorName(pred: Pick<Prod, 'metadata'>, version: string, change: string): string {
  const base = pred.metadata.labels[LABEL_BASE] ?? pred.metadata.name;
  const tag = `${slug(version).slice(0, 20)}-${createHash('sha256').update(change).digest('hex').slice(0, 4)}`;
  return `${base.slice(0, 62 - tag.length).replace(/-+$/, '')}-${tag}`;
}

export interface SuccessorOptions {
  name: string;
  version?: string;
  cluster?: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /**
   * The app the successor runs (a release passes its Fleet's current `spec.app`, so the successor carries
   * the template the Fleet asks for). Without it the successor keeps its predecessor's app.
   */
  app?: AppSpec;
}

/**
 * The template revision of a successor: the app asked for (else the predecessor's) at the successor's
 * version. A predecessor without a snapshot (stored before template revisions) passes on none: its agent
 * renders both from the Fleet until the fleet controller stamps them.
 */
export function successorTemplate(pred: Prod, version: string, app?: AppSpec): ProdTemplate | undefined {
  const base = app ?? pred.spec.template?.app;
  if (base === undefined) return undefined;
  if (app === undefined && pred.spec.template && version === pred.spec.version) return pred.spec.template;
  return prodTemplate(base, version);
}

export function buildSuccessor(pred: Prod, o: SuccessorOptions): Prod {
  const version = o.version ?? pred.spec.version;
  const template = successorTemplate(pred, version, o.app);
  return {
    apiVersion: pred.apiVersion,
    kind: 'Prod',
    metadata: {
      name: o.name,
      labels: { ...pred.metadata.labels, [LABEL_BASE]: pred.metadata.labels[LABEL_BASE] ?? pred.metadata.name, ...o.labels },
      annotations: {},
      finalizers: [],
      ownerReferences: pred.metadata.ownerReferences,
    },
    spec: {
      fleet: pred.spec.fleet,
      cluster: o.cluster ?? pred.spec.cluster,
      version,
      ...(template ? { template } : {}),
      role: pred.spec.role,
      retire: false,
      env: { ...pred.spec.env, ...o.env },
      replaces: pred.metadata.name,
      takeover: false,
    },
  };
}

/** Prods occupying each cluster against its capacity: every Prod bound to it until it is Retired. */
export function clusterOccupancy(prods: readonly Prod[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of prods) if (p.status?.phase !== 'Retired') m.set(p.spec.cluster, (m.get(p.spec.cluster) ?? 0) + 1);
  return m;
}

/**
 * Where a successor of `pred` may run without overcommitting a cluster: its predecessor's cluster when
 * that is schedulable and has room, else wherever placement finds room (spread as if `pred` were gone).
 * Counts the successor in `occupancy` when it finds a place. Capacity is a hard limit: when nothing has
 * room the caller waits. A predecessor's cluster with no Cluster object at all has no capacity to check
 * (its Prods are the fleet controller's to replace): the successor stays with its predecessor.
 */
export function placeSuccessor(
  pred: Prod,
  fleet: Fleet,
  clusters: readonly Cluster[],
  fleetProds: readonly Prod[],
  occupancy: Map<string, number>,
): string | { reason: string } {
  const home = clusters.find((c) => c.metadata.name === pred.spec.cluster);
  const homeOk =
    home === undefined ||
    (home.status?.phase === 'Ready' &&
    !home.spec.cordoned &&
    !home.spec.draining &&
    home.metadata.deletionTimestamp === undefined &&
    (occupancy.get(home.metadata.name) ?? 0) < home.spec.capacity.prods);
  const target = homeOk
    ? pred.spec.cluster
    : placeNextProd(fleet, clusters, fleetProds.filter((p) => p.metadata.name !== pred.metadata.name && !p.spec.retire), occupancy);
  if (typeof target === 'string') occupancy.set(target, (occupancy.get(target) ?? 0) + 1);
  return target;
}

/** Creates the successor, or returns the one a previous attempt created (names are deterministic). */
export async function ensureSuccessor(store: Store, desired: Prod): Promise<Prod> {
  try {
    return await store.create(desired);
  } catch (e) {
    if (!isDroverError(e, 'DROVER_E_ALREADY_EXISTS')) throw e;
    const existing = await store.get('Prod', desired.metadata.name);
    if (!existing) throw e;
    if (existing.spec.replaces !== desired.spec.replaces || existing.spec.version !== desired.spec.version) {
      throw new Error(`Prod ${desired.metadata.name} exists but is not the successor of ${desired.spec.replaces ?? '?'} on ${desired.spec.version}`);
    }
    return existing;
  }
}

/**
 * A successor in flight: its predecessor is still live (exists, not retiring). A successor whose
 * predecessor is retired or gone has finished its swap and is an ordinary Prod, although it keeps
 * `spec.replaces` (the scheduler and the traffic plan follow that link until the predecessor is deleted):
 * judging by the field alone would make every Prod a release or a replace ever created untouchable.
 */
export function isSuccessorInFlight(p: Pick<Prod, 'spec'>, byName: ReadonlyMap<string, Pick<Prod, 'spec'>>): boolean {
  if (p.spec.replaces === undefined) return false;
  const pred = byName.get(p.spec.replaces);
  return pred !== undefined && !pred.spec.retire;
}

/**
 * Serving = Ready on the asked version, by a status written for the current spec and after this Prod
 * was created: a stale status (older generation, or a readySince from before creation) never counts.
 */
export function isServing(p: Prod, version: string): boolean {
  const s = p.status;
  if (!s || s.phase !== 'Ready' || s.version !== version || p.spec.retire) return false;
  if (s.observedGeneration !== undefined && p.metadata.generation !== undefined && s.observedGeneration < p.metadata.generation) return false;
  if (s.readySince === undefined) return false;
  const created = p.metadata.creationTimestamp;
  return created === undefined || Date.parse(s.readySince) >= Date.parse(created) - 1000;
}

/** Deprecated: import `mutate` from src/store/mutate.ts (kept while lifecycle/cluster-ops.ts and the journey tests import it from here). */
export { mutate } from '../store/mutate.js';

export const setTakeover = (store: Store, name: string, on: boolean) =>
  mutate<Prod>(store, 'Prod', name, (p) => {
    if (p.spec.takeover === on) return false;
    p.spec.takeover = on;
  });

export const retireProd = (store: Store, name: string) =>
  mutate<Prod>(store, 'Prod', name, (p) => {
    if (p.spec.retire) return false;
    p.spec.retire = true;
  });

/** One write per successor: takeover off (tenants back on the predecessor) and retire, together. */
export const revertSuccessor = (store: Store, name: string) =>
  mutate<Prod>(store, 'Prod', name, (p) => {
    if (!p.spec.takeover && p.spec.retire) return false;
    p.spec.takeover = false;
    p.spec.retire = true;
  });
