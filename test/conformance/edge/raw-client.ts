/**
 * A raw HTTP/1.1 client over a TCP socket, for requests no well-behaved client library sends: two Host
 * headers, a body trickled a byte at a time, hop-by-hop headers of our choosing.
 */
import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Map<string, string[]>;
  body: string;
  /** Milliseconds from connect to the complete answer. */
  ms: number;
}

/** Parses one response from `text`; undefined while it is incomplete. */
export function parseAnswer(text: string, closed: boolean): Omit<RawAnswer, 'ms'> | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
  const headers = new Map<string, string[]>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).trim().toLowerCase();
    headers.set(k, [...(headers.get(k) ?? []), l.slice(i + 1).trim()]);
  }
  const rest = text.slice(end + 4);
  const cl = headers.get('content-length')?.[0];
  if (cl !== undefined) return rest.length >= Number(cl) ? { status, headers, body: rest.slice(0, Number(cl)) } : undefined;
  return closed ? { status, headers, body: rest } : undefined;
}

/**
 * Connects to `base`, writes `head` (CRLFs included), then `trickle` one byte every `everyMs` until the
 * answer is complete or the socket closes. Resolves with the answer; rejects if none came within `timeoutMs`.
 */
export function rawRequest(base: string, head: string, opts: { trickle?: string; everyMs?: number; timeoutMs?: number } = {}): Promise<RawAnswer> {
  const u = new URL(base);
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    let sent = 0;
    const finish = (err?: Error, a?: Omit<RawAnswer, 'ms'>) => {
      clearInterval(timer);
      clearTimeout(deadline);
      socket.destroy();
      if (a) resolve({ ...a, ms: Date.now() - start });
      else reject(err ?? new Error('no answer'));
    };
    const deadline = setTimeout(() => finish(new Error(`no answer within ${opts.timeoutMs ?? 10_000} ms (got ${JSON.stringify(text.slice(0, 200))})`)), opts.timeoutMs ?? 10_000);
    socket.setEncoding('latin1');
    socket.on('error', () => {
      // A write after the server closed (it answered early): the answer, if any, is already read.
    });
    socket.on('data', (d: string) => {
      text += d;
      const a = parseAnswer(text, false);
      if (a) finish(undefined, a);
    });
    socket.on('close', () => {
      const a = parseAnswer(text, true);
      finish(a ? undefined : new Error(`connection closed without an answer (got ${JSON.stringify(text.slice(0, 200))})`), a);
    });
    socket.on('connect', () => {
      socket.write(head);
      const trickle = opts.trickle;
      if (trickle === undefined || trickle.length === 0) return;
      timer = setInterval(() => {
        if (socket.destroyed || !socket.writable) return;
        socket.write(trickle[sent % trickle.length]!);
        sent++;
        if (sent >= trickle.length) clearInterval(timer);
      }, opts.everyMs ?? 100);
    });
  });
}
