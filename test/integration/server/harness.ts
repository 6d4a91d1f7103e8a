/**
 * Real processes for the API server and CLI tests: `node bin/drover.js server` on port 0 (its URL read from
 * its output) and CLI runs, all from the compiled dist/ (the test command builds first).
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import type { Readable } from 'node:stream';
import { parse } from 'yaml';

export const repoRoot = resolve(import.meta.dirname, '../../..');
export const bin = join(repoRoot, 'bin', 'drover.js');

export function requireBuild(): void {
  if (!existsSync(join(repoRoot, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: build first with `npx tsc -p tsconfig.build.json` (`npm test` does it)');
  }
}

export function tempDir(prefix = 'drover-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface ServerProcess {
  url: string;
  proc: ChildProcess;
  dataDir: string;
  adminToken: string;
  readonlyToken: string | undefined;
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface DroverProcess {
  proc: ChildProcessByStdio<null, Readable, Readable>;
  /** What it printed on stdout so far. */
  stdout: () => string;
  /** stdout and stderr, interleaved as they came. */
  output: () => string;
  exited: Promise<number | null>;
}

/** `node bin/drover.js ARGS` from the built dist, its output collected; `env` is added to this process's. */
export function spawnDrover(args: string[], env: NodeJS.ProcessEnv = {}): DroverProcess {
  requireBuild();
  const proc = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let out = '';
  proc.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    out += c.toString();
  });
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, stdout: () => stdout, output: () => out, exited };
}

/**
 * A server for the tests of the `describe` this is called in: started before them, SIGKILLed after;
 * `set` receives it. Returns the temp dir that holds its data (`<dir>/data`).
 */
export function serverForSuite(set: (s: ServerProcess) => void, opts: { args?: string[] } = {}): string {
  const dir = tempDir();
  let server: ServerProcess | undefined;
  before(async () => {
    server = await startServer({ dataDir: join(dir, 'data'), args: opts.args });
    set(server);
  });
  after(async () => {
    await server?.stop('SIGKILL');
  });
  return dir;
}

export async function startServer(opts: { dataDir?: string; args?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ServerProcess> {
  requireBuild();
  const dataDir = opts.dataDir ?? join(tempDir(), 'data');
  const { proc, output, exited } = spawnDrover(['server', '--data', dataDir, '--listen', '127.0.0.1:0', '--no-write-config', ...(opts.args ?? [])], {
    DROVER_CONFIG: join(dataDir, '..', 'cli-config.yaml'),
    ...opts.env,
  });
  const url = await new Promise<string>((res, rej) => {
    // A server that never says it listens is killed: left running, it would keep the test process alive.
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      rej(new Error(`server did not start within ${opts.timeoutMs ?? 20000} ms:\n${output()}`));
    }, opts.timeoutMs ?? 20_000);
    const check = () => {
      const m = /listening on (https?:\/\/\S+)/.exec(output());
      if (m) {
        clearTimeout(timer);
        proc.stdout.off('data', check);
        res(m[1]!);
      }
    };
    proc.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`server exited with ${code} before listening:\n${output()}`));
    });
  });
  let adminToken = opts.env?.DROVER_TOKEN ?? '';
  let readonlyToken: string | undefined;
  const tokenFile = join(dataDir, 'tokens.yaml');
  if (!adminToken && existsSync(tokenFile)) {
    const t = parse(readFileSync(tokenFile, 'utf8')) as { admin: string; readonly: string };
    adminToken = t.admin;
    readonlyToken = t.readonly;
  }
  return {
    url,
    proc,
    dataDir,
    adminToken,
    readonlyToken,
    output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { server?: ServerProcess; token?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  requireBuild();
  const env: NodeJS.ProcessEnv = { ...process.env, DROVER_CONFIG: join(tmpdir(), 'drover-test-no-config.yaml'), ...opts.env };
  delete env.DROVER_SERVER;
  delete env.DROVER_TOKEN;
  if (opts.server) {
    env.DROVER_SERVER = opts.server.url;
    env.DROVER_TOKEN = opts.token ?? opts.server.adminToken;
  }
  const proc = spawn(process.execPath, [bin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], cwd: repoRoot });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  proc.stdin.end(opts.input ?? '');
  return new Promise((res) => proc.once('close', (code) => res({ code, stdout, stderr })));
}

