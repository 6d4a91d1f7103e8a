/**
 * The scheduler's worker thread: runs full passes and fallback what-ifs (worker-jobs.ts) off the API's
 * event loop. One job at a time, in the order received; replies carry the request's id.
 */
import { parentPort } from 'node:worker_threads';
import { runJob, type Job } from './worker-jobs.js';

const port = parentPort;
if (!port) throw new Error('src/scheduler/worker.ts runs as a worker thread (see worker-client.ts)');
port.on('message', (msg: { id: number; job: Job }) => {
  try {
    const { reply, transfer } = runJob(msg.job);
    port.postMessage({ id: msg.id, reply }, transfer);
  } catch (e) {
    port.postMessage({ id: msg.id, error: e instanceof Error ? { message: e.message, stack: e.stack } : { message: String(e) } });
  }
});
