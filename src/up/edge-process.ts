/**
 * The edge as `drover up` runs it: a `drover edge` child in a group of its own, logging to
 * `<data>/logs/edge.log`, following the control plane's plans. It outlives an unclean death of `up` and
 * keeps serving its last plans (static stability); the next `up` adopts it when it was told the same API
 * and token, or ends it and starts a new one. `start` resolves only once the edge holds both of its ports,
 * and fails with the edge's own last words when it exits instead.
 */
import { spawn } from 'node:child_process';
import { fileSize, readSince } from '../drivers/local/log-file.js';
import { closeSync, existsSync, openSync } from 'node:fs';
import { DroverError } from '../errors.js';
import { ensurePrivateDir } from '../store/private-files.js';
import { droverBin } from './agent-process.js';
import { ProcessHandle } from './process-handle.js';
import { isOurDroverProcess } from './process-identity.js';
import { portHolder } from './ports.js';
import { dirname, join } from 'node:path';

export interface EdgeProcessOptions {
  serverUrl: string;
  token: string | undefined;
  port: number;
  adminPort: number;
  logFile: string;
}

export class EdgeProcess {
  private constructor(
    readonly handle: ProcessHandle,
    readonly port: number,
    readonly adminPort: number,
  ) {}

  get pid(): number {
    return this.handle.pid;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  /**
   * Whether the `drover` this supervisor spawns has the `edge` command: its compiled command module is
   * there. A file check, not an import of the CLI (the CLI is the layer above).
   */
  static available(): boolean {
    return existsSync(join(dirname(droverBin()), '..', 'dist', 'cli', 'commands', 'edge.js'));
  }

  static async start(opts: EdgeProcessOptions, timeoutMs = 30_000): Promise<EdgeProcess> {
    ensurePrivateDir(dirname(opts.logFile));
    const log = openSync(opts.logFile, 'a', 0o600);
    const from = fileSize(opts.logFile);
    let handle: ProcessHandle;
    try {
      const env = { ...process.env, ...(opts.token ? { DROVER_TOKEN: opts.token } : {}) };
      const args = [droverBin(), 'edge', '--server', opts.serverUrl, '--listen', `127.0.0.1:${opts.port}`, '--admin-listen', `127.0.0.1:${opts.adminPort}`];
      handle = ProcessHandle.ofChild(spawn(process.execPath, args, { env, stdio: ['ignore', log, log], detached: true }));
    } finally {
      closeSync(log);
    }
    const edge = new EdgeProcess(handle, opts.port, opts.adminPort);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!handle.running) {
        const e = await handle.exited;
        const how = e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
        throw new DroverError('DROVER_E_UNAVAILABLE', `the edge ${how} before listening on 127.0.0.1:${opts.port}: ${tail(opts.logFile, from) ?? 'no output'}`, {
          field: '--edge-port',
          fix: `see ${opts.logFile}; if a port is taken, free it or pass another --edge-port (0 picks a free one)`,
        });
      }
      if (portHolder(opts.port) === handle.pid && portHolder(opts.adminPort) === handle.pid) return edge;
      if (Date.now() > deadline) {
        await handle.stop(2000);
        throw new DroverError('DROVER_E_UNAVAILABLE', `the edge did not listen on 127.0.0.1:${opts.port} within ${timeoutMs} ms`, { fix: `see ${opts.logFile}` });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The edge an earlier `drover up` on this data dir started, if it still runs as recorded. */
  static adopt(rec: { pid: number; startTicks?: number | undefined; port: number; adminPort: number }, logFile: string): EdgeProcess | undefined {
    const ours = isOurDroverProcess(rec.pid, {
      command: 'edge',
      flags: { '--listen': `127.0.0.1:${rec.port}`, '--admin-listen': `127.0.0.1:${rec.adminPort}` },
      logFile,
      ...(rec.startTicks !== undefined ? { startTicks: rec.startTicks } : {}),
    });
    return ours ? new EdgeProcess(ProcessHandle.adopt(rec.pid, rec.startTicks), rec.port, rec.adminPort) : undefined;
  }

  /** A `drover edge` of this data dir (by its log file) that holds `port` without being recorded: an orphan. */
  static isOrphanOf(pid: number, logFile: string): boolean {
    return isOurDroverProcess(pid, { command: 'edge', logFile });
  }

  stop(graceMs = 5000): Promise<void> {
    return this.handle.stop(graceMs);
  }
}


/** The last lines the edge wrote after `from`, on one line. */
function tail(path: string, from: number): string | undefined {
  return readSince(path, from, 2048)
    ?.split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-3)
    .join(' | ');
}
