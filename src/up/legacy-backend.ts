/**
 * The example legacy backend `drover up` starts (examples/legacy/server.mjs): a second small app standing
 * for "what users are on today", so that a Migration can be watched on one machine. A plain child of `up`
 * (no adoption after a crash: it holds no state, and the next `up` picks its port afresh unless told one).
 * `DROVER_LEGACY_FAIL_RATE` / `DROVER_LEGACY_LATENCY_MS` in up's environment become its FAIL_RATE /
 * LATENCY_MS knobs.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../drivers/local/net.js';
import { canListen, portHolder, portInUse } from './ports.js';
import { ProcessHandle } from './process-handle.js';

export const legacyServerPath = (): string => fileURLToPath(new URL('../../examples/legacy/server.mjs', import.meta.url));

export interface LegacyBackend {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startLegacyBackend(opts: { port: number; logFile: string }): Promise<LegacyBackend> {
  const port = opts.port === 0 ? await freePort() : opts.port;
  if (opts.port !== 0 && !(await canListen(port))) throw portInUse(port, '--legacy-port', portHolder(port));
  const log = createWriteStream(opts.logFile, { flags: 'a', mode: 0o600 });
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', PORT: String(port) };
  if (process.env.DROVER_LEGACY_FAIL_RATE) env.FAIL_RATE = process.env.DROVER_LEGACY_FAIL_RATE;
  if (process.env.DROVER_LEGACY_LATENCY_MS) env.LATENCY_MS = process.env.DROVER_LEGACY_LATENCY_MS;
  const child = spawn(process.execPath, [legacyServerPath()], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const handle = ProcessHandle.ofChild(child);
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
  return {
    url,
    pid: handle.pid,
    stop: async () => {
      await handle.stop(2000);
      log.end();
    },
  };
}
