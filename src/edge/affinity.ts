/** Client affinity for redundant tenants (traffic rule 1): which key keeps a client on one of its Prods. */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { TrafficPlanSpec } from '../api/kinds/traffic-plan.js';
import { cookieValue } from './headers.js';
import { fnv1a } from './picker.js';

export const AFFINITY_COOKIE = 'drover-affinity';

/**
 * The client's affinity hash under the plan's `affinity`, or undefined for none. A cookie-affine client
 * without the cookie gets a new random key, and the `Set-Cookie` for it is pushed onto `extraHeaders`.
 */
export function affinityOf(req: http.IncomingMessage, plan: TrafficPlanSpec, extraHeaders: string[]): number | undefined {
  return affinityBy(req, plan.affinity, extraHeaders);
}

/** The same, for an explicit mode (a Migration's legacy split has its own). */
export function affinityBy(req: http.IncomingMessage, mode: TrafficPlanSpec['affinity'], extraHeaders: string[]): number | undefined {
  if (mode === 'clientIp') return fnv1a(req.socket.remoteAddress ?? '');
  if (mode === 'cookie') {
    let key = cookieValue(req.headers.cookie, AFFINITY_COOKIE);
    if (key === undefined) {
      key = randomBytes(8).toString('hex');
      extraHeaders.push('Set-Cookie', `${AFFINITY_COOKIE}=${key}; Path=/; HttpOnly; SameSite=Lax`);
    }
    return fnv1a(key);
  }
  return undefined;
}
