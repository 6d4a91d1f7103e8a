/** `drover get cloudtraffic` columns: NAME FLEET PROVIDER MODE SYNCED DRIFT AGE (and more with -o wide). */
import type { CloudTraffic } from '../../api/kinds/cloud-traffic.js';
import { cloudProvider } from '../../api/cloud-provider.js';
import type { AnyResource } from '../../api/resource.js';
import { formatAge } from './table.js';

const ct = (o: AnyResource): CloudTraffic => o as CloudTraffic;

export const cloudTrafficColumns = [
  { header: 'NAME', value: (o: AnyResource) => o.metadata.name },
  { header: 'FLEET', value: (o: AnyResource) => ct(o).spec.fleet },
  { header: 'PROVIDER', value: (o: AnyResource) => cloudProvider(ct(o).spec) },
  { header: 'MODE', value: (o: AnyResource) => ct(o).spec.mode },
  {
    // The Synced condition and how long ago the last sync ran: "True (4s)".
    header: 'SYNCED',
    value: (o: AnyResource, now: number) => {
      const st = ct(o).status;
      const c = st?.conditions?.find((x) => x.type === 'Synced');
      if (!c) return 'Unknown';
      return st?.lastSyncTime ? `${c.status} (${formatAge(st.lastSyncTime, now)})` : c.status;
    },
  },
  { header: 'DRIFT', value: (o: AnyResource) => String(ct(o).status?.drift?.length ?? 0) },
  { header: 'AGE', value: (o: AnyResource, now: number) => formatAge(o.metadata.creationTimestamp, now) },
  { header: 'OBSERVED', wide: true, value: (o: AnyResource) => ct(o).status?.observedSource ?? '<none>' },
  { header: 'NOT-OWNED', wide: true, value: (o: AnyResource) => String(ct(o).status?.notOwned?.length ?? 0) },
  { header: 'REASON', wide: true, value: (o: AnyResource) => ct(o).status?.conditions?.find((x) => x.type === 'Synced')?.reason || '<none>' },
];
