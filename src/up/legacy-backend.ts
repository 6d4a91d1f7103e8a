/**
 * The example legacy backend `drover up` starts (examples/legacy/server.mjs): a second small app standing
 * for "what users are on today", so that a Migration can be watched on one machine. Like the edge, it
 * runs in a group of its own and writes to `<data>/logs/legacy.log`: it outlives an unclean death of `up`
 * (users a migration left on legacy keep being served), and the next `up` adopts it — by pid, kernel start
 * time, script and log file — or ends it. Before, the survivor held port 8090 and the next `up` failed
 * on it after adopting everything else, and stopped all it had adopted on the way out.
 * `DROVER_LEGACY_FAIL_RATE` / `DROVER_LEGACY_LATENCY_MS` in up's environment become its FAIL_RATE /
 * LATENCY_MS knobs.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../drivers/local/net.js';
import { isSameProcess, processStartTicks } from '../drivers/local/process-table.js';
import { ensurePrivateDir } from '../store/private-files.js';
import { canListen, portHolder, portInUse } from './ports.js';
import { ProcessHandle } from './process-handle.js';
import { argvOf, stdoutOf } from './process-identity.js';

export const legacyServerPath = (): string => fileURLToPath(new URL('../../examples/legacy/server.mjs', import.meta.url));

export interface LegacyBackend {
  url: string;
  port: number;
  pid: number;
  startTicks: number | undefined;
  stop(): Promise<void>;
}

function backend(handle: ProcessHandle, port: number): LegacyBackend {
  return { url: `http://127.0.0.1:${port}`, port, pid: handle.pid, startTicks: handle.startTicks, stop: () => handle.stop(2000) };
}

export async function startLegacyBackend(opts: { port: number; logFile: string }): Promise<LegacyBackend> {
  const port = opts.port === 0 ? await freePort() : opts.port;
  if (opts.port !== 0 && !(await canListen(port))) throw portInUse(port, '--legacy-port', portHolder(port));
  ensurePrivateDir(dirname(opts.logFile));
  const log = openSync(opts.logFile, 'a', 0o600);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', PORT: String(port) };
  if (process.env.DROVER_LEGACY_FAIL_RATE) env.FAIL_RATE = process.env.DROVER_LEGACY_FAIL_RATE;
  if (process.env.DROVER_LEGACY_LATENCY_MS) env.LATENCY_MS = process.env.DROVER_LEGACY_LATENCY_MS;
  let handle: ProcessHandle;
  try {
    handle = ProcessHandle.ofChild(spawn(process.execPath, [legacyServerPath()], { env, stdio: ['ignore', log, log], detached: true }));
  } finally {
    closeSync(log);
  }
  const url = `http://127.0.0.1:${port}`;
  // Listening once its health check answers (it starts in milliseconds).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!handle.running) throw new Error(`the example legacy backend exited at start (see ${opts.logFile})`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await handle.stop(1000);
      throw new Error(`the example legacy backend did not answer on ${url} within 10 s (see ${opts.logFile})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return backend(handle, port);
}

/** Whether `pid` runs the example legacy backend and writes to this data dir's `logFile`. */
export function isLegacyBackendOf(pid: number, logFile: string, startTicks?: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !isSameProcess(pid, startTicks)) return false;
  const script = realPathOf(legacyServerPath());
  if (!(argvOf(pid) ?? []).some((a) => realPathOf(a) === script)) return false;
  return stdoutOf(pid) === realPathOf(logFile);
}

/** The legacy backend an earlier `drover up` on this data dir started, if it still runs as recorded. */
export function adoptLegacyBackend(rec: { pid: number; startTicks?: number | undefined; port: number }, logFile: string): LegacyBackend | undefined {
  return isLegacyBackendOf(rec.pid, logFile, rec.startTicks) ? backend(ProcessHandle.adopt(rec.pid, rec.startTicks), rec.port) : undefined;
}

function realPathOf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * The legacy backend's port, decided before anything starts: the survivor's when it is to be adopted
 * (`asked` 0 or its port), else the one asked for (0: a free one), free or held by an orphaned legacy
 * backend of this data dir (ended here); undefined when none is asked for.
 */
export async function pickLegacyPort(asked: number | undefined, left: LegacyBackend | undefined, logFile: string, out: (line: string) => void): Promise<number | undefined> {
  if (asked === undefined) return undefined;
  if (left && (asked === 0 || asked === left.port)) return left.port;
  if (asked === 0) return freePort();
  if (await canListen(asked)) return asked;
  const holder = portHolder(asked);
  if (holder !== undefined && holder !== left?.pid && isLegacyBackendOf(holder, logFile)) {
    out(`legacy: an orphaned example legacy backend of an earlier drover up (pid ${holder}) holds port ${asked}; stopping it to take over`);
    await ProcessHandle.adopt(holder, processStartTicks(holder)).stop(5000);
    if (await canListen(asked)) return asked;
  }
  throw portInUse(asked, '--legacy-port', portHolder(asked));
}

/** Adopts the survivor when it holds the port decided, else ends it; starts one on `port` unless none. */
export async function startOrAdoptLegacy(port: number | undefined, left: LegacyBackend | undefined, logFile: string, out: (line: string) => void): Promise<LegacyBackend | undefined> {
  if (left && port === left.port) {
    out(`legacy: example legacy backend adopted from the previous drover up (pid ${left.pid}) on ${left.url}`);
    return left;
  }
  if (left) {
    await left.stop();
    out(`legacy: the previous example legacy backend (pid ${left.pid}) stopped (${port === undefined ? 'not asked for any more' : `it listened on port ${left.port}`})`);
  }
  if (port === undefined) return undefined;
  const started = await startLegacyBackend({ port, logFile });
  out(`legacy: example legacy backend (pid ${started.pid}) on ${started.url}; move users onto the fleet with: drover migration start web --legacy ${started.url}`);
  return started;
}
