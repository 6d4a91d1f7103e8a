/* global fetch, performance, setInterval, clearInterval */
/**
 * The benchmark's agents' heartbeats, on a thread of their own: the benchmark's main thread parses large
 * lists and watch streams, and a heartbeat it sent late would make a true NotReady out of its own stall.
 * Every `intervalMs`, for each cluster: read it, write `status.lastHeartbeat` (as the agent does), retrying
 * on a conflict; posts `{ latencyMs }` per heartbeat written and `{ gapMs }` per round (the time since the
 * previous round began). Plain JavaScript: a worker thread does not get tsx's loader on Node 20.
 */
import { parentPort, workerData } from 'node:worker_threads';

const { server, token, clusters, intervalMs, startedAt } = workerData;
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

async function heartbeat(name) {
  const url = `${server}/api/v1/clusters/${name}`;
  for (let i = 0; i < 3; i++) {
    const res = await fetch(url, { headers });
    if (res.status !== 200) return void (await res.arrayBuffer());
    const cur = await res.json();
    const status = { ...cur.status, lastHeartbeat: new Date().toISOString(), agent: { pid: process.pid, startedAt } };
    const put = await fetch(`${url}/status`, { method: 'PUT', headers, body: JSON.stringify({ ...cur, status }) });
    await put.arrayBuffer();
    if (put.status !== 409) return;
  }
}

let last = performance.now();
function round() {
  const t = performance.now();
  parentPort?.postMessage({ gapMs: t - last });
  last = t;
  for (const name of clusters) {
    heartbeat(name).then(
      () => parentPort?.postMessage({ latencyMs: performance.now() - t }),
      () => {},
    );
  }
}
round();
const timer = setInterval(round, intervalMs);
parentPort?.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer);
    process.exit(0);
  }
});
