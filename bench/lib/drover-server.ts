/** `drover server` as a child process for the benchmarks: SQLite in `dataDir`, port 0, its URL read from its output. */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

export interface BenchServer {
  url: string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

export async function startDroverServer(opts: {
  dataDir: string;
  token: string;
  /** The checkout whose `bin/drover.js` runs (default: this one; it must be built). */
  root?: string;
  args?: string[];
  /** Node flags for the server process (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Show the server's stderr (default: dropped). */
  stderr?: 'inherit' | 'ignore';
}): Promise<BenchServer> {
  const bin = join(opts.root ?? resolve(import.meta.dirname, '..', '..'), 'bin', 'drover.js');
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), bin, 'server', '--data', opts.dataDir, '--listen', '127.0.0.1:0', '--no-write-config', ...(opts.args ?? [])], {
    env: { ...process.env, DROVER_TOKEN: opts.token },
    stdio: ['ignore', 'pipe', opts.stderr ?? 'ignore'],
  });
  let out = '';
  const url = await new Promise<string>((res, rej) => {
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) res(m[1]!);
    });
    proc.once('exit', (code) => rej(new Error(`server exited with ${code}: ${out}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((res) => {
        proc.once('exit', () => res());
        proc.kill('SIGTERM');
      }),
  };
}
