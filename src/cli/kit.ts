/**
 * What every command does around its work: connect to the control plane and always close the connection
 * (`withStore`), and run until Ctrl-C or SIGTERM (`untilSignal`). Option values are parsed by the option
 * kit (options.ts). Command files declare options and call these and the library; nothing else.
 */
import type { Command } from 'commander';
import { setFlagsFromString } from 'node:v8';
import type { RemoteStore } from '../client/remote-store.js';
import type { ConnectOptions } from './connect.js';

/**
 * Connects with the command's global options (--server, --token), runs `fn`, and closes the store
 * whatever `fn` does. `fn` returns the exit code (nothing: 0). The client module loads here, on use, so
 * that commands which never reach the server do not pay for it.
 */
export async function withStore(opts: ConnectOptions | Command, fn: (store: RemoteStore) => Promise<number | void>): Promise<number> {
  const { connect } = await import('./connect.js');
  const store = await connect(isCommand(opts) ? opts.optsWithGlobals<ConnectOptions>() : opts);
  try {
    return (await fn(store)) ?? 0;
  } finally {
    await store.close();
  }
}

/**
 * For a command that makes a few requests and exits (get, describe, delete, apply): compile WebAssembly
 * with V8's baseline compiler only. undici's HTTP parser (llhttp) is WebAssembly, and V8 optimises it on
 * background threads that the process waits for at exit: ~400 ms after the last byte (issue 19). Not for
 * long-running processes (edge, agent, server), where the optimised parser pays off.
 */
export function oneShot(): void {
  setFlagsFromString('--liftoff-only');
}

function isCommand(v: ConnectOptions | Command): v is Command {
  return typeof (v as Command).optsWithGlobals === 'function';
}

/** Resolves with the first SIGINT or SIGTERM; the listeners are removed when it does. */
export function untilSignal(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => {
      for (const x of signals) process.off(x, on);
      resolve(s);
    };
    for (const s of signals) process.on(s, on);
  });
}

/** Writes to stdout, ending with a newline (nothing for an empty string: `-o name` of no objects). */
export function out(s: string): void {
  if (s !== '') process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}
