/**
 * `drover get leader`: who runs the controllers and since when, as each replica's `/readyz` says it. Every
 * URL of the connection is asked (`--server a,b,c`), so replicas that disagree, or one that cannot reach
 * etcd, show up in one table; the exit code is non-zero when no replica answered or none names a leader.
 */
import { resolveConnection, type ConnectOptions } from './connect.js';
import { formatAge, formatTable } from './format/table.js';

interface ReadyBody {
  replica?: string;
  leading?: boolean;
  leader?: { id: string; url?: string; since?: string; lease?: string } | null;
  election?: unknown;
}

type Answer = { url: string; body: ReadyBody } | { url: string; error: string };

async function ask(url: string): Promise<Answer> {
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/readyz`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as ReadyBody & { message?: string };
    if (!res.ok) return { url, error: body.message ?? `HTTP ${res.status}` };
    return { url, body };
  } catch (e) {
    return { url, error: e instanceof Error ? e.message : String(e) };
  }
}

export async function showLeader(opts: ConnectOptions & { output?: string }): Promise<number> {
  const urls = resolveConnection(opts).server.split(',').map((u) => u.trim()).filter((u) => u !== '');
  const answers = await Promise.all(urls.map(ask));
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify(answers, null, 2)}\n`);
  } else {
    const rows = answers.map((a) =>
      'error' in a
        ? [a.url, '-', 'no', '-', '-', '-', a.error]
        : [a.url, a.body.replica ?? '-', 'yes', a.body.leader?.id ?? '<none>', a.body.leader?.since ?? '-', a.body.leader?.since ? formatAge(a.body.leader.since) : '-', a.body.leader?.url ?? ''],
    );
    process.stdout.write(formatTable(['ASKED', 'REPLICA', 'READY', 'LEADER', 'SINCE', 'AGE', 'LEADER URL / ERROR'], rows));
  }
  const leaders = new Set(answers.flatMap((a) => ('body' in a && a.body.leader ? [a.body.leader.id] : [])));
  if (leaders.size === 0) {
    process.stderr.write(answers.some((a) => 'body' in a) ? 'no replica leads right now (an election is under way, or every replica runs --no-controllers)\n' : 'no replica answered\n');
    return 1;
  }
  if (leaders.size > 1) process.stderr.write(`replicas name different leaders (${[...leaders].join(', ')}): a hand-over is under way; ask again\n`);
  return 0;
}
