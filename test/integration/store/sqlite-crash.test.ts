/**
 * SIGKILL a process while it writes to the SQLite store, several times, and prove that every write it
 * acknowledged is there afterwards and that the store opens cleanly with no manual step.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openStore, SQLITE_FILE } from '../../../src/store/open-store.js';
import { waitFor } from '../../helpers/wait-for.js';

const fixture = fileURLToPath(new URL('../../fixtures/store-crash-writer.ts', import.meta.url));
const rounds = 5;

interface Ack {
  rev: bigint;
  counter: number;
}

/** Runs the writer until it has acknowledged `killAfter` writes, then SIGKILLs it mid-flight. */
async function writeThenKill(dataDir: string, round: number, killAfter: number, acks: Map<string, Ack>, inFlight = 16): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir, String(round), String(inFlight)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let tail = '';
  let count = 0;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    const lines = (tail + d).split('\n');
    tail = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^ack (\S+) (\d+) (\d+)$/.exec(line);
      if (!m) continue;
      count++;
      const rev = BigInt(m[2]!);
      const prev = acks.get(m[1]!);
      if (!prev || prev.rev < rev) acks.set(m[1]!, { rev, counter: Number(m[3]) });
    }
  });
  try {
    await waitFor(`${killAfter} acknowledged writes`, () => count >= killAfter || exited, { timeoutMs: 20_000 });
    assert.equal(exited, false, `writer exited early: ${stderr}`);
    child.kill('SIGKILL');
    await exit;
  } finally {
    if (!exited) child.kill('SIGKILL');
  }
  return count;
}

describe('SQLite store survives SIGKILL', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'drover-crash-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  // Every other round with 256 writes in flight: several committed groups wait for their shared fsync
  // when the kill comes, and those acknowledged must all be there.
  it(`keeps every acknowledged write over ${rounds} kill/reopen rounds (16 and 256 writes in flight)`, async () => {
    const acks = new Map<string, Ack>();
    let total = 0;
    for (let round = 1; round <= rounds; round++) {
      // Random moments: from right after start to a few hundred writes in.
      const inFlight = round % 2 === 0 ? 256 : 16;
      const killAfter = Math.floor(Math.random() * 600) + (inFlight > 16 ? 1000 : 0);
      total += await writeThenKill(dataDir, round, killAfter, acks, inFlight);

      const store = await openStore({ dataDir });
      try {
        let maxRev = 0n;
        for (const [name, ack] of acks) {
          const o = await store.get('Prod', name);
          assert.ok(o, `round ${round}: acknowledged Prod ${name} (rev ${ack.rev}) is missing`);
          const rev = BigInt(o.metadata.resourceVersion ?? '0');
          assert.ok(rev >= ack.rev, `round ${round}: ${name} is at rev ${rev}, older than acknowledged ${ack.rev}`);
          assert.ok((o.spec as unknown as { counter: number }).counter >= ack.counter, `round ${round}: ${name} lost acknowledged update ${ack.counter}`);
          if (ack.rev > maxRev) maxRev = ack.rev;
        }
        assert.ok(BigInt(await store.revision()) >= maxRev, 'store revision is behind an acknowledged write');
      } finally {
        await store.close();
      }

      const db = new Database(join(dataDir, SQLITE_FILE), { readonly: true });
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        // Revisions have no holes: every committed transaction kept all of its changes.
        const r = db.prepare<[], { n: number; lo: number | null; hi: number | null }>('SELECT count(*) AS n, min(rev) AS lo, max(rev) AS hi FROM changes').get();
        assert.equal(r?.n, r?.hi == null || r.lo == null ? 0 : r.hi - r.lo + 1, 'changes table has gaps');
        const objects = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM objects').get()?.n ?? 0;
        assert.ok(objects >= acks.size, 'fewer objects than acknowledged creates');
      } finally {
        db.close();
      }
    }
    assert.ok(total > 0 && acks.size > 0, 'the writer acknowledged nothing: the test proved nothing');
  });
});
