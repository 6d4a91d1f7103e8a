/**
 * From live API objects of one fleet to the scheduler's tables, and from its result back to what each
 * Tenant's status should say. Shared by the controller and the CLI's explain/plan, so that a dry-run
 * computes exactly what the controller would.
 */
import { clusterDomain, type Cluster, type Fleet, type Prod, type Tenant } from '../api/index.js';
import { assignTenants } from './assign-tenants.js';
import { evacuationBlockedAnnotation } from './evacuation.js';
import { hashString } from './hash.js';
import { newTenantTable, type AssignInput, type AssignResult, type EligibilityClass } from './model.js';
import { reasonMessages, reasonsOf, type ScheduleReason } from './reasons.js';

export interface FleetObjects {
  /** Absent when the fleet was deleted: its tenants then get no Prods. */
  fleet: Fleet | undefined;
  clusters: readonly Cluster[];
  /** The fleet's Prods. */
  prods: readonly Prod[];
  /** The fleet's tenants. */
  tenants: readonly Tenant[];
}

export interface SnapshotOptions {
  epsilon?: number;
  /** What-if: treat these clusters as NotReady (`drover plan --fail-cluster`). */
  failClusters?: ReadonlySet<string>;
}

export interface ProdInfo {
  name: string;
  cluster: string;
  domain: string;
  region: string;
  /** Why the Prod cannot receive tenants; undefined when it can. */
  notServing: string | undefined;
}

export interface FleetSnapshot {
  input: AssignInput;
  prodInfo: readonly ProdInfo[];
  tenantNames: readonly string[];
  /** Previous Prods per tenant as stored in status (before successor hand-over). */
  storedPrev: readonly (readonly string[])[];
  /** Predecessor name → successor name, for Prods retired in a blue/green replacement. */
  handOver: ReadonlyMap<string, string>;
}

function prodNotServing(p: Prod, cluster: Cluster | undefined, byName: ReadonlyMap<string, Prod>, fail: ReadonlySet<string>): string | undefined {
  if (p.metadata.deletionTimestamp) return 'Prod is being deleted';
  if (p.spec.retire) return 'Prod is retiring';
  const phase = p.status?.phase ?? 'Pending';
  if (phase !== 'Ready') return `Prod is ${phase}`;
  if (p.spec.replaces) {
    const pred = byName.get(p.spec.replaces);
    if (pred && !pred.spec.retire && pred.status?.phase !== 'Retired') return `Prod waits to take over from ${p.spec.replaces}`;
  }
  if (!cluster) return `cluster ${p.spec.cluster} does not exist`;
  if (fail.has(cluster.metadata.name)) return `cluster ${cluster.metadata.name} NotReady (what-if)`;
  const cphase = cluster.status?.phase ?? 'Unknown';
  if (cphase !== 'Ready') return `cluster ${cluster.metadata.name} ${cphase}`;
  // A drain builds first: the fleet controller gives each Prod here a successor elsewhere, which takes
  // its tenants over (hand-over) once Ready. Only a Prod it could not replace is marked, and loses its
  // tenants at once (they move to whatever serves, as before).
  if (cluster.spec.draining && p.metadata.annotations?.[evacuationBlockedAnnotation] !== undefined) return `cluster ${cluster.metadata.name} draining`;
  return undefined;
}

function selectorLabel(t: Tenant): string {
  const s = t.spec.selector;
  if (!s) return '';
  const parts: string[] = [];
  if (s.regions) parts.push(`regions=${s.regions.join('|')}`);
  if (s.domains) parts.push(`domains=${s.domains.join('|')}`);
  if (s.clusterLabels) parts.push(...Object.entries(s.clusterLabels).map(([k, v]) => `${k}=${v}`));
  return parts.join(',');
}

