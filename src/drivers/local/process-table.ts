/**
 * What the local driver needs to know about processes it did not necessarily start itself: is a pid
 * still alive (zombies count as dead: PID 1 in a container may never reap them), is it the process we
 * started (the kernel's start time guards against pid reuse), and which processes are left in a group.
 * Linux /proc is the source; elsewhere only `kill(pid, 0)` is available and start times are not checked.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  state: string;
  pgid: number;
  /** Start time in clock ticks after boot (field 22 of /proc/<pid>/stat). */
  startTicks: number;
}

const hasProc = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

export function readProcStat(pid: number): ProcStat | undefined {
  if (!hasProc) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: parse after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  return { pid, state: rest[0] ?? '?', pgid: Number(rest[2]), startTicks: Number(rest[19]) };
}

/** Start time of a live process, to recognise it later; undefined when unknown or dead. */
export function processStartTicks(pid: number): number | undefined {
  const s = readProcStat(pid);
  return s && s.state !== 'Z' ? s.startTicks : undefined;
}

export function isAlive(pid: number): boolean {
  if (hasProc) {
    const s = readProcStat(pid);
    return s !== undefined && s.state !== 'Z' && s.state !== 'X';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` is alive and, where the platform tells, is the very process that started at `startTicks`. */
export function isSameProcess(pid: number, startTicks: number | undefined): boolean {
  if (!isAlive(pid)) return false;
  if (startTicks === undefined || !hasProc) return true;
  return processStartTicks(pid) === startTicks;
}

/** Live (non-zombie) members of a process group. */
export function groupMembers(pgid: number): number[] {
  if (!hasProc) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readProcStat(Number(name));
    if (s && s.pgid === pgid && s.state !== 'Z' && s.state !== 'X') out.push(s.pid);
  }
  return out;
}

/** Signals a whole process group; a group that is gone already is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
