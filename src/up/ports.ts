/**
 * Ports `drover up` needs (API, edge, edge admin): free, or held by a process of ours that is to be adopted
 * or ended — anything else is a loud, catalogued error that names the port, who holds it and the fix,
 * never a child that dies of EADDRINUSE while `up` says it started.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { DroverError } from '../errors.js';
import { argvOf } from './process-identity.js';

/** True when 127.0.0.1:`port` can be bound right now (then released). */
export function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Socket inodes listening on `port` (any address, IPv4 and IPv6), from /proc/net. */
function listeningInodes(port: number): Set<string> {
  const out = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; field 9 is the inode.
      if (f.length > 9 && f[1]?.endsWith(`:${hex}`) && f[3] === '0A' && f[9] !== undefined) out.add(f[9]);
    }
  }
  return out;
}

/** The pid holding a listening socket on `port`, when it is a process this user may inspect. */
export function portHolder(port: number): number | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return Number(pid);
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return undefined;
}

/** "pid 123 (python3 -m http.server 8080)", or a note that the holder cannot be seen. */
export function describeHolder(pid: number | undefined): string {
  if (pid === undefined) return 'a process this user cannot inspect (another user\'s, or outside this namespace)';
  const argv = argvOf(pid);
  const cmd = argv ? argv.join(' ') : '?';
  return `pid ${pid} (${cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd})`;
}

export function portInUse(port: number, flag: string, holder: number | undefined): DroverError {
  return new DroverError('DROVER_E_PORT_IN_USE', `port ${port} (${flag}) is taken by ${describeHolder(holder)}, which is not part of this drover up`, {
    field: flag,
    fix: `stop that process${holder !== undefined ? ` (kill ${holder})` : ''}, or pass another ${flag} (0 picks a free port)`,
  });
}
