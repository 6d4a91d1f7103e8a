/**
 * Full scheduler passes and fallback what-ifs on a worker thread, so that the API's event loop does not
 * stop for them (at 100,000 tenants a full pass builds its tables for most of a second). The caller
 * encodes the fleet into columns (fleet-columns.ts, one loop), the worker decodes it, runs the very same
 * functions as in-process (`scheduleFleet`, `computeFallbacks`) and sends typed arrays back, transferred.
 *
 * Small fleets stay in-process: below `OFF_THREAD_MIN_TENANTS` the pass costs less than the round trip
 * and starting a thread. One worker per process, started on first use, restarted after a crash (the job
 * in flight fails; the controller's retry runs it again); it does not keep the process alive when idle.
 */
import { Worker } from 'node:worker_threads';
import { DroverError } from '../errors.js';
import { computeFallbacks } from './fallbacks.js';
import { columnBuffers, encodeFleet } from './fleet-columns.js';
import type { AssignResult } from './model.js';
import { scheduleFleet, type FleetObjects, type FleetSnapshot, type SnapshotOptions } from './snapshot.js';
import { fallbacksFromReply, scheduleFromReply, type FallbacksReply, type Job, type Reply, type ScheduleReply } from './worker-jobs.js';

export const OFF_THREAD_MIN_TENANTS = 2_000;

interface Waiting {
  resolve(r: Reply): void;
  reject(e: unknown): void;
}

export class SchedulerWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  async scheduleFleet(objs: FleetObjects, opts: SnapshotOptions = {}): Promise<{ snap: FleetSnapshot; result: AssignResult }> {
    const reply = (await this.run({ type: 'schedule', fleet: encodeFleet(objs), opts })) as ScheduleReply;
    return scheduleFromReply(objs, reply);
  }

  async computeFallbacks(objs: FleetObjects, epsilon?: number): Promise<Map<string, string[]>> {
    const reply = (await this.run({ type: 'fallbacks', fleet: encodeFleet(objs), epsilon })) as FallbacksReply;
    return fallbacksFromReply(objs, reply);
  }

  /** Ends the thread; jobs in flight fail. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    w.ref(); // an unref'd worker's terminate() would not keep the process up until it is done
    await w.terminate();
  }

  private run(job: Job): Promise<Reply> {
    const w = this.start();
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, job }, columnBuffers(job.fleet.tenants));
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // Under tsx (tests, `node --import tsx`) this module is TypeScript and so is its sibling, and a new
    // thread starts without tsx's loader: the entry is then a script that registers it first.
    const ts = import.meta.url.endsWith('.ts');
    const w = ts
      ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}))`, { eval: true })
      : new Worker(new URL('./worker.js', import.meta.url));
    w.unref();
    w.on('message', (msg: { id: number; reply?: Reply; error?: { message: string; stack?: string } }) => {
      const p = this.waiting.get(msg.id);
      if (!p) return;
      this.waiting.delete(msg.id);
      if (this.waiting.size === 0) w.unref();
      if (msg.reply) p.resolve(msg.reply);
      else p.reject(new DroverError('DROVER_E_INTERNAL', `scheduler worker: ${msg.error?.message ?? 'failed'}`, { cause: msg.error }));
    });
    const fail = (why: string) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.waiting.values()) p.reject(new DroverError('DROVER_E_INTERNAL', `scheduler worker ${why}`, { fix: 'see the server log; the pass is retried on a new worker' }));
      this.waiting.clear();
    };
    w.on('error', (e) => fail(`failed: ${e.message}`));
    w.on('exit', (code) => fail(`exited with code ${code}`));
    this.worker = w;
    return w;
  }
}

let shared: SchedulerWorker | undefined;

/** `scheduleFleet`, on the process's scheduler worker when the fleet is large enough to matter. */
export async function scheduleFleetOffThread(objs: FleetObjects, opts: SnapshotOptions = {}): Promise<{ snap: FleetSnapshot; result: AssignResult }> {
  if (objs.tenants.length < OFF_THREAD_MIN_TENANTS) return scheduleFleet(objs, opts);
  return (shared ??= new SchedulerWorker()).scheduleFleet(objs, opts);
}

/** `computeFallbacks`, on the process's scheduler worker when the fleet is large enough to matter. */
export async function computeFallbacksOffThread(objs: FleetObjects, epsilon?: number): Promise<Map<string, string[]>> {
  if (objs.tenants.length < OFF_THREAD_MIN_TENANTS) return computeFallbacks(objs, epsilon);
  return (shared ??= new SchedulerWorker()).computeFallbacks(objs, epsilon);
}
