/**
 * A process `drover up` owns: either its own child (exit reported by the kernel through Node) or one it
 * adopted from an earlier `drover up` that died (known by pid and kernel start time, its exit seen by
 * polling, since only a parent is told). Both are group leaders (spawned detached), so a signal to the
 * group reaches whatever they forked.
 */
import type { ChildProcess } from 'node:child_process';
import { isSameProcess, processStartTicks, signalGroup } from '../drivers/local/process-table.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const ADOPTED_POLL_MS = 200;

export class ProcessHandle {
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;

  private constructor(
    readonly pid: number,
    readonly startTicks: number | undefined,
    readonly adopted: boolean,
    watch: (done: (e: Exit) => void) => void,
  ) {
    this.exited = new Promise((res) =>
      watch((e) => {
        this.exit ??= e;
        res(this.exit);
      }),
    );
  }

  static ofChild(child: ChildProcess): ProcessHandle {
    const pid = child.pid ?? -1;
    return new ProcessHandle(pid, pid > 0 ? processStartTicks(pid) : undefined, false, (done) => {
      if (child.exitCode !== null || child.signalCode !== null) done({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => done({ code, signal }));
    });
  }

  /** A process started by an earlier `drover up`; the caller has checked that it is ours. */
  static adopt(pid: number, startTicks: number | undefined): ProcessHandle {
    return new ProcessHandle(pid, startTicks, true, (done) => {
      const t = setInterval(() => {
        if (isSameProcess(pid, startTicks)) return;
        clearInterval(t);
        done({ code: null, signal: null });
      }, ADOPTED_POLL_MS);
      t.unref();
    });
  }

  get running(): boolean {
    return this.exit === undefined && isSameProcess(this.pid, this.startTicks);
  }

  /** Signals the process itself, if it is still the same process. */
  kill(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }

  /** SIGTERM, then SIGKILL to its whole group after `graceMs`; resolves once it is gone. */
  async stop(graceMs: number): Promise<void> {
    if (this.pid <= 0) return;
    if (this.running) {
      this.kill('SIGTERM');
      const t = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    }
    // Whatever it forked and left behind in its group.
    signalGroup(this.pid, 'SIGKILL');
  }
}
