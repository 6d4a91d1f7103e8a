/** The two bits of networking the local driver needs: a free loopback port and a one-shot HTTP probe. */
import { request } from 'node:http';
import { createServer } from 'node:net';

/** A port nobody listens on right now. The workload binds it a moment later; a lost race shows up as a failed start and is retried. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export type ProbeResult = { ok: true; status: number } | { ok: false; status?: number; error: string };

/** GET `url`; ok for 2xx/3xx. Never throws. */
export function probe(url: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      res.on('end', () => resolve(status >= 200 && status < 400 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` }));
      res.on('error', (e) => resolve({ ok: false, error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on('error', (e) => resolve({ ok: false, error: e.message }));
    req.end();
  });
}
