/**
 * The edge's admin port: /healthz (plans and the plan source's state), /metrics (Prometheus), /stats
 * (the per-Prod window the release gates read) and /plan (plans in use with each endpoint's health).
 * Apart from the proxy port so that user traffic can never reach it.
 */
import type http from 'node:http';
import type { TrafficPlanSpec } from '../api/kinds/traffic-plan.js';
import { DroverError } from '../errors.js';
import { sendDroverError, sendJson } from '../runtime/http-io.js';
import type { EdgeStats } from '../traffic/stats.js';
import type { EdgeMetrics } from './metrics.js';
import type { PlanSource } from './plan-source.js';
import type { WindowStats } from './window-stats.js';

/** What the admin port shows of the edge. */
export interface AdminView {
  id: string;
  source: PlanSource;
  metrics: EdgeMetrics;
  stats: WindowStats;
  plans(): readonly TrafficPlanSpec[];
  health(): Record<string, boolean>;
}

export function adminHandler(view: AdminView): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    try {
      switch (url.pathname) {
        case '/healthz': {
          const st = view.source.status();
          sendJson(res, 200, { ok: true, edge: view.id, plans: view.plans().map((p) => ({ fleet: p.fleet, revision: p.revision })), source: st });
          return;
        }
        case '/metrics': {
          const body = await view.metrics.registry.metrics();
          res.writeHead(200, { 'content-type': view.metrics.registry.contentType });
          res.end(body);
          return;
        }
        case '/stats': {
          const raw = url.searchParams.get('windowMs');
          const windowMs = raw === null ? 60_000 : Number(raw);
          if (!Number.isFinite(windowMs) || windowMs <= 0) {
            sendDroverError(res, new DroverError('DROVER_E_BAD_REQUEST', `windowMs must be a positive number of milliseconds, got ${JSON.stringify(raw)}`, { field: 'windowMs', fix: 'use e.g. /stats?windowMs=60000' }));
            return;
          }
          const win = Math.min(windowMs, view.stats.maxWindowMs);
          const body: EdgeStats = { edge: view.id, windowMs: win, at: new Date().toISOString(), prods: view.stats.snapshot(win) };
          sendJson(res, 200, body);
          return;
        }
        case '/plan':
          sendJson(res, 200, { plans: view.plans(), health: view.health() });
          return;
        default:
          sendDroverError(res, new DroverError('DROVER_E_NOT_FOUND', `no admin endpoint ${url.pathname}`, { fix: 'use /metrics, /stats?windowMs=N, /healthz or /plan' }));
      }
    } catch (e) {
      sendDroverError(res, new DroverError('DROVER_E_INTERNAL', e instanceof Error ? e.message : String(e)));
    }
  };
}