export function buildSnapshot(objs: FleetObjects, opts: SnapshotOptions = {}): FleetSnapshot {
  const fail = opts.failClusters ?? new Set<string>();
  const clusters = new Map(objs.clusters.map((c) => [c.metadata.name, c]));
  const prods = [...objs.prods].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const prodByName = new Map(prods.map((p) => [p.metadata.name, p]));
  const prodIndex = new Map(prods.map((p, i) => [p.metadata.name, i]));
  const domainNames: string[] = [];
  const domainIndex = new Map<string, number>();
  const P = prods.length;
  const table = {
    count: P,
    names: prods.map((p) => p.metadata.name),
    hash: new Uint32Array(P),
    domain: new Int32Array(P),
    domainNames,
    test: new Uint8Array(P),
    serving: new Uint8Array(P),
  };
  const prodInfo: ProdInfo[] = [];
  prods.forEach((p, i) => {
    const c = clusters.get(p.spec.cluster);
    const domain = c ? clusterDomain(c) : `?${p.spec.cluster}`;
    let d = domainIndex.get(domain);
    if (d === undefined) {
      d = domainNames.length;
      domainNames.push(domain);
      domainIndex.set(domain, d);
    }
    const notServing = objs.fleet ? prodNotServing(p, c, prodByName, fail) : 'fleet does not exist';
    table.hash[i] = hashString(p.metadata.name);
    table.domain[i] = d;
    table.test[i] = p.spec.role === 'test' ? 1 : 0;
    table.serving[i] = notServing === undefined ? 1 : 0;
    prodInfo.push({ name: p.metadata.name, cluster: p.spec.cluster, domain, region: c?.spec.region ?? '?', notServing });
  });

  // Blue/green: once the predecessor is out of service, its tenants belong to the successor.
  const handOver = new Map<string, string>();
  for (const p of prods) {
    const pred = p.spec.replaces;
    if (!pred) continue;
    const predObj = prodByName.get(pred);
    if (!predObj || predObj.spec.retire || predObj.status?.phase === 'Retired' || predObj.metadata.deletionTimestamp) handOver.set(pred, p.metadata.name);
  }

  const tenants = [...objs.tenants].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const T = tenants.length;
  const classKey = new Map<string, number>();
  const classes: EligibilityClass[] = [];
  const tt = newTenantTable(T);
  const storedPrev: string[][] = [];
  tenants.forEach((t, i) => {
    const key = `${t.spec.test ? 'test' : 'normal'}|${JSON.stringify(t.spec.selector ?? null)}`;
    let c = classKey.get(key);
    if (c === undefined) {
      c = classes.length;
      classKey.set(key, c);
      classes.push(makeClass(t, prods, clusters));
    }
    tt.users[i] = t.spec.users;
    tt.redundancy[i] = t.spec.redundancy;
    tt.hash[i] = hashString(t.metadata.name);
    tt.cls[i] = c;
    const prev = t.status?.prods ?? [];
    storedPrev.push(prev);
    const idx = prev.map((n) => prodIndex.get(handOver.get(n) ?? n) ?? -1).filter((x) => x >= 0);
    tt.prev0[i] = idx[0] ?? -1;
    tt.prev1[i] = idx[1] ?? -1;
    if (t.spec.pin.length > 0) tt.pins.set(i, t.spec.pin.map((n) => prodIndex.get(n) ?? -1));
  });

  const options = { epsilon: opts.epsilon, maxUsersPerProd: objs.fleet?.spec.maxUsersPerProd };
  return {
    input: { prods: table, classes, tenants: tt, options },
    prodInfo,
    tenantNames: tenants.map((t) => t.metadata.name),
    storedPrev,
    handOver,
  };
}

function makeClass(t: Tenant, prods: readonly Prod[], clusters: ReadonlyMap<string, Cluster>): EligibilityClass {
  const s = t.spec.selector;
  const admits = new Uint8Array(prods.length);
  prods.forEach((p, i) => {
    const c = clusters.get(p.spec.cluster);
    if (!c) return;
    if (s?.regions && !s.regions.includes(c.spec.region)) return;
    if (s?.domains && !s.domains.includes(clusterDomain(c))) return;
    if (s?.clusterLabels && !Object.entries(s.clusterLabels).every(([k, v]) => c.metadata.labels[k] === v)) return;
    admits[i] = 1;
  });
  const hasSelector = !!s && (s.regions !== undefined || s.domains !== undefined || (s.clusterLabels !== undefined && Object.keys(s.clusterLabels).length > 0));
  return { test: t.spec.test, admits, hasSelector, label: selectorLabel(t) };
}

/** What one tenant's status should say after an assignment. */
export interface TenantPlacement {
  prods: string[];
  domains: string[];
  reasons: ScheduleReason[];
  /** One line for `status.reason`; undefined when the tenant got everything it asked for. */
  reason: string | undefined;
}

export function tenantPlacement(snap: FleetSnapshot, result: AssignResult, t: number): TenantPlacement {
  const prods: string[] = [];
  const domains: string[] = [];
  for (const p of [result.slot0[t] ?? -1, result.slot1[t] ?? -1]) {
    if (p < 0) continue;
    const info = snap.prodInfo[p];
    if (!info) continue;
    prods.push(info.name);
    domains.push(info.domain);
  }
  const reasons = reasonsOf(result.flags[t] ?? 0);
  return { prods, domains, reasons, reason: reasons.length ? reasons.map((r) => `${r}: ${reasonMessages[r]}`).join('; ') : undefined };
}

/** Build and assign in one step. */
export function scheduleFleet(objs: FleetObjects, opts: SnapshotOptions = {}): { snap: FleetSnapshot; result: AssignResult } {
  const snap = buildSnapshot(objs, opts);
  return { snap, result: assignTenants(snap.input) };
}
