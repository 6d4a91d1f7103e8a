/**
 * Is this pid really a process of ours? `drover up` adopts or ends processes an earlier `drover up` left,
 * and must never signal a stranger that reused a pid. A process counts as ours when it is alive, has the
 * recorded kernel start time (when one was recorded), runs `bin/drover.js` with the expected subcommand
 * and arguments (`/proc/<pid>/cmdline`), and writes to the log file of this data directory
 * (`/proc/<pid>/fd/1`) — the last ties it to this data dir rather than to another `drover up`'s.
 */
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { isSameProcess } from '../drivers/local/process-table.js';

/** argv of a live process, or undefined when it is gone or not ours to read. */
export function argvOf(pid: number): string[] | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    return argv;
  } catch {
    return undefined;
  }
}

/** Where the process's stdout goes (a path for a file), or undefined. */
export function stdoutOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/fd/1`);
  } catch {
    return undefined;
  }
}

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export interface Expected {
  /** `agent`, `edge` or `up`. */
  command: string;
  /** Flags that must have these values. */
  flags?: Record<string, string>;
  /** The file the process's stdout must be. */
  logFile?: string;
  startTicks?: number;
}

/** True when `pid` is a live `drover COMMAND` with the expected flags, log file and start time. */
export function isOurDroverProcess(pid: number, want: Expected): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !isSameProcess(pid, want.startTicks)) return false;
  const argv = argvOf(pid);
  if (!argv) return false;
  const bin = argv.findIndex((a) => /(^|\/)drover(\.js)?$/.test(a));
  if (bin < 0 || argv[bin + 1] !== want.command) return false;
  for (const [k, v] of Object.entries(want.flags ?? {})) if (flag(argv, k) !== v) return false;
  if (want.logFile !== undefined && stdoutOf(pid) !== realPath(want.logFile)) return false;
  return true;
}

/** The kernel shows fd targets with symlinks resolved. */
function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
