/** `drover get mirrors` columns: NAME SOURCE NLB TARGETS DNS AGE (and more with -o wide). No zod loaded. */
import type { LoadBalancerMirror } from '../../api/kinds/load-balancer-mirror.js';
import type { AnyResource } from '../../api/resource.js';
import { formatAge } from './table.js';

const lbm = (o: AnyResource): LoadBalancerMirror => o as LoadBalancerMirror;

export const mirrorColumns = [
  { header: 'NAME', value: (o: AnyResource) => o.metadata.name },
  {
    header: 'SOURCE',
    value: (o: AnyResource) => {
      const s = lbm(o).spec.source;
      return s.octavia ? `octavia/${s.octavia.loadBalancerId.slice(0, 8)}` : s.service ? `service/${s.service.namespace}/${s.service.name}` : '<none>';
    },
  },
  // The NLB's name is the last-but-one part of its ARN (…:loadbalancer/net/NAME/ID).
  { header: 'NLB', value: (o: AnyResource) => lbm(o).status?.built?.loadBalancerArn?.split('/').slice(-2, -1)[0] ?? '<none>' },
  {
    header: 'TARGETS',
    value: (o: AnyResource) => {
      const t = lbm(o).status?.targets;
      return t ? `${t.registered}/${t.desired}` : '<none>';
    },
  },
  {
    header: 'DNS',
    value: (o: AnyResource) => {
      const m = lbm(o);
      const w = m.status?.dns?.weights;
      if (w) return `${w.source}/${w.target}`;
      return m.spec.dns ? 'pending' : '<none>';
    },
  },
  { header: 'AGE', value: (o: AnyResource, now: number) => formatAge(o.metadata.creationTimestamp, now) },
  { header: 'SYNCED', wide: true, value: (o: AnyResource) => lbm(o).status?.conditions?.find((c) => c.type === 'Synced')?.reason ?? 'Unknown' },
  { header: 'HEALTH', wide: true, value: (o: AnyResource) => (lbm(o).status?.health ? `${lbm(o).status!.health!.source} | ${lbm(o).status!.health!.target}` : '<none>') },
  { header: 'NOTES', wide: true, value: (o: AnyResource) => String(lbm(o).status?.notes?.length ?? 0) },
];
