/** The table columns `drover get` prints per kind (and the extra ones of `-o wide`), all in one place. */
import type { Cluster } from '../../api/kinds/cluster.js';
import type { Release } from '../../api/kinds/release.js';
import { migrationStepProgress, type MigrationLike } from '../../api/migration-progress.js';
import { waveProgress } from '../../api/release-progress.js';
import type { AnyResource } from '../../api/resource.js';
import { clusterSupportColumn } from '../../lifecycle/eks-calendar.js';
import { cloudTrafficColumns } from './cloud-columns.js';
import { mirrorColumns } from './mirror-columns.js';
import { formatAge } from './table.js';

export interface Column {
  header: string;
  value(o: AnyResource, now: number): string;
  wide?: boolean;
}

type Dict = Record<string, unknown>;

function at(o: unknown, path: string): unknown {
  let v: unknown = o;
  for (const p of path.split('.')) v = v && typeof v === 'object' ? (v as Dict)[p] : undefined;
  return v;
}

function str(v: unknown, dflt = '<none>'): string {
  if (v === undefined || v === null || v === '') return dflt;
  if (Array.isArray(v)) return v.length === 0 ? dflt : v.map((x) => str(x)).join(',');
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

const col = (header: string, path: string, dflt?: string, wide?: boolean): Column => ({
  header,
  value: (o) => str(at(o, path), dflt),
  ...(wide ? { wide } : {}),
});
const name: Column = { header: 'NAME', value: (o) => o.metadata.name };
const age: Column = { header: 'AGE', value: (o, now) => formatAge(o.metadata.creationTimestamp, now) };

const columnsByKind: Record<string, Column[]> = {
  Cluster: [
    name,
    col('REGION', 'spec.region'),
    { header: 'DOMAIN', value: (o) => str(at(o, 'spec.domain') ?? at(o, 'spec.region')) },
    {
      header: 'STATUS',
      value: (o) => {
        const flags = [str(at(o, 'status.phase'), 'Unknown')];
        if (at(o, 'spec.draining') === true) flags.push('Draining');
        else if (at(o, 'spec.cordoned') === true) flags.push('Cordoned');
        if (o.metadata.deletionTimestamp) flags.push('Terminating');
        return flags.join(',');
      },
    },
    col('PRODS', 'status.prods', '0'),
    col('CAPACITY', 'spec.capacity.prods'),
    // EKS support calendar (src/lifecycle/eks-calendar.ts): warns within 60 days of either end date.
    { header: 'SUPPORT', value: (o) => clusterSupportColumn(o as Cluster) || '-' },
    age,
    col('PROVIDER', 'spec.provider', undefined, true),
    col('VERSION', 'spec.version', undefined, true),
  ],
  Prod: [
    name,
    col('FLEET', 'spec.fleet'),
    col('CLUSTER', 'spec.cluster'),
    col('VERSION', 'spec.version'),
    col('PHASE', 'status.phase', 'Pending'),
    col('ENDPOINT', 'status.endpoint'),
    age,
    col('ROLE', 'spec.role', undefined, true),
    col('RESTARTS', 'status.restarts', '0', true),
    col('REPLACES', 'spec.replaces', undefined, true),
    // The template revision the Prod runs (src/api/template.ts); <none> for a Prod not stamped yet.
    col('REVISION', 'spec.template.hash', undefined, true),
    col('MESSAGE', 'status.message', undefined, true),
  ],
  Fleet: [
    name,
    col('PRODS', 'spec.prods'),
    { header: 'READY', value: (o) => `${str(at(o, 'status.readyProds'), '0')}/${str(at(o, 'spec.prods'), '0')}` },
    col('VERSION', 'spec.version'),
    age,
    col('TEST-PRODS', 'spec.testProds', '0', true),
    col('REVISION', 'status.templateHash', undefined, true),
    col('UP-TO-DATE', 'status.updatedProds', '0', true),
    {
      header: 'VERSIONS',
      wide: true,
      value: (o) => {
        const v = at(o, 'status.versions');
        return v && typeof v === 'object' && Object.keys(v).length > 0 ? Object.entries(v as Dict).map(([k, n]) => `${k}=${str(n)}`).join(',') : '<none>';
      },
    },
  ],
  Tenant: [
    name,
    col('USERS', 'spec.users', '0'),
    col('REDUNDANCY', 'spec.redundancy'),
    col('PRODS', 'status.prods'),
    col('DOMAINS', 'status.domains'),
    col('FLEET', 'spec.fleet', undefined, true),
    col('HOSTS', 'spec.match.hosts', undefined, true),
    col('TEST', 'spec.test', undefined, true),
    { ...age, wide: true },
  ],
  Release: [
    name,
    col('FLEET', 'spec.fleet'),
    col('VERSION', 'spec.version'),
    col('PHASE', 'status.phase', 'Pending'),
    {
      // The one wave counter (waveProgress): waves passed of all, as `release status` shows it.
      header: 'WAVES',
      value: (o) => {
        const p = waveProgress(o as Release);
        return p.total === 0 ? '-' : `${p.passed}/${p.total}`;
      },
    },
    age,
    col('FROM', 'status.fromVersion', undefined, true),
    col('MESSAGE', 'status.message', undefined, true),
  ],
  TrafficPolicy: [
    name,
    col('FLEET', 'spec.fleet'),
    { header: 'GROUPS', value: (o) => str((at(o, 'spec.endpointGroups') as Dict[] | undefined)?.map((g) => `${str(g.domain)}:${str(g.trafficDial)}`)) },
    col('FAILMODE', 'spec.failMode'),
    col('AFFINITY', 'spec.affinity'),
    age,
  ],
  TrafficPlan: [
    name,
    col('FLEET', 'spec.fleet'),
    col('REVISION', 'spec.revision'),
    { header: 'ENDPOINTS', value: (o) => String((at(o, 'spec.endpoints') as unknown[] | undefined)?.length ?? 0) },
    { header: 'TENANTS', value: (o) => String((at(o, 'spec.tenants') as unknown[] | undefined)?.length ?? 0) },
    col('FAILMODE', 'spec.failMode'),
    age,
  ],
  GitSource: [
    name,
    col('FLEET', 'spec.fleet'),
    col('URL', 'spec.url'),
    { header: 'REF', value: (o) => str(at(o, 'spec.tags') ?? at(o, 'spec.branch')) },
    col('LAST-VERSION', 'status.lastVersion'),
    age,
    col('LAST-POLL', 'status.lastPoll', undefined, true),
    col('MESSAGE', 'status.message', undefined, true),
  ],
  CloudTraffic: cloudTrafficColumns,
  LoadBalancerMirror: mirrorColumns,
  Migration: [
    name,
    col('FLEET', 'spec.fleet'),
    col('MODE', 'spec.mode'),
    col('PHASE', 'status.phase', 'Pending'),
    {
      header: 'STEPS',
      value: (o) => {
        const p = migrationStepProgress(o as unknown as MigrationLike);
        return `${p.passed}/${p.total}`;
      },
    },
    { header: 'WEIGHT', value: (o) => `${str(at(o, 'status.weight'), '0')}%` },
    col('TARGET', 'spec.target.type', 'edge'),
    age,
    col('MESSAGE', 'status.message', '', true),
  ],
  Event: [
    { header: 'LAST SEEN', value: (o, now) => formatAge(str(at(o, 'spec.lastTimestamp'), ''), now) },
    col('TYPE', 'spec.type'),
    col('REASON', 'spec.reason'),
    { header: 'OBJECT', value: (o) => `${str(at(o, 'spec.involvedObject.kind')).toLowerCase()}/${str(at(o, 'spec.involvedObject.name'))}` },
    col('COUNT', 'spec.count', '1', true),
    col('MESSAGE', 'spec.message', ''),
  ],
};

export function columnsFor(kind: string, wide: boolean): Column[] {
  const cols = columnsByKind[kind] ?? [name, age];
  return cols.filter((c) => wide || !c.wide);
}

export function tableRows(objs: readonly AnyResource[], cols: readonly Column[], now = Date.now()): string[][] {
  return objs.map((o) => cols.map((c) => c.value(o, now)));
}
